"""The pipeline as library calls: `validate_file` and `import_file`. The CLI is a thin adapter."""

from __future__ import annotations

import gc
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .columns import ColumnMap
from .errors import InputError
from .journal import Journal, scope_of
from .models import DONE_STATUSES, Cell, Outcome, Problem, RowResult, Status
from .outcomes import UNKNOWN_STEP, with_step
from .plan import Action, Plan, Step, build_plan
from .reader import read_sheet
from .report import gc_paused, write_report
from .schema import DateOrder, RowCheck, check_rows

if TYPE_CHECKING:  # sending loads asyncio, httpx, tenacity, aiolimiter: `validate` needs none of them
    import asyncio

    from .pool import PoolOptions
    from .reassociate import Link


@dataclass(frozen=True)
class ReadOptions:
    sheet: str | None = None
    date_order: DateOrder | None = None


@dataclass(frozen=True)
class Connection:
    base_url: str
    key: str
    secret: str = field(repr=False)
    calendar_user: str | None = None
    timeout: float = 30.0
    #: Epoch seconds for signing each request (tests substitute a fake clock).
    clock: Callable[[], float] = time.time


def _pool_options() -> PoolOptions:
    from .pool import PoolOptions

    return PoolOptions()


@dataclass(frozen=True)
class ImportOptions:
    journal_path: Path
    pool: PoolOptions = field(default_factory=_pool_options)
    batch_size: int = 400
    retry_unknown: bool = False
    allow_over_quota: bool = False
    associate_only: bool = False  # `importer reassociate`: never create


@dataclass
class Summary:
    output: Path
    results: list[RowResult]
    headers: list[str] = field(default_factory=list)
    interrupted: bool = False
    recovered: int = 0  # journal rows found in flight from a previous run
    problems: list[Problem] = field(default_factory=list)  # every row problem and warning, in row order
    notices: list[str] = field(default_factory=list)  # sheet-wide warnings (e.g. a host over its daily quota)
    # The plan the rows were written from: each row's check, action, identity and outcome.
    # A kept summary keeps it in memory; the CLI keeps it so that the process ends
    # (`cli._exit_now`) without freeing the checks one by one (~0.15 s per 100,000 rows).
    plan: Plan | None = field(default=None, repr=False, compare=False)

    @property
    def counts(self) -> Counter[Status]:
        return Counter(r.outcome.status for r in self.results)

    def all_done(self, statuses: frozenset[Status] = DONE_STATUSES) -> bool:
        return all(r.outcome.status in statuses for r in self.results)


class Progress:
    """What the importer tells whoever watches. The CLI passes a live display."""

    def start(self, phase: str, total: int) -> None: ...
    def advance(self, status: Status) -> None: ...
    def finish(self) -> None: ...


def default_output(path: Path) -> Path:
    return path.with_name(f"{path.stem}.result.xlsx")


def check_sheet(path: Path, read: ReadOptions, now: datetime | None = None
                ) -> tuple[ColumnMap, list[RowCheck]]:
    with gc_paused():  # reading and checking make no cycles; collections would walk every row held
        sheet = read_sheet(path, read.sheet)
        columns = ColumnMap.build(sheet.headers, str(path))
        now = now or datetime.now(timezone.utc)
        checks = list(check_rows(columns, sheet.rows, date_order=read.date_order, now=now))
    return columns, checks


@contextmanager
def _spared_from_collections() -> Iterator[None]:
    """Collection paused inside; what the block made (rows, checks, a plan) is then frozen.

    They make no reference cycles, yet each collection walks every object alive: the
    collections that making them triggers cost ~0.8 s of a 100,000-row validate, and a
    run's sending phase would keep walking them. The freeze comes before collection
    resumes: the first collection after a long pause would walk everything made during
    it (~0.25 s per 100,000 rows). They are freed as usual once nothing refers to them;
    `_collected_again` hands them back to the collector when the command ends.
    """
    with gc_paused():
        yield
        gc.freeze()


@contextmanager
def _collected_again() -> Iterator[None]:
    try:
        yield
    finally:
        gc.unfreeze()


