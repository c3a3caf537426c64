"""Correct, resolve and undo through Zoom's REST API and bulkDisassociate (DESIGN.md "Correct,
resolve and undo with the Zoom REST API"), end to end through the CLI against the simulator.

Judged by the simulator's ledger (the meetings that exist, their fields, their courses, the
PATCHes and bulkDisassociate calls it received), the result sheet's cells and the exit code.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

import importer.simulator.zoom as fake_zoom
from importer import sending
from importer.cli import cli
from importer.simulator import SimConfig, SimulatorServer

from support import HEADERS, KEY, SECRET, creates, read_xlsx, row

ZOOM_SECRET = "zoom-secret-never-written-5e1f"
START = datetime(2027, 9, 6, 7, 0)


@pytest.fixture(autouse=True)
def quick_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait before trusting "no such meeting" (90 s, at least twice the request timeout) is for Zoom's
    servers; the simulator's requests end within their timeout (runs here use 0.5 s: a 1 s wait)."""
    monkeypatch.setattr(sending, "ABSENT_AFTER_S", 0.05)


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    config = SimConfig(key=KEY, secret=SECRET, zoom_client_secret=ZOOM_SECRET, reject_contexts=frozenset({"bad-ctx"}))
    with SimulatorServer(config) as running:
        yield running


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: SimulatorServer) -> Callable[..., Result]:
    """The CLI with LTI Pro and (unless zoom=False) Zoom's REST API pointed at the simulator."""
    monkeypatch.chdir(tmp_path)

    def run(args: list[str], zoom: bool = True, input: str | None = None) -> Result:
        if args[0] == "run" and "--timeout" not in args:
            args = [*args, "--timeout", "0.5"]
        env = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "LTI_BASE_URL": server.base_url,
               "IMPORTER_JOURNAL": str(tmp_path / "journal.sqlite3")}
        if zoom:
            config = server.config
            env |= {"ZOOM_ACCOUNT_ID": config.zoom_account_id, "ZOOM_CLIENT_ID": config.zoom_client_id,
                    "ZOOM_CLIENT_SECRET": ZOOM_SECRET, "ZOOM_API_URL": server.zoom_api_url,
                    "ZOOM_OAUTH_URL": server.zoom_oauth_url}
        return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)

    return run


def write(path: Path, rows: list[list[Any]], headers: list[str] = HEADERS) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append(values)
    workbook.save(path)
    return path


def edit(result: Path, target: Path, changes: dict[int, dict[str, Any]]) -> Path:
    """A copy of a result sheet with some cells changed ({data row index: {header: value}})."""
    rows = read_xlsx(result)
    headers = list(rows[0])
    for index, cells in changes.items():
        rows[index].update(cells)
    return write(target, [[r[h] for h in headers] for r in rows], headers)


def meetings(server: SimulatorServer) -> list[dict[str, Any]]:
    return server.state.snapshot()["meetings"]


def linked(server: SimulatorServer) -> set[tuple[str, str]]:
    return {(a["meetingId"], a["contextId"]) for a in server.state.snapshot()["associations"]}


def requests(server: SimulatorServer, endpoint: str) -> list[dict[str, Any]]:
    return [r for r in server.state.snapshot()["requests"] if r["endpoint"] == endpoint]


def patches(server: SimulatorServer) -> list[dict[str, Any]]:
    return [r for r in server.state.snapshot()["zoom_requests"] if r["method"] == "PATCH"]


def events(journal: Path) -> Counter[str]:
    with sqlite3.connect(journal) as db:
        return Counter(event for (event,) in db.execute("SELECT event FROM events"))


# --- lost answers, looked up ---------------------------------------------------------------------


def campaign(server: SimulatorServer, count: int, seed: int) -> list[list[Any]]:
    config = server.config
    config.seed, config.p_429, config.p_503_before, config.p_drop_before = seed, 0.01, 0.06, 0.03
    config.p_500_after, config.p_drop_after, config.p_stall_after, config.stall_s = 0.05, 0.04, 0.03, 1.5
    return [row(f"S{seed} Section {n:03d}", user=f"host{n % 6}@x.edu", context=f"ctx-{n}", course=1000 + n,
                start=START + timedelta(minutes=30 * n)) for n in range(count)]


