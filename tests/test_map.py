"""--map: a coordinator's own headers, named once, remembered for sheets with the same headers."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.simulator import SimulatorServer

from support import KEY, SECRET, creates, read_xlsx

# A peer tool's layout: its own header names, and its own ways of writing days and times.
PEER_HEADERS = ["Live Course ID", "LTI Context", "Canvas Host", "Meeting Topic", "Zoom Host User ID",
                "Course Days", "Meeting Start Time", "Duration", "Start Date", "End Date", "Time Zone"]
PEER_ROWS = [
    ["48213", "ctx-bio", "canvas.x.edu", "BIO 101 Lecture", "host@x.edu", "Mon/Wed", "6:00 PM", "75",
     "2027-01-11", "2027-02-05", "America/New_York"],
    ["48377", "ctx-chem", "canvas.x.edu", "CHEM 210 Lab", "host@x.edu", "Tue/Thur", "9:30 AM", "50",
     "2027-01-11", "2027-02-05", "America/Chicago"],
]
PEER_MAP = ["--map", "Zoom Host User ID=userId", "--map", "LTI Context=contextId", "--map", "Canvas Host=domain",
            "--map", "Live Course ID=courseId", "--map", "Meeting Start Time=time"]


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)

    def run(args: list[str], server: SimulatorServer | None = None, journal: str = "journal.sqlite3"):
        environment = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "IMPORTER_JOURNAL": str(tmp_path / journal)}
        if server is not None:
            environment["LTI_BASE_URL"] = server.base_url
        return CliRunner().invoke(cli, args, env=environment, catch_exceptions=False)
    return run


def write_csv(path: Path, headers: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def test_a_peer_tools_sheet_runs_with_map_and_its_result_feeds_back_without_it(invoke, sim, tmp_path):
    sheet = write_csv(tmp_path / "peer.csv", PEER_HEADERS, PEER_ROWS)

    first = invoke(["run", str(sheet), "--rate", "0", "--concurrency", "1", *PEER_MAP], server=sim)

    assert first.exit_code == 0, first.output
    assert "'Zoom Host User ID' = userId" in first.output
    bodies = [request["body"] for request in creates(sim)]
    assert [(b["userId"], b["contextId"], b["domain"], b["courseId"]) for b in bodies] == [
        ("host@x.edu", "ctx-bio", "canvas.x.edu", "48213"), ("host@x.edu", "ctx-chem", "canvas.x.edu", "48377")]
    bio, chem = (body["meetingInfo"] for body in bodies)
    assert (bio["topic"], bio["type"], bio["start_time"], bio["duration"], bio["timezone"]) == (
        "BIO 101 Lecture", 8, "2027-01-11T18:00:00", 75, "America/New_York")
    assert bio["recurrence"]["weekly_days"] == "2,4"  # Mon/Wed, Zoom's 1 = Sunday
    assert (chem["start_time"], chem["recurrence"]["weekly_days"]) == ("2027-01-12T09:30:00", "3,5")
    result = tmp_path / "peer.result.xlsx"
    rows = read_xlsx(result)
    assert [r["import_status"] for r in rows] == ["created", "created"]
    assert list(rows[0])[:len(PEER_HEADERS)] == PEER_HEADERS  # the coordinator's own headers, kept

    again = invoke(["run", str(result), "--rate", "0"], server=sim)  # no --map: remembered

    assert again.exit_code == 0, again.output
    assert len(creates(sim)) == 2  # nothing created twice
    fed_back = read_xlsx(tmp_path / "peer.result.result.xlsx")
    assert [(r["import_status"], r["LTI Context"]) for r in fed_back] == [
        ("created", "ctx-bio"), ("created", "ctx-chem")]


def test_simulate_remembers_a_map_in_the_real_journal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"IMPORTER_JOURNAL": str(tmp_path / "journal.sqlite3")}
    sheet = write_csv(tmp_path / "peer.csv", PEER_HEADERS, PEER_ROWS)
    first = CliRunner().invoke(cli, ["run", str(sheet), "--simulate", "--rate", "0", *PEER_MAP], env=env)
    assert first.exit_code == 0, first.output

    again = CliRunner().invoke(cli, ["run", str(tmp_path / "peer.result.xlsx"), "--simulate", "--rate", "0"], env=env)

    assert again.exit_code == 0, again.output
    assert "'Zoom Host User ID' = userId" in again.output


def test_a_map_of_optional_columns_is_remembered_too(invoke, sim, tmp_path):
    # Every required column is found by name; the map names only the coordinator's own course number.
    headers = ["Host", "Context ID", "Domain", "Canvas Number", "Topic", "Type", "Start Time", "Timezone"]
    sheet = write_csv(tmp_path / "t.csv", headers, [
        ["host@x.edu", "ctx-1", "canvas.x.edu", "4711", "Review", "2", "2027-03-02 18:00", "UTC"]])
    assert invoke(["run", str(sheet), "--rate", "0", "--map", "Canvas Number=courseId"], server=sim).exit_code == 0

    again = invoke(["validate", str(tmp_path / "t.result.xlsx"), "-o", str(tmp_path / "v.csv")])

    assert again.exit_code == 0, again.output
    assert "'Canvas Number' = courseId" in again.output
    assert creates(sim)[0]["body"]["courseId"] == "4711"


def test_a_missing_column_names_the_closest_header_and_the_map_to_use(invoke, tmp_path):
    sheet = write_csv(tmp_path / "peer.csv", PEER_HEADERS, PEER_ROWS)

    result = invoke(["validate", str(sheet)])

    assert result.exit_code == 2
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    # "Zoom Host User ID" is a name the column table knows for userId: not missing.
    assert message.startswith(f"importer: {sheet}: missing required column(s) contextId, domain, time ")
    assert "time: closest header 'Meeting Start Time', use --map \"Meeting Start Time=time\"" in message
    assert "contextId: closest header 'LTI Context', use --map \"LTI Context=contextId\"" in message
    assert "domain: no header is close, add the column" in message
    assert not (tmp_path / "peer.result.xlsx").exists()


def test_validate_remembers_a_map_for_the_same_headers_only(invoke, tmp_path):
    sheet = write_csv(tmp_path / "peer.csv", PEER_HEADERS, PEER_ROWS)
    assert invoke(["validate", str(sheet), *PEER_MAP]).exit_code == 0

    remembered = invoke(["validate", str(sheet)])
    elsewhere = invoke(["validate", str(sheet)], journal="other.sqlite3")  # another journal knows nothing
    other = write_csv(tmp_path / "other.csv", [*PEER_HEADERS, "Notes"], [[*r, "x"] for r in PEER_ROWS])
    different_headers = invoke(["validate", str(other)])

    assert remembered.exit_code == 0, remembered.output
    assert [r["import_status"] for r in read_xlsx(tmp_path / "peer.result.xlsx")] == ["valid", "valid"]
    assert elsewhere.exit_code == 2
    assert different_headers.exit_code == 2 and "missing required column(s)" in different_headers.output


def test_validate_without_map_leaves_no_journal(invoke, write_xlsx, tmp_path):
    from support import row

    sheet = write_xlsx([row("A")])
    assert invoke(["validate", str(sheet)]).exit_code == 0
    assert not (tmp_path / "journal.sqlite3").exists()


def test_map_overrides_what_a_header_would_mean(invoke, tmp_path):
    # "Course ID" would be courseId; this coordinator keeps the LTI context id under that name.
    sheet = write_csv(tmp_path / "t.csv", ["Host", "Course ID", "Domain", "Topic", "Type", "Start Time"],
                      [["host@x.edu", "ctx-9", "canvas.x.edu", "Review", "2", "2027-03-02 18:00"]])
    result = invoke(["validate", str(sheet), "-o", str(tmp_path / "out.csv"), "--map", "course id=contextId"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "out.csv").open(encoding="utf-8-sig") as handle:
        assert next(csv.DictReader(handle))["import_status"] == "valid"


@pytest.mark.parametrize(("option", "expected"), [
    ("Zoom Host=userId", "--map \"Zoom Host=userId\": the sheet has no header 'Zoom Host' (headers found: "),
    ("Zoom Host=userId", "did you mean --map \"Zoom Host User ID=userId\"?"),
    ("Zoom Host User ID=hostemail", "did you mean"),
    ("Zoom Host User ID=speaker", "'speaker' is not a column the importer reads"),
    ("Zoom Host User ID=import_status", "'import_status' is not a column the importer reads"),
    ("Meeting Topic=topic", "columns 'Meeting Topic' (by --map) and "),
])
def test_a_map_that_does_not_fit_is_one_line_and_exit_2(invoke, tmp_path, option, expected):
    headers = [*PEER_HEADERS, "Topic"] if option == "Meeting Topic=topic" else PEER_HEADERS
    rows = [[*r, "x"] for r in PEER_ROWS] if option == "Meeting Topic=topic" else PEER_ROWS
    sheet = write_csv(tmp_path / "peer.csv", headers, rows)
    result = invoke(["validate", str(sheet), "--map", option])
    if option == "Zoom Host User ID=hostemail":  # an alias of userId is understood, not refused
        assert "did you mean" not in result.output
        assert result.exit_code == 2 and "missing required column(s) contextId" in result.output
        return
    assert result.exit_code == 2
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_malformed_map_is_a_usage_error(invoke, tmp_path):
    sheet = write_csv(tmp_path / "peer.csv", PEER_HEADERS, PEER_ROWS)
    result = invoke(["validate", str(sheet), "--map", "Zoom Host User ID"])
    assert result.exit_code == 2
    assert "is not HEADER=column" in result.output
