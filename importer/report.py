"""One report of what a command did: the result sheet's Summary, the terminal and `--json` read it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .models import Cell, Problem, RowResult
from .statuses import ACTION_CODES, DONE_STATUSES, NEEDS_ACTION, Status

#: The exit code after Ctrl-C (128 + SIGINT), with the result sheet written.
INTERRUPTED_EXIT = 130


def needs_action(result: RowResult) -> bool:
    """The row asks the coordinator to do something: its status says so, or its code does (a change
    the sheet asks for that was not made)."""
    return result.outcome.status in NEEDS_ACTION or result.outcome.error_code in ACTION_CODES


@dataclass
class Report:
    """Every row's outcome, and what the command has to say about the sheet as a whole.

    `done` is the set of statuses that count as success: `created`/`associated` for a
    run, `valid` for validate.
    """

    output: Path
    headers: tuple[str, ...]  # the result sheet's input columns (old result columns left out)
    results: list[RowResult]
    done: frozenset[Status] = DONE_STATUSES
    topic_column: int | None = None  # where `topic` is among `headers`
    row_id_column: int | None = None  # where `row_id` is among `headers`
    problems: list[Problem] = field(default_factory=list)  # every cell problem and warning, in row order
    notices: list[str] = field(default_factory=list)  # sheet-wide warnings (a host over its daily quota)
    interrupted: bool = False
    mapped: dict[str, str] = field(default_factory=dict)  # headers read through a --map: header -> column
    #: The creates the plan gave each host (its userId in lower case): Zoom allows 100 a day.
    creates_per_host: dict[str, int] = field(default_factory=dict)
    #: The rows whose status decides the exit code (row numbers), when not all do: `undo` leaves rows
    #: without a meeting as they were, and judges only the others.
    judged: frozenset[int] | None = None

    @cached_property
    def counts(self) -> Counter[Status]:
        return Counter(result.outcome.status for result in self.results)

    def ordered_counts(self) -> list[tuple[Status, int]]:
        """(status, rows) for the statuses that occur, in `Status` order."""
        return [(status, self.counts[status]) for status in Status if self.counts[status]]

    @property
    def needs_action(self) -> list[RowResult]:
        """The rows whose status asks the coordinator to do something, in row order."""
        return [result for result in self.results if needs_action(result)
                and (self.judged is None or result.row_number in self.judged)]

    @property
    def done_rows(self) -> int:
        return sum(count for status, count in self.counts.items() if status in self.done)

    @property
    def done_with_warnings(self) -> int:
        """Rows that ended done (or valid) but carry a warning worth a look."""
        return sum(1 for result in self.results if result.notes and result.outcome.status in self.done)

    @property
    def exit_code(self) -> int:
        """0 when every row ended done, 1 when any did not, 130 after Ctrl-C."""
        if self.interrupted:
            return INTERRUPTED_EXIT
        judged = [result for result in self.results if self.judged is None or result.row_number in self.judged]
        ok = all(result.outcome.status in self.done and result.outcome.error_code not in ACTION_CODES
                 for result in judged)
        return 0 if ok else 1

    def topic(self, result: RowResult) -> Cell:
        return result.cells[self.topic_column] if self.topic_column is not None else ""

    def row_id(self, result: RowResult) -> Cell:
        return result.cells[self.row_id_column] if self.row_id_column is not None else None

    def as_json(self) -> dict[str, Any]:
        """The report as `--json` prints it."""
        return {
            "output": str(self.output),
            "rows": len(self.results),
            "counts": {str(status): count for status, count in self.ordered_counts()},
            "done_with_warnings": self.done_with_warnings,
            "mapped": self.mapped,
            "needs_action": [
                {"row": result.row_number, "status": str(result.outcome.status),
                 "meeting_id": result.outcome.meeting_id, "error_code": result.outcome.error_code,
                 "error_message": result.error_message, "next_step": result.next_step,
                 "warnings": result.warnings}
                for result in self.needs_action],
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
        }
