"""Canvas's REST API, as far as finding a course's LTI ids needs it (API.md, "Canvas REST API").

`CanvasClient` asks for one course (by numeric id, `sis_course_id:<SIS id>` or
`lti_context_id:<hex>`), makes Canvas generate a course's missing `lti_context_id` through
the Zoom tool's sessionless launch, and lists a term's courses. It is read-only.

* **The token** goes in the Authorization header only: never in a URL, a message, a log or
  the journal, nor to another site a page link names. `whoami` goes first: a token Canvas
  refuses, or a CANVAS_URL that is no Canvas, stops the command with one line (`CanvasRefused`,
  exit 2). Afterwards a 401 or 403 (not throttling) is about one course (`NotPermitted`), and
  an answer that is not Canvas's JSON, or a redirect, stops the command with one line.
* **Throttling**: a 403 whose body says `Rate Limit Exceeded`, a 429, a 5xx and a lost
  connection are retried with backoff (tenacity; every call is a GET, so a retry changes
  nothing). When `X-Rate-Limit-Remaining` runs low, requests pause briefly before they go.
* **Pages** are followed through the `Link` header's `rel="next"` URL, as given.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

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
#: The longest Retry-After honoured, in seconds: a longer one is Canvas asking for more than a run can wait.
MAX_RETRY_AFTER_S = 60.0
#: Tools that are Zoom's (API.md): by domain or URL, else by name.
_ZOOM = re.compile(r"applications\.zoom\.us|\bzoom\b", re.IGNORECASE)


class CanvasRefused(ConfigError):
    """Canvas refused the token or the request: the command cannot go on (exit 2)."""


class NotFound(Exception):
    """Canvas has no such thing (404)."""


class NotPermitted(Exception):
    """Canvas will not show this to the token's user (401 or 403, not throttling)."""


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

    async def whoami(self) -> dict[str, Any]:
        """The token's user (GET /api/v1/users/self): proof that CANVAS_URL is a Canvas and the token is
        accepted; CanvasRefused (exit 2) when either is not so."""
        try:
            return self._object(await self._get("/api/v1/users/self", None))
        except NotPermitted as exc:
            raise CanvasRefused(f"Canvas at {self.url} refused CANVAS_TOKEN ({exc}): check the token "
                                "(Canvas > Account > Settings > New Access Token)") from None
        except NotFound:
            raise CanvasRefused(f"{self.url} has no Canvas API (GET /api/v1/users/self answered 404): check "
                                "CANVAS_URL, the address you open Canvas at") from None

    async def course(self, ref: str) -> CanvasCourse | None:
        """The course `ref` names (see `course_ref`), with its lti_context_id; None when Canvas has none.
        NotPermitted when the token's user may not see it."""
        try:
            body = self._object(await self._get(f"/api/v1/courses/{quote(ref, safe='')}",
                                                {"include[]": "lti_context_id"}))
        except NotFound:
            return None
        if "id" not in body:
            raise CanvasRefused(f"Canvas at {self.url} answered course {ref} without an id")
        return CanvasCourse.from_json(body)

    async def make_context_id(self, course: CanvasCourse) -> CanvasCourse:
        """Ask Canvas to make the course's lti_context_id (API.md: a sessionless launch of the
        Zoom tool makes it), then the course again. Unchanged when no Zoom tool is found or Canvas
        does not let this token launch it."""
        try:
            tools = await self._pages(f"/api/v1/courses/{course.id}/external_tools", {"include_parents": "true"})
            zoom = next((tool for tool in tools if isinstance(tool, dict) and "id" in tool and any(
                _ZOOM.search(str(tool.get(key) or "")) for key in ("domain", "url", "name"))), None)
            if zoom is None:
                return course
            await self._get(f"/api/v1/courses/{course.id}/external_tools/sessionless_launch", {"id": str(zoom["id"])})
            return await self.course(course.id) or course
        except (NotFound, NotPermitted):
            return course

    async def first_course(self, account: str) -> CanvasCourse | None:
        """The account's first course, with its lti_context_id (one page of one; none when it has none)."""
        with self._account(account):
            listed = self._json(await self._get(f"/api/v1/accounts/{quote(account, safe='')}/courses",
                                                {"per_page": "1", "include[]": "lti_context_id"}))
        first = listed[0] if isinstance(listed, list) and listed else None
        return CanvasCourse.from_json(first) if isinstance(first, dict) and "id" in first else None

    async def terms(self, account: str) -> list[CanvasTerm]:
        with self._account(account):
            terms = await self._pages(f"/api/v1/accounts/{quote(account, safe='')}/terms", {}, key="enrollment_terms")
        return [CanvasTerm(str(term["id"]), str(term.get("name") or term["id"]), term.get("start_at"),
                           term.get("end_at"))
                for term in terms if isinstance(term, dict) and "id" in term]

    async def term_courses(self, account: str, term_id: str) -> list[CanvasCourse]:
        with self._account(account):
            courses = await self._pages(f"/api/v1/accounts/{quote(account, safe='')}/courses",
                                        {"enrollment_term_id": term_id, "include[]": "lti_context_id"})
        return [CanvasCourse.from_json(course) for course in courses if isinstance(course, dict) and "id" in course]

    @contextmanager
    def _account(self, account: str) -> Iterator[None]:
        """An account-wide list the token may not read, or that does not exist, stops the command."""
        try:
            yield
        except (NotPermitted, NotFound) as exc:
            raise CanvasRefused(f"Canvas at {self.url} refused account {account}'s lists ({exc}): the token's user "
                                "must be an admin of that account (--canvas-account ID)") from None

    # --- HTTP -----------------------------------------------------------------------------

    async def _pages(self, path: str, params: dict[str, str], key: str | None = None) -> list[Any]:
        """Every item of a paginated list, following the `Link` header's rel="next" URL (resolved
        against the page's own URL; never to another site, never twice)."""
        items: list[Any] = []
        url: str | None = path
        query: dict[str, str] | None = {**params, "per_page": str(PER_PAGE)}
        seen: set[str] = set()
        while url is not None:
            response = await self._get(url, query)
            body = self._json(response)
            page = body.get(key, []) if key and isinstance(body, dict) else body
            if not isinstance(page, list):
                raise CanvasRefused(f"Canvas at {self.url} answered {path} with something that is not a list")
            items.extend(page)
            seen.add(str(response.url))
            url, query = self._next_page(response, seen), None
        return items

    def _next_page(self, response: httpx.Response, seen: set[str]) -> str | None:
        following = next((link.get("url") for link in response.links.values()
                          if "next" in link.get("rel", "").lower().split()), None)
        if not following:
            return None
        url = urljoin(str(response.url), following)
        if httpx.URL(url).netloc != httpx.URL(self.url).netloc:
            raise CanvasRefused(f"Canvas at {self.url} sent its next page to another site ({httpx.URL(url).host}); "
                                "the token is not sent there")
        return None if url in seen else url

    async def _get(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        """One GET, retried while Canvas throttles, fails on its side or cannot be reached."""
        retrying = AsyncRetrying(stop=stop_after_attempt(self._max_attempts), retry=retry_if_exception_type(_Retry),
                                 wait=self._wait, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(url, params)
        except _Retry as exc:
            raise CanvasRefused(f"Canvas at {self.url} {exc} after {self._max_attempts} tries; "
                                "try again later") from None
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True ends the loop above

    def _wait(self, state: Any) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        told = min(error.wait, MAX_RETRY_AFTER_S) if isinstance(error, _Retry) and error.wait else 0.0
        backoff = wait_exponential(multiplier=self._backoff, max=30.0) + wait_random(0, self._backoff)
        return max(told, float(backoff(state)))

    async def _get_once(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        assert self._client is not None, "use CanvasClient as an async context manager"
        if self._remaining is not None and self._remaining < LOW_WATER:
            await asyncio.sleep(LOW_WATER_PAUSE_S)
        try:
            response = await self._client.get(url, params=params)
        except httpx.TransportError as exc:
            raise _Retry(f"could not be reached ({type(exc).__name__})") from None
        remaining = response.headers.get("X-Rate-Limit-Remaining")
        try:
            self._remaining = float(remaining) if remaining is not None else None
        except ValueError:
            self._remaining = None
        status = response.status_code
        if status == 429 or (status == 403 and "rate limit exceeded" in response.text.lower()):
            told = parse_retry_after(response.headers.get("Retry-After"))
            raise _Retry("kept throttling (Rate Limit Exceeded)", told)
        if status >= 500:
            raise _Retry(f"kept failing (HTTP {status})")
        if 300 <= status < 400:
            raise CanvasRefused(f"Canvas at {self.url} redirected {response.request.url.path} to "
                                f"{response.headers.get('Location', '?')}: set CANVAS_URL to the address it names")
        if status == 404:
            raise NotFound(f"HTTP 404: {_canvas_message(response)}")
        if status in (401, 403):
            raise NotPermitted(f"HTTP {status}: {_canvas_message(response)}")
        if status >= 400:
            raise CanvasRefused(f"Canvas at {self.url} refused {response.request.url.path} (HTTP {status}: "
                                f"{_canvas_message(response)})")
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CanvasRefused(f"Canvas at {self.url} answered {response.request.url.path} with something that is "
                                "not JSON: check CANVAS_URL") from None

    def _object(self, response: httpx.Response) -> dict[str, Any]:
        body = self._json(response)
        if not isinstance(body, dict):
            raise CanvasRefused(f"Canvas at {self.url} answered {response.request.url.path} with something that is "
                                "not an object")
        return body


def _canvas_message(response: httpx.Response) -> str:
    """Canvas's own words for a refusal: `{"errors": [{"message": ...}]}`, else the start of the body."""
    try:
        body = response.json()
        return str(body["errors"][0]["message"])[:200]
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text.strip()[:200] or response.reason_phrase