def check_campaign(server: SimulatorServer, result: Result, output: Path, count: int) -> Counter[str]:
    assert result.exit_code == 0, result.output
    rows = read_xlsx(output)
    statuses = Counter(r["import_status"] for r in rows)
    assert set(statuses) <= {"created", "associated"} and statuses.total() == count
    assert server.state.duplicate_meetings() == []
    made = {m["id"]: m for m in meetings(server)}
    assert len(made) == count
    for r in rows:  # every row names its own meeting, and that meeting is in the row's course
        assert made[r["meeting_id"]]["meetingInfo"]["topic"] == r["Topic"]
        assert (r["meeting_id"], r["Context ID"]) in linked(server)
    return statuses


def test_a_fault_campaign_with_zoom_leaves_no_row_unknown_and_no_meeting_twice(invoke, server, tmp_path):
    sheet = write(tmp_path / "term.xlsx", campaign(server, 120, seed=7))
    result = invoke(["run", str(sheet), "--rate", "0", "--timeout", "0.5", "--quiet"])
    statuses = check_campaign(server, result, tmp_path / "term.result.xlsx", 120)
    lost = [r for r in server.state.snapshot()["requests"]
            if r["endpoint"] == "createAndAssociate" and r["outcome"] in ("500-after", "drop-after", "stall-after")]
    assert lost, "the campaign lost no answer: it tests nothing"
    found = [r for r in read_xlsx(tmp_path / "term.result.xlsx") if "found in Zoom" in (r["error_message"] or "")]
    assert len(found) == statuses["associated"] > 0
    assert events(tmp_path / "journal.sqlite3")["found"] == len(found)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fault_campaigns_with_zoom(invoke, server, tmp_path, seed):
    sheet = write(tmp_path / "term.xlsx", campaign(server, 300, seed))
    result = invoke(["run", str(sheet), "--rate", "0", "--timeout", "0.5", "--quiet"])
    check_campaign(server, result, tmp_path / "term.result.xlsx", 300)


def test_an_earlier_runs_unknown_rows_are_found_sent_again_or_listed(invoke, server, tmp_path):
    past = datetime.now() - timedelta(days=2)
    rows = [row("Found", context="ctx-a"), row("Never made", context="ctx-b"),
            row("Twice", context="ctx-c"), row("Ended", context="ctx-d", start=past)]
    sheet = write(tmp_path / "term.xlsx", rows)
    server.config.p_500_after = 1.0  # every create is made, and its answer lost
    first = invoke(["run", str(sheet), "--rate", "0", "--quiet"], zoom=False)
    assert first.exit_code == 1
    assert [r["import_status"] for r in read_xlsx(tmp_path / "term.result.xlsx")] == ["unknown"] * 4
    by_topic = {m["meetingInfo"]["topic"]: m for m in meetings(server)}
    server.state.delete_meeting(by_topic["Never made"]["id"])  # as if the request never reached Zoom
    server.state.delete_meeting(by_topic["Ended"]["id"])  # Zoom would not list it, ended, anyway
    twice = by_topic["Twice"]
    other = server.state.create_meeting(twice["userId"], twice["meetingInfo"], "ctx-c", "canvas.x.edu", "396",
                                        twice["created_at"] + 1)
    server.config.p_500_after = 0.0

    second = invoke(["run", str(tmp_path / "term.result.xlsx"), "-o", str(tmp_path / "again.xlsx"), "--rate", "0",
                     "--quiet"])

    assert second.exit_code == 1  # "Twice" and "Ended" still need the coordinator
    found, resent, several, ended = read_xlsx(tmp_path / "again.xlsx")
    assert (found["import_status"], found["meeting_id"]) == ("associated", by_topic["Found"]["id"])
    assert "found in Zoom" in found["error_message"]
    assert resent["import_status"] == "created" and "Zoom has no such meeting" in resent["error_message"]
    assert [m["meetingInfo"]["topic"] for m in meetings(server)].count("Never made") == 1
    assert (several["import_status"], several["error_code"]) == ("unknown", "several-found")
    assert twice["id"] in several["error_message"] and other in several["error_message"]
    assert (ended["import_status"], ended["error_code"]) == ("unknown", "not-listed")
    assert [r["body"]["meetingInfo"]["topic"] for r in creates(server)][4:] == ["Never made"]  # nothing else sent
    assert (by_topic["Found"]["id"], "ctx-a") in linked(server)
    assert events(tmp_path / "journal.sqlite3") >= Counter({"found": 1, "absent": 1, "several-found": 1,
                                                             "not-listed": 1})