_VALID = Outcome(Status.VALID)


@_collected_again()
def validate_file(path: Path, output: Path | None, read: ReadOptions = ReadOptions()) -> Summary:
    with _spared_from_collections():  # handed back by @_collected_again when this returns
        columns, checks = check_sheet(path, read)
    if output is None:
        output = default_output(path)
        _refuse_to_overwrite_results(output, path)
    _check_output(output)
    with _spared_from_collections():
        plan = build_plan(checks, None)
    for step in plan.steps:
        outcome = step.outcome
        if outcome is None and step.meeting_id is None and step.check.prior.meeting_id is None:
            step.outcome = _VALID  # the usual row: one shared (immutable) outcome
        elif outcome is None or outcome.status is not Status.INVALID:
            # Rows already done or linked are fine as they are: valid, and their meeting id kept.
            done = outcome is not None and outcome.status is not Status.UNKNOWN
            step.outcome = Outcome(Status.VALID, step.meeting_id or step.check.prior.meeting_id, None,
                                   "done by an earlier run; nothing will be sent" if done else None)
    summary = _write(columns, plan, output)
    summary.problems = plan_problems(plan)
    over = plan.over_quota()
    if over:
        summary.notices.append(_quota_message(over).replace(
            "pass --allow-over-quota", "run with --allow-over-quota"))
    return summary


def plan_problems(plan: Plan) -> list[Problem]:
    """The cell problems and warnings of every row, plus duplicate rows found by the plan."""
    problems: list[Problem] = []
    for step in plan.steps:
        problems.extend(step.check.problems)
        if step.outcome is not None and step.outcome.error_code == "duplicate-row":
            problems.append(Problem(step.check.row.row_number, "", None, "duplicate-row",
                                    step.outcome.error_message or "duplicate row"))
    return problems


@_collected_again()
def import_file(path: Path, output: Path | None, connection: Connection, options: ImportOptions,
                read: ReadOptions = ReadOptions(), progress: Progress | None = None,
                announce: Callable[[str], None] = lambda text: None) -> Summary:
    """Check, plan, send, re-associate, write the result sheet. Sync entry point for the CLI."""
    import asyncio  # here: `validate` never starts an event loop

    with _spared_from_collections():  # handed back by @_collected_again when this returns
        columns, checks = check_sheet(path, read)
    output = output or default_output(path)
    _check_output(output)
    with Journal(options.journal_path, scope_of(connection.base_url, connection.key)) as journal:
        journal.lock()
        recovered = journal.recover()
        if recovered:
            announce(f"{recovered} request(s) were in flight when a previous run stopped: "
                     "they are reported 'unknown', not sent again")
        with _spared_from_collections():
            plan = build_plan(checks, journal, retry_unknown=options.retry_unknown)
        if options.associate_only:
            _no_creates(plan)
        over = plan.over_quota()
        if over and not options.allow_over_quota:
            raise InputError(_quota_message(over))
        failure: BaseException | None = None
        interrupted = False
        try:
            interrupted = asyncio.run(_send(plan, journal, connection, options, progress or Progress()))
        except BaseException as exc:  # whatever stops the run, the rows already sent reach the sheet
            failure = exc
        _settle_stragglers(plan)
    with _no_interrupts():
        summary = _write(columns, plan, output)
    if failure is not None:
        raise failure
    summary.interrupted = interrupted
    summary.recovered = recovered
    return summary


