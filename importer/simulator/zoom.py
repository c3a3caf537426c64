"""The simulator's fake Zoom REST API (API.md "Zoom REST API (Server-to-Server OAuth)").

Served by the same app and port as the fake LTI Pro API and the fake Canvas: the
Server-to-Server OAuth token (``POST /oauth/token``) and, under ``/v2``, a host's meeting list
(paginated with ``next_page_token``), one meeting, its update (PATCH, 204) and its deletion
(DELETE, 204); 404 with code 3001 for no such meeting. The meetings are the ledger's
(``SimState.meetings``): whatever the fake LTI Pro created, also under after-faults whose
answer was lost, is what Zoom lists, so a test can watch the importer find a lost create.

Tokens are random, answered once, and kept only as a SHA-256 hash with their expiry (judged by
``config.clock``, so a fake clock expires them) and use count (``zoom_token_max_uses``); a
token, the client secret or an Authorization header is never stored, recorded or logged.
REST calls (token calls are exempt) may be refused before any effect: a per-second window
(429), the seeded dice (``zoom_p_429``, ``zoom_p_500``) and fixed call numbers
(``zoom_throttle_calls``, 429). Updates count toward a host's daily cap together with creates
(``daily_cap_per_host``), as Zoom's "100 creates/updates per host per day" does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import faults
from .state import RECURRING_TYPE, merged_meeting_info
from .validation import DEFAULT_MEETING_TYPE, is_valid_timezone, read_json, validate_meeting_info

if TYPE_CHECKING:
    from .app import Simulator

API = "/v2"
OAUTH_PATH = "/oauth/token"
GRANT_TYPE = "account_credentials"

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 300
#: The list cuts each agenda to this many characters; GET /meetings/{id} gives it whole.
LIST_AGENDA_CHARS = 250
#: A meeting id longer than this is no id (and keeps int() away from absurd inputs).
MAX_ID_DIGITS = 18
JOIN_URL = "https://zoom.example/j/{id}"
#: Meeting types without a fixed time: instant and recurring-without-time have no start_time.
UNTIMED_TYPES = frozenset({1, 3})
SCHEDULED_TYPE = 2
START_FORMAT = "%Y-%m-%dT%H:%M:%S"
PAGE_TOKEN_RE = re.compile(r"offset=([1-9][0-9]{0,8})")

INVALID_TOKEN = {"code": 124, "message": "Invalid access token."}
UNSUPPORTED_GRANT = {"reason": "unsupported grant type", "error": "unsupported_grant_type"}
INVALID_CLIENT = {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
INVALID_PAGE_TOKEN = {"code": 300, "message": "Invalid next_page_token"}
NOT_AN_OBJECT = {"code": 300, "message": "Request body must be a JSON object."}
#: Query keys that could carry a credential: never recorded.
UNRECORDED_QUERY = frozenset({"access_token", "client_secret", "token"})


@dataclass
class ZoomReply:
    status: int
    #: None: no body (204).
    body: Any
    outcome: str
    headers: dict[str, str] = field(default_factory=dict)


#: An endpoint: the request and its parsed JSON body (None when there is none or it is no JSON).
Endpoint = Callable[[Request, Any], ZoomReply]


def _no_meeting(ref: str) -> ZoomReply:
    return ZoomReply(404, {"code": 3001, "message": f"Meeting does not exist: {ref}."}, "not-found")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _basic(request: Request) -> tuple[str, str] | None:
    """client_id and client_secret of an HTTP Basic header; None without one, ("", "") if unreadable."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _recorded_query(request: Request) -> dict[str, str]:
    return {key: value for key, value in request.query_params.items() if key.lower() not in UNRECORDED_QUERY}


