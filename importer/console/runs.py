"""The console's work: checked sheets, runs and their undoing, through the same library calls as the CLI.

A sheet is checked with `validate_file`; a run is `import_file` in a background thread, one
at a time across the server, with a `Progress` that keeps the run's state for the pages and
their event stream. The thread records the run's outcome in the journal (`console_runs`)
whether or not a page watches it; the checked upload is removed when its run ends.

An earlier run is taken back as `importer undo` does: `plan_undo` on its stored result sheet
says what would be done (nothing is sent), and once confirmed `undo_file` runs in a background
thread like a run, in the same one-at-a-time slot (both hold the journal's lock). What an undo
did is kept for as long as the console runs; the journal keeps each removal and deletion.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import ImporterError, InputError, import_file, validate_file
from ..journal import ConsoleRun, Journal, scope_of
from ..limits import DAILY_CREATES_PER_HOST
from ..options import ImportOptions, Progress, ReadOptions, StopRequest
from ..report import Report
from ..statuses import STATUSES, SYMBOLS, Status
from ..target import Target
from ..undo import default_undo_output, plan_undo, undo_file
from .upload import disk_name

#: A status's symbol beside its word, as the result sheet shows them: colour is never the only signal.
#: How long closing the console waits for a run it asked to stop to write its result sheet.
STOP_WAIT_S = 30.0
CHECKING = "checking the sheet"
READING = "reading the result sheet"
FINISHED = "finished"
#: The statuses a run leaves with a meeting linked (or made) that undo can take back: an earlier
#: run's counts say from these whether its result sheet has a meeting_id to undo.
UNDOABLE = frozenset({Status.CREATED, Status.ASSOCIATED, Status.UPDATED, Status.NOT_ASSOCIATED})
NO_RESULT_SHEET = "this run has no result sheet (it stopped before writing one): there is nothing to undo"


def symbol(status: str) -> str:
    try:
        return SYMBOLS[STATUSES[Status(status)].colour]
    except ValueError:
        return "?"


def result_sheet_name(file_name: str) -> str:
    """"term.result.xlsx" for "term.csv": the run's result sheet as the coordinator downloads it."""
    stem = file_name.rpartition(".")[0] or file_name
    return f"{stem}.result.xlsx"


def undo_sheet_name(file_name: str) -> str:
    """"term.result.undo.xlsx": what undo did, named as `importer undo term.result.xlsx` names it."""
    return default_undo_output(Path(result_sheet_name(file_name))).name


def counts_text(counts: dict[str, int]) -> str:
    """"✓ created 58 · ✗ failed 1": the counts as the pages (and console.js) write them."""
    return " \u00b7 ".join(f"{symbol(status)} {status} {rows}" for status, rows in counts.items())


@dataclass(frozen=True)
class HostCreates:
    host: str
    creates: int

    @property
    def over(self) -> bool:
        return self.creates > DAILY_CREATES_PER_HOST


@dataclass
class CheckedSheet:
    id: str
    file_name: str
    folder: Path  # the upload and its checked copy; removed when its run ends
    upload: Path
    report: Report
    run_id: int | None = None  # the run that sent it

    def host_creates(self) -> list[HostCreates]:
        """The meetings each host would create (the plan's count), most first: Zoom allows
        DAILY_CREATES_PER_HOST a day."""
        return [HostCreates(host, creates) for host, creates in
                Counter(self.report.creates_per_host).most_common()]


