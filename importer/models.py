"""The types passed between pipeline stages (reader -> schema -> plan -> pool -> report)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING, dataclass, fields
from enum import StrEnum
from typing import Any, TypeVar

_Frozen = TypeVar("_Frozen", bound=type)


def direct_init(cls: _Frozen) -> _Frozen:
    """Give a frozen slots dataclass an __init__ that fills its slots directly.

    dataclass's frozen __init__ stores each field with object.__setattr__ (to get past the
    __setattr__ that refuses assignment): ~0.25 µs a field. Storing through the slots'
    own descriptors takes a third of that, and the pipeline makes several of these objects
    per row, for 100,000s of rows. The parameters and defaults are the dataclass's; the
    instances stay frozen, equal, hashable and printed as before.
    """
    params: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {}
    for item in fields(cls):
        if item.default_factory is not MISSING or not item.init or item.kw_only:
            raise TypeError(f"{cls.__name__}.{item.name}: direct_init takes plain fields only")
        namespace[f"_set_{item.name}"] = getattr(cls, item.name).__set__  # the slot's descriptor
        if item.default is MISSING:
            params.append(item.name)
        else:
            namespace[f"_default_{item.name}"] = item.default
            params.append(f"{item.name}=_default_{item.name}")
        body.append(f"    _set_{item.name}(self, {item.name})")
    if hasattr(cls, "__post_init__") or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: direct_init takes a slots dataclass without __post_init__")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), namespace)  # as dataclass does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init
    return cls


#: A cell as the reader hands it on: text, a number, a bool, a datetime/date/time, or None.
Cell = Any


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    CREATED = "created"
    ASSOCIATED = "associated"
    NOT_ASSOCIATED = "not_associated"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"


#: Statuses that count as success for the exit code.
DONE_STATUSES = frozenset({Status.CREATED, Status.ASSOCIATED})

#: Statuses that ask the coordinator to do something (`valid` and the done ones do not).
NEEDS_ACTION = frozenset(
    {Status.INVALID, Status.NOT_ASSOCIATED, Status.FAILED, Status.UNKNOWN, Status.NOT_SENT}
)

#: The next step for each status (DESIGN.md's status table): the Summary sheet and the terminal say it.
NEXT_STEPS: dict[Status, str] = {
    Status.VALID: "nothing to fix: `importer run` on this sheet sends it",
    Status.INVALID: "fix the cell named in error_message, then run again",
    Status.CREATED: "nothing: the meeting was created and associated",
    Status.ASSOCIATED: "nothing: an existing meeting was associated with the course",
    Status.NOT_ASSOCIATED: (
        "fix contextId/domain, run again: the meeting is associated, not re-created"
    ),
    Status.FAILED: "fix the problem in error_message, run again (no meeting exists)",
    Status.UNKNOWN: "check in Zoom whether the meeting exists; --retry-unknown sends it again",
    Status.NOT_SENT: "run the same sheet again (after 00:00 UTC for a daily limit)",
}

#: The result columns appended to every output sheet (and recognised on input).
RESULT_COLUMNS = ("import_status", "meeting_id", "error_code", "error_message")


@direct_init  # one or more per row
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


@direct_init  # one or more per row
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


@direct_init  # one or more per row
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


@direct_init  # one or more per row
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


@direct_init  # one or more per row
@dataclass(frozen=True, slots=True)
class PriorResult:
    """The result columns a fed-back result sheet carried for a row."""

    status: str | None = None
    meeting_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@direct_init  # one or more per row
@dataclass(frozen=True, slots=True)
class Outcome:
    """What finally happened to one row."""

    status: Status
    meeting_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(slots=True)
class RowResult:
    """One output row: the input cells (minus any old result columns) and its outcome."""

    row_number: int
    cells: tuple[Cell, ...]
    outcome: Outcome
    notes: Sequence[str] = ()  # the plan's notes for the row, shared as they are
