"""Starting from Canvas: `importer template --canvas-term`, `importer doctor`'s Canvas lines, and
samples/fall-2026-canvas.xlsx, all against the simulator's Canvas fake."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from importer import Canvas, Status, validate_file
from importer.canvas import PER_PAGE
from importer.cli import cli
from importer.simulator import SimConfig, SimulatorServer
from importer.simulator.canvas import DEMO_CANVAS_COURSES, DEMO_CANVAS_TOKEN, DEMO_FALL_TERM, CanvasCourse, CanvasTerm
from importer.template import TEMPLATE_COLUMNS, utc_date

from support import KEY, SECRET, load_make_samples

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
TOKEN = "canvas-template-token-93b1d"
#: Schedule's header and first data row (1-based, as the spreadsheet numbers them).
HEADER_ROW, FIRST_ROW = 2, 3

SPRING = CanvasTerm(118, "Spring 2027", "2027-01-12T05:00:00Z", "2027-04-16T23:59:00Z")
FALL = CanvasTerm(117, "Fall 2026", "2026-09-08T04:00:00Z", "2026-12-11T23:59:00Z")
UNDATED = CanvasTerm(119, "Summer Institute")
TERMS = (CanvasTerm(1, "Default Term"), FALL, SPRING, UNDATED)
#: More than two of the client's pages (it asks per_page=100, the fake's largest page).
MANY = 2 * PER_PAGE + 30


def context(number: int) -> str:
    return f"{number:040x}"


def spring_course(number: int) -> CanvasCourse:
    """Every seventh course has no lti_context_id yet; one SIS id has a space and a slash."""
    sis = "2027SP/HIST 240-001" if number == 5 else f"2027SP-C{number:03d}-001"
    made = context(number) if number % 7 else None
    return CanvasCourse(50000 + number, f"C{number:03d} Course number {number}", f"C{number:03d}", SPRING.id, sis,
                        made, context(number))


SPRING_COURSES = tuple(spring_course(number) for number in range(MANY))
OTHER_COURSES = (
    CanvasCourse(40001, "FALL 1 Fall course", "FALL 1", FALL.id, "2026FA-FALL-1-001", context(9001)),
    CanvasCourse(40002, "SUM 1 Summer course", "SUM 1", UNDATED.id, None, context(9002)),
)




@pytest.fixture
def canvas_sim() -> Iterator[SimulatorServer]:
    config = SimConfig(key=KEY, secret=SECRET, canvas_token=TOKEN, canvas_terms=TERMS,
                       canvas_courses=(*OTHER_COURSES[:1], *SPRING_COURSES, *OTHER_COURSES[1:]))
    with SimulatorServer(config) as server:
        yield server


def env_of(server: SimulatorServer, tmp_path: Path, token: str | None = TOKEN) -> dict[str, str | None]:
    return {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "LTI_BASE_URL": server.base_url,
            "CANVAS_URL": server.canvas_url, "CANVAS_TOKEN": token, "IMPORTER_JOURNAL": str(tmp_path / "j.sqlite3")}


def template(args: list[str], env: dict[str, str | None]) -> Any:
    return CliRunner().invoke(cli, ["template", *args], env=env, catch_exceptions=False)


def schedule_rows(path: Path) -> list[dict[str, Any]]:
    sheet = openpyxl.load_workbook(path)["Schedule"]
    assert tuple(cell.value for cell in sheet[HEADER_ROW]) == TEMPLATE_COLUMNS
    rows = [dict(zip(TEMPLATE_COLUMNS, values, strict=True))
            for values in sheet.iter_rows(min_row=FIRST_ROW, max_col=len(TEMPLATE_COLUMNS), values_only=True)]
    return [row for row in rows if any(value is not None for value in row.values())]


def expected_rows(courses: tuple[CanvasCourse, ...], first: date | None, last: date | None) -> list[dict[str, Any]]:
    def midnight(day: date | None) -> datetime | None:  # openpyxl reads a date cell as a datetime
        return None if day is None else datetime(day.year, day.month, day.day)

    return [{**dict.fromkeys(TEMPLATE_COLUMNS), "courseId": str(c.id), "sis_course_id": c.sis_course_id,
             "contextId": c.lti_context_id, "domain": "127.0.0.1", "topic": c.name,
             "first_day": midnight(first), "last_day": midnight(last)} for c in courses]


# --- importer template --canvas-term ---------------------------------------------------------


def test_term_template_rows_are_exactly_the_terms_courses_over_three_pages(canvas_sim, tmp_path):
    target = tmp_path / "spring.xlsx"

    result = template([str(target), "--canvas-term", "Spring 2027"], env_of(canvas_sim, tmp_path))

    assert result.exit_code == 0, result.output
    assert f"{MANY} course(s) of Spring 2027 (id 118)" in result.output
    rows = schedule_rows(target)
    assert rows == expected_rows(SPRING_COURSES, date(2027, 1, 12), date(2027, 4, 16))
    assert all(isinstance(row["courseId"], str) for row in rows)  # ids written as text
    assert sum(row["contextId"] is None for row in rows) == len([c for c in SPRING_COURSES if not c.lti_context_id])
    # The term's courses came in three pages, each followed through Link rel="next".
    calls = canvas_sim.state.snapshot()["canvas_requests"]
    pages = [call for call in calls if call["path"] == "/api/v1/accounts/1/courses"]
    assert len(pages) == 3 and all(call["status"] == 200 for call in calls)
    assert pages[0]["query"]["enrollment_term_id"] == "118"
    # The template's guidance is kept: the legend above the header, the ids as text.
    sheet = openpyxl.load_workbook(target)["Schedule"]
    assert sheet.cell(1, 1).value.startswith("Dark headers are required")
    assert sheet.cell(FIRST_ROW, TEMPLATE_COLUMNS.index("courseId") + 1).number_format == "@"
    assert sheet.cell(FIRST_ROW, TEMPLATE_COLUMNS.index("first_day") + 1).number_format == "yyyy-mm-dd"
    assert TOKEN.encode() not in b"".join(unzipped(target).values())


def test_term_by_id_as_csv_and_a_term_without_dates(canvas_sim, tmp_path):
    by_id = template([str(tmp_path / "fall.csv"), "--canvas-term", "117"], env_of(canvas_sim, tmp_path))
    undated = template([str(tmp_path / "summer.xlsx"), "--canvas-term", "summer institute"],
                       env_of(canvas_sim, tmp_path))

    assert by_id.exit_code == 0, by_id.output
    lines = (tmp_path / "fall.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(TEMPLATE_COLUMNS)
    fall = dict(zip(TEMPLATE_COLUMNS, lines[1].split(","), strict=True))
    assert len(lines) == 2
    assert {name: value for name, value in fall.items() if value} == {
        "contextId": context(9001), "domain": "127.0.0.1", "courseId": "40001", "sis_course_id": "2026FA-FALL-1-001",
        "topic": "FALL 1 Fall course", "first_day": "2026-09-08", "last_day": "2026-12-11"}
    assert undated.exit_code == 0, undated.output
    assert schedule_rows(tmp_path / "summer.xlsx") == expected_rows(OTHER_COURSES[1:], None, None)


def test_a_filled_in_term_template_validates(tmp_path):
    courses = SPRING_COURSES[:8]  # two of them without an lti_context_id: the lookup makes them
    config = SimConfig(key=KEY, secret=SECRET, canvas_token=TOKEN, canvas_terms=TERMS, canvas_courses=courses)
    with SimulatorServer(config) as server:
        target = tmp_path / "spring.xlsx"
        assert template([str(target), "--canvas-term", "Spring 2027"], env_of(server, tmp_path)).exit_code == 0
        workbook = openpyxl.load_workbook(target)
        sheet = workbook["Schedule"]
        for row in range(FIRST_ROW, FIRST_ROW + len(courses)):
            for name, value in (("userId", "host@x.edu"), ("days", "Mon Wed"), ("time", "10:00-10:50"),
                                ("timezone", "America/New_York")):
                sheet.cell(row, TEMPLATE_COLUMNS.index(name) + 1, value)
        workbook.save(target)

        report = validate_file(target, tmp_path / "out.xlsx", journal=tmp_path / "j.sqlite3",
                               canvas=Canvas(server.canvas_url, TOKEN, backoff=0.01),
                               now=datetime(2026, 12, 1, tzinfo=UTC))

    assert [r.outcome.status for r in report.results] == [Status.VALID] * len(courses)


def test_an_unknown_term_is_exit_2_naming_the_terms(canvas_sim, tmp_path):
    target = tmp_path / "t.xlsx"
    result = template([str(target), "--canvas-term", "Winter 2030"], env_of(canvas_sim, tmp_path))

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "importer: Canvas account 1 has no term 'Winter 2030'; its terms: Default Term (id 1); Fall 2026 (id 117); "
        "Spring 2027 (id 118); Summer Institute (id 119)"]
    assert not target.exists()


def test_without_canvas_settings_the_term_template_says_to_set_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env here
    result = template([str(tmp_path / "t.xlsx"), "--canvas-term", "Fall 2026"],
                      {"CANVAS_URL": None, "CANVAS_TOKEN": None})

    assert result.exit_code == 2
    assert "set CANVAS_URL and CANVAS_TOKEN" in result.output and len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_refused_token_writes_no_template(canvas_sim, tmp_path):
    result = template([str(tmp_path / "t.xlsx"), "--canvas-term", "Fall 2026"],
                      env_of(canvas_sim, tmp_path, "wrong-token-77"))
    assert result.exit_code == 2
    assert "refused CANVAS_TOKEN (HTTP 401: Invalid access token.)" in result.output
    assert "wrong-token-77" not in result.output
    assert not (tmp_path / "t.xlsx").exists()


def test_canvas_account_needs_canvas_term(tmp_path):
    result = template([str(tmp_path / "t.xlsx"), "--canvas-account", "3"], {})
    assert result.exit_code == 2 and "--canvas-account goes with --canvas-term" in result.output


@pytest.mark.parametrize(("stamp", "day"), [
    ("2026-09-08T04:00:00Z", date(2026, 9, 8)),
    ("2026-12-11T23:59:00Z", date(2026, 12, 11)),
    ("2027-01-11T23:30:00-06:00", date(2027, 1, 12)),  # the date in UTC
    ("2027-01-12", date(2027, 1, 12)),
    (None, None), ("", None), ("soon", None),
])
def test_term_dates_are_the_utc_dates(stamp, day):
    assert utc_date(stamp) == day


# --- importer doctor ---------------------------------------------------------------------------


def doctor(server: SimulatorServer, tmp_path: Path, token: str) -> Any:
    return CliRunner().invoke(cli, ["doctor", "--journal", str(tmp_path / "j.sqlite3")],
                              env=env_of(server, tmp_path, token), catch_exceptions=False)


def test_doctor_checks_the_canvas_token_and_one_course(canvas_sim, tmp_path):
    result = doctor(canvas_sim, tmp_path, TOKEN)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"ok   Canvas token: accepted by {canvas_sim.canvas_url} (user Demo Admin, id 1)" in lines
    assert f"ok   Canvas lookup: course 'FALL 1 Fall course' (id 40001) answers with lti_context_id {context(9001)}" \
        in lines
    assert TOKEN not in result.output
    paths = [call["path"] for call in canvas_sim.state.snapshot()["canvas_requests"]]
    assert "/api/v1/users/self" in paths and "/api/v1/courses/40001" in paths
    assert not any("sessionless_launch" in path for path in paths)  # doctor makes nothing


@pytest.mark.parametrize(("token", "words"), [
    ("refused-token-5150", "FAIL Canvas token: Canvas at {url} refused CANVAS_TOKEN (HTTP 401: Invalid access token.)"),
    ("forbidden-canvas-token", "FAIL Canvas token: Canvas at {url} refused CANVAS_TOKEN (HTTP 403: "
                               "user not authorized to perform that action)"),
])
def test_doctor_names_a_refused_canvas_token_without_printing_it(canvas_sim, tmp_path, token, words):
    result = doctor(canvas_sim, tmp_path, token)

    assert result.exit_code == 1
    assert words.format(url=canvas_sim.canvas_url) in result.output
    assert "Canvas lookup" not in result.output
    assert token not in result.output and TOKEN not in result.output


# --- samples/fall-2026-canvas.xlsx ------------------------------------------------------------


def unzipped(path: Path) -> dict[str, bytes]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}
    return {path.name: path.read_bytes()}


def test_the_canvas_samples_sis_ids_are_the_demo_canvas_fall_courses():
    ms = load_make_samples()
    rows = ms.meetings()
    fall = {c.sis_course_id: c for c in DEMO_CANVAS_COURSES if c.term_id == DEMO_FALL_TERM.id}
    assert {m.course.sis_id for m in rows} == set(fall)
    for m in rows:
        assert fall[m.course.sis_id].id == m.course.canvas_id
    headers = next(openpyxl.load_workbook(SAMPLES / "fall-2026-canvas.xlsx").worksheets[0].iter_rows(values_only=True))
    assert "SIS Course ID" in headers
    assert not {"Context ID", "Domain", "Course ID"} & set(headers)


def test_the_canvas_sample_runs_like_the_plain_one_and_the_token_is_nowhere(tmp_path):
    env = {"IMPORTER_JOURNAL": str(tmp_path / "j.sqlite3"), "CANVAS_URL": None, "CANVAS_TOKEN": None}

    def run(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        output = tmp_path / f"{name}.result.xlsx"
        # One at a time: which of two rows of the demo's flaky course meets its one failure depends on
        # which arrives first, and the statuses are compared row by row.
        args = ["run", str(SAMPLES / f"{name}.xlsx"), "--simulate", "--json", "--rate", "0", "-o", str(output),
                "--journal", str(tmp_path / f"{name}.sqlite3"), "--concurrency", "1"]
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
        assert result.exit_code == 1, result.output  # rows that need action, on purpose
        assert DEMO_CANVAS_TOKEN not in result.output
        sheet = openpyxl.load_workbook(output).worksheets[0]
        header, *rows = sheet.iter_rows(values_only=True)
        return json.loads(result.output), [dict(zip(header, row, strict=True)) for row in rows]

    plain, plain_rows = run("fall-2026")
    canvas, canvas_rows = run("fall-2026-canvas")

    assert canvas["counts"] == plain["counts"] == {
        "invalid": 1, "created": 53, "associated": 2, "not_associated": 3, "failed": 1}
    assert [r["import_status"] for r in canvas_rows] == [r["import_status"] for r in plain_rows]
    # Every course was looked up: its contextId and courseId filled in, as the plain sample spells them.
    assert [(r["contextId"], r["courseId"]) for r in canvas_rows] == [
        (r["Context ID"], str(r["Course ID"])) for r in plain_rows]
    assert all(r["domain"] == "127.0.0.1" for r in canvas_rows)
    for written in tmp_path.iterdir():
        for part, data in unzipped(written).items():
            assert DEMO_CANVAS_TOKEN.encode() not in data, (written, part)
