"""Canvas's REST API, as far as finding a course's LTI ids needs it (API.md, "Canvas REST API").

`CanvasClient` asks for one course (by numeric id, `sis_course_id:<SIS id>` or
`lti_context_id:<hex>`), makes Canvas generate a course's missing `lti_context_id` through
the Zoom tool's sessionless launch, and lists a term's courses. It is read-only.

* **The token** goes in the Authorization header only: never in a URL, a message, a log or
  the journal. A refused token (401) and a refusal (a 403 that is not throttling) stop the
  command with one line (`CanvasRefused`, exit 2).
* **Throttling**: a 403 whose body says `Rate Limit Exceeded`, a 429, a 5xx and a lost
  connection are retried with backoff (tenacity; every call is a GET, so a retry changes
  nothing). When `X-Rate-Limit-Remaining` runs low, requests pause briefly before they go.
* **Pages** are followed through the `Link` header's `rel="next"` URL, as given.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from . import __version__
from .client import parse_retry_after
from .errors import ConfigError
from .models import CanvasCourse

#: Canvas's largest page.
PER_PAGE = 100
#: Below this many units left in Canvas's throttle bucket, requests pause before they go.
LOW_WATER = 100.0
LOW_WATER_PAUSE_S = 0.5
#: Tools that are Zoom's (API.md): by domain or URL, else by name.
_ZOOM = re.compile(r"applications\.zoom\.us|\bzoom\b", re.IGNORECASE)
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class CanvasRefused(ConfigError):
    """Canvas refused the token or the request: the command cannot go on (exit 2)."""


class _Retry(Exception):
    """An answer worth asking again: throttled, a server error, a lost connection."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


@dataclass(frozen=True, slots=True)
class CanvasTerm:
    id: str
    name: str
    start_at: str | None
    end_at: str | None


