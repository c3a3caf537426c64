"""The Canvas client against answers the project's fake does not give: Canvas as others may serve it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from importer import Canvas, Status, validate_file
from importer.canvas import CanvasClient, CanvasRefused
from importer.simulator import SimConfig, SimulatorServer
from importer.simulator.canvas import CanvasCourse as FakeCourse

from support import KEY, SECRET

TOKEN = "token-under-test-91"
URL = "https://canvas.example.edu/lms"  # Canvas installed under a path


def client(handler: Callable[[httpx.Request], httpx.Response]) -> CanvasClient:
    return CanvasClient(URL, TOKEN, backoff=0.001, transport=httpx.MockTransport(handler))


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_pages_follow_next_wherever_it_sits_in_the_link_header_and_never_loop() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        page = int(request.url.params.get("page", "1"))
        links = [f'<{URL}/api/v1/accounts/1/terms?page=1>; rel="first"']
        if page < 3:
            # rel is not the first parameter, in upper case, with another rel beside it
            links.append(f'<{URL}/api/v1/accounts/1/terms?page={page + 1}>; type="x"; rel="Next last"')
        else:  # the last page names itself as next: followed once, not forever
            links.append(f'</lms/api/v1/accounts/1/terms?page={page}>; rel="next"')
        body = {"enrollment_terms": [{"id": page, "name": f"T{page}", "start_at": None, "end_at": None}]}
        return httpx.Response(200, json=body, headers={"Link": ", ".join(links)})

    async def go():  # type: ignore[no-untyped-def]
        async with client(handler) as canvas:
            return await canvas.terms("1")

    assert [term.name for term in run(go())] == ["T1", "T2", "T3"]
    assert len(asked) == 3
    assert all(url.startswith(f"{URL}/api/v1/") for url in asked)


def test_the_token_is_not_sent_to_another_site_a_link_names() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "canvas.example.edu", "the token went elsewhere"
        return httpx.Response(200, json={"enrollment_terms": []},
                              headers={"Link": '<https://evil.example.net/steal?page=2>; rel="next"'})

    async def go():  # type: ignore[no-untyped-def]
        async with client(handler) as canvas:
            return await canvas.terms("1")

    with pytest.raises(CanvasRefused, match="sent its next page to another site"):
        run(go())


@pytest.mark.parametrize(("response", "words"), [
    (httpx.Response(200, text="<html>login</html>"), "not JSON: check CANVAS_URL"),
    (httpx.Response(301, headers={"Location": "https://canvas.example.edu/login"}), "redirected"),
    (httpx.Response(404, text="<html>Not here</html>"), "has no Canvas API"),
])
def test_an_answer_that_is_not_canvas_is_one_line(response: httpx.Response, words: str) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with client(lambda request: response) as canvas:
            return await canvas.whoami()

    with pytest.raises(CanvasRefused, match=words) as caught:
        run(go())
    assert TOKEN not in str(caught.value) and "\n" not in str(caught.value)


def test_a_long_retry_after_is_capped_and_a_course_id_is_escaped() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.raw_path.decode())
        if len(asked) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.01"}, text="Rate Limit Exceeded")
        return httpx.Response(200, json={"id": 7, "name": None, "course_code": "X 1", "lti_context_id": None})

    async def go():  # type: ignore[no-untyped-def]
        async with client(handler) as canvas:
            return await canvas.course("sis_course_id:2027/É 1:a")

    course = run(go())
    assert (course.id, course.name, course.lti_context_id) == ("7", "X 1", None)
    assert asked[0].startswith("/lms/api/v1/courses/sis_course_id%3A2027%2F%C3%89%201%3Aa?")


def write_csv(path: Path, course_ids: list[str]) -> Path:
    lines = ["Host,Course ID,Topic,Type,Start Time,Timezone"]
    lines += [f"host@x.edu,{course},T{n},2,2027-03-02 18:00,UTC" for n, course in enumerate(course_ids)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_two_canvases_on_one_host_keep_their_courses_apart(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    sheet = write_csv(tmp_path / "t.csv", ["501"])
    courses = {"a": (FakeCourse(501, "A", "A", 1, None, "a" * 40),),
               "b": (FakeCourse(501, "B", "B", 1, None, "b" * 40),)}
    contexts = []
    for name in ("a", "b"):
        config = SimConfig(key=KEY, secret=SECRET, canvas_token=TOKEN, canvas_courses=courses[name])
        with SimulatorServer(config) as server:
            validate_file(sheet, tmp_path / f"{name}.csv", journal=journal, canvas=Canvas(server.canvas_url, TOKEN))
            assert len(server.state.snapshot()["canvas_requests"]) >= 1  # each Canvas is asked
        contexts.append(json.dumps((tmp_path / f"{name}.csv").read_text(encoding="utf-8-sig")))
    assert "a" * 40 in contexts[0] and "b" * 40 in contexts[1]


class _Hiding(httpx.AsyncBaseTransport):
    """Real HTTP to the fake, but course 777 answers as Canvas does for a course the user may not see."""

    def __init__(self) -> None:
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/courses/777"):
            return httpx.Response(401, json={"status": "unauthorized",
                                             "errors": [{"message": "user not authorized to perform that action"}]})
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


def test_a_course_the_token_may_not_see_is_that_rows_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importer.courses

    def hiding(url: str, token: str, **options):  # type: ignore[no-untyped-def]
        return CanvasClient(url, token, transport=_Hiding(), **options)

    monkeypatch.setattr(importer.courses, "CanvasClient", hiding)
    courses = (FakeCourse(777, "Hidden", "H", 1, None, "c" * 40), FakeCourse(778, "Seen", "S", 1, None, "d" * 40))
    config = SimConfig(key=KEY, secret=SECRET, canvas_token=TOKEN, canvas_courses=courses)
    sheet = write_csv(tmp_path / "t.csv", ["777", "778"])

    with SimulatorServer(config) as server:
        report = validate_file(sheet, tmp_path / "out.csv", canvas=Canvas(server.canvas_url, TOKEN))

    assert [r.outcome.status for r in report.results] == [Status.INVALID, Status.VALID]
    assert report.results[0].outcome.error_code == "unknown-course"
    assert "does not show course courseId 777 to this token's user" in (report.results[0].outcome.message or "")
