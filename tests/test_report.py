"""The one Report: its counts, its exit code and the JSON `--json` prints."""

from __future__ import annotations

from pathlib import Path

from importer.models import Outcome, RowResult
from importer.report import Report
from importer.statuses import NEEDS_ACTION, STATUSES, UNKNOWN_STEP, Status


def result(row: int, status: Status, **outcome: str | None) -> RowResult:
    return RowResult(row, (f"Topic {row}",), Outcome(status, **outcome))  # type: ignore[arg-type]


REPORT = Report(
    output=Path("term.result.xlsx"), headers=("Topic",), topic_column=0,
    results=[result(2, Status.CREATED, meeting_id="91970000001"),
             result(3, Status.UNKNOWN, error_code="timeout", message="no answer within the timeout",
                    next_step=UNKNOWN_STEP),
             RowResult(4, ("Topic 4",), Outcome(Status.CREATED, "91970000003"), ("check the year",)),
             result(5, Status.INVALID, error_code="type-error", message="column 'Duration': expected a whole number")])


def test_counts_in_status_order() -> None:
    assert REPORT.ordered_counts() == [(Status.INVALID, 1), (Status.CREATED, 2), (Status.UNKNOWN, 1)]


def test_rows_that_need_action_are_those_the_registry_says() -> None:
    assert [r.row_number for r in REPORT.needs_action] == [3, 5]
    assert {Status.INVALID, Status.NOT_ASSOCIATED, Status.FAILED, Status.UNKNOWN, Status.NOT_SENT} == NEEDS_ACTION
    assert all(info.next_step for info in STATUSES.values())


def test_exit_codes() -> None:
    assert REPORT.exit_code == 1
    done = Report(Path("x.xlsx"), ("Topic",), [result(2, Status.CREATED), result(3, Status.ASSOCIATED)])
    assert done.exit_code == 0
    validated = Report(Path("x.xlsx"), ("Topic",), [result(2, Status.VALID)], done=frozenset({Status.VALID}))
    assert validated.exit_code == 0
    interrupted = Report(Path("x.xlsx"), ("Topic",), [result(2, Status.CREATED)], interrupted=True)
    assert interrupted.exit_code == 130


def test_json_is_the_documented_object() -> None:
    assert REPORT.as_json() == {
        "output": "term.result.xlsx",
        "rows": 4,
        "counts": {"invalid": 1, "created": 2, "unknown": 1},
        "done_with_warnings": 1,
        "mapped": {},
        "needs_action": [
            {"row": 3, "status": "unknown", "meeting_id": None, "error_code": "timeout",
             "error_message": "no answer within the timeout", "next_step": UNKNOWN_STEP, "warnings": None},
            {"row": 5, "status": "invalid", "meeting_id": None, "error_code": "type-error",
             "error_message": "column 'Duration': expected a whole number",
             "next_step": STATUSES[Status.INVALID].next_step, "warnings": None},
        ],
        "interrupted": False,
        "exit_code": 1,
    }


def test_topic_is_read_from_its_column() -> None:
    assert REPORT.topic(REPORT.results[1]) == "Topic 3"
    assert Report(Path("x.xlsx"), ("Notes",), [result(2, Status.CREATED)]).topic(REPORT.results[0]) == ""
