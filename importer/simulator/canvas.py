"""The simulator's fake Canvas REST API (API.md "Canvas REST API (course lookup)").

Served by the same app and port as the fake LTI Pro API, under ``/api/v1`` (LTI Pro's paths
are under ``/api/v1/lti/rich``): the token's user (``/users/self``, for ``importer doctor``); one
course by numeric id, ``sis_course_id:`` or
``lti_context_id:``; a course's external tools and the sessionless launch that makes Canvas
generate a course's ``lti_context_id``; an account's terms and a term's courses, paginated
with a ``Link`` header as Canvas does; Bearer tokens; Canvas's throttling (403 "Rate Limit
Exceeded", or 429).

The token is compared, never stored, recorded or logged. The course data of the demo
(``DEMO_CANVAS_COURSES``) is the sample's State University (samples/make_samples.py),
repeated here as data because samples/ is not part of the package; a test checks they agree.

This module imports neither config nor faults at run time (config imports the data types
from here), so there is no import cycle.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from .app import Simulator

DEMO_CANVAS_TOKEN = "demo-canvas-token-0001"

API = "/api/v1"
COURSES_PREFIX = API + "/courses/"
ACCOUNTS_PREFIX = API + "/accounts/"
USERS_PREFIX = API + "/users/"
#: The user every accepted token belongs to (GET /api/v1/users/self).
DEMO_CANVAS_USER = {"id": 1, "name": "Demo Admin"}

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
#: A numeric course id longer than this is no id (and keeps int() away from absurd inputs).
MAX_ID_DIGITS = 18

#: The rate-limit model: a bucket of this many units, each call spends REQUEST_COST and the
#: bucket refills at REFILL_PER_S (real, monotonic time). It only feeds X-Rate-Limit-Remaining:
#: throttling comes from the canvas_throttle_* knobs alone, so it stays reproducible.
RATE_LIMIT_CAPACITY = 700.0
REQUEST_COST = 1.0
REFILL_PER_S = 10.0

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
INVALID_TOKEN = {"errors": [{"message": "Invalid access token."}]}
UNAUTHORIZED = {"status": "unauthorized", "errors": [{"message": "user not authorized to perform that action"}]}
NO_TOOL_GIVEN = {"errors": [{"message": "A tool id, tool url, or module item id must be provided"}]}
THROTTLED_403_TEXT = "403 Forbidden (Rate Limit Exceeded)"
THROTTLED_429_TEXT = "Rate Limit Exceeded"

ZOOM_TOOL_ID = 77
UNRELATED_TOOL = {
    "id": 12,
    "name": "Turnitin",
    "domain": "api.turnitin.com",
    "url": "https://api.turnitin.com/api/lti/1p0/assignment",
    "consumer_key": "turnitin-state-university",
}


@dataclass(frozen=True)
class CanvasCourse:
    """A course as the fake Canvas holds it."""

    id: int
    name: str
    course_code: str
    term_id: int
    sis_course_id: str | None = None
    #: None: not made yet (a sessionless launch of the Zoom tool may make it).
    lti_context_id: str | None = None
    #: What a sessionless launch of the Zoom tool makes (None: nothing can be made).
    context_id_on_launch: str | None = None


@dataclass(frozen=True)
class CanvasTerm:
    id: int
    name: str
    start_at: str | None = None  # ISO 8601, e.g. "2027-01-12T05:00:00Z"
    end_at: str | None = None


# -- the demo's Canvas: State University, as in samples/make_samples.py ---------------------

#: (course_code, title, Fall 2026 course id) of each sample course (make_samples.Course).
DEMO_COURSE_TABLE: tuple[tuple[str, str, int], ...] = (
    ("BIO 101", "Principles of Biology", 48213),
    ("CHEM 110", "General Chemistry I", 48227),
    ("MATH 221", "Calculus II", 48240),
    ("HIST 240", "The American Century", 48256),
    ("POLS 240", "The American Century", 48257),
    ("CS 150", "Introduction to Programming", 48269),
    ("PSY 100", "Introduction to Psychology", 48281),
    ("ECON 201", "Principles of Microeconomics", 48294),
    ("ENGL 105", "College Writing", 48302),
    ("PHYS 151", "Physics for Scientists I", 48315),
    ("SOC 110", "Introduction to Sociology", 48329),
    ("STAT 250", "Applied Statistics", 48336),
    ("ART 120", "Drawing I", 48347),
    ("MUS 130", "Music Appreciation", 48352),
)
#: The sample's two courses with fixed contextIds (the simulator's rejected and flaky courses).
DEMO_FALL_CONTEXT_OVERRIDES = {
    "STAT 250": "4f1e0c2b9a7d3e5f6a8b0c1d2e3f4a5b6c7d8e9f",
    "MUS 130": "a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0",
}
#: Fall courses whose lti_context_id Canvas has not made yet: a launch makes the sample's one.
DEMO_MADE_ON_LAUNCH = frozenset({"ENGL 105", "ART 120"})
#: The one SIS id spelled with a space and a slash, so clients must URL-escape it.
DEMO_ODD_SIS_CODE = "HIST 240"
#: Spring 2027's copies of the courses: the Fall id plus this.
DEMO_SPRING_ID_OFFSET = 10000

DEMO_DEFAULT_TERM = CanvasTerm(1, "Default Term")
DEMO_FALL_TERM = CanvasTerm(117, "Fall 2026", "2026-09-08T04:00:00Z", "2026-12-11T23:59:00Z")
DEMO_SPRING_TERM = CanvasTerm(118, "Spring 2027", "2027-01-12T05:00:00Z", "2027-04-16T23:59:00Z")
DEMO_CANVAS_TERMS = (DEMO_DEFAULT_TERM, DEMO_FALL_TERM, DEMO_SPRING_TERM)


def demo_context_id(term_slug: str, code: str) -> str:
    """The sample's contextId of a course: sha1 of "state-university/<term>/<code>"."""
    return hashlib.sha1(f"state-university/{term_slug}/{code}".encode()).hexdigest()