@contextmanager
def _no_interrupts() -> Iterator[None]:
    """Ctrl-C waits while the result sheet is written: it is the record of what was sent."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to defer
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _settle_stragglers(plan: Plan) -> None:
    """Rows a stopped run left without an outcome: a create in doubt is unknown, a link not made
    keeps its meeting id as not_associated, and nothing else was sent."""
    for step in plan.steps:
        if step.outcome is not None:
            continue
        if step.action is Action.ASSOCIATE and step.meeting_id:
            step.outcome = Outcome(Status.NOT_ASSOCIATED, step.meeting_id, None,
                                   "the meeting exists but was not linked to this course in this run; "
                                   "run the sheet again to link it")
        elif step.action is Action.CREATE:
            step.outcome = Outcome(Status.UNKNOWN, None, "stopped", with_step(
                "the run stopped on an error while this row may have been sent", UNKNOWN_STEP))
        else:
            step.outcome = Outcome(Status.NOT_SENT, None, None, "the run stopped before this row was sent")


def _check_output(output: Path) -> None:
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
        _, checks = check_sheet(output, ReadOptions())
    except InputError:
        return
    if any(check.prior.meeting_id for check in checks):
        raise InputError(f"{output} holds meeting ids from a run; validate writes elsewhere with -o PATH")


def _quota_message(over: dict[str, list[int]]) -> str:
    parts = []
    for host, rows in over.items():
        shown = ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
        parts.append(f"{host} needs {len(rows)} creates (rows {shown})")
    return ("Zoom allows 100 meeting creates per host per day: " + "; ".join(parts)
            + ". Split the sheet across days, or pass --allow-over-quota to send anyway "
              "(the rows past the limit will end not_sent)")


def _no_creates(plan: Plan) -> None:
    for step in plan.steps:
        if step.action in (Action.CREATE, Action.FOLLOW):
            step.action = Action.SETTLED
            step.outcome = _prior_outcome(step)


def _prior_outcome(step: Step) -> Outcome:
    prior = step.check.prior
    status = Status(prior.status) if prior.status in set(Status) else Status.NOT_SENT
    if status is Status.NOT_SENT:
        return Outcome(Status.NOT_SENT, None, None,
                       "no meeting_id: `importer reassociate` only links existing meetings; use `importer run`")
    return Outcome(status, prior.meeting_id, prior.error_code, prior.error_message)


async def _send(plan: Plan, journal: Journal, connection: Connection, options: ImportOptions,
                progress: Progress) -> bool:
    """The create phase, then the association phase. Returns True if interrupted (Ctrl-C)."""
    import asyncio

    from .client import LtiClient
    from .pool import CreateJob, CreatePool
    from .reassociate import Reassociator

    creates = plan.of(Action.CREATE)
    client = LtiClient(connection.base_url, connection.key, connection.secret,
                       calendar_user=connection.calendar_user, timeout=connection.timeout,
                       max_connections=max(1, options.pool.concurrency), clock=connection.clock)
    pool = CreatePool(client, journal, options.pool,
                      on_outcome=lambda job, outcome: progress.advance(outcome.status))
    interrupts = _Interrupts(pool.stop, pool.abandon)
    try:
        interrupts.install()
        if creates:
            progress.start("creating meetings", len(creates))
            try:
                # A second Ctrl-C abandons the requests in flight through pool.abandon(): pool.run
                # still returns every outcome already known (created rows keep their ids).
                outcomes = await pool.run([CreateJob(step.index, step.row_key or "", step.request,
                                                     step.content_key or "") for step in creates])
            finally:
                progress.finish()  # a live bar stops (and gives the terminal back) whatever happened
            if pool.failure is not None:
                for step in creates:
                    step.outcome = outcomes.get(step.index)
                raise pool.failure
            for step in creates:
                step.outcome = outcomes.get(step.index) or Outcome(
                    Status.UNKNOWN, None, "abandoned",
                    "the run was interrupted while this request may have been in flight; check in Zoom")
        _settle_followers(plan)
        links = _links(plan)
        if links and not pool.stop.is_set():
            progress.start("linking meetings to courses", len(links))
            reassociator = Reassociator(client, journal, options.batch_size, options.pool.max_attempts,
                                        on_outcome=lambda link, outcome: progress.advance(outcome.status),
                                        stop=pool.stop)
            linking = asyncio.ensure_future(reassociator.run(links))
            interrupts.abandon = linking.cancel  # a second Ctrl-C stops waiting for bulkImport
            try:
                with suppress(asyncio.CancelledError):
                    await linking
            finally:
                progress.finish()
            for step in plan.steps:
                if step.index in reassociator.outcomes:
                    step.outcome = reassociator.outcomes[step.index]
    finally:
        interrupts.remove()
        await client.aclose()
    return pool.stop.is_set()


class _Interrupts:
    """First Ctrl-C: stop taking rows, let requests in flight finish. Second: abandon them."""

    def __init__(self, stop: asyncio.Event, abandon: Callable[[], object]) -> None:
        self.stop = stop
        self.abandon = abandon
        self._installed = False

    def install(self) -> None:
        import asyncio

        with suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._on_interrupt)
            self._installed = True

    def remove(self) -> None:
        import asyncio

        if self._installed:
            with suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)

    def _on_interrupt(self) -> None:
        if not self.stop.is_set():
            self.stop.set()
        else:
            self.abandon()


def _settle_followers(plan: Plan) -> None:
    """Cross-listed rows share their leader's meeting: link it, or share its fate."""
    for step in plan.of(Action.FOLLOW):
        leader = plan.steps[step.leader or 0].outcome
        assert leader is not None
        if leader.meeting_id is not None and leader.status in (Status.CREATED, Status.NOT_ASSOCIATED):
            step.action = Action.ASSOCIATE
            step.meeting_id = leader.meeting_id
        elif leader.status is Status.CREATED:  # created, but the server gave no id to link with
            row = plan.steps[step.leader or 0].check.row.row_number
            step.outcome = Outcome(Status.UNKNOWN, None, None, with_step(
                f"shares its meeting with row {row}, created without a meeting id: it could not be linked here",
                f"find the meeting in Zoom, put its id in row {row}'s meeting_id, then run again"))
        else:
            step.outcome = Outcome(leader.status, None, leader.error_code,
                                   f"shares its meeting with row {plan.steps[step.leader or 0].check.row.row_number}, "
                                   f"which ended {leader.status}: {leader.error_message or ''}".rstrip(": "))