class RunState:
    """One run as the pages see it; written by the run's thread, read by the server's."""

    label = "A run"  # as the pages say what is going
    first_phase = CHECKING

    def __init__(self, run_id: int, file_name: str, started_at: float) -> None:
        self.id = run_id
        self.file_name = file_name
        self.started_at = started_at
        self.stop = StopRequest()
        self.ended = threading.Event()
        self.report: Report | None = None
        self.error: str | None = None
        self.result_sheet: bytes | None = None
        self._lock = threading.Lock()
        self._phase, self._done, self._total = self.first_phase, 0, 0
        self._counts: Counter[str] = Counter()

    @property
    def url(self) -> str:
        """Its page."""
        return f"/runs/{self.id}"

    @property
    def finished(self) -> bool:
        return self.ended.is_set()

    def snapshot(self) -> dict[str, Any]:
        """{"phase", "done", "total", "counts"}: what the progress bar and its event show."""
        with self._lock:
            counts = {str(status): self._counts[status] for status in Status if self._counts[status]}
            return {"phase": self._phase, "done": self._done, "total": self._total, "counts": counts}

    def text(self) -> str:
        state = self.snapshot()
        return f"{state['phase'].capitalize()}: {state['done']} of {state['total']}"

    def started(self, phase: str, total: int) -> None:
        with self._lock:
            self._phase, self._done, self._total = phase, 0, total
            self._counts.clear()

    def advanced(self, status: Status) -> None:
        with self._lock:
            self._done += 1
            self._counts[status] += 1

    def end(self, report: Report | None, error: str | None, result_sheet: bytes | None) -> None:
        with self._lock:
            self.report, self.error, self.result_sheet = report, error, result_sheet
            if report is not None:
                self._counts = Counter({str(status): rows for status, rows in report.ordered_counts()})
                self._done = self._total = len(report.results)
            self._phase = FINISHED
        self.ended.set()


class UndoState(RunState):
    """An earlier run being taken back (`undo_file`), as its page sees it: `id` is the run's,
    `result_sheet` what undo wrote (the undo sheet), `report` what undo did row by row."""

    label = "An undo"
    first_phase = READING

    def __init__(self, run_id: int, file_name: str, started_at: float, delete: bool) -> None:
        super().__init__(run_id, file_name, started_at)
        self.delete = delete

    @property
    def url(self) -> str:
        return f"/runs/{self.id}/undo/outcome"


@dataclass(frozen=True)
class UndoPreview:
    """What undo would do to a run, both ways (`UndoPlan.describe()`); nothing was sent to know it."""

    keep: str  # removing the associations only
    delete: str  # removing them and deleting the meetings in Zoom

    @property
    def key(self) -> str:
        """The plan's fingerprint: the confirmation form carries it, so that what is applied is
        what the page showed (a plan that changed in between is shown again, not applied)."""
        return hashlib.sha256(f"{self.keep}\n{self.delete}".encode()).hexdigest()[:32]


class RunProgress(Progress):
    """What import_file tells the run's state."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def start(self, phase: str, total: int) -> None:
        self.state.started(phase, total)

    def advance(self, status: Status) -> None:
        self.state.advanced(status)


class RunGoing(Exception):
    """A run is going: the console sends one sheet at a time."""

    def __init__(self, run: RunState) -> None:
        super().__init__(f"run {run.id} is going")
        self.run = run


class SheetSent(Exception):
    """This checked sheet was sent already; its upload is gone."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"sent in run {run_id}")
        self.run_id = run_id


