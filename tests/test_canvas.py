"""Courses named, not spelled: rows look their course up in the simulator's Canvas fake."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer import Canvas, ReadOptions, Status, validate_file
from importer.cli import cli
from importer.simulator import SimConfig, SimulatorServer
from importer.simulator.canvas import CanvasCourse

from support import KEY, SECRET, creates, read_xlsx

TOKEN = "canvas-token-under-test-5e1f"
BIO_CONTEXT = "fcef0cfa12df0e2b6715e66ce4e1a75256f703c1"
CHEM_CONTEXT = "3f4419a03c2d3d424cf71252898a3aa7783772b0"
MADE_CONTEXT = "1ba54235fa1e0aefa52ccc711ca65c8fb47b7c41"
COURSES = (
    CanvasCourse(48213, "BIO 101 Principles of Biology", "BIO 101", 7, "2027SP/BIO 101-001", BIO_CONTEXT),
    CanvasCourse(48377, "CHEM 210 Organic Chemistry", "CHEM 210", 7, "2027SP-CHEM-210-001", CHEM_CONTEXT),
    CanvasCourse(48502, "HIST 240 Seminar", "HIST 240", 7, "2027SP-HIST-240-001", None, MADE_CONTEXT),
    CanvasCourse(48519, "POLS 240 Seminar", "POLS 240", 7, "2027SP-POLS-240-001", None, None),
)
HEADERS = ["Host", "Course ID", "SIS Course ID", "Topic", "Type", "Start Time", "Duration", "Timezone"]


def sheet_row(course: Any = "", sis: str = "", topic: str = "Lecture", context: str | None = None) -> list[Any]:
    row = ["host@x.edu", course, sis, topic, "2", "2027-03-02 18:00", "60", "America/New_York"]
    return row if context is None else [*row, context]


@pytest.fixture
def canvas_sim(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    overrides = getattr(request, "param", {})
    config = SimConfig(key=KEY, secret=SECRET, canvas_token=TOKEN, canvas_courses=COURSES, **overrides)
    with SimulatorServer(config) as server:
        yield server


def canvas_of(server: SimulatorServer, token: str = TOKEN) -> Canvas:
    return Canvas(server.canvas_url, token, backoff=0.01)


def write_csv(path: Path, rows: list[list[Any]], headers: list[str] = HEADERS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def canvas_calls(server: SimulatorServer) -> list[dict[str, Any]]:
    return server.state.snapshot()["canvas_requests"]


def course_calls(server: SimulatorServer) -> list[str]:
    """The courses asked for one by one (GET /api/v1/courses/:ref), as refs."""
    return [call["ref"] for call in canvas_calls(server)
            if call["path"].startswith("/api/v1/courses/") and "/external_tools" not in call["path"]]


def test_rows_naming_courses_by_id_and_sis_id_get_their_lti_ids(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [
        sheet_row(course="48213", topic="BIO lecture"),
        sheet_row(sis="2027SP/BIO 101-001", topic="BIO review"),  # a space and a slash, URL-escaped
        sheet_row(sis="2027SP-CHEM-210-001", topic="CHEM lecture"),
    ])

    report = validate_file(sheet, tmp_path / "out.xlsx", journal=tmp_path / "j.sqlite3", canvas=canvas_of(canvas_sim))

    assert [r.outcome.status for r in report.results] == [Status.VALID] * 3
    rows = read_xlsx(tmp_path / "out.xlsx")
    assert [(r["contextId"], r["Course ID"], r["domain"]) for r in rows] == [
        (BIO_CONTEXT, "48213", "127.0.0.1"), (BIO_CONTEXT, "48213", "127.0.0.1"),
        (CHEM_CONTEXT, "48377", "127.0.0.1")]
    # Each course once: BIO by id and by SIS id are two refs, asked once each.
    assert sorted(course_calls(canvas_sim)) == sorted(
        ["48213", "sis_course_id:2027SP/BIO 101-001", "sis_course_id:2027SP-CHEM-210-001"])


def test_a_missing_context_id_is_made_through_the_zoom_tool(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [sheet_row(course="48502")])

    report = validate_file(sheet, tmp_path / "out.csv", canvas=canvas_of(canvas_sim))

    assert report.results[0].outcome.status is Status.VALID
    assert read_csv(tmp_path / "out.csv")[0]["contextId"] == MADE_CONTEXT
    paths = [call["path"] for call in canvas_calls(canvas_sim)]
    assert "/api/v1/courses/48502/external_tools/sessionless_launch" in paths


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(("row", "code", "words"), [
    (sheet_row(course="99999"), "unknown-course", "Canvas has no course courseId 99999"),
    (sheet_row(sis="NOPE-1"), "unknown-course", "Canvas has no course sis_course_id NOPE-1"),
    (sheet_row(course="48519"), "no-context-id", "course 'POLS 240 Seminar' (id 48519) has no LTI context id"),
    (sheet_row(course="48213", context=CHEM_CONTEXT), "context-mismatch",
     f"contextId {CHEM_CONTEXT} is course 'CHEM 210 Organic Chemistry' (id 48377), but courseId 48213 is "
     "course 'BIO 101 Principles of Biology' (id 48213)"),
])
def test_a_course_that_cannot_be_settled_is_a_cell_problem_and_nothing_is_sent(
        canvas_sim, tmp_path, row, code, words):
    headers = [*HEADERS, "contextId"] if len(row) > len(HEADERS) else HEADERS
    sheet = write_csv(tmp_path / "term.csv", [row, sheet_row(course="48377", topic="fine")], headers)
    env = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "LTI_BASE_URL": canvas_sim.base_url,
           "CANVAS_URL": canvas_sim.canvas_url, "CANVAS_TOKEN": TOKEN, "IMPORTER_JOURNAL": str(tmp_path / "j.sqlite3")}

    result = CliRunner().invoke(cli, ["run", str(sheet), "--rate", "0", "-o", str(tmp_path / "out.csv")], env=env,
                                catch_exceptions=False)

    assert result.exit_code == 1, result.output
    out = read_csv(tmp_path / "out.csv")
    assert (out[0]["import_status"], out[0]["error_code"]) == ("invalid", code)
    assert words in out[0]["error_message"]
    assert out[1]["import_status"] == "created"
    assert [r["body"]["contextId"] for r in creates(canvas_sim)] == [CHEM_CONTEXT]


@pytest.mark.parametrize("canvas_sim", [{"canvas_throttle_calls": frozenset({1, 2, 4})},
                                        {"canvas_throttle_calls": frozenset({2, 3}), "canvas_throttle_status": 429}],
                         indirect=True)
def test_throttled_answers_are_waited_out(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [sheet_row(course="48213"), sheet_row(course="48502")])

    report = validate_file(sheet, tmp_path / "out.xlsx", canvas=canvas_of(canvas_sim))

    assert [r.outcome.status for r in report.results] == [Status.VALID, Status.VALID]
    calls = canvas_calls(canvas_sim)
    assert any(call["throttled"] for call in calls)
    assert not any(call["throttled"] for call in calls[-1:])


def test_a_refused_token_stops_with_one_line_and_the_token_is_nowhere(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [sheet_row(course="48213")])
    env = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "LTI_BASE_URL": canvas_sim.base_url,
           "CANVAS_URL": canvas_sim.canvas_url, "CANVAS_TOKEN": "wrong-token-1234",
           "IMPORTER_JOURNAL": str(tmp_path / "j.sqlite3")}

    refused = CliRunner().invoke(cli, ["run", str(sheet)], env=env, catch_exceptions=False)
    env["CANVAS_TOKEN"] = TOKEN
    accepted = CliRunner().invoke(cli, ["run", str(sheet), "--rate", "0"], env=env, catch_exceptions=False)

    assert refused.exit_code == 2
    assert "Traceback" not in refused.output
    assert refused.output.strip().splitlines()[-1:] == [
        f"importer: Canvas at {canvas_sim.canvas_url} refused CANVAS_TOKEN (HTTP 401: Invalid access token.): "
        "check the token (Canvas > Account > Settings > New Access Token)"]
    assert creates(canvas_sim)[0]["body"]["contextId"] == BIO_CONTEXT  # sent only once the token was good
    assert accepted.exit_code == 0, accepted.output
    for text in (refused.output, accepted.output):
        assert TOKEN not in text and "wrong-token-1234" not in text
    for written in tmp_path.iterdir():
        data = written.read_bytes()
        assert TOKEN.encode() not in data and b"wrong-token-1234" not in data, written


@pytest.mark.parametrize("canvas_sim", [{"canvas_forbidden_token": "forbidden-5"}], indirect=True)
def test_a_forbidden_token_is_a_refusal_not_throttling(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [sheet_row(course="48213")])
    env = {"CANVAS_URL": canvas_sim.canvas_url, "CANVAS_TOKEN": "forbidden-5",
           "IMPORTER_JOURNAL": str(tmp_path / "j.sqlite3")}
    result = CliRunner().invoke(cli, ["validate", str(sheet)], env=env, catch_exceptions=False)
    assert result.exit_code == 2
    assert "(HTTP 403: user not authorized to perform that action)" in result.output
    assert len(canvas_calls(canvas_sim)) == 1  # a refusal is not retried


def test_a_rerun_asks_canvas_nothing_new(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [
        sheet_row(course="48213"), sheet_row(course="48213", topic="again"), sheet_row(course="48502")])
    journal = tmp_path / "j.sqlite3"
    first = validate_file(sheet, tmp_path / "one.xlsx", journal=journal, canvas=canvas_of(canvas_sim))
    asked = len(canvas_calls(canvas_sim))

    second = validate_file(sheet, tmp_path / "two.xlsx", journal=journal, canvas=canvas_of(canvas_sim))

    assert [r.outcome.status for r in first.results] == [Status.VALID] * 3
    assert [r.outcome.status for r in second.results] == [Status.VALID] * 3
    assert course_calls(canvas_sim)[:2] and course_calls(canvas_sim).count("48213") == 1
    assert len(canvas_calls(canvas_sim)) == asked  # nothing new
    assert [r["contextId"] for r in read_xlsx(tmp_path / "two.xlsx")] == [BIO_CONTEXT, BIO_CONTEXT, MADE_CONTEXT]


def test_the_result_sheet_feeds_back_without_canvas(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [sheet_row(sis="2027SP-CHEM-210-001")])
    env = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "LTI_BASE_URL": canvas_sim.base_url,
           "IMPORTER_JOURNAL": str(tmp_path / "j.sqlite3")}
    with_canvas = {**env, "CANVAS_URL": canvas_sim.canvas_url, "CANVAS_TOKEN": TOKEN}
    assert CliRunner().invoke(cli, ["run", str(sheet), "--rate", "0"], env=with_canvas).exit_code == 0

    again = CliRunner().invoke(cli, ["run", str(tmp_path / "term.result.xlsx"), "--rate", "0"], env=env)

    assert again.exit_code == 0, again.output
    assert len(creates(canvas_sim)) == 1
    assert read_xlsx(tmp_path / "term.result.xlsx")[0]["contextId"] == CHEM_CONTEXT


def test_without_canvas_a_sheet_of_course_ids_is_missing_its_context_id(tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [sheet_row(course="48213")])
    result = CliRunner().invoke(cli, ["validate", str(sheet)], env={"IMPORTER_JOURNAL": str(tmp_path / "j")})
    assert result.exit_code == 2
    assert "missing required column(s) contextId, domain" in result.output


def test_read_options_still_work_with_canvas(canvas_sim, tmp_path):
    sheet = write_csv(tmp_path / "term.csv", [sheet_row(course="48213")],
                      ["Zoom Host", *HEADERS[1:]])
    report = validate_file(sheet, tmp_path / "out.xlsx", ReadOptions(columns={"Zoom Host": "userId"}),
                           canvas=canvas_of(canvas_sim))
    assert report.results[0].outcome.status is Status.VALID