def _links(plan: Plan) -> list[Link]:
    from .reassociate import Link

    links = []
    for step in plan.steps:
        if step.action is Action.ASSOCIATE and step.meeting_id:
            links.append(Link(step.index, step.meeting_id, step.request.course))
        elif (step.action is Action.CREATE and step.outcome is not None
              and step.outcome.status is Status.NOT_ASSOCIATED and step.outcome.meeting_id):
            links.append(Link(step.index, step.outcome.meeting_id, step.request.course))
    return links


def _kept_id(step: Step) -> Outcome:
    """The step's outcome, never without a meeting id the plan or the sheet knew of."""
    assert step.outcome is not None, f"row {step.check.row.row_number} has no outcome"
    known = step.outcome.meeting_id or step.meeting_id or step.check.prior.meeting_id
    if known == step.outcome.meeting_id:
        return step.outcome
    return replace(step.outcome, meeting_id=known)


def _write(columns: ColumnMap, plan: Plan, output: Path) -> Summary:
    keep = columns.output_positions
    headers = [columns.headers[i] for i in keep]
    text_columns = [n for n, i in enumerate(keep) if i in columns.text_positions]
    # Without old result columns a row's own cells are its output cells: no copy of each row.
    every_column = keep == tuple(range(len(keep)))
    with _spared_from_collections():  # 100,000s of new objects and no cycles
        results = [RowResult(step.check.row.row_number, _output_cells(step.check.row.cells, keep, every_column),
                             _kept_id(step), step.notes) for step in plan.steps]
    write_report(output, headers, results, text_columns=text_columns)
    return Summary(output=output, results=results, headers=headers, plan=plan)


def _output_cells(cells: tuple[Cell, ...], keep: tuple[int, ...], every_column: bool) -> tuple[Cell, ...]:
    if every_column and len(cells) == len(keep):
        return cells
    return tuple(cells[i] for i in keep)


def exit_code(summary: Summary, statuses: frozenset[Status] = DONE_STATUSES) -> int:
    if summary.interrupted:
        return 130
    return 0 if summary.all_done(statuses) else 1


__all__: Sequence[str] = ("Connection", "ImportOptions", "ReadOptions", "Summary", "Progress",
                          "validate_file", "import_file", "exit_code", "default_output")