class Runs:
    """The console's checked sheets and runs; `folder` is its private temporary folder."""

    def __init__(self, target: Target, folder: Path) -> None:
        self.target = target
        self.folder = folder
        self.sheets: dict[str, CheckedSheet] = {}
        self.live: dict[int, RunState] = {}  # this server's runs, by id
        self.undos: dict[int, UndoState] = {}  # the latest undo of each run, by the run's id
        self.stopping = threading.Event()
        self._current: RunState | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        with self._journal():  # a journal that cannot be opened stops the console before it serves
            pass

    def _journal(self) -> Journal:
        return Journal(self.target.journal, scope="")

    # --- checking -------------------------------------------------------------------------

    def new_upload_folder(self) -> tuple[str, Path]:
        sheet_id = secrets.token_hex(8)
        folder = self.folder / "sheets" / sheet_id
        folder.mkdir(parents=True, mode=0o700)
        return sheet_id, folder

    def check(self, sheet_id: str, file_name: str, upload: Path) -> CheckedSheet:
        """validate_file, as `importer validate` calls it; the ImporterError it raises names the
        file as the coordinator knows it, not by its path in the private folder."""
        checked = upload.with_name(f"{upload.stem}.checked.xlsx")
        journal = self.target.remember_in or self.target.journal
        try:
            report = validate_file(upload, checked, ReadOptions(), journal=journal, canvas=self.target.canvas)
        except ImporterError as exc:
            shutil.rmtree(upload.parent, ignore_errors=True)
            raise type(exc)(str(exc).replace(str(upload), file_name)) from None
        sheet = CheckedSheet(sheet_id, file_name, upload.parent, upload, report)
        self.sheets[sheet_id] = sheet
        return sheet

    # --- running --------------------------------------------------------------------------

    def current(self) -> RunState | None:
        """The run going, if one is."""
        run = self._current
        return run if run is not None and not run.finished else None

    def start(self, sheet: CheckedSheet) -> RunState:
        """Start sending a checked sheet in a background thread. RunGoing while another run goes."""
        with self._lock:
            going = self.current()
            if going is not None:
                raise RunGoing(going)
            if sheet.run_id is not None:
                raise SheetSent(sheet.run_id)
            if self.stopping.is_set():
                raise InputError("the console is stopping: start it again to run the sheet")
            started_at = time.time()
            with self._journal() as journal:
                run_id = journal.start_console_run(sheet.file_name, started_at)
            run = RunState(run_id, sheet.file_name, started_at)
            sheet.run_id = run_id
            self.live[run_id] = self._current = run
            # A daemon: a console killed outright leaves the journal to tell what was in flight.
            self._thread = threading.Thread(target=self._run, args=(run, sheet), name=f"console-run-{run_id}",
                                            daemon=True)
            self._thread.start()
            return run

    def _run(self, run: RunState, sheet: CheckedSheet) -> None:
        """import_file, as `importer run` calls it; whatever happens is recorded."""
        output = self.folder / "runs" / str(run.id) / f"{sheet.upload.stem}.result.xlsx"
        report: Report | None = None
        error: str | None = None
        try:
            output.parent.mkdir(parents=True, mode=0o700)
            options = ImportOptions(journal_path=self.target.journal, remember_in=self.target.remember_in)
            report = import_file(sheet.upload, output, self.target.connection, options, ReadOptions(),
                                 progress=RunProgress(run), stop=run.stop, canvas=self.target.canvas,
                                 zoom=self.target.zoom)
        except ImporterError as exc:
            error = str(exc).replace(str(sheet.upload), sheet.file_name)
        except Exception as exc:  # a run's thread must record its end, whatever ended it
            error = f"the run stopped on an unexpected error: {type(exc).__name__}: {exc}"
        if error is None and report is not None and report.interrupted:
            error = ("stopped: the console was closed while this run went on; run the same sheet again to send "
                     "the rows marked not_sent (nothing is sent twice)")
        result_sheet = output.read_bytes() if output.is_file() else None
        counts = {str(status): rows for status, rows in report.ordered_counts()} if report is not None else {}
        try:
            with self._journal() as journal:
                journal.finish_console_run(run.id, time.time(), counts, error, result_sheet)
        except ImporterError as exc:
            error = f"{error}; {exc}" if error else str(exc)
        shutil.rmtree(sheet.folder, ignore_errors=True)
        shutil.rmtree(output.parent, ignore_errors=True)
        run.end(report, error, result_sheet)

    # --- earlier runs ---------------------------------------------------------------------

    def earlier(self) -> list[ConsoleRun]:
        with self._journal() as journal:
            return journal.console_runs()

    def recorded(self, run_id: int) -> ConsoleRun | None:
        with self._journal() as journal:
            return journal.console_run(run_id)

    def result_sheet(self, run_id: int) -> bytes | None:
        run = self.live.get(run_id)
        if run is not None and run.result_sheet is not None:
            return run.result_sheet
        with self._journal() as journal:
            return journal.console_result_sheet(run_id)

    # --- undoing an earlier run ----------------------------------------------------------

    def undoable(self, run_id: int) -> bool:
        """The run ended with a result sheet that gives a meeting to at least one row (for an earlier
        run, as its counts tell)."""
        live = self.live.get(run_id)
        if live is not None:
            return (live.finished and live.result_sheet is not None and live.report is not None
                    and any(result.outcome.meeting_id and result.outcome.status is not Status.DELETED
                            for result in live.report.results))
        recorded = self.recorded(run_id)
        return (recorded is not None and recorded.has_result_sheet
                and any(recorded.counts.get(status) for status in UNDOABLE))

    def plan_undo(self, run_id: int, file_name: str) -> UndoPreview:
        """What undo would take back of the run, from its stored result sheet; nothing is sent.
        The ImporterError it raises names the sheet as the coordinator downloads it."""
        sheet = self.result_sheet(run_id)
        if sheet is None:
            raise InputError(NO_RESULT_SHEET)
        shown = result_sheet_name(file_name)
        with self._private_copy(sheet, shown) as path:
            try:
                connection = self.target.connection
                plan, _ = plan_undo(path, ReadOptions(), journal=self.target.remember_in or self.target.journal,
                                    sent=(self.target.journal, scope_of(connection.base_url, connection.key)))
            except ImporterError as exc:
                raise type(exc)(str(exc).replace(str(path), shown)) from None
        return UndoPreview(replace(plan, delete=False).describe(), replace(plan, delete=True).describe())

    def start_undo(self, run_id: int, file_name: str, delete: bool) -> UndoState:
        """Take the run back in a background thread, as `importer undo --yes` does (the page asked).
        RunGoing while a run or an undo goes: both hold the journal."""
        with self._lock:
            going = self.current()
            if going is not None:
                raise RunGoing(going)
            if self.stopping.is_set():
                raise InputError("the console is stopping: start it again to undo the run")
            sheet = self.result_sheet(run_id)
            if sheet is None:
                raise InputError(NO_RESULT_SHEET)
            undo = UndoState(run_id, file_name, time.time(), delete)
            self.undos[run_id] = self._current = undo
            self._thread = threading.Thread(target=self._undo, args=(undo, sheet), name=f"console-undo-{run_id}",
                                            daemon=True)
            self._thread.start()
            return undo

    def _undo(self, undo: UndoState, sheet: bytes) -> None:
        """undo_file, as `importer undo --yes` calls it; whatever happens is recorded."""
        shown = result_sheet_name(undo.file_name)
        report: Report | None = None
        error: str | None = None
        undo_sheet: bytes | None = None
        try:
            with self._private_copy(sheet, shown) as source:
                output = default_undo_output(source)
                try:
                    report = undo_file(source, output, self.target.connection, self.target.journal, ReadOptions(),
                                       delete=undo.delete, zoom=self.target.zoom, confirm=lambda plan: True,
                                       progress=RunProgress(undo), remember_in=self.target.remember_in)
                except ImporterError as exc:
                    error = str(exc).replace(str(output), undo_sheet_name(undo.file_name)).replace(str(source), shown)
                undo_sheet = output.read_bytes() if output.is_file() else None
        except Exception as exc:  # an undo's thread must record its end, whatever ended it
            error = f"the undo stopped on an unexpected error: {type(exc).__name__}: {exc}"
        if error is None and report is None:
            error = "nothing was changed"
        undo.end(report, error, undo_sheet)

    @contextmanager
    def _private_copy(self, content: bytes, name: str) -> Iterator[Path]:
        """`content` as a file named `name` in a folder of its own under the private folder (0700),
        removed afterwards: the library reads sheets from files."""
        parent = self.folder / "undo"
        parent.mkdir(mode=0o700, exist_ok=True)
        folder = parent / secrets.token_hex(8)
        folder.mkdir(mode=0o700)
        try:
            path = folder / disk_name(name)
            path.write_bytes(content)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # --- stopping -------------------------------------------------------------------------

    def close(self) -> None:
        """The console stops: a run going is asked to stop (abandoning what is in flight, as a
        second Ctrl-C does) and given time to write its result sheet and record it. An undo going
        has no stop: it is given the same time to end."""
        self.stopping.set()
        with self._lock:
            going, thread = self.current(), self._thread
        if going is not None and thread is not None:
            going.stop.request()
            going.stop.request()
            thread.join(STOP_WAIT_S)
