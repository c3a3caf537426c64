"""Zoom's REST API, as a Server-to-Server OAuth app (API.md, "Zoom REST API (Server-to-Server OAuth)").

`ZoomClient` lists a host's scheduled meetings, reads, changes (PATCH) and deletes one meeting:
what resolves a create whose answer was lost, applies a changed row and removes a meeting.

Documented (API.md): the token request (`POST {oauth_url}?grant_type=account_credentials&account_id=`
with HTTP Basic client_id:client_secret, an hour's token, no refresh token, several valid at once),
the four calls and their answers (204 for PATCH and DELETE, 404 with code 3001 for no such meeting),
the rate-limit categories (listing is Medium, one meeting is Light) and the 429 with `Retry-After`.
Not documented, and built for: the form of `Retry-After` (seconds, an HTTP date or an ISO date-time,
or none at all), the body of a token refusal (`reason`/`error` are read when present), and whether
an answer lost on the way back means the change was made.

* **The token** is asked for when first needed and kept until less than min(300 s, a tenth of its
  lifetime) remains; one request at a time asks for it. A 401 from a call drops that token, fetches
  one fresh token and repeats the call once; a second 401 is `ZoomAuthError`. The client secret and
  every token go in headers only and are cut out of every message.
* **Pace**: the importer allows itself `Zoom.medium_rate` list pages and `Zoom.light_rate` single-
  meeting calls per second (aiolimiter; 0 = unlimited). Token requests are not paced.
* **Retries** (tenacity): GET, PATCH and DELETE all leave Zoom the same when repeated, so a 429, a 5xx,
  a connection that fails or drops, and a timeout are tried again, `Zoom.max_attempts` tries in all,
  waiting the `Retry-After` Zoom names, else backing off exponentially with jitter. A `Retry-After`
  over a minute (Zoom's daily limit) is not waited out: `ZoomError` says when to try again.

    ZoomError        a call that did not succeed (`code`, `http_status`)
    +-- ZoomAuthError    the app's credentials or its fresh token were refused
    +-- ZoomNotFound     no such meeting (404, or code 3001)
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from . import __version__
from .client import KEEPALIVE_S, parse_retry_after, url_problem
from .errors import ConfigError, ImporterError
from .options import Zoom

#: Zoom's largest page of meetings.
PAGE_SIZE = 300
#: The longest Retry-After waited out, in seconds: a longer one (the daily limit) ends the call.
MAX_RETRY_AFTER_S = 60.0
#: Backing off without a Retry-After: the first wait (about), and the longest.
BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
#: A token is renewed when less than this remains of it (or a tenth of its lifetime, if less).
RENEW_BEFORE_S = 300.0
#: A token answer without `expires_in` is taken to last this long (API.md: 3600).
DEFAULT_TOKEN_LIFETIME_S = 3600.0
#: Meeting ids are numbers (Zoom's are 9 to 11 digits today).
_MEETING_ID = re.compile(r"[0-9]{1,20}")
_HIDDEN = "[hidden]"

_T = TypeVar("_T")
_E = TypeVar("_E", bound="ZoomError")


class ZoomError(ImporterError):
    """A Zoom call that did not succeed. `code` is Zoom's own code (as text), else the HTTP status,
    else what went wrong on the way ("connect", "timeout", "connection-lost", "unreadable")."""

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class ZoomAuthError(ZoomError):
    """Zoom refused the app's credentials, or refused a token it had just issued."""


class ZoomNotFound(ZoomError):
    """Zoom has no such meeting (or user): 404, or code 3001."""