def test_a_token_that_expires_in_the_middle_of_a_run_is_fetched_again(invoke, server, tmp_path):
    rows = [row(f"Lecture {n}", user=f"host{n}@x.edu", context=f"ctx-{n}") for n in range(6)]
    sheet = write(tmp_path / "term.xlsx", rows)
    server.config.p_500_after = 1.0
    invoke(["run", str(sheet), "--rate", "0", "--quiet"], zoom=False)
    server.config.p_500_after = 0.0
    server.config.zoom_token_max_uses = 3  # refused from its 4th call on: six hosts' lists need a second token

    result = invoke(["run", str(tmp_path / "term.result.xlsx"), "-o", str(tmp_path / "again.xlsx"), "--quiet"])

    assert result.exit_code == 0, result.output
    assert [r["import_status"] for r in read_xlsx(tmp_path / "again.xlsx")] == ["associated"] * 6
    refused = [r for r in server.state.snapshot()["zoom_requests"] if r["http_status"] == 401]
    # Calls already made with the old token are refused too: they take the new one, not one each.
    assert refused and server.state.snapshot()["zoom_tokens_issued"] == 2
    assert len(meetings(server)) == 6


# --- changed rows ----------------------------------------------------------------------------------


def test_a_changed_row_is_applied_once_and_a_second_run_sends_nothing(invoke, server, tmp_path):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1"), row("CHEM 110", context="ctx-2"),
                                           row("PHYS 120", context="ctx-3")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"]).exit_code == 0
    ids = [r["meeting_id"] for r in read_xlsx(tmp_path / "term.result.xlsx")]
    later = datetime(2027, 10, 8, 11, 30)
    changed = edit(tmp_path / "term.result.xlsx", tmp_path / "changed.xlsx",
                   {0: {"Topic": "BIO 101 Lecture", "Duration": 90}, 1: {"Start Time": later}})

    result = invoke(["run", str(changed), "-o", str(tmp_path / "changed.result.xlsx"), "--rate", "0", "--quiet"])

    assert result.exit_code == 0, result.output
    rows = read_xlsx(tmp_path / "changed.result.xlsx")
    assert [r["import_status"] for r in rows] == ["updated", "updated", "created"]
    assert "changed in Zoom: duration, topic" in rows[0]["error_message"]
    assert [(p["path"].rsplit("/", 1)[1], p["body"]) for p in patches(server)] == [
        (ids[0], {"duration": 90, "topic": "BIO 101 Lecture"}),
        (ids[1], {"start_time": "2027-10-08T11:30:00", "timezone": "America/New_York"})]
    made = {m["id"]: m["meetingInfo"] for m in meetings(server)}
    assert made[ids[0]]["topic"] == "BIO 101 Lecture" and made[ids[1]]["start_time"] == "2027-10-08T11:30:00"
    assert len(creates(server)) == 3 and len(made) == 3

    for again in (changed, tmp_path / "changed.result.xlsx"):  # the edited sheet, and its result sheet
        rerun = invoke(["run", str(again), "-o", str(tmp_path / "rerun.xlsx"), "--rate", "0", "--quiet"])
        assert rerun.exit_code == 0, rerun.output
        assert len(patches(server)) == 2 and len(creates(server)) == 3 and not requests(server, "bulkImport")
        assert [r["meeting_id"] for r in read_xlsx(tmp_path / "rerun.xlsx")] == ids


def test_a_change_without_zoom_is_reported_never_dropped(invoke, server, tmp_path):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1"), row("CHEM 110", context="ctx-2")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"], zoom=False).exit_code == 0
    changed = edit(tmp_path / "term.result.xlsx", tmp_path / "changed.xlsx", {0: {"Duration": 45}})

    result = invoke(["run", str(changed), "-o", str(tmp_path / "out.xlsx"), "--rate", "0", "--json"], zoom=False)

    assert result.exit_code == 1
    first, second = read_xlsx(tmp_path / "out.xlsx")
    assert (first["import_status"], first["error_code"]) == ("created", "change-not-applied")
    assert "(duration)" in first["error_message"] and "LTI Pro cannot change a meeting" in first["error_message"]
    assert "ZOOM_CLIENT_SECRET" in first["next_step"]
    assert (second["import_status"], second["error_code"]) == ("created", None)
    assert [r["row"] for r in json.loads(result.output)["needs_action"]] == [2]
    assert patches(server) == [] and len(creates(server)) == 2


