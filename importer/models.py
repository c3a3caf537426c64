"""The types passed between the pipeline's stages: reader -> schema -> lifecycle -> report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .statuses import STATUSES, Status, with_step

#: A cell as the reader hands it on: text, a number, a bool, a datetime/date/time, or None.
Cell = Any

#: The result columns appended to every output sheet (and recognised on input). Older result
#: sheets have only the first four, and their error_message holds "message -> next step".
RESULT_COLUMNS = ("import_status", "meeting_id", "error_code", "error_message", "next_step", "warnings")


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One data row of the input sheet.

    `row_number` is the spreadsheet row (header = 1). `cells` is aligned with
    `Sheet.headers`.
    """

    row_number: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Sheet:
    """What the reader produced: the headers as the coordinator wrote them, and the rows."""

    path: str
    headers: tuple[str, ...]
    rows: list[SourceRow]


@dataclass(frozen=True, slots=True)
class Problem:
    """A reason a row cannot be sent (or a warning that it may not be what was meant)."""

    row_number: int
    column: str  # the header as written in the sheet ("" for the whole row)
    value: Cell
    code: str  # short and stable: missing-value, type-error, duplicate-row, ...
    message: str  # says how to fix it
    warning: bool = False

    def describe(self) -> str:
        where = f"column '{self.column}': " if self.column else ""
        return f"{where}{self.message}"


@dataclass(frozen=True, slots=True)
class Course:
    context_id: str
    domain: str
    course_id: str | None

    def as_item(self, meeting_id: str) -> dict[str, str]:
        """A bulkImport item for this course."""
        item = {"meetingId": meeting_id, "contextId": self.context_id, "domain": self.domain}
        if self.course_id:
            item["courseId"] = self.course_id
        return item


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """A valid row: everything needed to build the createAndAssociate JSON body."""

    row_number: int
    user_id: str
    course: Course
    meeting_info: dict[str, Any]
    row_id: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "userId": self.user_id,
            "contextId": self.course.context_id,
            "domain": self.course.domain,
        }
        if self.course.course_id:
            body["courseId"] = self.course.course_id
        body["meetingInfo"] = self.meeting_info
        return body


@dataclass(frozen=True, slots=True)
class PriorResult:
    """The result columns a fed-back result sheet carried for a row."""

    status: str | None = None
    meeting_id: str | None = None
    error_code: str | None = None
    message: str | None = None  # error_message
    next_step: str | None = None  # next_step (an older sheet's is split off its error_message)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What finally happened to one row: its status, the meeting it has, and what to say.

    `message` says what happened and `next_step` what the coordinator does now, for this
    row in particular (the status's own next step is in `statuses.STATUSES`).
    """

    status: Status
    meeting_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    next_step: str | None = None

    @property
    def stored_text(self) -> str | None:
        """The message and its next step as one text, as the journal keeps them ("message -> step")."""
        return with_step(self.message, self.next_step)


AnswerKind = Literal["ok", "refused", "retry", "unknown"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What an LTI Pro call came back with, as `client.py` classifies it: `kind` says what
    may exist on the server (see client.py)."""

    kind: AnswerKind
    meeting_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None  # seconds to wait, from Retry-After
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class RowResult:
    """One output row: the input cells (minus any old result columns) and its outcome."""

    row_number: int
    cells: tuple[Cell, ...]
    outcome: Outcome
    notes: Sequence[str] = ()  # the plan's notes for the row: warnings, cross-listing

    @property
    def error_message(self) -> str | None:
        """The result sheet's error_message: what happened, without the next step."""
        return self.outcome.message or None

    @property
    def next_step(self) -> str | None:
        """The result sheet's next_step: the row's own, else its status's when it needs action."""
        if self.outcome.next_step:
            return self.outcome.next_step
        info = STATUSES[Status(self.outcome.status)]
        return info.next_step if info.needs_action else None

    @property
    def warnings(self) -> str | None:
        """The result sheet's warnings: the row's notes, joined with '; '."""
        return "; ".join(self.notes) or None


@dataclass(frozen=True, slots=True)
class CanvasCourse:
    """What the importer needs of a Canvas course."""

    id: str  # numeric, as text
    name: str
    sis_course_id: str | None
    lti_context_id: str | None
    term_id: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CanvasCourse:
        def text(key: str) -> str | None:
            value = body.get(key)
            return None if value is None or value == "" else str(value)

        return cls(id=str(body["id"]), name=str(body.get("name") or body.get("course_code") or body["id"]),
                   sis_course_id=text("sis_course_id"), lti_context_id=text("lti_context_id"),
                   term_id=text("enrollment_term_id"))


def course_ref(course_id: str | None = None, sis_course_id: str | None = None, context_id: str | None = None) -> str:
    """The `:id` of GET /api/v1/courses/:id for a numeric id, a SIS id or an LTI context id."""
    if course_id:
        return course_id
    if sis_course_id:
        return f"sis_course_id:{sis_course_id}"
    if context_id:
        return f"lti_context_id:{context_id}"
    raise ValueError("a course reference needs an id")