class _Retry(Exception):
    """An answer worth asking again: throttled, a server error, a failed or lost connection."""

    def __init__(self, reason: str, *, wait: float | None = None, code: str | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(reason)
        self.wait = wait
        self.code = code
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class ZoomMeeting:
    """One meeting as Zoom lists or shows it; fields Zoom leaves out or sends oddly are None."""

    id: str  # Zoom sends an integer: kept as its digits
    topic: str
    type: int | None
    start_time: datetime | None  # aware, UTC
    duration: int | None
    timezone: str | None
    created_at: datetime | None  # aware, UTC
    agenda: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ZoomMeeting:
        return cls(id=_id_text(body.get("id")), topic=_text(body.get("topic")) or "",
                   type=_integer(body.get("type")), start_time=_moment(body.get("start_time")),
                   duration=_integer(body.get("duration")), timezone=_text(body.get("timezone")),
                   created_at=_moment(body.get("created_at")), agenda=_text(body.get("agenda")))


@dataclass(frozen=True)
class TokenInfo:
    scopes: tuple[str, ...]
    expires_in: float  # seconds the token has left


@dataclass(frozen=True)
class _Token:
    value: str
    scopes: tuple[str, ...]
    expires_at: float  # by the client's clock
    lifetime: float


class ZoomClient:
    """One Zoom account, reached through one Server-to-Server OAuth app. Use as
    `async with ZoomClient(zoom) as client:` (or call `aclose()`).

    `backoff` is the first wait, in seconds, when Zoom gives no Retry-After; `sleep` does the waiting
    between tries (tests pass one that returns at once)."""

    def __init__(self, zoom: Zoom, *, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time, backoff: float = BACKOFF_S,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        for name, url in (("ZOOM_API_URL", zoom.api_url), ("ZOOM_OAUTH_URL", zoom.oauth_url)):
            problem = url_problem(url)
            if problem:
                raise ConfigError(f"{name} {url!r} is not a usable URL ({problem})")
        self._zoom = zoom
        self._api = zoom.api_url.rstrip("/")
        self._clock = clock
        self._backoff = backoff
        self._sleep = sleep
        self._max_attempts = max(1, zoom.max_attempts)
        self._light = _limiter(zoom.light_rate)
        self._medium = _limiter(zoom.medium_rate)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        basic = base64.b64encode(f"{zoom.client_id}:{zoom.client_secret}".encode()).decode("ascii")
        self._secrets = {zoom.client_secret, basic}  # grows with each token Zoom issues
        self._token_call = "POST " + httpx.URL(zoom.oauth_url).path
        self.token_fetches = 0  # tokens Zoom issued to this client
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_S)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(zoom.timeout), limits=limits, transport=transport, follow_redirects=False,
            headers={"User-Agent": f"importer/{__version__}", "Accept": "application/json"})

    async def __aenter__(self) -> ZoomClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- what the importer asks -----------------------------------------------------------

    async def token_info(self) -> TokenInfo:
        """The app's token (fetched, or the one kept): its scopes and the seconds it has left."""
        token = await self._bearer()
        return TokenInfo(token.scopes, max(0.0, token.expires_at - self._clock()))

    async def list_meetings(self, user_id: str) -> list[ZoomMeeting]:
        """Every scheduled meeting of the host `user_id` (an id or e-mail), all pages. ZoomError when any
        page cannot be read: a list returned is the whole list."""
        if not user_id.strip() or user_id in (".", ".."):  # ".." would be read as the path's parent
            raise ZoomError(f"Zoom: GET /users/{{userId}}/meetings: {user_id!r} is not a user id", code="user-id")
        path = f"/users/{quote(user_id, safe='@')}/meetings"
        call = f"GET {path}"
        meetings: list[ZoomMeeting] = []
        page_token = ""
        seen: set[str] = set()
        while True:
            params = {"type": "scheduled", "page_size": str(PAGE_SIZE)}
            if page_token:
                params["next_page_token"] = page_token
            body = self._object(call, await self._request("GET", path, self._medium, params=params))
            page = body.get("meetings")
            if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
                raise self._error(ZoomError, call, "the answer's meetings are not a list of meetings",
                                  code="unreadable")
            meetings.extend(ZoomMeeting.from_json(item) for item in page)
            following = body.get("next_page_token")
            page_token = following if isinstance(following, str) else ""
            if not page_token:
                total = body.get("total_records")
                if isinstance(total, int) and not isinstance(total, bool) and total > len(meetings):
                    # A list that says it holds more than it gave (paged another way): not the whole list.
                    raise self._error(ZoomError, call, f"Zoom says the host has {total} meetings and gave "
                                                       f"{len(meetings)}; the list cannot be read to its end",
                                      code="unreadable")
                return meetings
            if page_token in seen:
                raise self._error(ZoomError, call, "Zoom named a page already read as the next one; the list "
                                                   "cannot be read to its end", code="unreadable")
            seen.add(page_token)

    async def get_meeting(self, meeting_id: str) -> ZoomMeeting:
        path = _meeting_path("GET", meeting_id)
        return ZoomMeeting.from_json(self._object(f"GET {path}", await self._request("GET", path, self._light)))

    async def update_meeting(self, meeting_id: str, fields: dict[str, Any]) -> None:
        """PATCH the meeting with `fields` (names of the create body). Counts toward the host's daily limit."""
        path = _meeting_path("PATCH", meeting_id)
        await self._request("PATCH", path, self._light, body=fields)

    async def delete_meeting(self, meeting_id: str) -> None:
        path = _meeting_path("DELETE", meeting_id)
        await self._request("DELETE", path, self._light)

    # --- the token ------------------------------------------------------------------------

    async def _bearer(self) -> _Token:
        """The token to send: the one kept while it has time left, else a new one (one fetch at a time)."""
        async with self._token_lock:
            token = self._token
            if token is None or token.expires_at - self._clock() < min(RENEW_BEFORE_S, token.lifetime / 10):
                token = self._token = await self._retrying(self._token_call, self._fetch_token)
            return token

    def _refused(self, value: str) -> None:
        """Zoom answered 401 to `value`: forget it, unless another call has already replaced it."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch_token(self) -> _Token:
        call = self._token_call
        asked_at = self._clock()
        response = await self._send(
            call, "POST", self._zoom.oauth_url, None,
            params={"grant_type": "account_credentials", "account_id": self._zoom.account_id},
            auth=(self._zoom.client_id, self._zoom.client_secret))
        status = response.status_code
        if status in (400, 401):
            code, words = _zoom_words(response)
            raise self._error(ZoomAuthError, call,
                              f"Zoom refused the app's credentials ({_answer(status, code, words)}): check "
                              "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET (the Server-to-Server OAuth "
                              "app's App Credentials in the Zoom App Marketplace)", code=code or str(status),
                              http_status=status)
        self._check(call, response, "ZOOM_OAUTH_URL", missing=ZoomError)
        try:
            body = response.json()
        except ValueError:
            body = None
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(value, str) or not value:
            raise self._error(ZoomError, call, "the answer is not a token: check ZOOM_OAUTH_URL", code="unreadable",
                              http_status=status)
        self._secrets.add(value)
        lifetime = _seconds(body.get("expires_in"))
        scope = body.get("scope")
        scopes = tuple(scope.split()) if isinstance(scope, str) else ()
        self.token_fetches += 1
        return _Token(value, scopes, asked_at + lifetime, lifetime)

    # --- HTTP -----------------------------------------------------------------------------

    async def _request(self, method: str, path: str, limiter: AsyncLimiter | None, *,
                       params: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> httpx.Response:
        call = f"{method} {path}"

        async def once() -> httpx.Response:
            token = (await self._bearer()).value
            url = self._api + path
            response = await self._send(call, method, url, limiter, params=params, body=body, token=token)
            if response.status_code == 401:
                self._refused(token)
                token = (await self._bearer()).value
                response = await self._send(call, method, url, limiter, params=params, body=body, token=token)
                if response.status_code == 401:
                    code, words = _zoom_words(response)
                    raise self._error(ZoomAuthError, call,
                                      f"Zoom refused a fresh token too ({_answer(401, code, words)}): check "
                                      "that the app is activated and has the meeting scopes", code=code or "401",
                                      http_status=401)
            self._check(call, response, "ZOOM_API_URL", missing=ZoomNotFound)
            return response

        return await self._retrying(call, once)

    async def _retrying(self, call: str, once: Callable[[], Awaitable[_T]]) -> _T:
        retrying = AsyncRetrying(stop=stop_after_attempt(self._max_attempts), retry=retry_if_exception_type(_Retry),
                                 wait=self._wait, sleep=self._sleep, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await once()
        except _Retry as exc:
            tries = "1 try" if self._max_attempts == 1 else f"{self._max_attempts} tries"
            raise self._error(ZoomError, call, f"{exc} after {tries}; try again later", code=exc.code,
                              http_status=exc.http_status) from None
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True ends the loop above

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Retry) and error.wait is not None:
            return error.wait  # at most MAX_RETRY_AFTER_S: a longer one was not retried
        backoff = wait_exponential(multiplier=self._backoff, max=MAX_BACKOFF_S) + wait_random(0, self._backoff / 2)
        return min(MAX_BACKOFF_S, float(backoff(state)))

    async def _send(self, call: str, method: str, url: str, limiter: AsyncLimiter | None, *,
                    params: dict[str, str] | None = None, body: dict[str, Any] | None = None,
                    token: str | None = None, auth: tuple[str, str] | None = None) -> httpx.Response:
        if limiter is not None:
            await limiter.acquire()
        headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        try:
            return await self._http.request(method, url, params=params, json=body, headers=headers, auth=auth)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Retry(f"could not connect ({self._said(exc)})", code="connect") from None
        except httpx.TimeoutException:
            raise _Retry(f"no answer within {self._zoom.timeout:g} s", code="timeout") from None
        except httpx.UnsupportedProtocol as exc:
            raise self._error(ZoomError, call, self._said(exc), code="connect") from None
        except httpx.TransportError as exc:
            raise _Retry(f"the connection was lost ({self._said(exc)})", code="connection-lost") from None
        except httpx.HTTPError as exc:
            raise _Retry(f"the answer could not be read ({self._said(exc)})", code="unreadable") from None

    def _check(self, call: str, response: httpx.Response, setting: str, missing: type[ZoomError]) -> None:
        """Raise for any answer but a success: _Retry for those worth asking again, ZoomError otherwise
        (`missing` for a 404 or code 3001: a meeting that does not exist, but a token endpoint that does
        not is a wrong setting, never a missing meeting)."""
        status = response.status_code
        if 200 <= status < 300:
            return
        code, words = _zoom_words(response)
        if status == 429 or status >= 500:
            wait = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            if wait is not None and wait > MAX_RETRY_AFTER_S:
                until = datetime.fromtimestamp(math.ceil(self._clock() + wait), UTC)
                raise self._error(ZoomError, call, f"Zoom asks to wait until {until:%Y-%m-%d %H:%M:%S} UTC "
                                                   f"({_answer(status, code, words)}); try again then",
                                  code=code or str(status), http_status=status)
            kept = "kept throttling" if status == 429 else "kept failing"
            raise _Retry(f"{kept} ({_answer(status, code, words)})", wait=wait, code=code or str(status),
                         http_status=status)
        if 300 <= status < 400:
            raise self._error(ZoomError, call, f"redirected to {response.headers.get('Location', '?')} (HTTP {status}):"
                                               f" check {setting}", code=str(status), http_status=status)
        if status == 404 or code == "3001":
            raise self._error(missing, call, f"not found ({_answer(status, code, words)})"
                                             + ("" if missing is ZoomNotFound else f": check {setting}"),
                              code=code or str(status), http_status=status)
        raise self._error(ZoomError, call, f"refused ({_answer(status, code, words)})", code=code or str(status),
                          http_status=status)

    def _object(self, call: str, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._error(ZoomError, call, "the answer is not a JSON object: check ZOOM_API_URL",
                              code="unreadable", http_status=response.status_code)
        return body

    def _error(self, kind: type[_E], call: str, text: str, *, code: str | None = None,
               http_status: int | None = None) -> _E:
        return kind(self._scrub(f"Zoom: {call}: {text}"), code=code, http_status=http_status)

    def _said(self, exc: Exception) -> str:
        """What httpx said went wrong, short and scrubbed. (client.py's `_reason` says the same, but
        it is private to that module: tests/test_public_api.py forbids importing it.)"""
        text = self._scrub(" ".join(str(exc).split()))
        return text[:200] if text else type(exc).__name__

    def _scrub(self, text: str) -> str:
        """`text` without the client secret or any token: Zoom's error pages may echo what they were sent."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, _HIDDEN)
        return text