# --- undo ------------------------------------------------------------------------------------------


def undo_sheet(invoke: Callable[..., Result], tmp_path: Path) -> tuple[Path, list[str]]:
    rows = [row("BIO 101", context="ctx-1"), row("BIO 101", context="ctx-x"),  # cross-listed: one meeting
            row("CHEM 110", context="ctx-2"), row("Bad course", context="bad-ctx"),
            row("Nobody", user="")]  # invalid: no meeting
    sheet = write(tmp_path / "term.xlsx", rows)
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"]).exit_code == 1
    result = read_xlsx(tmp_path / "term.result.xlsx")
    assert [r["import_status"] for r in result] == ["created", "associated", "created", "not_associated", "invalid"]
    return sheet, [r["meeting_id"] for r in result]


def test_undo_removes_every_association_and_a_rerun_links_them_again(invoke, server, tmp_path):
    sheet, ids = undo_sheet(invoke, tmp_path)
    before = meetings(server)

    result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--yes", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    # The bad-ctx row's link was never confirmed; it is asked for all the same (4, not 3).
    assert "4 association(s) to remove from their courses (bulkDisassociate), 0 meeting(s) to delete" in result.output
    assert linked(server) == set() and meetings(server) == before
    assert [len(r["body"]) for r in requests(server, "bulkDisassociate")] == [2, 2]
    undone = read_xlsx(tmp_path / "term.result.undo.xlsx")
    assert [r["import_status"] for r in undone] == ["removed", "removed", "removed", "removed", "invalid"]
    assert [r["meeting_id"] for r in undone] == ids

    rerun = invoke(["run", str(sheet), "-o", str(tmp_path / "rerun.xlsx"), "--rate", "0", "--quiet"])
    assert [r["import_status"] for r in read_xlsx(tmp_path / "rerun.xlsx")] == [
        "associated", "associated", "associated", "not_associated", "invalid"]
    assert [r["meeting_id"] for r in read_xlsx(tmp_path / "rerun.xlsx")] == ids
    assert len(creates(server)) == 3 and rerun.exit_code == 1  # the cross-listed pair is one create
    assert linked(server) == {(ids[0], "ctx-1"), (ids[0], "ctx-x"), (ids[2], "ctx-2")}


def test_undo_delete_removes_the_meetings_and_a_rerun_creates_them_anew(invoke, server, tmp_path):
    _, ids = undo_sheet(invoke, tmp_path)

    result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--delete", "--yes", "-o",
                     str(tmp_path / "undone.csv")])

    assert result.exit_code == 0, result.output
    assert "4 association(s) to remove from their courses (bulkDisassociate), 3 meeting(s) to delete" in result.output
    assert meetings(server) == [] and linked(server) == set()
    undone = (tmp_path / "undone.csv").read_text("utf-8-sig").splitlines()[1:]
    assert [line.split(",")[HEADERS.__len__()] for line in undone] == ["deleted"] * 4 + ["invalid"]

    # The result sheet still holds the deleted ids: they are not linked again, the meetings are made anew.
    rerun = invoke(["run", str(tmp_path / "term.result.xlsx"), "-o", str(tmp_path / "rerun.xlsx"), "--rate", "0",
                    "--quiet"])
    rows = read_xlsx(tmp_path / "rerun.xlsx")
    assert rerun.exit_code == 1
    assert [r["import_status"] for r in rows] == ["created", "associated", "created", "not_associated", "invalid"]
    assert not {r["meeting_id"] for r in rows} & set(ids) - {None}
    assert len(meetings(server)) == 3 and server.state.duplicate_meetings() == []


@pytest.mark.parametrize("answer", ["n\n", ""])
def test_undo_without_confirmation_changes_nothing(invoke, server, tmp_path, answer):
    undo_sheet(invoke, tmp_path)
    before = server.state.snapshot()

    result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--delete"], input=answer)

    assert result.exit_code == 1
    assert "4 association(s) to remove" in result.output and "nothing was changed" in result.output
    after = server.state.snapshot()
    assert (after["meetings"], after["associations"]) == (before["meetings"], before["associations"])
    assert requests(server, "bulkDisassociate") == [] and not (tmp_path / "term.result.undo.xlsx").exists()