def demo_sis_id(term_code: str, code: str) -> str:
    """ "2026FA-BIO-101-001"; HIST 240's is "2026FA/HIST 240-001" (a space and a slash)."""
    if code == DEMO_ODD_SIS_CODE:
        return f"{term_code}/{code}-001"
    return f"{term_code}-{code.replace(' ', '-')}-001"


def _demo_courses() -> tuple[CanvasCourse, ...]:
    fall, spring = [], []
    for code, title, course_id in DEMO_COURSE_TABLE:
        context_id = DEMO_FALL_CONTEXT_OVERRIDES.get(code) or demo_context_id("fall-2026", code)
        made = code not in DEMO_MADE_ON_LAUNCH
        fall.append(CanvasCourse(
            id=course_id, name=f"{code} {title}", course_code=code, term_id=DEMO_FALL_TERM.id,
            sis_course_id=demo_sis_id("2026FA", code),
            lti_context_id=context_id if made else None, context_id_on_launch=context_id,
        ))
        spring_context = demo_context_id("spring-2027", code)
        spring.append(CanvasCourse(
            id=course_id + DEMO_SPRING_ID_OFFSET, name=f"{code} {title}", course_code=code,
            term_id=DEMO_SPRING_TERM.id, sis_course_id=demo_sis_id("2027SP", code),
            lti_context_id=spring_context, context_id_on_launch=spring_context,
        ))
    return (*fall, *spring)


DEMO_CANVAS_COURSES = _demo_courses()


# -- the fake --------------------------------------------------------------------------------


@dataclass
class CanvasReply:
    status: int
    body: Any
    outcome: str
    headers: dict[str, str] = field(default_factory=dict)


#: An endpoint: the request, the path's segments after the prefix (still escaped), the call's number.
Endpoint = Callable[[Request, list[str], int], CanvasReply]