def _meeting_path(method: str, meeting_id: str) -> str:
    text = str(meeting_id)
    if not _MEETING_ID.fullmatch(text):
        raise ZoomError(f"Zoom: {method} /meetings/{{meetingId}}: {text[:40]!r} is not a meeting id (digits only)",
                        code="meeting-id")
    return f"/meetings/{text}"


def _limiter(rate: float) -> AsyncLimiter | None:
    """One call per 1/rate seconds, no burst: Zoom counts per second, and a burst at the start of a
    second followed by the steady rate would put too many into it."""
    return AsyncLimiter(1, 1 / rate) if rate > 0 else None


def _zoom_words(response: httpx.Response) -> tuple[str | None, str]:
    """Zoom's code and message for a refusal: `{"code", "message"}` from the API, `{"error", "reason"}`
    from the token endpoint; else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code: str | None = None
    words = ""
    if isinstance(body, dict):
        raw_code = body.get("code", body.get("error"))
        if isinstance(raw_code, (int, float, str)):
            code = _id_text(raw_code)[:40] or None
        words = str(body.get("message") or body.get("reason") or body.get("error_description") or "")
    if not words:
        try:
            words = response.text
        except UnicodeDecodeError:
            words = ""
    words = " ".join(words.split())[:200]
    return code, words or response.reason_phrase


def _answer(status: int, code: str | None, words: str) -> str:
    named = f", code {code}" if code and code != str(status) else ""
    return f"HTTP {status}{named}" + (f": {words}" if words else "")


def _id_text(value: Any) -> str:
    """An id as its digits: 91970000001 -> "91970000001", never "9.1970000001e10"."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if text else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        return int(value.strip())
    return None


def _moment(value: Any) -> datetime | None:
    """Zoom's ISO 8601 time (`2026-09-01T14:00:00Z`) as an aware UTC datetime; one without a zone is UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME_S
    return seconds if math.isfinite(seconds) and seconds > 0 else DEFAULT_TOKEN_LIFETIME_S
