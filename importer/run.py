"""The pipeline as library calls, its phases in order: `validate_file` and `import_file`.

    read (reader) -> check (schema) -> plan (lifecycle, with the journal)
        -> send creates, then links (sending) -> settle (lifecycle) -> write (resultsheet) -> Report

The CLI is a thin adapter over these two calls. Nothing here changes the process: no
signal handlers, no garbage-collector settings. Ctrl-C reaches a run through a
`StopRequest` (options.py), which the CLI wires to SIGINT.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from .columns import ColumnMap, headers_key
from .errors import InputError, JournalError
from .journal import Journal, scope_of
from .lifecycle import (
    Plan,
    build_plan,
    final_outcome,
    plan_for_validation,
    plan_links_only,
    plan_problems,
    quota_message,
    settle_stragglers,
)
from .models import Problem, RowResult, Sheet
from .options import Canvas, Connection, ImportOptions, Progress, ReadOptions, StopRequest, Zoom
from .reader import read_sheet
from .report import Report
from .resultsheet import write_result_sheet
from .schema import RowCheck, check_rows
from .statuses import DONE_STATUSES, Status


def default_output(path: Path) -> Path:
    return path.with_name(f"{path.stem}.result.xlsx")


class Memory:
    """The journal as a command uses it for what it remembers: a --map, and Canvas's courses.

    Opened the first time it is needed, closed with `close()`. Reading never creates a journal
    (a plain validate leaves none behind) and a journal that cannot be read is as good as an
    empty one; writing creates it. `path` may be a function, asked only when it is needed.
    """

    def __init__(self, path: Path | Callable[[], Path] | None = None, journal: Journal | None = None) -> None:
        self._path = path
        self._journal = journal
        self._opened = False

    def reader(self) -> Journal | None:
        if self._journal is None and self._path is not None and not self._opened:
            path = self._resolve()
            if path.exists():
                self._open(path)
        return self._journal

    def writer(self) -> Journal | None:
        if self._journal is None and self._path is not None:
            self._open(self._resolve())
        return self._journal

    def recall(self, headers: str) -> dict[str, str]:
        """The --map remembered for a sheet's headers (`columns.headers_key`); {} if none or unreadable."""
        try:
            journal = self.reader()
            return journal.header_map(headers) if journal is not None else {}
        except JournalError:
            return {}

    def close(self) -> None:
        if self._opened and self._journal is not None:
            self._journal.close()

    def _resolve(self) -> Path:
        if callable(self._path):
            self._path = self._path()
        assert self._path is not None
        return self._path

    def _open(self, path: Path) -> None:
        self._journal = Journal(path, scope="")
        self._opened = True


def check_sheet(path: Path, read: ReadOptions | None = None, now: datetime | None = None,
                memory: Memory | None = None) -> tuple[ColumnMap, list[RowCheck]]:
    """Read a sheet and check every row (see `map_columns` for `read.columns` and `memory`)."""
    read = read or ReadOptions()
    return check_sheet_rows(read_sheet(path, read.sheet), read, now, memory or Memory())


def check_sheet_rows(sheet: Sheet, read: ReadOptions, now: datetime | None, memory: Memory,
                     canvas: Canvas | None = None, courses: Journal | None = None) -> tuple[ColumnMap, list[RowCheck]]:
    """Map the columns, look the courses up (with Canvas; what is known of them is kept in the
    journal `courses`, else in `memory`'s), check every row."""
    columns = map_columns(sheet.headers, sheet.path, read.columns, memory, lookup=canvas is not None)
    if canvas is None:
        return columns, check_rows(columns, sheet.rows, date_order=read.date_order, now=now)
    from .courses import look_up_courses, with_course_problems  # here: no HTTP client without Canvas

    lookup = look_up_courses(columns, sheet.rows, canvas, courses or memory.writer())
    checks = check_rows(lookup.columns, lookup.rows, date_order=read.date_order, now=now)
    return lookup.columns, [with_course_problems(check, lookup.columns, lookup.problems[check.row.row_number])
                            if check.row.row_number in lookup.problems else check for check in checks]


def map_columns(headers: tuple[str, ...], path: str, given: Mapping[str, str], memory: Memory | None = None,
                lookup: bool = False) -> ColumnMap:
    """The sheet's columns. A --map (`given`) that fits the sheet is remembered in the journal
    for sheets with the same headers (result columns aside). Without one, the map remembered for
    these headers is used, so a result sheet, whose headers are its input's, feeds back without
    repeating --map; a remembered map that no longer fits is not used."""
    memory = memory or Memory()
    key = headers_key(headers)
    if given:
        columns = ColumnMap.build(headers, path, given, lookup)
        journal = memory.writer()
        if journal is not None:
            journal.remember_header_map(key, dict(given))
        return columns
    remembered = memory.recall(key)
    if remembered:
        try:
            return ColumnMap.build(headers, path, remembered, lookup)
        except InputError:
            pass
    return ColumnMap.build(headers, path, lookup=lookup)


