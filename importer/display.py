"""What the coordinator sees: a live progress display on a terminal, plain lines otherwise,
and the end-of-run summary (a table, or one JSON object for scripts)."""

from __future__ import annotations

import json
import time
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from .options import Progress as ProgressSink
from .report import Report
from .statuses import STATUSES, Status

ACTION_CAP = 20
#: The terminal's colour for each status colour of the registry.
STYLE = {"green": "green", "amber": "yellow", "red": "red"}


class LiveProgress(ProgressSink):
    """A rich progress bar with per-status counts (terminal only).

    The bar is redrawn `REFRESH_PER_S` times a second (a redraw costs ~1 ms of the event
    loop's thread), and the rate and counts texts are rebuilt as often, not for every row.
    """

    REFRESH_PER_S = 4

    def __init__(self, console: Console) -> None:
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                  TextColumn("{task.fields[counts]}"), console=console, transient=False,
                                  refresh_per_second=self.REFRESH_PER_S)
        self._task: TaskID | None = None
        self._counts: Counter[Status] = Counter()
        self._started = 0.0
        self._next_texts = 0.0

    def start(self, phase: str, total: int) -> None:
        self._counts = Counter()
        self._started = self._next_texts = time.monotonic()
        self._progress.start()
        self._task = self._progress.add_task(phase, total=total, rate="", counts="")

    def advance(self, status: Status) -> None:
        self._counts[status] += 1
        if self._task is None:
            return
        now = time.monotonic()
        if now < self._next_texts:
            self._progress.advance(self._task)
            return
        self._next_texts = now + 1 / self.REFRESH_PER_S
        rate, counts = self._texts(now)
        self._progress.update(self._task, advance=1, rate=rate, counts=counts)

    def finish(self) -> None:
        if self._task is not None:
            rate, counts = self._texts(time.monotonic())
            self._progress.update(self._task, rate=rate, counts=counts)
        self._progress.stop()
        self._task = None

    def _texts(self, now: float) -> tuple[str, str]:
        """The rate and the counts per status, as the bar shows them."""
        done = sum(self._counts.values())
        return (f"{done / max(now - self._started, 1e-6):.1f}/s",
                " ".join(f"{s}:{n}" for s, n in self._counts.items()))


class LogProgress(ProgressSink):
    """One plain line per interval: for CI logs and files, where a live bar would be noise."""

    def __init__(self, console: Console, interval: float = 5.0) -> None:
        self._console = console
        self._interval = interval
        self._phase = ""
        self._total = 0
        self._counts: Counter[Status] = Counter()
        self._last = 0.0

    def start(self, phase: str, total: int) -> None:
        self._phase, self._total, self._counts = phase, total, Counter()
        self._last = time.monotonic()
        self._console.print(f"{phase}: {total} row(s) to send")

    def advance(self, status: Status) -> None:
        self._counts[status] += 1
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._line()

    def finish(self) -> None:
        self._line()

    def _line(self) -> None:
        done = sum(self._counts.values())
        counts = ", ".join(f"{s} {n}" for s, n in self._counts.items())
        self._console.print(f"{self._phase}: {done}/{self._total} ({counts})", highlight=False)


def make_progress(console: Console, quiet: bool) -> ProgressSink:
    if quiet:
        return ProgressSink()
    return LiveProgress(console) if console.is_terminal else LogProgress(console)


PROBLEM_CAP = 30


def print_problems(console: Console, report: Report) -> None:
    """The first problems as a table (row, column, value, code, message), with the total."""
    for notice in report.notices:
        console.print(f"[yellow]warning:[/] {notice}", highlight=False)
    if not report.problems:
        return
    table = Table(show_edge=False)
    for column in ("row", "column", "value", "code", "message"):
        table.add_column(column, overflow="fold")
    for problem in report.problems[:PROBLEM_CAP]:
        style = "yellow" if problem.warning else "red"
        value = "" if problem.value is None else str(problem.value)[:30]
        table.add_row(str(problem.row_number), problem.column, value,
                      f"[{style}]{'warning: ' if problem.warning else ''}{problem.code}[/]", problem.message)
    errors = sum(1 for p in report.problems if not p.warning)
    console.print(table)
    shown = min(PROBLEM_CAP, len(report.problems))
    console.print(f"{errors} problem(s) and {len(report.problems) - errors} warning(s)"
                  + (f"; the first {shown} are shown, all are in the result sheet"
                     if shown < len(report.problems) else ""))


def print_summary(console: Console, report: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return
    if report.mapped:
        console.print("Columns read through --map: " + ", ".join(
            f"'{header}' = {column}" for header, column in report.mapped.items()), highlight=False, markup=False)
    table = Table(title=f"{len(report.results)} row(s)", show_edge=False)
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("next step")
    for status, count in report.ordered_counts():
        table.add_row(f"[{STYLE[STATUSES[status].colour]}]{status}[/]", str(count), STATUSES[status].next_step)
    console.print(table)
    if report.done_with_warnings:
        console.print(f"{report.done_with_warnings} of the {report.done_rows} done row(s) carry warnings: "
                      "see the warnings column")
    needing = report.needs_action
    if needing:
        console.print(f"\n{len(needing)} row(s) need action:")
        for result in needing[:ACTION_CAP]:
            message = result.outcome.message or result.outcome.next_step or ""
            console.print(f"  row {result.row_number}  {str(report.topic(result))[:40]!s:40}  "
                          f"{result.outcome.status}: {message[:120]}", highlight=False, markup=False)
        if len(needing) > ACTION_CAP:
            console.print(f"  ... and {len(needing) - ACTION_CAP} more (see the result sheet)")
    if report.interrupted:
        console.print("Interrupted: rows not yet sent are marked not_sent; run the same sheet again to finish.")
    console.print(f"\nResult sheet: {report.output}", highlight=False, markup=False)