def _not_found() -> CanvasReply:
    return CanvasReply(404, NOT_FOUND, "not-found")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _raw_path(request: Request) -> str:
    """The path as sent, still percent-encoded: an escaped "/" in a SIS id is no separator."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("latin-1").partition("?")[0]
    return request.url.path


def _recorded_query(request: Request) -> dict[str, str | list[str]]:
    """The query for the ledger: repeated keys (include[]) as lists, never an access_token."""
    query: dict[str, str | list[str]] = {}
    for key in request.query_params:
        if key.lower() == "access_token":
            continue
        values = request.query_params.getlist(key)
        query[key] = values[0] if len(values) == 1 else values
    return query


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, "")
    if value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS:
        return int(value)
    return default


class CanvasFake:
    """Per-app runtime of the fake Canvas: the course indexes and the rate-limit bucket.

    What changes (lti_context_ids made by launches, the call counter, the ledger) lives in
    SimState, so ``reset()`` gives back the configured Canvas.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.config = sim.config
        self.state = sim.state
        courses = self.config.canvas_courses
        self.by_id = {course.id: course for course in courses}
        self.by_sis = {course.sis_course_id: course for course in courses if course.sis_course_id}
        self.by_context = {course.lti_context_id: course for course in courses if course.lti_context_id}
        self._remaining = RATE_LIMIT_CAPACITY
        self._refilled_at = time.monotonic()

    # -- rate limit --------------------------------------------------------------------------

    def _spend(self) -> float:
        """X-Rate-Limit-Remaining after this call. The app runs on one event loop and nothing
        here awaits, so no lock is needed."""
        now = time.monotonic()
        refill = (now - self._refilled_at) * REFILL_PER_S
        self._refilled_at = now
        self._remaining = max(0.0, min(RATE_LIMIT_CAPACITY, self._remaining + refill) - REQUEST_COST)
        return self._remaining

    def _throttled(self, call: int) -> bool:
        if call in self.config.canvas_throttle_calls:
            return True
        probability = self.config.canvas_p_throttle
        # As faults.roll: a zero probability draws nothing from the shared dice.
        return probability > 0 and self.sim.rng.random() < probability

    # -- courses -----------------------------------------------------------------------------

    def find_course(self, ref: str) -> CanvasCourse | None:
        if ref.isascii() and ref.isdigit() and len(ref) <= MAX_ID_DIGITS:
            return self.by_id.get(int(ref))
        kind, sep, value = ref.partition(":")
        if not sep or not value:
            return None
        if kind == "sis_course_id":
            return self.by_sis.get(value)
        if kind == "lti_context_id":
            made = self.state.canvas_course_for_context(value)
            return self.by_id.get(made) if made is not None else self.by_context.get(value)
        return None

    def lti_context_id(self, course: CanvasCourse) -> str | None:
        return course.lti_context_id or self.state.canvas_context_id(course.id)

    def course_json(self, course: CanvasCourse, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": course.id,
            "name": course.name,
            "account_id": self.config.canvas_account_id,
            "course_code": course.course_code,
            "sis_course_id": course.sis_course_id,
            "enrollment_term_id": course.term_id,
            "workflow_state": "available",
        }
        if "lti_context_id" in request.query_params.getlist("include[]"):
            body["lti_context_id"] = self.lti_context_id(course)
        return body

    def tools(self, include_parents: bool) -> list[dict[str, Any]]:
        """The course's own tool, then (with include_parents) the account's Zoom tool."""
        tools: list[dict[str, Any]] = [dict(UNRELATED_TOOL)]
        if include_parents and self.config.canvas_zoom_tool:
            tools.append(self.zoom_tool())
        return tools

    def zoom_tool(self) -> dict[str, Any]:
        return {
            "id": ZOOM_TOOL_ID,
            "name": "Zoom",
            "domain": "applications.zoom.us",
            "url": "https://applications.zoom.us/lti/rich",
            "consumer_key": self.config.key,
        }

    # -- endpoints ---------------------------------------------------------------------------

    def course_endpoint(self, request: Request, segments: list[str], call: int) -> CanvasReply:
        course = self.find_course(unquote(segments[0]))
        if course is None:
            return _not_found()
        tail = segments[1:]
        if not tail:
            return CanvasReply(200, self.course_json(course, request), "course")
        if tail == ["external_tools"]:
            include_parents = request.query_params.get("include_parents", "").lower() in ("true", "1")
            return self.paginated(request, self.tools(include_parents), "external-tools")
        if tail == ["external_tools", "sessionless_launch"]:
            return self.sessionless_launch(request, course, call)
        return _not_found()

    def sessionless_launch(self, request: Request, course: CanvasCourse, call: int) -> CanvasReply:
        tool_ref = request.query_params.get("id", "")
        if not tool_ref:
            return CanvasReply(400, NO_TOOL_GIVEN, "no-tool")
        tool = next((t for t in self.tools(include_parents=True) if str(t["id"]) == tool_ref), None)
        if tool is None:
            return _not_found()
        outcome = "launch"
        if tool["id"] == ZOOM_TOOL_ID and self.lti_context_id(course) is None and course.context_id_on_launch:
            self.state.make_canvas_context_id(course.id, course.context_id_on_launch)
            outcome = "launch-made-context-id"
        verifier = hashlib.sha1(f"{course.id}:{tool['id']}:{call}".encode()).hexdigest()
        root = str(request.base_url).rstrip("/")
        url = f"{root}/courses/{course.id}/external_tools/sessionless_launch?verifier={verifier}"
        return CanvasReply(200, {"id": tool["id"], "name": tool["name"], "url": url}, outcome)

    def account_endpoint(self, request: Request, segments: list[str], call: int) -> CanvasReply:
        account = unquote(segments[0])
        if account not in (str(self.config.canvas_account_id), "self") or len(segments) != 2:
            return _not_found()
        if segments[1] == "terms":
            terms = [
                {"id": t.id, "name": t.name, "start_at": t.start_at, "end_at": t.end_at}
                for t in self.config.canvas_terms
            ]
            return self.paginated(request, terms, "terms", key="enrollment_terms")
        if segments[1] == "courses":
            courses = self.config.canvas_courses
            if "enrollment_term_id" in request.query_params:
                term_id = _int_param(request, "enrollment_term_id", -1)
                courses = tuple(c for c in courses if c.term_id == term_id)
            return self.paginated(request, [self.course_json(c, request) for c in courses], "courses")
        return _not_found()

    def user_endpoint(self, request: Request, segments: list[str], call: int) -> CanvasReply:
        """GET /api/v1/users/self: the token's user."""
        if segments != ["self"]:
            return _not_found()
        return CanvasReply(200, dict(DEMO_CANVAS_USER), "user")

    def paginated(self, request: Request, items: list[Any], outcome: str, key: str | None = None) -> CanvasReply:
        """One page of ``items`` and Canvas's Link header (absolute URLs, the query kept)."""
        per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE)
        per_page = DEFAULT_PER_PAGE if per_page <= 0 else min(per_page, MAX_PER_PAGE)
        page = max(1, _int_param(request, "page", 1))
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        url = request.url.replace(path=_raw_path(request)).remove_query_params("access_token")
        rels = [(page, "current")]
        if page < last:
            rels.append((page + 1, "next"))
        if page > 1:
            rels.append((page - 1, "prev"))
        rels += [(1, "first"), (last, "last")]
        link = ",".join(
            f'<{url.include_query_params(page=number, per_page=per_page)}>; rel="{rel}"' for number, rel in rels
        )
        body = {key: chunk} if key else chunk
        return CanvasReply(200, body, outcome, {"Link": link})

    # -- the pipeline ------------------------------------------------------------------------

    async def handle(self, request: Request, prefix: str, endpoint: Endpoint) -> Response:
        """Throttle, then the token, then the endpoint; every call is recorded, no token ever."""
        call = self.state.next_canvas_call()
        path = _raw_path(request)
        segments = path[len(prefix):].split("/")
        record: dict[str, Any] = {
            "call": call,
            "method": request.method,
            "path": path,
            "ref": unquote(segments[0]) if prefix == COURSES_PREFIX else None,
            "query": _recorded_query(request),
            "status": 0,
            "throttled": False,
            "outcome": "",
        }
        await self.sim.latency()
        cost = f"{REQUEST_COST:.1f}"
        if self._throttled(call):
            status = self.config.canvas_throttle_status
            text = THROTTLED_403_TEXT if status == 403 else THROTTLED_429_TEXT
            record.update(status=status, throttled=True, outcome="throttled")
            self.state.record_canvas_request(record)
            headers = {"X-Request-Cost": cost, "X-Rate-Limit-Remaining": "0"}
            return PlainTextResponse(text, status_code=status, headers=headers)
        token = _bearer(request)
        if _same(token, self.config.canvas_token):
            reply = endpoint(request, segments, call)
        elif _same(token, self.config.canvas_forbidden_token):
            reply = CanvasReply(403, UNAUTHORIZED, "forbidden")
        else:
            reply = CanvasReply(401, INVALID_TOKEN, "invalid-token",
                                {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
        record.update(status=reply.status, outcome=reply.outcome)
        self.state.record_canvas_request(record)
        headers = {**reply.headers, "X-Request-Cost": cost, "X-Rate-Limit-Remaining": f"{self._spend():.1f}"}
        return JSONResponse(reply.body, status_code=reply.status, headers=headers)


def canvas_routes(sim: Simulator) -> list[Route]:
    """The fake Canvas's routes. The paths are matched on the raw (still escaped) path by the
    handlers, so ``sis_course_id:2026FA%2FHIST%20240-001`` is one segment, as in Canvas."""
    fake = CanvasFake(sim)

    async def courses(request: Request) -> Response:
        return await fake.handle(request, COURSES_PREFIX, fake.course_endpoint)

    async def accounts(request: Request) -> Response:
        return await fake.handle(request, ACCOUNTS_PREFIX, fake.account_endpoint)

    async def users(request: Request) -> Response:
        return await fake.handle(request, USERS_PREFIX, fake.user_endpoint)

    return [
        Route(COURSES_PREFIX + "{rest:path}", courses, methods=["GET"], name="canvas-courses"),
        Route(ACCOUNTS_PREFIX + "{rest:path}", accounts, methods=["GET"], name="canvas-accounts"),
        Route(USERS_PREFIX + "{rest:path}", users, methods=["GET"], name="canvas-users"),
    ]


__all__ = [
    "DEMO_CANVAS_COURSES",
    "DEMO_CANVAS_TERMS",
    "DEMO_CANVAS_TOKEN",
    "CanvasCourse",
    "CanvasFake",
    "CanvasTerm",
    "canvas_routes",
]
