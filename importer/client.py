"""HTTP to LTI Pro, and what each answer means.

This is the only module that knows httpx. Every exception and status is translated
here into an `Answer` whose `kind` says what may exist on the server:

    ok        status:true
    refused   status:false: final, the server decided (406 keeps its meeting id)
    retry     nothing can have been made: connect failure, HTTP 429, HTTP 503
    unknown   the request may have reached the server and the answer was lost
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from . import __version__
from .models import Answer
from .signing import key_hint, signed_query

CREATE_PATH = "/meeting/createAndAssociate"
BULK_IMPORT_PATH = "/meeting/bulkImport"
BULK_DISASSOCIATE_PATH = "/meeting/bulkDisassociate"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: seconds, an HTTP date, or an ISO date-time."""
    if not value:
        return None
    value = value.strip()
    now = time.time() if now is None else now
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # "inf"/"nan" are not a wait anyone can honour: treat as missing (back off instead).
        return max(0.0, seconds) if math.isfinite(seconds) else None
    moment: datetime | None = None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def _id_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def classify(response: httpx.Response, clock: Callable[[], float] = time.time) -> Answer:
    """What an HTTP response means for the meeting."""
    status = response.status_code
    if status in (429, 503):
        return Answer("retry", error_code=str(status), error_message=_short_text(response),
                      retry_after=parse_retry_after(response.headers.get("Retry-After"), clock()),
                      http_status=status)
    if status >= 500:
        return Answer("unknown", error_code=str(status),
                      error_message=f"the server answered HTTP {status} after receiving the request",
                      http_status=status)
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or "status" not in body:
        if 400 <= status < 500:
            # The server rejected the request itself: nothing was created.
            return Answer("refused", error_code=str(status),
                          error_message=f"HTTP {status}: {_short_text(response)}", http_status=status)
        return Answer("unknown", error_code="unreadable",
                      error_message=f"the server's answer (HTTP {status}) could not be read",
                      http_status=status)
    result = body.get("result")
    if not isinstance(result, dict):
        result = {}
    meeting_id = _id_text(result.get("id"))
    verdict = body.get("status")
    if isinstance(verdict, str) and verdict.strip().lower() in ("true", "false"):
        verdict = verdict.strip().lower() == "true"
    if verdict is True:
        return Answer("ok", meeting_id=meeting_id, http_status=status)
    if verdict is not False:
        return Answer("unknown", meeting_id=meeting_id, error_code="unreadable",
                      error_message=f"the server's answer has no readable status ({str(verdict)[:40]})",
                      http_status=status)
    return Answer("refused", meeting_id=meeting_id, error_code=_id_text(body.get("errorCode")) or str(status),
                  error_message=str(body.get("errorMessage") or "").strip() or None, http_status=status)


def _short_text(response: httpx.Response) -> str:
    try:
        text = response.text.strip()
    except UnicodeDecodeError:
        return "(binary body)"
    return text[:200] if text else response.reason_phrase


def url_problem(url: str) -> str | None:
    """Why httpx could not send to `url` (its own parser, as every request will use it), or None."""
    try:
        parsed = httpx.URL(url)
        _ = parsed.host  # decodes an IDNA host: raises for one that cannot be decoded
        host = parsed.raw_host.decode("ascii")  # as it goes on the wire
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        return str(exc) or type(exc).__name__
    if not _HOST.fullmatch(host):
        return f"{host!r} is not a host name"
    return None


_HOST = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+")  # a name (IDNA-encoded) or an IP address


#: Idle connections are closed by us before a server's idle timeout closes them: a POST
#: written just as the server closes an idle connection is lost, and its row ends `unknown`.
#: httpx's default expiry (5 s) equals uvicorn's idle timeout (the simulator's); one row of a
#: concurrency-64 benchmark once ended `unknown` with its request never reaching the
#: simulator. Servers commonly allow 5-75 s; reconnecting after 2 s idle costs a handshake
#: only when requests are that sparse.
KEEPALIVE_S = 2.0


class LtiClient:
    """Signed calls to the three LTI Pro endpoints (async)."""

    def __init__(self, base_url: str, key: str, secret: str, *, calendar_user: str | None = None,
                 timeout: float = 30.0, max_connections: int = 8,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._secret = secret
        self.calendar_user = calendar_user
        self._clock = clock
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                              keepalive_expiry=KEEPALIVE_S)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), limits=limits, transport=transport,
            headers={"User-Agent": f"importer/{__version__}"}, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> LtiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def create_and_associate(self, body: dict[str, Any]) -> Answer:
        return await self._post(CREATE_PATH, body)

    async def bulk_import(self, items: list[dict[str, str]]) -> Answer:
        return await self._post(BULK_IMPORT_PATH, self._bulk_body(items))

    async def bulk_disassociate(self, items: list[dict[str, str]]) -> Answer:
        """Remove meetings from courses: bulkImport's body, sent with PUT (API.md "bulkDisassociate")."""
        answer, _ = await self._send(BULK_DISASSOCIATE_PATH, self._bulk_body(items), method="PUT")
        return answer

    def _bulk_body(self, items: list[dict[str, str]]) -> Any:
        return {"userId": self.calendar_user, "meetingList": items} if self.calendar_user else items

    async def probe(self) -> tuple[Answer, float | None]:
        """A signed bulkImport of nothing: tests reachability, key and secret without changing
        anything. Also returns the server's clock (its Date header) to check ours against."""
        answer, response = await self._send(BULK_IMPORT_PATH, [])
        server_time = None
        if response is not None and response.headers.get("Date"):
            try:
                server_time = parsedate_to_datetime(response.headers["Date"]).timestamp()
            except (TypeError, ValueError, IndexError):
                server_time = None
        return answer, server_time

    async def _post(self, path: str, payload: Any) -> Answer:
        answer, _ = await self._send(path, payload)
        return answer

    async def _send(self, path: str, payload: Any, method: str = "POST") -> tuple[Answer, httpx.Response | None]:
        # Signed afresh on every attempt: a signature lives 60 minutes, a run may live longer.
        timestamp = str(int(self._clock() * 1000))
        params, signature = signed_query(self._key, self._secret, self.calendar_user, timestamp)
        content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            response = await self._http.request(
                method, self.base_url + path, params=params, content=content,
                headers={"X-Lti-Signature": signature, "Content-Type": "application/json"})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return Answer("retry", error_code="connect",
                          error_message=f"could not connect to {self.base_url}: {_reason(exc)}"), None
        except httpx.TimeoutException as exc:
            return Answer("unknown", error_code="timeout",
                          error_message=f"no answer within the timeout ({type(exc).__name__})"), None
        except httpx.TransportError as exc:
            return Answer("unknown", error_code="connection-lost",
                          error_message=f"the connection was lost before the answer arrived: {_reason(exc)}"), None
        except httpx.HTTPError as exc:  # e.g. an undecodable body: the request was sent all the same
            return Answer("unknown", error_code="unreadable",
                          error_message=f"the answer could not be read: {_reason(exc)}"), None
        return self._scrubbed(classify(response, self._clock)), response

    def _scrubbed(self, answer: Answer) -> Answer:
        """An answer whose text cannot carry the LTI key (error pages often echo the request URL)."""
        if answer.error_message and self._key in answer.error_message:
            return replace(answer, error_message=answer.error_message.replace(self._key, key_hint(self._key)))
        return answer


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__
