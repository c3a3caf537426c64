"""Check each row and turn it into a `CreateRequest`, or into `Problem`s naming the cell.

One checker per sheet (`SheetChecker`) states every rule once. Cells are converted by
their column's kind from the column table (`columns.py`); the rules here are the ones
that look at several cells of a row: start times and timezones, recurrence, the
timetable columns, settings that cancel each other. Problems are data (row, column as
written, value, code, message); nothing here raises for a bad cell.

A sheet repeats its cells (a term has a few hosts, one domain, a few start times), so
the checker remembers what each text or whole-number cell converted to, for its sheet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .cells import DateOrder, InvalidCell, end_of_series, to_identifier, utc_text
from .columns import BY_NAME, RECURRENCE_FIELDS, SETTING_COLUMNS, TIMETABLE_FIELDS, ColumnMap
from .limits import MAX_OCCURRENCES, REPEAT_MAX
from .models import RESULT_COLUMNS, Cell, Course, CreateRequest, PriorResult, Problem, SourceRow
from .statuses import split_step
from .timetable import expand


@dataclass(frozen=True, slots=True)
class RowCheck:
    """The checker's verdict on one row."""

    row: SourceRow
    request: CreateRequest | None
    problems: tuple[Problem, ...]
    prior: PriorResult  # the result columns of a fed-back result sheet

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.warning)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.warning)


#: Conversions remembered per sheet stop growing here (a column of unique ids gains nothing).
MEMO_LIMIT = 50_000


class SheetChecker:
    """Checks the rows of one sheet, remembering the conversions of its repeating cells."""

    def __init__(self, columns: ColumnMap, date_order: DateOrder | None = None,
                 now: datetime | None = None) -> None:
        self.columns = columns
        self.date_order = date_order
        self.now = now or datetime.now(UTC)
        self.has_results = any(name in columns.index for name in RESULT_COLUMNS)
        self.settings = tuple(name for name in SETTING_COLUMNS if name in columns.index)
        self._conversions: dict[tuple[str, Cell], Any] = {}
        self._moments: dict[tuple[datetime, str], tuple[datetime | None, str | None]] = {}

    def check(self, source: SourceRow) -> RowCheck:
        """Check one row. Never raises for cell contents."""
        row = _Row(self, source)
        prior = _prior(row) if self.has_results else PriorResult()
        user_id = row.get("userId", required=True)
        context_id = row.get("contextId", required=True)
        domain = row.get("domain", required=True)
        course_id = row.get("courseId")
        row_id = row.get("row_id")
        _timetable(row)
        info = _meeting_info(row)
        request = None
        if not any(not p.warning for p in row.problems):
            request = CreateRequest(source.row_number, user_id, Course(context_id, domain, course_id), info, row_id)
        return RowCheck(source, request, tuple(row.problems), prior)

    def convert(self, name: str, value: Cell) -> Any:
        """The cell converted by its column's kind; raises InvalidCell.

        Remembered for text and whole-number cells only: a cell of another type may equal
        one that converts otherwise (True == 1, 2.0 == 2), and text never equals a number.
        """
        kind = BY_NAME[name].kind
        assert kind is not None, f"{name} is never converted"
        if type(value) is not str and type(value) is not int:
            return kind.convert(value, name, self.date_order)
        key = (name, value)
        known = self._conversions.get(key)
        if known is None:
            try:
                known = (kind.convert(value, name, self.date_order), None)
            except InvalidCell as exc:
                known = (None, (exc.code, exc.message))
            if len(self._conversions) < MEMO_LIMIT:
                self._conversions[key] = known
        converted, failure = known
        if failure is not None:
            raise InvalidCell(*failure)
        return converted

    def local_moment(self, start: datetime, zone: str) -> tuple[datetime | None, str | None]:
        """The UTC moment of a naive local start, and 'nonexistent-time' / 'ambiguous-time'."""
        key = (start, zone)
        known = self._moments.get(key)
        if known is None:
            known = _local_moment(start, zone)
            if len(self._moments) < MEMO_LIMIT:
                self._moments[key] = known
        return known


def check_rows(columns: ColumnMap, rows: Iterable[SourceRow], *, date_order: DateOrder | None = None,
               now: datetime | None = None) -> list[RowCheck]:
    """Every row of one sheet, checked in order by one checker."""
    checker = SheetChecker(columns, date_order, now)
    return [checker.check(row) for row in rows]


