"""Stopping a run through the library's StopRequest, as Ctrl-C does through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from importer import Connection, ImportOptions, Progress, Status, StopRequest, import_file
from importer.simulator import SimConfig, SimulatorServer

from support import KEY, SECRET, creates, read_xlsx, row


def term(count: int) -> list[list[Any]]:
    start = datetime(2027, 9, 6, 8, 0)
    return [row(f"Section {n}", context=f"ctx-{n}", start=start + timedelta(hours=n)) for n in range(count)]


class StopAfter(Progress):
    """Asks the run to stop once `count` rows have ended, `times` times over."""

    def __init__(self, stop: StopRequest, count: int, times: int = 1) -> None:
        self.stop, self.count, self.times, self.ended = stop, count, times, 0

    def advance(self, status: Status) -> None:
        self.ended += 1
        if self.ended == self.count:
            for _ in range(self.times):
                self.stop.request()


def run(write_xlsx: Callable[..., Path], tmp_path: Path, server: SimulatorServer, rows: int, stop: StopRequest,
        progress: Progress | None = None) -> Any:
    options = ImportOptions(journal_path=tmp_path / "journal.sqlite3", concurrency=1, rate=0)
    return import_file(write_xlsx(term(rows)), tmp_path / "term.result.xlsx",
                       Connection(server.base_url, KEY, SECRET, timeout=5), options, progress=progress, stop=stop)


def test_a_stop_asked_before_sending_sends_nothing_and_writes_the_sheet(write_xlsx, tmp_path):
    stop = StopRequest()
    stop.request()
    with SimulatorServer(SimConfig(key=KEY, secret=SECRET)) as server:
        report = run(write_xlsx, tmp_path, server, 3, stop)
        assert creates(server) == []
    assert [r.outcome.status for r in report.results] == [Status.NOT_SENT] * 3
    assert report.exit_code == 130
    assert [r["import_status"] for r in read_xlsx(tmp_path / "term.result.xlsx")] == ["not_sent"] * 3


def test_a_stop_during_the_run_keeps_what_was_sent_and_sends_no_more(write_xlsx, tmp_path):
    stop = StopRequest()
    with SimulatorServer(SimConfig(key=KEY, secret=SECRET)) as server:
        report = run(write_xlsx, tmp_path, server, 6, stop, StopAfter(stop, 2))
        sent = len(creates(server))
        meetings = [m["id"] for m in server.state.snapshot()["meetings"]]
        statuses = [r.outcome.status for r in report.results]
        assert statuses[:2] == [Status.CREATED, Status.CREATED]
        assert set(statuses[2:]) <= {Status.CREATED, Status.NOT_SENT} and Status.NOT_SENT in statuses
        assert sent == statuses.count(Status.CREATED) == len(meetings)  # every meeting made is on the sheet
        assert sorted(r.outcome.meeting_id for r in report.results if r.outcome.meeting_id) == sorted(meetings)
        assert report.exit_code == 130

        again = run(write_xlsx, tmp_path, server, 6, StopRequest())  # the same sheet: it finishes the rest

        assert len(creates(server)) == sent + statuses.count(Status.NOT_SENT)
        assert len(server.state.snapshot()["meetings"]) == 6
    assert again.exit_code == 0


def test_a_second_stop_abandons_what_is_in_flight_and_loses_no_meeting(write_xlsx, tmp_path):
    stop = StopRequest()
    config = SimConfig(key=KEY, secret=SECRET, latency_s=0.3)
    with SimulatorServer(config) as server:
        report = run(write_xlsx, tmp_path, server, 4, stop, StopAfter(stop, 1, times=2))
        made = {m["meetingInfo"]["topic"] for m in server.state.snapshot()["meetings"]}
    by_topic = {r.cells[5]: r.outcome for r in report.results}  # the sheet's Topic column
    assert by_topic["Section 0"].status is Status.CREATED
    assert by_topic["Section 3"].status is Status.NOT_SENT
    for topic in made:  # a meeting the server made is on the sheet with its id, or its row says it may exist
        assert by_topic[topic].meeting_id or by_topic[topic].status is Status.UNKNOWN, topic
    assert report.exit_code == 130
