"""What the coordinator sees: a live progress display on a terminal, plain lines otherwise,
and the end-of-run summary (a table, or one JSON object for scripts)."""

from __future__ import annotations

import json
import time
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from .columns import canonical_name
from .models import NEEDS_ACTION, NEXT_STEPS, Status
from .run import Progress as ProgressSink
from .run import Summary

ACTION_CAP = 20
STYLE = {Status.VALID: "green", Status.CREATED: "green", Status.ASSOCIATED: "green",
         Status.INVALID: "red", Status.FAILED: "red", Status.NOT_ASSOCIATED: "yellow",
         Status.UNKNOWN: "yellow", Status.NOT_SENT: "yellow"}


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
        self._progress.update(self._task, advance=1, **self._texts(now))

    def finish(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, **self._texts(time.monotonic()))
        self._progress.stop()
        self._task = None

    def _texts(self, now: float) -> dict[str, str]:
        done = sum(self._counts.values())
        return {"rate": f"{done / max(now - self._started, 1e-6):.1f}/s",
                "counts": " ".join(f"{s}:{n}" for s, n in self._counts.items())}


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


def summary_dict(summary: Summary, exit_code: int) -> dict[str, object]:
    counts = summary.counts
    return {
        "output": str(summary.output),
        "rows": len(summary.results),
        "counts": {str(s): counts[s] for s in Status if counts[s]},
        "needs_action": [
            {"row": r.row_number, "status": str(r.outcome.status), "meeting_id": r.outcome.meeting_id,
             "error_code": r.outcome.error_code, "error_message": r.outcome.error_message}
            for r in summary.results if r.outcome.status in NEEDS_ACTION],
        "interrupted": summary.interrupted,
        "exit_code": exit_code,
    }




PROBLEM_CAP = 30


def print_problems(console: Console, summary: Summary) -> None:
    """The first problems as a table (row, column, value, code, message), with the total."""
    for notice in summary.notices:
        console.print(f"[yellow]warning:[/] {notice}", highlight=False)
    if not summary.problems:
        return
    table = Table(show_edge=False)
    for column in ("row", "column", "value", "code", "message"):
        table.add_column(column, overflow="fold")
    for problem in summary.problems[:PROBLEM_CAP]:
        style = "yellow" if problem.warning else "red"
        value = "" if problem.value is None else str(problem.value)[:30]
        table.add_row(str(problem.row_number), problem.column, value,
                      f"[{style}]{'warning: ' if problem.warning else ''}{problem.code}[/]", problem.message)
    errors = sum(1 for p in summary.problems if not p.warning)
    console.print(table)
    shown = min(PROBLEM_CAP, len(summary.problems))
    console.print(f"{errors} problem(s) and {len(summary.problems) - errors} warning(s)"
                  + (f"; the first {shown} are shown, all are in the result sheet" if shown < len(summary.problems) else ""))


def print_summary(console: Console, summary: Summary, exit_code: int, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary_dict(summary, exit_code), ensure_ascii=False))
        return
    table = Table(title=f"{len(summary.results)} row(s)", show_edge=False)
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("next step")
    counts = summary.counts
    for status in Status:
        if counts[status]:
            table.add_row(f"[{STYLE[status]}]{status}[/]", str(counts[status]), NEXT_STEPS[status])
    console.print(table)
    topic_column = next((i for i, h in enumerate(summary.headers) if canonical_name(h) == "topic"), None)
    needing = [r for r in summary.results if r.outcome.status in NEEDS_ACTION]
    if needing:
        console.print(f"\n{len(needing)} row(s) need action:")
        for result in needing[:ACTION_CAP]:
            topic = result.cells[topic_column] if topic_column is not None else ""
            message = (result.outcome.error_message or "").split(" -> ")[0]
            console.print(f"  row {result.row_number}  {str(topic)[:40]!s:40}  {result.outcome.status}: {message[:120]}",
                          highlight=False, markup=False)
        if len(needing) > ACTION_CAP:
            console.print(f"  ... and {len(needing) - ACTION_CAP} more (see the result sheet)")
    if summary.interrupted:
        console.print("Interrupted: rows not yet sent are marked not_sent; run the same sheet again to finish.")
    console.print(f"\nResult sheet: {summary.output}", highlight=False, markup=False)