def check_row(columns: ColumnMap, row: SourceRow, *, date_order: DateOrder | None = None,
              now: datetime | None = None) -> RowCheck:
    """One row, checked alone."""
    return SheetChecker(columns, date_order, now).check(row)


class _Row:
    """One row being checked: its cells by column name, the values the timetable columns
    supply for API columns left empty, and the problems found so far."""

    def __init__(self, checker: SheetChecker, source: SourceRow) -> None:
        self.checker = checker
        self.columns = checker.columns
        self.source = source
        #: The filled cells, by column name, as the coordinator wrote them.
        self.filled = {name: source.cells[position] for name, position in checker.columns.index.items()
                       if source.cells[position] is not None}
        self.derived: dict[str, Cell] = {}
        self.problems: list[Problem] = []
        #: The row uses timetable columns: their problems stand in for the API columns they replace.
        self.timetable = False

    def written(self, name: str) -> Cell:
        """The cell as the coordinator wrote it, ignoring derived values."""
        return self.filled.get(name)

    def cell(self, name: str) -> Cell:
        value = self.filled.get(name)
        return self.derived.get(name) if value is None else value

    def has(self, name: str) -> bool:
        return self.cell(name) is not None

    def present(self, names: tuple[str, ...]) -> list[str]:
        """The names among `names` whose cell (or derived value) is filled, in order."""
        return [name for name in names if self.has(name)]

    def problem(self, name: str, code: str, message: str, warning: bool = False) -> None:
        self.problems.append(Problem(self.source.row_number, self.columns.header(name), self.cell(name),
                                     code, message, warning))

    def get(self, name: str, required: bool = False) -> Any:
        """The cell converted by its column's kind; None (and a problem) when it cannot be."""
        value = self.cell(name)
        if value is None:
            if required:
                self.problem(name, "missing-value", f"{name} is required; fill in this cell")
            return None
        try:
            return self.checker.convert(name, value)
        except InvalidCell as exc:
            self.problem(name, exc.code, exc.message)
            return None


def _prior(row: _Row) -> PriorResult:
    """Result columns of a fed-back result sheet (recognised, never sent; never derived)."""
    status = row.written("import_status")
    message = row.written("error_message")
    text = str(message) if message is not None else None
    if "next_step" in row.columns.index:
        step = row.written("next_step")
        message_and_step = (text, str(step) if step is not None else None)
    else:  # an older result sheet: "message -> next step" in one cell
        message_and_step = split_step(text)
    return PriorResult(
        status=str(status).strip().lower() if status is not None else None,
        meeting_id=_safe_identifier(row.written("meeting_id")),
        error_code=_safe_identifier(row.written("error_code")),
        message=message_and_step[0],
        next_step=message_and_step[1],
    )


def _safe_identifier(value: Cell) -> str | None:
    if value is None:
        return None
    try:
        return to_identifier(value)
    except InvalidCell:
        return str(value)


def _meeting_info(row: _Row) -> dict[str, Any]:
    info: dict[str, Any] = {}
    topic = row.get("topic", required=True)
    if topic is not None:
        info["topic"] = topic
    meeting_type = row.get("type", required=not row.timetable)
    if meeting_type is not None:
        info["type"] = meeting_type
    zone = row.get("timezone")
    start = row.get("start_time")
    if meeting_type in (2, 8):
        if not row.has("start_time"):
            if row.timetable:
                return info  # the timetable columns could not give a start: their problem says why
            row.problem("start_time", "missing-value",
                        f"a type {meeting_type} meeting needs a start_time (without it Zoom makes an instant meeting)")
        elif start is not None:
            info["start_time"] = _start_text(row, start, zone)
    elif meeting_type in (1, 3) and row.has("start_time"):
        row.problem("start_time", "ignored-value",
                    f"type {meeting_type} meetings have no fixed start; Zoom ignores start_time", warning=True)
    duration = row.get("duration")
    if duration is not None:
        info["duration"] = duration
    elif meeting_type in (2, 8) and not row.has("duration"):
        row.problem("duration", "missing-value", "no duration given; Zoom will use 60 minutes", warning=True)
    if zone is not None:
        info["timezone"] = zone
    for name in ("agenda", "password"):
        value = row.get(name)
        if value is not None:
            info[name] = value
    recurrence = _recurrence(row, meeting_type, zone)
    if recurrence:
        info["recurrence"] = recurrence
    settings = _settings(row)
    if settings:
        info["settings"] = settings
    return info