class CanvasClient:
    """One Canvas site, read with one token. Use as `async with CanvasClient(...) as canvas:`."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, max_attempts: int = 6,
                 backoff: float = 0.5, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._remaining: float | None = None  # X-Rate-Limit-Remaining, as last seen

    async def __aenter__(self) -> CanvasClient:
        self._client = httpx.AsyncClient(
            base_url=self.url, timeout=self._timeout, transport=self._transport, follow_redirects=False,
            headers={"Authorization": f"Bearer {self._token}", "User-Agent": f"importer/{__version__}",
                     "Accept": "application/json"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    # --- what the importer asks -----------------------------------------------------------

    async def course(self, ref: str) -> CanvasCourse | None:
        """The course `ref` names (see `course_ref`), with its lti_context_id; None when Canvas has none."""
        response = await self._get(f"/api/v1/courses/{quote(ref, safe=':')}",
                                   {"include[]": "lti_context_id"}, missing_ok=True)
        return None if response is None else CanvasCourse.from_json(response.json())

    async def make_context_id(self, course: CanvasCourse) -> CanvasCourse:
        """Ask Canvas to make the course's lti_context_id (API.md: a sessionless launch of the
        Zoom tool makes it), then the course again. Unchanged when no Zoom tool is found."""
        tools = await self._pages(f"/api/v1/courses/{course.id}/external_tools", {"include_parents": "true"})
        zoom = next((tool for tool in tools if isinstance(tool, dict) and any(
            _ZOOM.search(str(tool.get(key) or "")) for key in ("domain", "url", "name"))), None)
        if zoom is None:
            return course
        await self._get(f"/api/v1/courses/{course.id}/external_tools/sessionless_launch", {"id": str(zoom["id"])},
                        missing_ok=True)
        return await self.course(course.id) or course

    async def whoami(self) -> dict[str, Any]:
        """The token's user (GET /api/v1/users/self): proof the token is accepted."""
        response = await self._get("/api/v1/users/self", None)
        assert response is not None
        body = response.json()
        return body if isinstance(body, dict) else {}

    async def first_course(self, account: str) -> CanvasCourse | None:
        """The account's first course, with its lti_context_id (one page of one; none when it has none)."""
        response = await self._get(f"/api/v1/accounts/{quote(account)}/courses",
                                   {"per_page": "1", "include[]": "lti_context_id"})
        assert response is not None
        listed = response.json()
        return CanvasCourse.from_json(listed[0]) if isinstance(listed, list) and listed else None

    async def terms(self, account: str) -> list[CanvasTerm]:
        listed: list[CanvasTerm] = []
        for page in await self._pages(f"/api/v1/accounts/{quote(account)}/terms", {}, key="enrollment_terms"):
            listed.append(CanvasTerm(str(page["id"]), str(page.get("name") or page["id"]), page.get("start_at"),
                                     page.get("end_at")))
        return listed

    async def term_courses(self, account: str, term_id: str) -> list[CanvasCourse]:
        courses = await self._pages(f"/api/v1/accounts/{quote(account)}/courses",
                                    {"enrollment_term_id": term_id, "include[]": "lti_context_id"})
        return [CanvasCourse.from_json(course) for course in courses]

    # --- HTTP -----------------------------------------------------------------------------

    async def _pages(self, path: str, params: dict[str, str], key: str | None = None) -> list[Any]:
        """Every item of a paginated list, following `Link: <...>; rel="next"` as given."""
        items: list[Any] = []
        url: str | None = path
        query: dict[str, str] | None = {**params, "per_page": str(PER_PAGE)}
        while url is not None:
            response = await self._get(url, query)
            assert response is not None
            body = response.json()
            page = body.get(key, []) if key and isinstance(body, dict) else body
            if not isinstance(page, list):
                raise CanvasRefused(f"Canvas answered {path} with something that is not a list")
            items.extend(page)
            found = _NEXT.search(response.headers.get("Link", ""))
            url, query = (found.group(1), None) if found else (None, None)
        return items

    async def _get(self, url: str, params: dict[str, str] | None, missing_ok: bool = False) -> httpx.Response | None:
        """One GET, retried while Canvas throttles or fails on its side; None for a 404 when `missing_ok`."""
        retrying = AsyncRetrying(stop=stop_after_attempt(self._max_attempts), retry=retry_if_exception_type(_Retry),
                                 wait=self._wait, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(url, params, missing_ok)
        except _Retry as exc:
            raise CanvasRefused(f"Canvas at {self.url} kept refusing after {self._max_attempts} tries "
                                f"({exc}); try again later") from None
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True ends the loop above

    def _wait(self, state: Any) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        told = error.wait if isinstance(error, _Retry) else None
        backoff = wait_exponential(multiplier=self._backoff, max=30.0) + wait_random(0, self._backoff)
        return max(told or 0.0, float(backoff(state)))

    async def _get_once(self, url: str, params: dict[str, str] | None, missing_ok: bool) -> httpx.Response | None:
        assert self._client is not None, "use CanvasClient as an async context manager"
        if self._remaining is not None and self._remaining < LOW_WATER:
            await asyncio.sleep(LOW_WATER_PAUSE_S)
        try:
            response = await self._client.get(url, params=params)
        except httpx.TransportError as exc:
            raise _Retry(f"{type(exc).__name__}") from None
        remaining = response.headers.get("X-Rate-Limit-Remaining")
        if remaining is not None:
            try:
                self._remaining = float(remaining)
            except ValueError:
                self._remaining = None
        status = response.status_code
        if status == 429 or (status == 403 and "rate limit exceeded" in response.text.lower()):
            raise _Retry("throttled: Rate Limit Exceeded", parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise _Retry(f"HTTP {status}")
        if status == 404 and missing_ok:
            return None
        if status == 401:
            raise CanvasRefused(f"Canvas at {self.url} refused CANVAS_TOKEN (HTTP 401): check the token "
                                "(Canvas > Account > Settings > New Access Token)")
        if status >= 400:
            raise CanvasRefused(f"Canvas at {self.url} refused {_path_of(response)} (HTTP {status}: "
                                f"{_canvas_message(response)}); the token's user may not read courses there")
        return response


def _path_of(response: httpx.Response) -> str:
    return response.request.url.path


def _canvas_message(response: httpx.Response) -> str:
    """Canvas's own words for a refusal: `{"errors": [{"message": ...}]}`, else the start of the body."""
    try:
        body = response.json()
        return str(body["errors"][0]["message"])[:200]
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text.strip()[:200] or response.reason_phrase