def test_undo_delete_needs_zoom_and_says_so_before_anything(invoke, server, tmp_path):
    undo_sheet(invoke, tmp_path)
    result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--delete", "--yes"], zoom=False)
    assert result.exit_code == 2 and "ZOOM_CLIENT_SECRET" in result.output
    assert requests(server, "bulkDisassociate") == []


# --- secrets ---------------------------------------------------------------------------------------


def test_no_client_secret_or_access_token_is_written_anywhere(invoke, server, tmp_path, monkeypatch):
    issued: list[str] = []

    def token(size: int) -> str:
        issued.append(f"zoom-access-token-{len(issued)}-4b9d")
        return issued[-1]

    monkeypatch.setattr(fake_zoom.secrets, "token_urlsafe", token)
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1"), row("CHEM 110", context="ctx-2")])
    server.config.p_500_after = 1.0
    outputs = [invoke(["run", str(sheet), "--rate", "0"]).output]
    server.config.p_500_after = 0.0
    outputs.append(invoke(["run", str(tmp_path / "term.result.xlsx"), "-o", str(tmp_path / "b.xlsx")]).output)
    outputs.append(invoke(["run", str(edit(tmp_path / "b.xlsx", tmp_path / "c.xlsx", {0: {"Duration": 30}})),
                           "--json"]).output)
    outputs.append(invoke(["undo", str(tmp_path / "c.result.xlsx"), "--delete", "--yes"]).output)
    outputs.append(invoke(["doctor"]).output)
    assert issued, "no token was issued: the test proves nothing"
    secrets_ = [ZOOM_SECRET, *issued]
    for text in outputs:
        assert not [s for s in secrets_ if s in text]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            parts = [data]
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    parts += [archive.read(name) for name in archive.namelist()]
            assert not [s for s in secrets_ for part in parts if s.encode() in part], path
    assert ZOOM_SECRET not in json.dumps(server.state.snapshot())


def test_undo_removes_an_association_a_later_run_made_though_the_sheet_says_not_associated(invoke, server,
                                                                                           tmp_path):
    _, ids = undo_sheet(invoke, tmp_path)
    server.config.reject_contexts = frozenset()  # the course can take meetings now
    linked_later = invoke(["reassociate", str(tmp_path / "term.result.xlsx"), "-o", str(tmp_path / "re.xlsx")])
    assert linked_later.exit_code == 1 and (ids[3], "bad-ctx") in linked(server)

    result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--yes"])  # the first result sheet

    assert result.exit_code == 0, result.output
    assert "4 association(s) to remove" in result.output
    assert linked(server) == set()
    assert [r["import_status"] for r in read_xlsx(tmp_path / "term.result.undo.xlsx")][3] == "removed"


# --- what a review found: each once a duplicate, a wrong link, or an association left -----------------


def lose_every_answer(invoke: Callable[..., Result], server: SimulatorServer, sheet: Path) -> list[dict[str, Any]]:
    server.config.p_500_after = 1.0  # every create is made, and its answer lost
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"], zoom=False).exit_code == 1
    server.config.p_500_after = 0.0
    return read_xlsx(sheet.with_name(f"{sheet.stem}.result.xlsx"))


def test_a_lost_row_edited_before_the_next_run_is_looked_up_as_it_was_sent_never_made_twice(invoke, server,
                                                                                            tmp_path):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1"), row("CHEM 110", context="ctx-2")])
    lose_every_answer(invoke, server, sheet)
    made = {m["meetingInfo"]["topic"]: m["id"] for m in meetings(server)}
    edited = edit(tmp_path / "term.result.xlsx", tmp_path / "edited.xlsx",
                  {0: {"Topic": "BIO 101 Lecture"}, 1: {"Topic": "CHEM 110 Lab"}})

    result = invoke(["run", str(edited), "-o", str(tmp_path / "out.xlsx"), "--rate", "0", "--quiet"])

    assert len(meetings(server)) == 2 and len(creates(server)) == 2  # nothing made twice
    with_id, without = read_xlsx(tmp_path / "out.xlsx")
    # The row_id row: found by what was sent, linked, and its new topic applied.
    assert (with_id["import_status"], with_id["meeting_id"]) == ("updated", made["BIO 101"])
    assert [p["body"] for p in patches(server)] == [{"topic": "BIO 101 Lecture"}]
    # The row without one is a new identity: what it was sent as is not known, so "none" is not trusted.
    assert (without["import_status"], without["error_code"]) == ("unknown", "not-found")
    assert result.exit_code == 1


