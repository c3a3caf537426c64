"""406 rows and cross-listed rows are linked through bulkImport, never created again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from importer.cli import cli
from importer.journal import Journal, scope_of
from importer.simulator import SimConfig, SimulatorServer

from support import KEY, SECRET, read_xlsx, row


def run(args: list[str], server: SimulatorServer, tmp_path: Path) -> int:
    env = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "LTI_BASE_URL": server.base_url,
           "IMPORTER_JOURNAL": str(tmp_path / "journal.sqlite3")}
    return CliRunner().invoke(cli, args + ["--rate", "0", "--quiet"], env=env, catch_exceptions=False).exit_code


def term(count: int, context: str = "ctx-{n}") -> list[list[object]]:
    start = datetime(2027, 9, 6, 8, 0)
    # Ten hosts, so no host needs more than Zoom's 100 creates a day.
    return [row(f"Section {n}", user=f"host{n % 10}@x.edu", context=context.format(n=n),
                start=start + timedelta(hours=n)) for n in range(count)]


def bulk_requests(server: SimulatorServer) -> list[dict]:
    return [r for r in server.state.snapshot()["requests"] if r["endpoint"] == "bulkImport"]


def test_900_rows_whose_associations_fail_at_first_are_all_linked_in_calls_of_at_most_400(
        write_xlsx, tmp_path):
    contexts = frozenset(f"ctx-{n}" for n in range(900))
    config = SimConfig(key=KEY, secret=SECRET, flaky_contexts=contexts, flaky_failures=2)
    with SimulatorServer(config) as server:
        sheet = write_xlsx(term(900))
        assert run(["run", str(sheet), "--concurrency", "32"], server, tmp_path) == 0
        snapshot = server.state.snapshot()
    assert len(snapshot["meetings"]) == 900
    assert max(snapshot["bulk_calls"]) == 400
    assert snapshot["bulk_calls"][:3] == [400, 200, 200]  # the first batch failed and was split
    linked = {(a["meetingId"], a["contextId"]) for a in snapshot["associations"]}
    assert linked == {(m["id"], m["contextId"]) for m in snapshot["meetings"]}
    assert {r["import_status"] for r in read_xlsx(tmp_path / "term.result.xlsx")} == {"associated"}


def test_one_bad_context_is_isolated_and_the_rest_of_the_batch_is_linked(write_xlsx, tmp_path):
    contexts = frozenset(f"ctx-{n}" for n in range(40))
    config = SimConfig(key=KEY, secret=SECRET, flaky_contexts=contexts, reject_contexts=frozenset({"ctx-17"}))
    with SimulatorServer(config) as server:
        sheet = write_xlsx(term(40))
        assert run(["run", str(sheet), "--batch-size", "16"], server, tmp_path) == 1
        snapshot = server.state.snapshot()
    assert max(snapshot["bulk_calls"]) <= 16
    rows = read_xlsx(tmp_path / "term.result.xlsx")
    statuses = [(r["Context ID"], r["import_status"]) for r in rows]
    assert [s for s in statuses if s[1] != "associated"] == [("ctx-17", "not_associated")]
    assert rows[17]["meeting_id"] and rows[17]["error_code"] == "2255"
    assert len(snapshot["meetings"]) == 40
    assert len(snapshot["associations"]) == 39


def test_calendar_user_sends_the_meeting_list_form(write_xlsx, tmp_path):
    config = SimConfig(key=KEY, secret=SECRET, reject_contexts=frozenset(), flaky_contexts=frozenset({"ctx-0"}))
    with SimulatorServer(config) as server:
        sheet = write_xlsx(term(1))
        assert run(["run", str(sheet), "--calendar-user", "admin@x.edu"], server, tmp_path) == 0
        [bulk] = bulk_requests(server)
    meeting_id = bulk["body"]["meetingList"][0]["meetingId"]
    assert bulk["body"] == {"userId": "admin@x.edu", "meetingList": [
        {"meetingId": meeting_id, "contextId": "ctx-0", "domain": "canvas.x.edu", "courseId": "396"}]}
    assert bulk["query"]["userId"] == "admin@x.edu"


def test_journal_records_associations_so_a_rerun_sends_nothing(write_xlsx, tmp_path):
    config = SimConfig(key=KEY, secret=SECRET, flaky_contexts=frozenset({"ctx-0"}))
    with SimulatorServer(config) as server:
        sheet = write_xlsx(term(2))
        assert run(["run", str(sheet)], server, tmp_path) == 0
        sent = len(server.state.snapshot()["requests"])
        assert run(["run", str(sheet)], server, tmp_path) == 0
        assert len(server.state.snapshot()["requests"]) == sent
        # The meeting of row 0 (ctx-0): the two creates run side by side, in either order.
        (meeting_id,) = [m["id"] for m in server.state.snapshot()["meetings"] if m["contextId"] == "ctx-0"]
        with Journal(tmp_path / "journal.sqlite3", scope_of(server.base_url, KEY)) as journal:
            assert journal.association(meeting_id, "ctx-0", "canvas.x.edu") == "bulkImport"
    assert [r["import_status"] for r in read_xlsx(tmp_path / "term.result.xlsx")] == ["associated", "created"]


def test_not_associated_row_fixed_and_rerun_is_linked_not_recreated(write_xlsx, tmp_path):
    config = SimConfig(key=KEY, secret=SECRET, reject_contexts=frozenset({"typo"}))
    with SimulatorServer(config) as server:
        sheet = write_xlsx([row("Lecture", context="typo")])
        assert run(["run", str(sheet)], server, tmp_path) == 1
        # Same journal, the original sheet corrected (no meeting_id column): the journal knows the meeting.
        fixed = write_xlsx([row("Lecture", context="right")], name="fixed.xlsx")
        assert run(["run", str(fixed)], server, tmp_path) == 0
        snapshot = server.state.snapshot()
    assert len(snapshot["meetings"]) == 1
    assert len(creates_of(snapshot)) == 1
    assert [(a["contextId"], a["via"]) for a in snapshot["associations"]] == [("right", "bulkImport")]


def creates_of(snapshot: dict) -> list[dict]:
    return [r for r in snapshot["requests"] if r["endpoint"] == "createAndAssociate"]