def _start_text(row: _Row, start: datetime, zone: str | None) -> str:
    """start_time as sent: UTC with Z when the cell gave an offset, else local time with `timezone`."""
    moment: datetime | None
    if start.tzinfo is not None:
        moment = start.astimezone(UTC)
        text = utc_text(moment)
    else:
        text = start.isoformat(timespec="seconds")
        moment = None
        if zone is None:
            if not row.has("timezone"):  # an unreadable timezone is reported by its own problem
                row.problem("timezone", "missing-value",
                            "no timezone: Zoom will read start_time in the host account's timezone", warning=True)
        else:
            moment = _localise(row, start, zone)
    if moment is not None and moment < row.checker.now and not _series_still_running(row):
        row.problem("start_time", "in-the-past",
                    f"start_time {text} is in the past; Zoom accepts it, but check the year", warning=True)
    return text


def _series_still_running(row: _Row) -> bool:
    """A recurring series that started earlier but ends later is a mid-term import, not a typo."""
    end = row.cell("end_date_time")
    if end is None:
        return row.has("end_times")
    try:
        moment = row.checker.convert("end_date_time", end)
    except InvalidCell:
        return False
    return end_of_series(moment, "UTC") > row.checker.now


def _localise(row: _Row, start: datetime, zone: str) -> datetime | None:
    """The UTC moment of a local start; flags times that don't exist or happen twice."""
    moment, trouble = row.checker.local_moment(start, zone)
    if trouble == "nonexistent-time":
        row.problem("start_time", "nonexistent-time",
                    f"{start:%Y-%m-%d %H:%M} does not exist in {zone} (clocks jump forward); pick another time")
    elif trouble == "ambiguous-time":
        row.problem("start_time", "ambiguous-time",
                    f"{start:%Y-%m-%d %H:%M} happens twice in {zone} (clocks go back); Zoom picks one", warning=True)
    return moment


def _local_moment(start: datetime, zone: str) -> tuple[datetime | None, str | None]:
    tz = ZoneInfo(zone)
    early = start.replace(tzinfo=tz, fold=0)
    late = start.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        round_trip = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != start:
            return None, "nonexistent-time"
        return early.astimezone(UTC), "ambiguous-time"
    return early.astimezone(UTC), None


def _recurrence(row: _Row, meeting_type: int | None, zone: str | None) -> dict[str, Any]:
    present = row.present(RECURRENCE_FIELDS)
    if not present:
        if meeting_type == 8:
            row.problem("recurrence_type", "missing-value",
                        "a type 8 (recurring, fixed time) meeting needs recurrence_type (1 daily, 2 weekly, 3 monthly)")
        return {}
    if meeting_type != 8:
        if meeting_type is not None:
            row.problem(present[0], "not-applicable",
                        f"recurrence columns apply only to type 8 meetings; this row is type {meeting_type}")
        return {}
    recurrence: dict[str, Any] = {}
    kind = row.get("recurrence_type", required=True)
    if kind is not None:
        recurrence["type"] = kind
    interval = row.get("repeat_interval")
    if interval is not None:
        if kind in REPEAT_MAX and interval > REPEAT_MAX[kind]:
            unit = {1: "days", 2: "weeks", 3: "months"}[kind]
            row.problem("repeat_interval", "out-of-range",
                        f"repeat_interval is at most {REPEAT_MAX[kind]} {unit} for this recurrence type")
        recurrence["repeat_interval"] = interval
    days = row.get("weekly_days")
    if kind == 2:
        if days is not None:
            recurrence["weekly_days"] = days
        elif not row.has("weekly_days"):
            row.problem("weekly_days", "missing-value",
                        "weekly recurrence needs weekly_days, e.g. 2,4,6 for Mon/Wed/Fri (1 = Sunday)")
    elif days is not None:
        row.problem("weekly_days", "not-applicable", "weekly_days applies only to weekly recurrence (type 2)")
    _monthly(row, kind, recurrence)
    end_times = row.get("end_times")
    end_date = row.get("end_date_time")
    if end_times is not None and end_date is not None:
        row.problem("end_times", "conflict", "give end_times or end_date_time, never both")
    elif end_times is not None:
        if end_times > MAX_OCCURRENCES:
            row.problem("end_times", "out-of-range", f"end_times is at most {MAX_OCCURRENCES} occurrences")
        recurrence["end_times"] = end_times
    elif end_date is not None:
        recurrence["end_date_time"] = utc_text(end_of_series(end_date, zone))
    return recurrence