def validate_file(path: Path, output: Path | None = None, read: ReadOptions | None = None, *,
                  journal: Path | Callable[[], Path] | None = None, now: datetime | None = None,
                  canvas: Canvas | None = None) -> Report:
    """Check every row and write the annotated sheet; nothing is sent. `journal` (a path, or a
    function giving it) is where a --map and Canvas's courses are remembered; validate records
    nothing else there. With `canvas`, courses are looked up (courses.py)."""
    read = read or ReadOptions()
    memory = Memory(journal)
    try:
        columns, checks = check_sheet_rows(read_sheet(path, read.sheet), read, now, memory, canvas)
    finally:
        memory.close()
    if output is None:
        output = default_output(path)
        _refuse_to_overwrite_results(output, path)
    check_output(output)
    plan = build_plan(checks, None)
    plan_for_validation(plan)
    notices = []
    over = plan.over_quota()
    if over:
        notices.append(quota_message(over, "run with --allow-over-quota"))
    return write_report(columns, plan, output, done=frozenset({Status.VALID}), problems=plan_problems(plan),
                  notices=notices)


def import_file(path: Path, output: Path | None, connection: Connection, options: ImportOptions,
                read: ReadOptions | None = None, progress: Progress | None = None,
                announce: Callable[[str], None] = lambda text: None, stop: StopRequest | None = None,
                now: datetime | None = None, canvas: Canvas | None = None, zoom: Zoom | None = None) -> Report:
    """Check (looking courses up in `canvas`), plan, send the creates, link the meetings, write the
    result sheet. With `zoom` (its REST API), lost answers are looked up and changed rows applied."""
    from .sending import send_plan  # here: validate loads no HTTP client, asyncio or retry library

    read = read or ReadOptions()
    sheet = read_sheet(path, read.sheet)  # an unreadable file stops here, before the journal is opened
    output = output or default_output(path)
    check_output(output)
    stop = stop or StopRequest()
    with Journal(options.journal_path, scope_of(connection.base_url, connection.key)) as journal:
        journal.lock()
        memory = Memory(options.remember_in) if options.remember_in else Memory(journal=journal)
        try:
            columns, checks = check_sheet_rows(sheet, read, now, memory, canvas, courses=journal)
        finally:
            memory.close()
        recovered = journal.recover()
        if recovered:
            announce(f"{recovered} request(s) were in flight when a previous run stopped: "
                     "they are reported 'unknown', not sent again")
        plan = build_plan(checks, journal, retry_unknown=options.retry_unknown,
                          zoom=zoom is not None and not options.associate_only)
        if options.associate_only:
            plan_links_only(plan)
        over = plan.over_quota()
        if over and not options.allow_over_quota:
            raise InputError(quota_message(over))
        failure: BaseException | None = None
        stop.sending = True
        try:
            send_plan(plan, journal, connection, options, progress or Progress(), stop,
                      zoom if not options.associate_only else None)
        except BaseException as exc:  # whatever stops the run, the rows already sent reach the sheet
            failure = exc
        interrupted = stop.count > 0  # asked to stop before sending ended (not while the sheet is written)
        settle_stragglers(plan)
    report = write_report(columns, plan, output, interrupted=interrupted and failure is None)
    if failure is not None:
        raise failure
    return report


def write_report(columns: ColumnMap, plan: Plan, output: Path, *, done: frozenset[Status] = DONE_STATUSES,
                 problems: Sequence[Problem] = (), notices: Sequence[str] = (), interrupted: bool = False,
                 judged: frozenset[int] | None = None) -> Report:
    """The report of every row, written as the result sheet (`judged`: see Report)."""
    keep = columns.output_positions
    results = [RowResult(step.row_number, tuple(step.check.row.cells[i] for i in keep), final_outcome(step),
                         step.notes) for step in plan.steps]
    topic, row_id = columns.index.get("topic"), columns.index.get("row_id")
    report = Report(output=output, headers=tuple(columns.headers[i] for i in keep), results=results, done=done,
                    mapped=columns.mapped,
                    topic_column=keep.index(topic) if topic is not None else None,
                    row_id_column=keep.index(row_id) if row_id is not None else None,
                    problems=list(problems), notices=list(notices), interrupted=interrupted,
                    creates_per_host={host: len(rows) for host, rows in plan.creates_per_host().items()},
                    judged=judged)
    write_result_sheet(output, report, [n for n, i in enumerate(keep) if i in columns.text_positions])
    return report


def check_output(output: Path) -> None:
    """Before anything is sent: the result sheet must be writable, or ids could only live in the journal."""
    if output.suffix.lower() not in (".xlsx", ".csv"):
        raise InputError(f"{output}: the result sheet must be .xlsx or .csv")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: no such folder for the result sheet")
    if output.is_dir():
        raise InputError(f"{output}: is a folder; the result sheet cannot be written there; pass -o with a file name")
    probe = output.parent / f".{output.name}.probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"{output}: the result sheet cannot be written there ({exc.strerror}); "
                         "pass -o with another path") from None


def _refuse_to_overwrite_results(output: Path, source: Path) -> None:
    """`validate term.xlsx` must not replace term.result.xlsx, which holds a run's meeting ids."""
    if not output.exists() or output.resolve() == source.resolve():
        return
    try:
        _, checks = check_sheet(output)
    except InputError:
        return
    if any(check.prior.meeting_id for check in checks):
        raise InputError(f"{output} holds meeting ids from a run; validate writes elsewhere with -o PATH")


__all__ = [
    "Canvas",
    "Connection",
    "ImportOptions",
    "Memory",
    "Progress",
    "ReadOptions",
    "StopRequest",
    "check_output",
    "check_sheet",
    "check_sheet_rows",
    "default_output",
    "import_file",
    "map_columns",
    "validate_file",
    "write_report",
]