def _utc_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_utc(info: dict[str, Any]) -> datetime | None:
    """meetingInfo's start_time as an aware UTC time: "…Z" is UTC; a local time is in its
    "timezone" (IANA), or UTC without one. None when there is no readable start_time."""
    start = info.get("start_time")
    if not isinstance(start, str):
        return None
    try:
        moment = datetime.strptime(start[:19], START_FORMAT)
    except ValueError:
        return None
    zone = info.get("timezone")
    if start.endswith("Z") or not isinstance(zone, str) or zone == "UTC" or not is_valid_timezone(zone):
        return moment.replace(tzinfo=UTC)
    return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def is_listed(info: dict[str, Any], now: float) -> bool:
    """Zoom lists unexpired meetings only: a type 2 meeting until its end, a type 8 one until
    its recurrence's end_date_time; the others always."""
    meeting_type = info.get("type", DEFAULT_MEETING_TYPE)
    if meeting_type == SCHEDULED_TYPE:
        start = start_utc(info)
        duration = info.get("duration")
        minutes = duration if isinstance(duration, int) else 0
        return start is None or start.timestamp() + minutes * 60 >= now
    if meeting_type == RECURRING_TYPE:
        recurrence = info.get("recurrence")
        end = recurrence.get("end_date_time") if isinstance(recurrence, dict) else None
        if isinstance(end, str):
            try:
                ends = datetime.strptime(end[:19], START_FORMAT).replace(tzinfo=UTC)
            except ValueError:
                return True
            return ends.timestamp() >= now
    return True


def meeting_uuid(meeting_id: str) -> str:
    """A stable fake of Zoom's meeting UUID (base64 of 16 bytes)."""
    return base64.b64encode(hashlib.sha256(f"zoom-uuid:{meeting_id}".encode()).digest()[:16]).decode()