def _monthly(row: _Row, kind: int | None, recurrence: dict[str, Any]) -> None:
    monthly_day = row.get("monthly_day")
    monthly_week = row.get("monthly_week")
    monthly_week_day = row.get("monthly_week_day")
    if kind != 3:
        if any(v is not None for v in (monthly_day, monthly_week, monthly_week_day)):
            row.problem("monthly_day", "not-applicable", "monthly_* columns apply only to monthly recurrence (type 3)")
    elif monthly_day is not None and (monthly_week is not None or monthly_week_day is not None):
        row.problem("monthly_day", "conflict", "give monthly_day, or monthly_week with monthly_week_day, not both")
    elif monthly_day is not None:
        recurrence["monthly_day"] = monthly_day
    elif monthly_week is not None and monthly_week_day is not None:
        recurrence["monthly_week"] = monthly_week
        recurrence["monthly_week_day"] = monthly_week_day
    elif not any(row.has(n) for n in ("monthly_day", "monthly_week", "monthly_week_day")):
        row.problem("monthly_day", "missing-value",
                    "monthly recurrence needs monthly_day, or monthly_week with monthly_week_day")
    elif row.has("monthly_week") != row.has("monthly_week_day"):
        # Only when one of the pair is empty: an unreadable cell already has its own problem.
        missing = "monthly_week_day" if row.has("monthly_week") else "monthly_week"
        row.problem(missing, "missing-value", "monthly_week and monthly_week_day go together")


def _timetable(row: _Row) -> None:
    """days/time/first_day/last_day -> the type 8 weekly series they describe (timetable.py).

    Derived values fill the API columns left empty; API columns also filled in must agree.
    """
    present = row.present(TIMETABLE_FIELDS)
    if not present:
        return
    row.timetable = True
    for name in TIMETABLE_FIELDS:
        if name not in present:
            row.problem(name, "missing-value",
                        f"{name} is empty: the timetable columns days, time, first_day and last_day go together")
    zone = row.get("timezone")
    if zone is None and not row.has("timezone"):
        row.problem("timezone", "missing-value",
                    "timetable rows need a timezone (e.g. America/New_York) to place the classes")
    days, times, first, last = (row.get(name) for name in TIMETABLE_FIELDS)
    if zone is None or days is None or times is None or first is None or last is None:
        return
    try:
        series = expand(days, times[0], times[1], first, last, zone)
    except ValueError as exc:
        row.problem("last_day", "out-of-range", str(exc))
        return
    derived: dict[str, Any] = {
        "type": 8, "start_time": series.start, "duration": series.duration, "recurrence_type": 2,
        "repeat_interval": 1, "weekly_days": series.weekly_days, "end_date_time": series.end_date_time,
    }
    conflicts = False
    for name, value in derived.items():
        if value is None or row.written(name) is None or _agrees(row, name, value, zone):
            continue
        conflicts = True
        sources = ", ".join(row.columns.header(n) for n in TIMETABLE_FIELDS)
        row.problem(name, "conflict",
                    f"{row.columns.header(name)} '{row.written(name)}' disagrees with the timetable columns "
                    f"({sources}), which give {_shown(value)}; clear one of them")
    if row.has("end_times"):
        conflicts = True
        row.problem("end_times", "conflict",
                    f"end_times conflicts with {row.columns.header('last_day')}, which sets the end; clear end_times")
    if not conflicts:  # a row in conflict is invalid already: deriving more would only add noise
        row.derived.update({name: value for name, value in derived.items()
                            if value is not None and row.written(name) is None})


def _agrees(row: _Row, name: str, derived: Any, zone: str) -> bool:
    """Whether a written API cell means the same as the timetable's value (unreadable: judged later)."""
    try:
        written = row.checker.convert(name, row.written(name))
    except InvalidCell:
        return True
    if name == "start_time":
        written = written.replace(tzinfo=None)
    elif name == "end_date_time":
        written = utc_text(end_of_series(written, zone))
    return bool(written == derived)


def _shown(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)


def _settings(row: _Row) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name in row.checker.settings:  # settings are never derived: only the sheet's own
        value = row.get(name) if row.written(name) is not None else None
        if value is not None:
            settings[name.removeprefix("settings.")] = value
    if settings.get("waiting_room") and settings.get("join_before_host"):
        row.problem("settings.join_before_host", "ignored-value", "waiting_room turns join_before_host off",
                    warning=True)
    return settings
