"""The importer as a coordinator runs it: command line in, result sheet and simulator ledger out."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.signing import base_string, sign
from importer.simulator import SimulatorServer

from support import KEY, SECRET, creates, read_xlsx, row


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no stray .env from the repository

    def run(args: list[str], env: dict[str, str] | None = None, server: SimulatorServer | None = None):
        environment = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "IMPORTER_JOURNAL": str(tmp_path / "journal.sqlite3")}
        if server is not None:
            environment["LTI_BASE_URL"] = server.base_url
        environment.update(env or {})
        return CliRunner().invoke(cli, args, env=environment, catch_exceptions=False)
    return run


def test_run_sends_the_documented_json_and_writes_the_result_sheet(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([
        row("BIO 101 Lecture", course=396, start=datetime(2027, 9, 8, 10, 0)),
        row("BIO 101 Review", course="00123", context="ctx-2", start="2027-10-08 14:30", duration=90),
    ])
    result = invoke(["run", str(sheet), "--rate", "0", "--quiet", "--concurrency", "1"], server=sim)
    assert result.exit_code == 0, result.output

    sent = creates(sim)
    assert [r["body"] for r in sent] == [
        {"userId": "host@x.edu", "contextId": "ctx-1", "domain": "canvas.x.edu", "courseId": "396",
         "meetingInfo": {"topic": "BIO 101 Lecture", "type": 2, "start_time": "2027-09-08T10:00:00",
                         "duration": 60, "timezone": "America/New_York"}},
        {"userId": "host@x.edu", "contextId": "ctx-2", "domain": "canvas.x.edu", "courseId": "00123",
         "meetingInfo": {"topic": "BIO 101 Review", "type": 2, "start_time": "2027-10-08T14:30:00",
                         "duration": 90, "timezone": "America/New_York"}},
    ]
    for request in sent:
        assert set(request["query"]) == {"key", "timestamp"}
        assert request["query"]["key"] == KEY
        assert request["signature"] == sign(SECRET, base_string(KEY, request["query"]["timestamp"]))

    rows = read_xlsx(tmp_path / "term.result.xlsx")
    ids = [m["id"] for m in sim.state.snapshot()["meetings"]]
    assert [(r["import_status"], r["meeting_id"], r["Course ID"]) for r in rows] == [
        ("created", ids[0], "396"), ("created", ids[1], "00123")]


def test_second_run_of_the_same_sheet_creates_nothing(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A"), row("B", context="ctx-2")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim).exit_code == 0
    first = read_xlsx(tmp_path / "term.result.xlsx")

    again = invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim)

    assert again.exit_code == 0
    assert len(creates(sim)) == 2
    assert len(sim.state.snapshot()["meetings"]) == 2
    second = read_xlsx(tmp_path / "term.result.xlsx")
    assert [(r["import_status"], r["meeting_id"]) for r in second] == [
        (r["import_status"], r["meeting_id"]) for r in first]


def test_every_status_a_coordinator_meets(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([
        row("ok"),
        row("rejected course", context="bad-ctx"),
        row("flaky course", context="flaky-ctx"),
        row("gone host", user="ghost@x.edu"),
        row("bad duration", duration="fifty"),
    ])
    result = invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim)
    assert result.exit_code == 1
    rows = read_xlsx(tmp_path / "term.result.xlsx")
    assert [(r["Topic"], r["import_status"], r["error_code"]) for r in rows] == [
        ("ok", "created", None),
        ("rejected course", "not_associated", "2255"),
        ("flaky course", "associated", None),
        ("gone host", "failed", "1001"),
        ("bad duration", "invalid", "type-error"),
    ]
    assert rows[1]["meeting_id"] and rows[2]["meeting_id"]
    assert "Duration" in rows[4]["error_message"]
    # 4 creates (the invalid row is never sent); 406 rows are linked by bulkImport, never re-created.
    assert len(creates(sim)) == 4
    assert len(sim.state.snapshot()["meetings"]) == 3


def test_corrected_result_sheet_associates_without_creating(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("moved course", context="bad-ctx")])
    invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim)
    result_path = tmp_path / "term.result.xlsx"
    rows = read_xlsx(result_path)
    assert rows[0]["import_status"] == "not_associated"
    meeting_id = rows[0]["meeting_id"]

    # The coordinator fixes the contextId in the result sheet and feeds it back, on another machine.
    import openpyxl
    workbook = openpyxl.load_workbook(result_path)
    workbook.worksheets[0]["C2"] = "ctx-fixed"
    fixed = tmp_path / "fixed.xlsx"
    workbook.save(fixed)
    result = invoke(["run", str(fixed), "--rate", "0", "--quiet", "--journal", str(tmp_path / "other.sqlite3")],
                    server=sim)

    assert result.exit_code == 0, result.output
    assert len(sim.state.snapshot()["meetings"]) == 1
    assert read_xlsx(tmp_path / "fixed.result.xlsx")[0]["import_status"] == "associated"
    assert {"meetingId": meeting_id, "contextId": "ctx-fixed", "domain": "canvas.x.edu", "courseId": "396",
            "via": "bulkImport"} in sim.state.snapshot()["associations"]


def test_cross_listed_rows_share_one_meeting(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("HIST/POLS 240", context="hist"), row("HIST/POLS 240", context="pols", course=402)])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim).exit_code == 0
    snapshot = sim.state.snapshot()
    assert len(snapshot["meetings"]) == 1
    meeting_id = snapshot["meetings"][0]["id"]
    assert sorted((a["contextId"], a["via"]) for a in snapshot["associations"]) == [
        ("hist", "create"), ("pols", "bulkImport")]
    rows = read_xlsx(tmp_path / "term.result.xlsx")
    assert [(r["import_status"], r["meeting_id"]) for r in rows] == [
        ("created", meeting_id), ("associated", meeting_id)]
    assert "same meeting as row 2" in rows[1]["warnings"]


def test_duplicate_row_is_reported_not_sent(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A"), row("A")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim).exit_code == 1
    rows = read_xlsx(tmp_path / "term.result.xlsx")
    assert rows[1]["import_status"] == "invalid"
    assert rows[1]["error_code"] == "duplicate-row"
    assert "row 2" in rows[1]["error_message"]
    assert len(creates(sim)) == 1


def test_calendar_user_is_signed_into_query(write_xlsx, invoke, sim):
    sheet = write_xlsx([row("A")])
    result = invoke(["run", str(sheet), "--rate", "0", "--quiet", "--calendar-user", "12dd589465Z="], server=sim)
    assert result.exit_code == 0
    request = creates(sim)[0]
    assert request["query"]["userId"] == "12dd589465Z="
    assert request["signature"] == sign(SECRET, base_string(KEY, request["query"]["timestamp"], "12dd589465Z="))


def test_stale_sending_row_becomes_unknown_and_is_not_resent(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim).exit_code == 0
    # Simulate a process killed mid-request: the journal still says 'sending'.
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.execute("UPDATE meetings SET state='sending', meeting_id=NULL")
    db.execute("DELETE FROM associations")
    db.commit()
    db.close()

    result = invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim)

    assert result.exit_code == 1
    assert len(creates(sim)) == 1
    assert read_xlsx(tmp_path / "term.result.xlsx")[0]["import_status"] == "unknown"
    retried = invoke(["run", str(sheet), "--rate", "0", "--quiet", "--retry-unknown"], server=sim)
    assert retried.exit_code == 0
    assert len(creates(sim)) == 2


def test_simulate_flag_needs_no_credentials(write_csv, invoke, tmp_path):
    sheet = write_csv([row("A", start="2027-10-08 10:00")])
    result = invoke(["run", str(sheet), "--simulate", "--json", "-o", str(tmp_path / "out.csv")],
                    env={"LTI_KEY": "", "LTI_SECRET": ""})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["counts"] == {"created": 1}
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("env, fragment", [
    ({"LTI_KEY": "", "LTI_SECRET": ""}, "no credentials: set LTI_KEY and LTI_SECRET"),
    ({"LTI_BASE_URL": "http://lti.example.edu/api"}, "plain http is refused"),
    # Hosts httpx cannot send to: one line now, not one failed or "unknown" row per request.
    ({"LTI_BASE_URL": "https://xn--a.example.edu/api"}, "is not a usable URL"),
    ({"LTI_BASE_URL": "https://lti example.edu/api"}, "is not a host name"),
])
def test_unusable_configuration_is_one_line_and_exit_2(write_xlsx, invoke, env, fragment):
    sheet = write_xlsx([row("A")])
    result = invoke(["run", str(sheet)], env=env)
    assert result.exit_code == 2
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unreadable_input_is_one_line_and_exit_2(invoke, tmp_path):
    (tmp_path / "term.xlsx").write_text("userId,contextId\n")
    result = invoke(["validate", str(tmp_path / "term.xlsx")])
    assert result.exit_code == 2
    assert "rename it to .csv" in result.output
    assert "Traceback" not in result.output


def test_missing_required_column_is_exit_2(write_xlsx, invoke):
    sheet = write_xlsx([["host@x.edu", "ctx"]], headers=["User ID", "Context ID"])
    result = invoke(["validate", str(sheet)])
    assert result.exit_code == 2
    assert "missing required column(s) domain, topic, type, start_time" in result.output


def test_validate_writes_annotated_sheet_and_sends_nothing(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A"), row("B", meeting_type=5)])
    result = invoke(["validate", str(sheet), "-o", str(tmp_path / "checked.csv")], server=sim)
    assert result.exit_code == 1
    assert sim.state.snapshot()["requests"] == []
    import csv
    with (tmp_path / "checked.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["Topic"], r["import_status"], r["error_code"]) for r in rows] == [
        ("A", "valid", ""), ("B", "invalid", "out-of-range")]
    assert rows[1]["error_message"].startswith("column 'Type': 5 is not one of 1, 2, 3, 8")


def test_secret_never_written_anywhere(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A"), row("B", user="ghost@x.edu")])
    result = invoke(["run", str(sheet), "--rate", "0"], server=sim)
    assert SECRET not in result.output
    assert KEY not in result.output  # only its first characters
    for path in tmp_path.iterdir():
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
            assert KEY.encode() not in path.read_bytes(), path


def test_reassociate_links_not_associated_rows_and_creates_nothing(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A", context="bad-ctx"), row("B", context="ctx-2")])
    invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim)
    import openpyxl
    result_path = tmp_path / "term.result.xlsx"
    workbook = openpyxl.load_workbook(result_path)
    workbook.worksheets[0]["C2"] = "ctx-fixed"
    workbook.save(result_path)

    result = invoke(["reassociate", str(result_path), "-o", str(tmp_path / "again.xlsx"), "--quiet"], server=sim)

    assert result.exit_code == 0, result.output
    assert len(sim.state.snapshot()["meetings"]) == 2
    assert [r["import_status"] for r in read_xlsx(tmp_path / "again.xlsx")] == ["associated", "created"]


def test_version_and_help():
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output.strip() == "importer, version 0.1.0"
    for command in ("run", "validate", "reassociate", "template", "simulate"):
        assert runner.invoke(cli, [command, "--help"]).exit_code == 0


def test_host_over_the_daily_quota_stops_before_sending(write_xlsx, invoke, sim, tmp_path):
    rows = [row(f"Section {n}", context=f"ctx-{n}", start=datetime(2027, 9, 1 + n % 28, n % 24, 0))
            for n in range(101)]
    sheet = write_xlsx(rows)
    checked = invoke(["validate", str(sheet)])
    assert "host@x.edu needs 101 creates (rows 2, 3, 4" in checked.output
    result = invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim)
    assert result.exit_code == 2
    assert "Zoom allows 100 meeting creates per host per day: host@x.edu needs 101 creates" in result.output
    assert sim.state.snapshot()["requests"] == []
    allowed = invoke(["run", str(sheet), "--rate", "0", "--quiet", "--allow-over-quota"], server=sim)
    assert allowed.exit_code == 0
    assert len(sim.state.snapshot()["meetings"]) == 101


def test_done_row_moved_to_another_course_is_linked_there_not_recreated(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("Lecture", context="ctx-old")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim).exit_code == 0
    import openpyxl
    result_path = tmp_path / "term.result.xlsx"
    workbook = openpyxl.load_workbook(result_path)
    workbook.worksheets[0]["C2"] = "ctx-new"  # the coordinator moves the meeting to another course
    workbook.save(result_path)

    assert invoke(["run", str(result_path), "--rate", "0", "--quiet", "-o", str(tmp_path / "moved.xlsx")],
                  server=sim).exit_code == 0

    snapshot = sim.state.snapshot()
    assert len(snapshot["meetings"]) == 1
    assert sorted(a["contextId"] for a in snapshot["associations"]) == ["ctx-new", "ctx-old"]
    assert read_xlsx(tmp_path / "moved.xlsx")[0]["import_status"] == "associated"


def test_validate_keeps_the_meeting_ids_of_a_result_sheet(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A", context="bad-ctx"), row("B")])
    invoke(["run", str(sheet), "--rate", "0", "--quiet"], server=sim)
    before = read_xlsx(tmp_path / "term.result.xlsx")

    result = invoke(["validate", str(tmp_path / "term.result.xlsx"), "-o", str(tmp_path / "checked.xlsx")])

    assert result.exit_code == 0, result.output
    after = read_xlsx(tmp_path / "checked.xlsx")
    assert [(r["import_status"], r["meeting_id"]) for r in after] == [
        ("valid", before[0]["meeting_id"]), ("valid", before[1]["meeting_id"])]
    # validate's default output must not replace the run's result sheet, which holds the ids.
    refused = invoke(["validate", str(sheet)])
    assert refused.exit_code == 2
    assert "holds meeting ids from a run" in refused.output
    assert read_xlsx(tmp_path / "term.result.xlsx")[0]["meeting_id"] == before[0]["meeting_id"]


def test_adding_a_row_id_later_does_not_recreate_the_meeting(write_xlsx, invoke, sim, tmp_path):
    first = write_xlsx([row("A"), row("B", context="ctx-2")])
    assert invoke(["run", str(first), "--rate", "0", "--quiet"], server=sim).exit_code == 0
    second = write_xlsx([row("A", row_id="F27-A"), row("B", context="ctx-2", row_id="F27-B")], name="ids.xlsx")
    assert invoke(["run", str(second), "--rate", "0", "--quiet"], server=sim).exit_code == 0
    assert len(sim.state.snapshot()["meetings"]) == 2
    assert len(creates(sim)) == 2


def test_result_sheet_that_cannot_be_written_stops_before_sending(write_xlsx, invoke, sim, tmp_path):
    sheet = write_xlsx([row("A")])
    (tmp_path / "taken.xlsx").mkdir()  # a folder where the result sheet should go
    result = invoke(["run", str(sheet), "--rate", "0", "-o", str(tmp_path / "taken.xlsx")], server=sim)
    assert result.exit_code == 2
    assert "cannot be written" in result.output
    assert sim.state.snapshot()["requests"] == []


def test_template_does_not_overwrite_a_filled_schedule(invoke, tmp_path):
    schedule = tmp_path / "term.csv"
    schedule.write_text("userId\nhost@x.edu\n")
    result = invoke(["template", str(schedule)])
    assert result.exit_code == 2
    assert "exists" in result.output
    assert schedule.read_text() == "userId\nhost@x.edu\n"


def test_validate_starts_without_the_sending_libraries() -> None:
    """`importer validate` loads neither the HTTP client nor the settings model (~0.3 s of start-up)."""
    code = ("import sys, importer.cli; "
            "print(sorted(m for m in ('httpx', 'pydantic', 'asyncio', 'tenacity', 'aiolimiter') if m in sys.modules))")

    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"


def test_the_installed_command_flushes_its_output_and_keeps_the_exit_code(write_xlsx, tmp_path):
    """What the installed command printed to a pipe arrives, and its exit code is the run's."""
    sheet = write_xlsx([row("A", start=datetime(2027, 9, 8, 10, 0)), row("B", duration="fifty")])
    command = [sys.executable, "-m", "importer", "run", str(sheet), "--simulate", "--json", "--rate", "0",
               "-o", str(tmp_path / "out.csv")]

    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}

    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=buffered)

    assert done.returncode == 1, done.stderr  # a row is invalid
    summary = json.loads(done.stdout)  # printed with print(): block-buffered into the pipe
    assert (summary["counts"], summary["exit_code"]) == ({"created": 1, "invalid": 1}, 1)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").count("\n") == 3
    failed = subprocess.run([sys.executable, "-m", "importer", "validate", str(tmp_path / "missing.xlsx")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr.startswith("importer: ")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_exit_code_120_with_a_message(write_xlsx, tmp_path):
    """A full disk under `--json > summary.json`: the summary is lost, and the exit code says so."""
    sheet = write_xlsx([row("A", start=datetime(2027, 9, 8, 10, 0))])
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "importer", "run", str(sheet), "--simulate", "--json",
                               "--rate", "0", "-o", str(tmp_path / "out.csv")],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=buffered)

    assert done.returncode == 120  # Python's own exit code when its output cannot be flushed
    assert "No space left on device" in done.stderr


def test_the_live_bar_ends_showing_every_row_and_the_counts_per_status() -> None:
    """Counts are rebuilt a few times a second, not per row: the last drawing is still exact."""
    import io

    from rich.console import Console

    from importer.display import LiveProgress
    from importer.statuses import Status

    screen = io.StringIO()
    progress = LiveProgress(Console(file=screen, force_terminal=True, width=120, color_system=None))
    progress.start("creating meetings", 500)
    for n in range(500):
        progress.advance(Status.FAILED if n % 100 == 0 else Status.CREATED)
    progress.finish()

    drawn = screen.getvalue()
    last = drawn[drawn.rindex("creating meetings"):].splitlines()[0]  # the final drawing of the bar
    assert "500/500" in last
    assert "failed:5 created:495" in last