def test_a_create_still_running_when_its_answer_was_lost_is_found_not_sent_again(invoke, server, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setattr(sending, "ABSENT_AFTER_S", 2.5)  # longer than the server takes (1.2 s)
    server.config.latency_s = 1.2  # every call answers after the 0.5 s timeout: a create is made after it
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101")])

    invoke(["run", str(sheet), "--rate", "0", "--quiet", "--max-attempts", "1"])

    assert len(meetings(server)) == 1 and len(creates(server)) == 1
    found = read_xlsx(tmp_path / "term.result.xlsx")[0]
    assert found["meeting_id"] == meetings(server)[0]["id"] and "found in Zoom" in found["error_message"]


def test_rows_that_give_one_meeting_different_fields_change_nothing(invoke, server, tmp_path):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1"), row("BIO 101", row_id="R-1",
                                                                               context="ctx-x")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"]).exit_code == 0
    edited = edit(tmp_path / "term.result.xlsx", tmp_path / "edited.xlsx", {1: {"Duration": 45}})

    result = invoke(["run", str(edited), "-o", str(tmp_path / "out.xlsx"), "--rate", "0", "--quiet"])

    assert result.exit_code == 1 and patches(server) == []
    first, second = read_xlsx(tmp_path / "out.xlsx")
    assert (first["error_code"], second["error_code"]) == (None, "change-conflict")
    assert "rows 2, 3 hold meeting" in second["error_message"]


def test_undo_after_a_course_change_removes_the_meeting_from_both_courses(invoke, server, tmp_path):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1", context="ctx-1")])
    assert invoke(["run", str(sheet), "--rate", "0", "--quiet"]).exit_code == 0
    moved = edit(tmp_path / "term.result.xlsx", tmp_path / "moved.xlsx", {0: {"Context ID": "ctx-2"}})
    assert invoke(["run", str(moved), "--rate", "0", "--quiet"]).exit_code == 0
    meeting = meetings(server)[0]["id"]
    assert linked(server) == {(meeting, "ctx-1"), (meeting, "ctx-2")}

    result = invoke(["undo", str(tmp_path / "moved.result.xlsx"), "--delete", "--yes"])

    assert result.exit_code == 0, result.output
    assert "2 association(s) to remove" in result.output
    assert linked(server) == set() and meetings(server) == []
    assert "also from 1 other course(s)" in read_xlsx(tmp_path / "moved.result.undo.xlsx")[0]["error_message"]


def test_undo_twice_asks_nothing_again(invoke, server, tmp_path):
    undo_sheet(invoke, tmp_path)
    assert invoke(["undo", str(tmp_path / "term.result.xlsx"), "--delete", "--yes"]).exit_code == 0
    sent = len(server.state.snapshot()["requests"]) + len(server.state.snapshot()["zoom_requests"])

    again = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--delete", "--yes", "-o", str(tmp_path / "2.xlsx")])

    assert again.exit_code == 0, again.output
    assert "0 association(s) to remove from their courses (bulkDisassociate), 0 meeting(s)" in again.output
    assert len(server.state.snapshot()["requests"]) + len(server.state.snapshot()["zoom_requests"]) == sent
    assert [r["import_status"] for r in read_xlsx(tmp_path / "2.xlsx")] == ["deleted"] * 4 + ["invalid"]


@pytest.mark.parametrize("made", [True, False])
def test_a_lost_cross_listed_meeting_is_found_or_made_once_and_linked_to_both_courses(invoke, server, tmp_path,
                                                                                     made):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", context="ctx-1"), row("BIO 101", context="ctx-2")])
    lose_every_answer(invoke, server, sheet)
    if not made:  # as if the request never reached Zoom
        server.state.delete_meeting(meetings(server)[0]["id"])

    result = invoke(["run", str(tmp_path / "term.result.xlsx"), "-o", str(tmp_path / "out.xlsx"), "--rate", "0",
                     "--quiet"])

    assert result.exit_code == 0, result.output
    assert len(meetings(server)) == 1
    meeting = meetings(server)[0]["id"]
    rows = read_xlsx(tmp_path / "out.xlsx")
    assert [r["meeting_id"] for r in rows] == [meeting, meeting]
    assert [r["import_status"] for r in rows] == (["associated", "associated"] if made else ["created", "associated"])
    assert {(meeting, "ctx-1"), (meeting, "ctx-2")} <= linked(server)