def host_id(user_id: str) -> str:
    """A stable fake of a host's Zoom user id, the same for every spelling of the e-mail."""
    digest = hashlib.sha256(f"zoom-host:{user_id.casefold()}".encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def meeting_json(meeting: dict[str, Any], full: bool) -> dict[str, Any]:
    """A ledger meeting as Zoom shows it: in a list (``full`` False) or alone (GET)."""
    info = meeting["meetingInfo"]
    meeting_id = meeting["id"]
    meeting_type = info.get("type", DEFAULT_MEETING_TYPE)
    body: dict[str, Any] = {
        "uuid": meeting_uuid(meeting_id),
        "id": int(meeting_id),
        "host_id": host_id(meeting["userId"]),
        "topic": info.get("topic", ""),
        "type": meeting_type,
    }
    start = start_utc(info)
    if start is not None and meeting_type not in UNTIMED_TYPES:
        body["start_time"] = _utc_z(start)
    if "duration" in info:
        body["duration"] = info["duration"]
    # Zoom always names a zone (the host's default); a start without one is read as UTC here.
    body["timezone"] = info.get("timezone") or "UTC"
    body["created_at"] = _utc_z(datetime.fromtimestamp(meeting["created_at"], tz=UTC))
    body["join_url"] = JOIN_URL.format(id=meeting_id)
    agenda = info.get("agenda")
    if isinstance(agenda, str) and agenda:
        body["agenda"] = agenda if full else agenda[:LIST_AGENDA_CHARS]
    if full:
        for name in ("password", "settings", "recurrence"):
            if name in info:
                body[name] = info[name]
    return body


def page_token(offset: int) -> str:
    """next_page_token: opaque to clients, the list offset to us."""
    return base64.urlsafe_b64encode(f"offset={offset}".encode()).decode().rstrip("=")


def page_offset(token: str) -> int | None:
    """The offset of a token page_token made, or None for any other string."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    match = PAGE_TOKEN_RE.fullmatch(text)
    if match is None or page_token(int(match.group(1))) != token:
        return None
    return int(match.group(1))


def _page_size(request: Request) -> int:
    value = request.query_params.get("page_size", "")
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS) or int(value) <= 0:
        return DEFAULT_PAGE_SIZE
    return min(int(value), MAX_PAGE_SIZE)


def _meeting_id(request: Request) -> str | None:
    """The path's meeting id as the ledger spells it, or None if it is no number."""
    value = str(request.path_params.get("meetingId", ""))
    if value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS:
        return str(int(value))
    return None


class ZoomFake:
    """Per-app runtime of the fake Zoom: its own per-second window. Everything that changes
    (tokens, calls, meetings, updates, deletions) lives in SimState, so ``reset()`` clears it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.config = sim.config
        self.state = sim.state
        #: Not the LTI window: Zoom's REST limits are the account's, apart from LTI Pro's.
        self.window = faults.RateWindow(self.config.zoom_rate_limit_per_s)

    # -- the token -----------------------------------------------------------------------------

    def issue_token(self, request: Request, form: dict[str, str]) -> ZoomReply:
        """grant_type and account_id from the query (or a form body), the app as HTTP Basic."""
        params = {**form, **request.query_params}
        credentials = _basic(request)
        if credentials is None:
            return ZoomReply(401, INVALID_CLIENT, "token-no-credentials")
        if params.get("grant_type") != GRANT_TYPE:
            return ZoomReply(400, UNSUPPORTED_GRANT, "token-unsupported-grant")
        client_id, client_secret = credentials
        known = [
            _same(params.get("account_id", ""), self.config.zoom_account_id),
            _same(client_id, self.config.zoom_client_id),
            _same(client_secret, self.config.zoom_client_secret),
        ]
        if not all(known):
            return ZoomReply(400, INVALID_CLIENT, "token-invalid-client")
        token = secrets.token_urlsafe(32)
        ttl = self.config.zoom_token_ttl_s
        self.state.issue_zoom_token(_token_hash(token), self.config.clock() + ttl)
        body = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(ttl),
            "scope": self.config.zoom_scope,
            "api_url": str(request.base_url).rstrip("/"),
        }
        return ZoomReply(200, body, "token", {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- checks before any effect --------------------------------------------------------------

    def _refused_before(self, call: int) -> ZoomReply | None:
        retry = {"Retry-After": "1"}
        if not self.window.allow():
            return ZoomReply(429, faults.RATE_LIMIT_BODY, "429-rate", retry)
        if call in self.config.zoom_throttle_calls:
            return ZoomReply(429, faults.TOO_MANY_BODY, "429-throttled", retry)
        if faults.roll(self.sim.rng, self.config.zoom_p_429):
            return ZoomReply(429, faults.TOO_MANY_BODY, "429", retry)
        if faults.roll(self.sim.rng, self.config.zoom_p_500):
            return ZoomReply(500, faults.SERVER_ERROR_BODY, "500")
        return None

    def _refused_token(self, request: Request) -> ZoomReply | None:
        token = _bearer(request)
        if not token:
            return ZoomReply(401, INVALID_TOKEN, "token-missing")
        verdict = self.state.use_zoom_token(_token_hash(token), self.config.clock(), self.config.zoom_token_max_uses)
        return None if verdict == "ok" else ZoomReply(401, INVALID_TOKEN, f"token-{verdict}")

    def _over_daily_cap(self, user_id: str, now: float) -> ZoomReply | None:
        refusal = faults.daily_cap_refusal(self.config, self.state, user_id, now, "Meeting Create/Update")
        return ZoomReply(429, refusal[0], "429-daily", refusal[1]) if refusal else None

    # -- endpoints -----------------------------------------------------------------------------

    def list_meetings(self, request: Request, _body: Any) -> ZoomReply:
        """GET /v2/users/{userId}/meetings: every listed type is "scheduled" here."""
        user_id = str(request.path_params["userId"])
        if user_id.casefold() in {user.casefold() for user in self.config.unknown_users}:
            return ZoomReply(404, {"code": 1001, "message": f"User does not exist: {user_id}."}, "unknown-user")
        offset = 0
        token = request.query_params.get("next_page_token", "")
        if token:
            found = page_offset(token)
            if found is None:
                return ZoomReply(400, INVALID_PAGE_TOKEN, "bad-page-token")
            offset = found
        page_size = _page_size(request)
        now = self.config.clock()
        listed = [m for m in self.state.host_meetings(user_id) if is_listed(m["meetingInfo"], now)]
        page = listed[offset:offset + page_size]
        after = offset + len(page)
        body = {
            "page_size": page_size,
            "total_records": len(listed),
            "next_page_token": page_token(after) if after < len(listed) else "",
            "meetings": [meeting_json(m, full=False) for m in page],
        }
        return ZoomReply(200, body, "list")

    def get_meeting(self, request: Request, _body: Any) -> ZoomReply:
        meeting_id = _meeting_id(request)
        meeting = self.state.meeting(meeting_id) if meeting_id else None
        if meeting is None:
            return _no_meeting(str(request.path_params.get("meetingId", "")))
        return ZoomReply(200, meeting_json(meeting, full=True), "meeting")

    def update_meeting(self, request: Request, body: Any) -> ZoomReply:
        """PATCH: validated as a create would be, after the merge; refused over the daily cap."""
        if not isinstance(body, dict):
            return ZoomReply(400, NOT_AN_OBJECT, "invalid")
        meeting_id = _meeting_id(request)
        meeting = self.state.meeting(meeting_id) if meeting_id else None
        if meeting_id is None or meeting is None:
            return _no_meeting(str(request.path_params.get("meetingId", "")))
        error = validate_meeting_info(merged_meeting_info(meeting["meetingInfo"], body))
        if error:
            return ZoomReply(400, {"code": 300, "message": error}, "invalid")
        now = self.config.clock()
        capped = self._over_daily_cap(meeting["userId"], now)
        if capped:
            return capped
        if not self.state.update_meeting(meeting_id, body, now):
            return _no_meeting(meeting_id)
        return ZoomReply(204, None, "updated")

    def delete_meeting(self, request: Request, _body: Any) -> ZoomReply:
        meeting_id = _meeting_id(request)
        if meeting_id is None or not self.state.delete_meeting(meeting_id, self.config.clock()):
            return _no_meeting(str(request.path_params.get("meetingId", "")))
        return ZoomReply(204, None, "deleted")

    # -- the pipeline --------------------------------------------------------------------------

    def _respond(self, record: dict[str, Any], reply: ZoomReply) -> Response:
        record.update(http_status=reply.status, outcome=reply.outcome)
        self.state.record_zoom_request(record)
        if reply.body is None:
            return Response(status_code=reply.status, headers=reply.headers)
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)

    @staticmethod
    def _record(request: Request, body: Any) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.url.path,
            "query": _recorded_query(request),
            "body": body,
            "http_status": 0,
            "outcome": "",
        }

    async def handle_token(self, request: Request) -> Response:
        """A token call: recorded without its body (a form body may hold the client secret)."""
        form: dict[str, str] = {}
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raw = (await request.body()).decode("utf-8", errors="replace")
            form = {key: values[0] for key, values in parse_qs(raw).items() if values}
        record = self._record(request, None)
        await self.sim.latency()
        return self._respond(record, self.issue_token(request, form))

    async def handle(self, request: Request, endpoint: Endpoint) -> Response:
        """A REST call: the per-second window and injected refusals, then the token, then the
        endpoint; recorded with its JSON body, never with its token."""
        body = await read_json(request) if request.method == "PATCH" else None
        record = self._record(request, body)
        await self.sim.latency()
        call = self.state.next_zoom_call()
        reply = self._refused_before(call) or self._refused_token(request) or endpoint(request, body)
        return self._respond(record, reply)


def zoom_routes(sim: Simulator) -> list[Route]:
    """The fake Zoom's routes, and its out-of-band ``POST /_sim/zoom/expire-tokens``."""
    fake = ZoomFake(sim)
    by_method: dict[str, Endpoint] = {
        "PATCH": fake.update_meeting,
        "DELETE": fake.delete_meeting,
    }

    async def token(request: Request) -> Response:
        return await fake.handle_token(request)

    async def user_meetings(request: Request) -> Response:
        return await fake.handle(request, fake.list_meetings)

    async def meeting(request: Request) -> Response:
        return await fake.handle(request, by_method.get(request.method, fake.get_meeting))

    async def expire_tokens(_request: Request) -> Response:
        return JSONResponse({"status": True, "expired": sim.state.expire_zoom_tokens()})

    return [
        Route(OAUTH_PATH, token, methods=["POST"], name="zoom-token"),
        Route(API + "/users/{userId}/meetings", user_meetings, methods=["GET"], name="zoom-user-meetings"),
        Route(API + "/meetings/{meetingId}", meeting, methods=["GET", "PATCH", "DELETE"], name="zoom-meeting"),
        Route("/_sim/zoom/expire-tokens", expire_tokens, methods=["POST"], name="zoom-expire-tokens"),
    ]


__all__ = ["API", "OAUTH_PATH", "ZoomFake", "zoom_routes"]
