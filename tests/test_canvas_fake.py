"""The simulator's fake Canvas REST API, exercised over real loopback HTTP with a plain httpx.Client."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from importer.simulator import (
    DEMO_CANVAS_TOKEN,
    CanvasCourse,
    CanvasTerm,
    SimConfig,
    SimulatorServer,
    demo_config,
)
from importer.simulator.canvas import (
    DEMO_CANVAS_COURSES,
    DEMO_CANVAS_TERMS,
    DEMO_FALL_TERM,
    DEMO_SPRING_TERM,
    ZOOM_TOOL_ID,
)

from support import load_make_samples, simulate_command

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FORBIDDEN = "forbidden-canvas-token"
AUTH = {"Authorization": f"Bearer {DEMO_CANVAS_TOKEN}"}
INCLUDE = {"include[]": "lti_context_id"}

BIO = 48213
HIST = 48256
HIST_SIS = "2026FA/HIST 240-001"
ENGL = 48302  # no lti_context_id until the Zoom tool is launched
ART = 48347  # the same
STAT_CONTEXT = "4f1e0c2b9a7d3e5f6a8b0c1d2e3f4a5b6c7d8e9f"


def sample_context(term: str, code: str) -> str:
    return hashlib.sha1(f"state-university/{term}/{code}".encode()).hexdigest()


class Canvas:
    """A minimal Canvas client for one simulator."""

    def __init__(self, server: SimulatorServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client

    def get(self, path: str, token: str | None = DEMO_CANVAS_TOKEN, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return self.client.get(self.server.canvas_url + "/api/v1" + path, params=params, headers=headers)

    def course(self, ref: str | int, include: bool = True, **kwargs: Any) -> httpx.Response:
        params = dict(INCLUDE) if include else {}
        return self.get(f"/courses/{quote(str(ref), safe=':')}", **params, **kwargs)

    def all_pages(self, path: str, **params: Any) -> list[httpx.Response]:
        """Follow rel="next" as given until there is none."""
        pages = [self.get(path, **params)]
        while "next" in pages[-1].links:
            assert len(pages) < 50, "pagination does not end"
            pages.append(self.client.get(pages[-1].links["next"]["url"], headers=AUTH))
        return pages

    def requests(self) -> list[dict[str, Any]]:
        return list(self.server.state.snapshot()["canvas_requests"])


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as shared:
        yield shared


@pytest.fixture(scope="module")
def demo_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_config()) as server:
        yield server


@pytest.fixture
def canvas(demo_server: SimulatorServer, client: httpx.Client) -> Canvas:
    """The shared demo simulator, its ledger (and the ids launches made) forgotten."""
    demo_server.state.reset()
    return Canvas(demo_server, client)


@pytest.fixture
def make_canvas(client: httpx.Client, start_simulator: Callable[[SimConfig], SimulatorServer]) -> Any:
    return lambda **overrides: Canvas(start_simulator(dataclasses.replace(demo_config(), **overrides)), client)


# -- one course ------------------------------------------------------------------------------


def test_course_by_numeric_id_with_and_without_include(canvas: Canvas) -> None:
    plain = canvas.course(BIO, include=False)
    assert plain.status_code == 200
    assert plain.json() == {
        "id": BIO,
        "name": "BIO 101 Principles of Biology",
        "account_id": 1,
        "course_code": "BIO 101",
        "sis_course_id": "2026FA-BIO-101-001",
        "enrollment_term_id": DEMO_FALL_TERM.id,
        "workflow_state": "available",
    }
    included = canvas.course(BIO)
    assert included.json() == {**plain.json(), "lti_context_id": sample_context("fall-2026", "BIO 101")}
    # A course not launched yet: the key is there, null.
    assert canvas.course(ENGL).json()["lti_context_id"] is None
    assert "lti_context_id" not in canvas.course(ENGL, include=False).json()


@pytest.mark.parametrize("escaped", [
    "sis_course_id:2026FA%2FHIST%20240-001",
    "sis_course_id%3A2026FA%2FHIST%20240-001",
])
def test_course_by_sis_id_with_space_and_slash(canvas: Canvas, escaped: str) -> None:
    response = canvas.client.get(f"{canvas.server.canvas_url}/api/v1/courses/{escaped}", params=INCLUDE,
                                 headers=AUTH)
    assert response.status_code == 200
    assert response.json()["id"] == HIST and response.json()["sis_course_id"] == HIST_SIS
    assert response.json()["lti_context_id"] == sample_context("fall-2026", "HIST 240")
    [record] = canvas.requests()
    assert record["ref"] == f"sis_course_id:{HIST_SIS}" and record["path"].endswith(escaped)


def test_unescaped_slash_in_sis_id_is_no_course(canvas: Canvas) -> None:
    """Canvas routes on the escaped path: an unescaped "/" splits the id."""
    assert canvas.get("/courses/sis_course_id:2026FA/HIST%20240-001").status_code == 404


def test_course_by_lti_context_id(canvas: Canvas) -> None:
    response = canvas.course(f"lti_context_id:{STAT_CONTEXT}")
    assert response.status_code == 200
    assert response.json()["course_code"] == "STAT 250" and response.json()["lti_context_id"] == STAT_CONTEXT
    spring = canvas.course(f"lti_context_id:{sample_context('spring-2027', 'BIO 101')}")
    assert spring.json()["id"] == BIO + 10000 and spring.json()["enrollment_term_id"] == DEMO_SPRING_TERM.id


@pytest.mark.parametrize("ref", [
    "99999", "sis_course_id:2026FA-NOPE-001", f"lti_context_id:{'0' * 40}",
    # ENGL 105's id is not made yet, so nothing is found by it.
    f"lti_context_id:{sample_context('fall-2026', 'ENGL 105')}",
    "sis_course_id:", "bogus:1", "BIO 101", "1" * 40,
])
def test_unknown_course_is_404(canvas: Canvas, ref: str) -> None:
    response = canvas.course(ref)
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "The specified resource does not exist."}]}
    assert canvas.requests()[-1]["status"] == 404


def test_unknown_paths_under_a_course_or_account_are_404(canvas: Canvas) -> None:
    for path in (f"/courses/{BIO}/users", f"/courses/{BIO}/", "/accounts/2/terms", "/accounts/1/users",
                 "/accounts/1/terms/5"):
        assert canvas.get(path).status_code == 404, path
    assert canvas.get("/accounts/self/terms").status_code == 200


# -- external tools and the sessionless launch ----------------------------------------------


def test_external_tools_with_and_without_include_parents(canvas: Canvas) -> None:
    own = canvas.get(f"/courses/{BIO}/external_tools")
    assert own.status_code == 200 and [tool["name"] for tool in own.json()] == ["Turnitin"]
    assert "next" not in own.links and "current" in own.links
    both = canvas.get(f"/courses/{BIO}/external_tools", include_parents="true").json()
    zoom = next(tool for tool in both if tool["name"] == "Zoom")
    assert zoom["id"] == ZOOM_TOOL_ID == 77
    assert zoom["domain"] == "applications.zoom.us" and "applications.zoom.us" in zoom["url"]
    assert {"id", "name", "domain", "url", "consumer_key"} <= set(zoom)
    # By SIS id too; an unknown course has no tools.
    assert len(canvas.get(f"/courses/sis_course_id:{quote(HIST_SIS, safe='')}/external_tools",
                          include_parents="true").json()) == 2
    assert canvas.get("/courses/99999/external_tools").status_code == 404


def test_no_zoom_tool_anywhere(make_canvas: Any) -> None:
    canvas = make_canvas(canvas_zoom_tool=False)
    tools = canvas.get(f"/courses/{ENGL}/external_tools", include_parents="true").json()
    assert [tool["name"] for tool in tools] == ["Turnitin"]
    assert canvas.get(f"/courses/{ENGL}/external_tools/sessionless_launch", id="77").status_code == 404
    assert canvas.course(ENGL).json()["lti_context_id"] is None


def test_sessionless_launch_of_zoom_makes_the_context_id(canvas: Canvas) -> None:
    expected = sample_context("fall-2026", "ENGL 105")
    # Another tool's launch makes nothing.
    other = canvas.get(f"/courses/{ENGL}/external_tools/sessionless_launch", id="12")
    assert other.status_code == 200 and canvas.course(ENGL).json()["lti_context_id"] is None

    launch = canvas.get(f"/courses/{ENGL}/external_tools/sessionless_launch", id=str(ZOOM_TOOL_ID))
    assert launch.status_code == 200
    body = launch.json()
    assert body["id"] == ZOOM_TOOL_ID and body["name"] == "Zoom" and "sessionless" in body["url"]
    assert canvas.course(ENGL).json()["lti_context_id"] == expected
    assert canvas.course(f"lti_context_id:{expected}").json()["id"] == ENGL
    assert canvas.server.state.snapshot()["canvas_generated"] == [{"course_id": ENGL, "lti_context_id": expected}]

    # A second launch changes nothing; the other course is still without one.
    canvas.get(f"/courses/{ENGL}/external_tools/sessionless_launch", id=str(ZOOM_TOOL_ID))
    assert len(canvas.server.state.snapshot()["canvas_generated"]) == 1
    assert canvas.course(ART).json()["lti_context_id"] is None

    # reset() gives back the configured Canvas.
    canvas.server.state.reset()
    assert canvas.course(ENGL).json()["lti_context_id"] is None


def test_sessionless_launch_refusals(canvas: Canvas) -> None:
    assert canvas.get(f"/courses/{ENGL}/external_tools/sessionless_launch", id="999").status_code == 404
    assert canvas.get(f"/courses/{ENGL}/external_tools/sessionless_launch").status_code == 400
    assert canvas.get("/courses/99999/external_tools/sessionless_launch", id="77").status_code == 404
    assert canvas.course(ENGL).json()["lti_context_id"] is None


def test_launch_of_a_course_that_can_get_no_context_id(make_canvas: Any) -> None:
    course = CanvasCourse(5, "Orphan", "ORPH 100", 1, "ORPH-100")
    canvas = make_canvas(canvas_courses=(course,))
    assert canvas.get("/courses/5/external_tools/sessionless_launch", id="77").status_code == 200
    assert canvas.course(5).json()["lti_context_id"] is None
    assert canvas.server.state.snapshot()["canvas_generated"] == []


# -- terms and a term's courses, paginated -------------------------------------------------


def test_terms_follow_link_next_over_three_pages(canvas: Canvas) -> None:
    pages = canvas.all_pages("/accounts/1/terms", per_page="1")
    assert len(pages) == 3
    terms = [term for page in pages for term in page.json()["enrollment_terms"]]
    assert terms == [
        {"id": t.id, "name": t.name, "start_at": t.start_at, "end_at": t.end_at} for t in DEMO_CANVAS_TERMS
    ]
    assert {"Fall 2026", "Spring 2027"} <= {t["name"] for t in terms}
    first, _, last = pages
    assert set(first.links) == {"current", "next", "first", "last"}
    assert set(last.links) == {"current", "prev", "first", "last"}
    assert last.links["last"]["url"] == last.links["current"]["url"]
    for rel in first.links.values():
        assert rel["url"].startswith(canvas.server.canvas_url + "/api/v1/accounts/1/terms?")


@pytest.mark.parametrize("term", [DEMO_FALL_TERM, DEMO_SPRING_TERM])
def test_term_courses_follow_link_next(canvas: Canvas, term: CanvasTerm) -> None:
    pages = canvas.all_pages("/accounts/1/courses", enrollment_term_id=str(term.id), per_page="5",
                             **{"include[]": "lti_context_id"})
    assert [len(page.json()) for page in pages] == [5, 5, 4]
    courses = [course for page in pages for course in page.json()]
    assert {c["enrollment_term_id"] for c in courses} == {term.id}
    assert len({c["id"] for c in courses}) == 14 and all("lti_context_id" in c for c in courses)
    # The include is kept in every next URL.
    assert all("include%5B%5D=lti_context_id" in page.links["current"]["url"] for page in pages)


def test_page_size_default_and_cap(canvas: Canvas) -> None:
    default = canvas.get("/accounts/1/courses")
    assert len(default.json()) == 10 and "page=2" in default.links["next"]["url"]
    assert "lti_context_id" not in default.json()[0]
    capped = canvas.get("/accounts/1/courses", per_page="1000")
    assert len(capped.json()) == 28 and "next" not in capped.links
    assert "per_page=100" in capped.links["current"]["url"]
    assert canvas.get("/accounts/1/courses", enrollment_term_id="424242").json() == []
    assert canvas.get("/accounts/1/courses", per_page="10", page="9").json() == []


# -- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"},
                                     {"Authorization": DEMO_CANVAS_TOKEN},
                                     {"Authorization": f"Basic {DEMO_CANVAS_TOKEN}"}])
def test_missing_or_unknown_token_is_401(canvas: Canvas, headers: dict[str, str]) -> None:
    for path in (f"/courses/{BIO}", "/accounts/1/terms"):
        response = canvas.client.get(canvas.server.canvas_url + "/api/v1" + path, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"errors": [{"message": "Invalid access token."}]}


def test_forbidden_token_is_403_without_rate_limit_text(canvas: Canvas) -> None:
    for path in (f"/courses/{BIO}", "/accounts/1/courses", f"/courses/{ENGL}/external_tools/sessionless_launch"):
        response = canvas.get(path, token=FORBIDDEN, id="77")
        assert response.status_code == 403
        assert response.json() == {"status": "unauthorized",
                                   "errors": [{"message": "user not authorized to perform that action"}]}
        assert "Rate Limit Exceeded" not in response.text
    assert canvas.course(ENGL).json()["lti_context_id"] is None


# -- throttling ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "text"), [(403, "403 Forbidden (Rate Limit Exceeded)"),
                                              (429, "Rate Limit Exceeded")])
def test_throttling_by_call_number(make_canvas: Any, status: int, text: str) -> None:
    canvas = make_canvas(canvas_throttle_calls=frozenset({2, 3}), canvas_throttle_status=status)
    launch = f"/courses/{ENGL}/external_tools/sessionless_launch"
    first = canvas.course(BIO)
    second = canvas.get(launch, id="77")
    third = canvas.course(BIO)
    fourth = canvas.course(ENGL)
    assert [r.status_code for r in (first, second, third, fourth)] == [200, status, status, 200]
    for throttled in (second, third):
        assert throttled.text == text and "Rate Limit Exceeded" in throttled.text
        assert throttled.headers["X-Rate-Limit-Remaining"] == "0" and "X-Request-Cost" in throttled.headers
    # The throttled launch made nothing.
    assert fourth.json()["lti_context_id"] is None
    assert canvas.server.state.snapshot()["canvas_generated"] == []
    records = canvas.requests()
    assert [(r["call"], r["status"], r["throttled"]) for r in records] == [
        (1, 200, False), (2, status, True), (3, status, True), (4, 200, False)]
    # Numbers count from the last reset().
    canvas.server.state.reset()
    assert [canvas.course(BIO).status_code for _ in range(3)] == [200, status, status]


def test_random_throttling_is_seeded(make_canvas: Any) -> None:
    def pattern(seed: int) -> list[int]:
        canvas = make_canvas(canvas_p_throttle=0.5, seed=seed)
        return [canvas.course(BIO).status_code for _ in range(24)]

    first = pattern(7)
    assert first == pattern(7)
    assert set(first) == {200, 403}


def test_rate_limit_headers_go_down(canvas: Canvas) -> None:
    remaining = []
    for _ in range(5):
        response = canvas.course(BIO)
        assert float(response.headers["X-Request-Cost"]) > 0
        remaining.append(float(response.headers["X-Rate-Limit-Remaining"]))
    assert remaining == sorted(remaining, reverse=True) and remaining[0] > remaining[-1]
    assert "X-Rate-Limit-Remaining" in canvas.get("/courses/99999").headers
    assert "X-Request-Cost" in canvas.get(f"/courses/{BIO}", token="nope").headers


# -- the ledger ----------------------------------------------------------------------------


def test_ledger_records_every_call_and_never_the_token(canvas: Canvas) -> None:
    canvas.course(f"sis_course_id:{HIST_SIS}")
    canvas.get("/accounts/1/terms", per_page="2")
    canvas.get(f"/courses/{BIO}", token=FORBIDDEN)
    canvas.get(f"/courses/{BIO}", token="some-other-token")
    # A token in the query is no way in, and is not recorded either.
    canvas.client.get(f"{canvas.server.canvas_url}/api/v1/courses/{BIO}",
                      params={"access_token": DEMO_CANVAS_TOKEN, "include[]": ["lti_context_id", "term"]})
    records = canvas.requests()
    assert [(r["method"], r["status"], r["throttled"]) for r in records] == [
        ("GET", 200, False), ("GET", 200, False), ("GET", 403, False), ("GET", 401, False), ("GET", 401, False)]
    assert records[0]["ref"] == f"sis_course_id:{HIST_SIS}" and records[0]["query"] == INCLUDE
    assert records[1]["path"] == "/api/v1/accounts/1/terms" and records[1]["query"] == {"per_page": "2"}
    assert records[1]["ref"] is None
    assert records[4]["query"] == {"include[]": ["lti_context_id", "term"]}
    ledger = canvas.client.get(canvas.server.root_url + "/_sim/ledger").text
    for secret in (DEMO_CANVAS_TOKEN, FORBIDDEN, "some-other-token"):
        assert secret not in json.dumps(canvas.server.state.snapshot()) and secret not in ledger
    canvas.server.state.reset()
    assert canvas.requests() == []


def test_lti_and_canvas_share_one_server(canvas: Canvas) -> None:
    assert canvas.server.canvas_url == canvas.server.root_url
    assert canvas.server.base_url.startswith(canvas.server.canvas_url + "/api/v1/lti/rich")
    assert canvas.course(BIO).status_code == 200
    assert canvas.server.state.snapshot()["requests"] == []  # the LTI ledger saw nothing


def test_simulate_prints_the_canvas_line() -> None:
    with simulate_command(2) as (root, lines):
        assert lines[1] == f"Canvas simulator on {root}/api/v1 (CANVAS_URL={root}, CANVAS_TOKEN={DEMO_CANVAS_TOKEN})"
        with httpx.Client(timeout=5) as client:
            assert client.get(f"{root}/api/v1/courses/{BIO}", headers=AUTH).json()["id"] == BIO


# -- the demo's Canvas ---------------------------------------------------------------------




def test_demo_courses_agree_with_the_sample() -> None:
    ms = load_make_samples()
    sample = sorted((c for c in vars(ms).values() if isinstance(c, ms.Course)), key=lambda c: c.canvas_id)
    assert len(sample) == 14
    fall = sorted((c for c in DEMO_CANVAS_COURSES if c.term_id == DEMO_FALL_TERM.id), key=lambda c: c.id)
    spring = sorted((c for c in DEMO_CANVAS_COURSES if c.term_id == DEMO_SPRING_TERM.id), key=lambda c: c.id)
    assert len(fall) == len(spring) == 14 and len(DEMO_CANVAS_COURSES) == 28
    for theirs, mine, later in zip(sample, fall, spring, strict=True):
        assert (mine.id, mine.course_code) == (theirs.canvas_id, theirs.code)
        assert mine.name == later.name == f"{theirs.code} {theirs.title}"
        assert mine.context_id_on_launch == theirs.context_id
        assert mine.lti_context_id in (None, theirs.context_id)
        assert later.course_code == theirs.code and later.id != mine.id
        assert later.lti_context_id == sample_context("spring-2027", theirs.code) != theirs.context_id
    assert DEMO_FALL_TERM.start_at is not None and DEMO_FALL_TERM.start_at.startswith(ms.FIRST_DAY.isoformat())
    assert DEMO_FALL_TERM.end_at == ms.LAST_DAY
    # Every contextId LTI Pro's demo config names is a Fall course's.
    config = demo_config()
    assert config.reject_contexts | config.flaky_contexts <= {c.lti_context_id for c in fall}


def test_demo_canvas_config() -> None:
    config = demo_config()
    assert config.canvas_token == DEMO_CANVAS_TOKEN and config.canvas_account_id == 1
    assert config.canvas_courses == DEMO_CANVAS_COURSES and config.canvas_terms == DEMO_CANVAS_TERMS
    assert config.canvas_p_throttle == 0 and not config.canvas_throttle_calls and config.canvas_zoom_tool
    courses = config.canvas_courses
    assert len({c.id for c in courses}) == len({c.sis_course_id for c in courses}) == 28
    assert len({c.context_id_on_launch for c in courses}) == 28
    assert sorted(c.course_code for c in courses if c.lti_context_id is None) == ["ART 120", "ENGL 105"]
    assert {c.sis_course_id for c in courses if c.course_code == "HIST 240"} == {HIST_SIS, "2027SP/HIST 240-001"}
    assert [(t.id, t.name, t.start_at, t.end_at) for t in config.canvas_terms] == [
        (1, "Default Term", None, None),
        (117, "Fall 2026", "2026-09-08T04:00:00Z", "2026-12-11T23:59:00Z"),
        (118, "Spring 2027", "2027-01-12T05:00:00Z", "2027-04-16T23:59:00Z"),
    ]
    assert SimConfig().canvas_courses == () and SimConfig().canvas_throttle_status == 403