def test_a_lost_row_found_and_edited_since_is_changed_once(invoke, server, tmp_path):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1")])
    lose_every_answer(invoke, server, sheet)
    edited = edit(tmp_path / "term.result.xlsx", tmp_path / "edited.xlsx", {0: {"Duration": 75}})
    for n in range(2):
        result = invoke(["run", str(edited), "-o", str(tmp_path / f"out{n}.xlsx"), "--rate", "0", "--quiet"])
        assert result.exit_code == 0, result.output
    assert [p["body"] for p in patches(server)] == [{"duration": 75}]
    assert read_xlsx(tmp_path / "out0.xlsx")[0]["import_status"] == "updated"
    assert meetings(server)[0]["meetingInfo"]["duration"] == 75 and len(creates(server)) == 1


def test_undo_asks_to_remove_a_not_associated_rows_link_and_a_refusal_means_nothing_was_there(invoke, server,
                                                                                              tmp_path):
    _, ids = undo_sheet(invoke, tmp_path)
    # The bad-ctx row's association may exist after all (a bulkImport whose answer was lost): it is asked
    # for; the simulator refuses no removal, so make this one stand for a link the server does have.
    server.state.associate([{"meetingId": ids[3], "contextId": "bad-ctx", "domain": "canvas.x.edu"}], via="test")

    result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--yes"])

    assert result.exit_code == 0, result.output
    assert "4 association(s) to remove" in result.output and linked(server) == set()


def test_an_undo_sheet_fed_to_undo_again_has_nothing_left_and_exits_0(invoke, server, tmp_path):
    undo_sheet(invoke, tmp_path)
    assert invoke(["undo", str(tmp_path / "term.result.xlsx"), "--delete", "--yes"]).exit_code == 0
    again = invoke(["undo", str(tmp_path / "term.result.undo.xlsx"), "--delete", "--yes", "-o",
                    str(tmp_path / "again.xlsx")])
    assert again.exit_code == 0, again.output
    assert "0 association(s) to remove" in again.output


def test_undo_refuses_a_journal_in_use_before_asking(invoke, server, tmp_path):
    from importer.journal import Journal, scope_of

    undo_sheet(invoke, tmp_path)
    with Journal(tmp_path / "journal.sqlite3", scope_of(server.base_url, KEY)) as busy:
        busy.lock()
        result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--yes"])
    assert result.exit_code == 2 and "another importer run is using the journal" in result.output
    assert "association(s) to remove" not in result.output and requests(server, "bulkDisassociate") == []


@pytest.mark.parametrize("edited_row", [0, 1])
def test_a_lost_cross_listed_pair_found_with_one_row_edited_changes_nothing_and_says_so(invoke, server, tmp_path,
                                                                                        edited_row):
    sheet = write(tmp_path / "term.xlsx", [row("BIO 101", row_id="R-1", context="ctx-1"),
                                           row("BIO 101", row_id="R-1", context="ctx-2")])
    lose_every_answer(invoke, server, sheet)
    edited = edit(tmp_path / "term.result.xlsx", tmp_path / "edited.xlsx", {edited_row: {"Duration": 45}})

    result = invoke(["run", str(edited), "-o", str(tmp_path / "out.xlsx"), "--rate", "0", "--quiet"])

    assert result.exit_code == 1 and patches(server) == []
    rows = read_xlsx(tmp_path / "out.xlsx")
    assert rows[edited_row]["error_code"] == "change-conflict"
    assert len(meetings(server)) == 1 and meetings(server)[0]["meetingInfo"]["duration"] == 60


def test_undo_delete_with_credentials_zoom_refuses_stops_before_anything_is_removed(invoke, server, tmp_path):
    undo_sheet(invoke, tmp_path)
    server.config.zoom_client_secret = "rotated-secret-9c1e"  # Zoom no longer takes the one the importer has

    result = invoke(["undo", str(tmp_path / "term.result.xlsx"), "--delete", "--yes"])

    assert result.exit_code == 2 and "ZOOM_CLIENT_SECRET" in result.output
    assert requests(server, "bulkDisassociate") == [] and len(linked(server)) == 3
    assert ZOOM_SECRET not in result.output
