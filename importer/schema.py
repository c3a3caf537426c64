"""Check each row and turn it into a `CreateRequest`, or into `Problem`s naming the cell.

Problems are data (row, column as written, value, code, message); nothing here raises
for a bad cell. The rules follow API.md's "Create a meeting" table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .columns import RECURRENCE_FIELDS, SETTINGS, TIMETABLE_FIELDS, ColumnMap
from .models import (RESULT_COLUMNS, Cell, Course, CreateRequest, PriorResult, Problem, SourceRow,
                     direct_init)
from .timetable import expand, parse_days, parse_time_range

DateOrder = Literal["DMY", "MDY"]

TYPE_WORDS = {"instant": 1, "scheduled": 2, "recurring": 3, "recurringnofixedtime": 3,
              "recurringfixedtime": 8}
TRUE_WORDS = {"true", "yes", "y", "1", "on", "x", "wahr", "vrai"}
FALSE_WORDS = {"false", "no", "n", "0", "off", "faux", "falsch"}
BOOLEAN_SETTINGS = {"host_video", "participant_video", "join_before_host", "mute_upon_entry",
                    "waiting_room", "meeting_authentication"}
CHOICE_SETTINGS: dict[str, tuple[Any, ...]] = {
    "jbh_time": (0, 5, 10),
    "approval_type": (0, 1, 2),
    "auto_recording": ("local", "cloud", "none"),
    "audio": ("both", "telephony", "voip"),
}
REPEAT_MAX = {1: 90, 2: 12, 3: 3}  # daily: 90 days, weekly: 12 weeks, monthly: 3 months
PASSWORD_RE = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
EMAIL_RE = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
EXCEL_EPOCH = datetime(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1900, 2999
UTC_NAMES = {"utc", "gmt", "z", "etc/utc", "etc/gmt"}


@direct_init  # one per row
@dataclass(frozen=True, slots=True)  # slots: one object per row, not two, for the collector
class RowCheck:
    """The schema's verdict on one row."""

    row: SourceRow
    request: CreateRequest | None
    problems: tuple[Problem, ...]
    prior: PriorResult

    @property
    def errors(self) -> tuple[Problem, ...]:
        if not self.problems:
            return ()
        return tuple(p for p in self.problems if not p.warning)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        if not self.problems:
            return ()
        return tuple(p for p in self.problems if p.warning)


class _Invalid(Exception):
    """Internal: a converter rejects a cell. Caught per cell, never escapes `check_row`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _RowContext:
    # A plain class with slots: check_row makes one per row and reads ~30 cells through it.
    __slots__ = ("columns", "row", "date_order", "now", "problems", "derived", "timetable",
                 "index", "cells", "layout")

    def __init__(self, columns: ColumnMap, row: SourceRow, date_order: DateOrder | None,
                 now: datetime) -> None:
        self.columns = columns
        self.row = row
        self.date_order = date_order
        self.now = now
        self.problems: list[Problem] = []
        #: Values the timetable columns supply for API columns the sheet left empty.
        self.derived: dict[str, Cell] = {}
        #: The row uses timetable columns: their problems stand in for the API columns they replace.
        self.timetable = False
        self.index = columns.index
        self.cells = row.cells
        self.layout = _layout(columns.index)

    def cell(self, name: str) -> Cell:
        position = self.index.get(name)
        if position is not None:
            value = self.cells[position]
            if value is not None:
                return value
        return self.derived.get(name)

    def written(self, name: str) -> Cell:
        """The cell as the coordinator wrote it, ignoring derived values."""
        position = self.index.get(name)
        return None if position is None else self.cells[position]

    def has(self, name: str) -> bool:
        position = self.index.get(name)
        if position is not None and self.cells[position] is not None:
            return True
        return self.derived.get(name) is not None

    def present(self, names: tuple[str, ...]) -> list[str]:
        """The names among `names` whose cell (or derived value) is filled, in order."""
        if self.derived:
            return [name for name in names if self.has(name)]
        cells = self.cells
        return [name for name, position in self.layout.positions(names) if cells[position] is not None]

    def problem(self, name: str, code: str, message: str, warning: bool = False) -> None:
        self.problems.append(Problem(self.row.row_number, self.columns.header(name),
                                     self.cell(name), code, message, warning))

    def get(self, name: str, convert: Any, *args: Any, required: bool = False) -> Any:
        position = self.index.get(name)
        value = None if position is None else self.cells[position]
        if value is None:
            value = self.derived.get(name)
        if value is None:
            if required:
                self.problem(name, "missing-value", f"{name} is required; fill in this cell")
            return None
        try:
            return convert(value, *args)
        except _Invalid as exc:
            self.problem(name, exc.code, exc.message)
            return None


_SETTING_COLUMNS = tuple((name, f"settings.{name}") for name in SETTINGS)


class _Layout:
    """Where the optional column groups sit in one sheet, worked out once per sheet."""

    __slots__ = ("index", "groups", "settings", "has_results")

    def __init__(self, index: dict[str, int]) -> None:
        self.index = index
        self.groups: dict[tuple[str, ...], tuple[tuple[str, int], ...]] = {}
        #: (setting, column name) for the settings columns the sheet has, in SETTINGS order.
        self.settings = tuple((name, column) for name, column in _SETTING_COLUMNS if column in index)
        self.has_results = any(name in index for name in RESULT_COLUMNS)

    def positions(self, names: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        """(name, column) for those of `names` the sheet has, in order."""
        known = self.groups.get(names)
        if known is None:
            known = self.groups[names] = tuple((n, self.index[n]) for n in names if n in self.index)
        return known


_LAYOUTS: dict[tuple[int, int], _Layout] = {}


def _layout(index: dict[str, int]) -> _Layout:
    """The sheet's `_Layout`, remembered per column index (one per sheet being checked)."""
    key = (id(index), len(index))
    layout = _LAYOUTS.get(key)
    if layout is None or layout.index is not index:  # not a new dict at a reused id
        if len(_LAYOUTS) >= 64:
            _LAYOUTS.clear()
        layout = _LAYOUTS[key] = _Layout(index)  # holding `index` keeps its id from being reused
    return layout


def check_row(columns: ColumnMap, row: SourceRow, *, date_order: DateOrder | None = None,
              now: datetime | None = None) -> RowCheck:
    """Check one row. Never raises for cell contents."""
    ctx = _RowContext(columns, row, date_order, now or datetime.now(timezone.utc))
    prior = _prior(ctx.index, ctx.cells) if ctx.layout.has_results else _NO_PRIOR
    user_id = ctx.get("userId", _host, required=True)
    context_id = ctx.get("contextId", to_identifier, required=True)
    domain = ctx.get("domain", to_domain, required=True)
    course_id = ctx.get("courseId", to_identifier)
    row_id = ctx.get("row_id", to_identifier)
    _timetable(ctx)
    info = _meeting_info(ctx)
    request = None
    if not ctx.problems or not any(not p.warning for p in ctx.problems):
        assert user_id and context_id and domain
        request = CreateRequest(row.row_number, user_id, Course(context_id, domain, course_id),
                                info, row_id)
    return RowCheck(row, request, tuple(ctx.problems), prior)


_NO_PRIOR = PriorResult()  # a sheet without result columns: every row's prior is empty


def check_rows(columns: ColumnMap, rows: Iterable[SourceRow], *, date_order: DateOrder | None = None,
               now: datetime | None = None) -> Iterator[RowCheck]:
    """`check_row` for every row of one sheet, in order: the same verdicts, made faster."""
    checker = _SheetChecker(columns, date_order, now or datetime.now(timezone.utc))
    return map(checker.check, rows)


#: Memoised conversions per column stop growing here (a column of unique ids gains nothing).
_MEMO_LIMIT = 10_000


class _SheetChecker:
    """check_row for the rows of one sheet, with what is the same for every row worked out once.

    Most rows of a term's schedule are plain meetings that pass every check, and their
    repeating cells (host, domain, type, start time, duration, timezone, settings) take a
    few hundred distinct values in a sheet. `_plain` turns such a row straight into its
    request, converting each repeating value once per sheet (the result columns of a
    fed-back sheet are read by `_prior`, as check_row reads them). A row it is not sure of
    (a problem or a warning, timetable or recurrence cells) goes through `check_row`, which
    stays the one statement of the rules: `_plain` only ever agrees with it
    (tests/test_schema.py compares the two on generated rows).
    """

    def __init__(self, columns: ColumnMap, date_order: DateOrder | None, now: datetime) -> None:
        self.columns = columns
        self.date_order = date_order
        self.now = now
        index = columns.index
        self.index = index
        self.has_results = _layout(index).has_results
        position = index.get
        self.user, self.context, self.domain = position("userId"), position("contextId"), position("domain")
        self.course, self.row_id, self.topic = position("courseId"), position("row_id"), position("topic")
        self.type, self.start, self.duration = position("type"), position("start_time"), position("duration")
        self.timezone, self.agenda = position("timezone"), position("agenda")
        self.password = position("password")
        #: Without these columns every row has a problem (or timetable columns decide): check_row says which.
        self.usable = None not in (self.user, self.context, self.domain, self.topic, self.type)
        #: Cells that make a row more than a plain meeting when filled in.
        self.elaborate = tuple(index[name] for name in TIMETABLE_FIELDS + RECURRENCE_FIELDS if name in index)
        self.settings = tuple((name, index[column], _setting_converter(name))
                              for name, column in _layout(index).settings)
        #: Cell value -> converted value, for values that passed: one memo per column.
        self.memos: list[dict[Cell, Any]] = [{} for _ in columns.headers]
        self.users, self.domains, self.zones = (self.memos[p] if p is not None else {}
                                                for p in (self.user, self.domain, self.timezone))
        #: (start cell, timezone) -> the start_time text of a start that needs no warning.
        self.starts: dict[tuple[Cell, str | None], str] = {}

    def check(self, row: SourceRow) -> RowCheck:
        cells = row.cells
        request = self._plain(row.row_number, cells) if self.usable else None
        if request is None:
            return check_row(self.columns, row, date_order=self.date_order, now=self.now)
        return RowCheck(row, request, (), _prior(self.index, cells) if self.has_results else _NO_PRIOR)

    def _plain(self, row_number: int, cells: tuple[Cell, ...]) -> CreateRequest | None:
        """The request of a row that check_row passes without a problem or warning, else None."""
        for position in self.elaborate:
            if cells[position] is not None:
                return None
        memos = self.memos
        try:
            # The usual host, domain and timezone cell is text seen before: one look-up.
            value = cells[self.user]  # type: ignore[index]
            user_id = self.users.get(value) if type(value) is str else None
            if user_id is None:
                user_id = _memoised(self.users, value, _host)
            value = cells[self.domain]  # type: ignore[index]
            domain = self.domains.get(value) if type(value) is str else None
            if domain is None:
                domain = _memoised(self.domains, value, to_domain)
            meeting_type = _memoised(memos[self.type], cells[self.type], to_meeting_type)  # type: ignore[index]
            context_id = cells[self.context]  # type: ignore[index]
            topic = cells[self.topic]  # type: ignore[index]
            if context_id is None or topic is None:  # a problem
                return None
            context_id = to_identifier(context_id)
            topic = to_text(topic)
            if len(topic) > 200:
                return None
            course_id = row_id = zone = start = duration = None
            position = self.course
            if position is not None and cells[position] is not None:
                course_id = to_identifier(cells[position])
            position = self.row_id
            if position is not None and cells[position] is not None:
                row_id = to_identifier(cells[position])
            info: dict[str, Any] = {"topic": topic, "type": meeting_type}
            position = self.timezone
            if position is not None and cells[position] is not None:
                value = cells[position]
                zone = self.zones.get(value) if type(value) is str else None
                if zone is None:
                    zone = _memoised(self.zones, value, to_timezone)
            position = self.start
            if position is not None:
                start = cells[position]
            if meeting_type == 2 or meeting_type == 8:
                if start is None:  # a problem
                    return None
                text = self.starts.get((start, zone))
                if text is None:
                    text = self._start_text(start, zone)
                    if text is None:  # a problem or a warning
                        return None
                info["start_time"] = text
            elif start is not None:  # Zoom ignores it: a warning
                return None
            position = self.duration
            if position is not None and cells[position] is not None:
                duration = _memoised(memos[position], cells[position], to_positive_int)
                info["duration"] = duration
            elif meeting_type == 2 or meeting_type == 8:  # Zoom's default of 60 minutes: a warning
                return None
            if zone is not None:
                info["timezone"] = zone
            position = self.agenda
            if position is not None and cells[position] is not None:
                agenda = to_text(cells[position])
                if len(agenda) > 2000:
                    return None
                info["agenda"] = agenda
            position = self.password
            if position is not None and cells[position] is not None:
                password = to_identifier(cells[position])
                if not PASSWORD_RE.match(password):
                    return None
                info["password"] = password
            if meeting_type == 8:  # no recurrence cells: a problem
                return None
            if self.settings:
                settings = {name: _memoised(memos[position], cells[position], convert)
                            for name, position, convert in self.settings if cells[position] is not None}
                if settings.get("waiting_room") and settings.get("join_before_host"):  # a warning
                    return None
                if settings:
                    info["settings"] = settings
        except _Invalid:  # also an empty required cell: a problem
            return None
        return CreateRequest(row_number, user_id, Course(context_id, domain, course_id), info, row_id)

    def _start_text(self, value: Cell, zone: str | None) -> str | None:
        """start_time as check_row sends it, or None when check_row adds a problem or a warning."""
        start = to_start_time(value, self.date_order)
        if start.tzinfo is not None:
            moment = start.astimezone(timezone.utc)
            text = _utc_text(moment)
        else:
            if zone is None:  # no timezone: a warning
                return None
            text = start.isoformat(timespec="seconds")
            moment, kind = _local_moment_of(start, zone)  # type: ignore[assignment]
            if kind is not None or moment is None:  # a time that doesn't exist, or happens twice
                return None
        if moment < self.now:  # in the past (with no recurrence still running): a warning
            return None
        # Remembered for text and naive date cells: an aware one may equal another of another year.
        kind_of_cell = type(value)
        if (kind_of_cell is str or (kind_of_cell is datetime and value.tzinfo is None)) \
                and len(self.starts) < _MEMO_LIMIT:
            self.starts[(value, zone)] = text
        return text


def _memoised(memo: dict[Cell, Any], value: Cell, convert: Any) -> Any:
    """convert(value), remembered in `memo` for text and whole-number cells.

    Only those two exact types: a cell of another type may equal one that converts
    otherwise (True == 1, 2.0 == 2, 1e20 == 10**20), and text never equals a number.
    """
    kind = type(value)
    if kind is not str and kind is not int:
        if value is None:
            raise _Invalid("missing-value", "the cell is empty")
        return convert(value)
    known = memo.get(value)
    if known is None:
        known = convert(value)
        if len(memo) < _MEMO_LIMIT:
            memo[value] = known
    return known


def _host(value: Cell) -> str:
    """userId as sent: an identifier, and a valid address where it looks like an e-mail."""
    user_id = to_identifier(value)
    if "@" in user_id and not EMAIL_RE.match(user_id):
        raise _Invalid("format-error", "userId looks like an e-mail but is not a valid address")
    return user_id


def _setting_converter(name: str) -> Any:
    """The converter check_row's `_settings` applies to a settings column."""
    if name in BOOLEAN_SETTINGS:
        return to_bool
    if name in CHOICE_SETTINGS:
        choices = CHOICE_SETTINGS[name]
        return lambda value: to_choice(value, choices)
    if name == "alternative_hosts":
        return to_email_list
    return to_text


def _prior(index: dict[str, int], cells: tuple[Cell, ...]) -> PriorResult:
    """Result columns of a fed-back result sheet (recognised, never sent; never derived)."""
    def cell(name: str) -> Cell:
        position = index.get(name)
        return None if position is None else cells[position]

    status = cell("import_status")
    message = cell("error_message")
    return PriorResult(
        status=str(status).strip().lower() if status is not None else None,
        meeting_id=_safe_identifier(cell("meeting_id")),
        error_code=_safe_identifier(cell("error_code")),
        error_message=str(message) if message is not None else None,
    )


def _safe_identifier(value: Cell) -> str | None:
    if value is None:
        return None
    try:
        return to_identifier(value)
    except _Invalid:
        return str(value)


def _meeting_info(ctx: _RowContext) -> dict[str, Any]:
    info: dict[str, Any] = {}
    topic = ctx.get("topic", to_text, required=True)
    if topic is not None:
        if len(topic) > 200:
            ctx.problem("topic", "too-long", f"topic has {len(topic)} characters; Zoom allows at most 200")
        info["topic"] = topic
    meeting_type = ctx.get("type", to_meeting_type, required=not ctx.timetable)
    if meeting_type is not None:
        info["type"] = meeting_type
    zone = ctx.get("timezone", to_timezone)
    start = ctx.get("start_time", to_start_time, ctx.date_order)
    if meeting_type in (2, 8):
        if not ctx.has("start_time"):
            if ctx.timetable:
                return info  # the timetable columns could not give a start: their problem says why
            ctx.problem("start_time", "missing-value",
                        f"a type {meeting_type} meeting needs a start_time (without it Zoom makes an instant meeting)")
        elif start is not None:
            info["start_time"] = _start_text(ctx, start, zone)
    elif meeting_type in (1, 3) and ctx.has("start_time"):
        ctx.problem("start_time", "ignored-value",
                    f"type {meeting_type} meetings have no fixed start; Zoom ignores start_time", warning=True)
    duration = ctx.get("duration", to_positive_int)
    if duration is not None:
        info["duration"] = duration
    elif meeting_type in (2, 8) and not ctx.has("duration"):
        ctx.problem("duration", "missing-value", "no duration given; Zoom will use 60 minutes", warning=True)
    if zone is not None:
        info["timezone"] = zone
    agenda = ctx.get("agenda", to_text)
    if agenda is not None:
        if len(agenda) > 2000:
            ctx.problem("agenda", "too-long", f"agenda has {len(agenda)} characters; Zoom allows at most 2,000")
        info["agenda"] = agenda
    password = ctx.get("password", to_identifier)
    if password is not None:
        if not PASSWORD_RE.match(password):
            ctx.problem("password", "format-error",
                        "password must be 1-10 characters of letters, digits, @ - _ *")
        info["password"] = password
    recurrence = _recurrence(ctx, meeting_type, zone)
    if recurrence:
        info["recurrence"] = recurrence
    settings = _settings(ctx)
    if settings:
        info["settings"] = settings
    return info


def _start_text(ctx: _RowContext, start: datetime, zone: str | None) -> str:
    if start.tzinfo is not None:
        utc = start.astimezone(timezone.utc)
        moment = utc
        text = _utc_text(utc)
    else:
        text = start.isoformat(timespec="seconds")
        moment = None
        if zone is None:
            if not ctx.has("timezone"):  # an unreadable timezone is reported by its own problem
                ctx.problem("timezone", "missing-value",
                            "no timezone: Zoom will read start_time in the host account's timezone",
                            warning=True)
        else:
            moment = _localise(ctx, start, zone)
    if moment is not None and moment < ctx.now and not _series_still_running(ctx):
        ctx.problem("start_time", "in-the-past",
                    f"start_time {text} is in the past; Zoom accepts it, but check the year", warning=True)
    return text


def _series_still_running(ctx: _RowContext) -> bool:
    """A recurring series that started earlier but ends later is a mid-term import, not a typo."""
    end = ctx.cell("end_date_time")
    if end is None:
        return ctx.has("end_times")
    try:
        text = to_end_date_time(end, "UTC", ctx.date_order)
    except _Invalid:
        return False
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) > ctx.now


def _localise(ctx: _RowContext, start: datetime, zone: str) -> datetime | None:
    """The UTC moment of a local start; flags times that don't exist or happen twice."""
    moment, kind = _local_moment_of(start, zone)
    if kind == "nonexistent-time":
        ctx.problem("start_time", "nonexistent-time",
                    f"{start:%Y-%m-%d %H:%M} does not exist in {zone} (clocks jump forward); pick another time")
    elif kind == "ambiguous-time":
        ctx.problem("start_time", "ambiguous-time",
                    f"{start:%Y-%m-%d %H:%M} happens twice in {zone} (clocks go back); Zoom picks one",
                    warning=True)
    return moment


#: (naive local start, zone) -> what `_local_moment` says: class times repeat down a sheet.
_LOCALISED: dict[tuple[datetime, str], tuple[datetime | None, str | None]] = {}


def _local_moment_of(start: datetime, zone: str) -> tuple[datetime | None, str | None]:
    """`_local_moment`, remembered."""
    key = (start, zone)
    known = _LOCALISED.get(key)
    if known is None:
        known = _local_moment(start, zone)
        if len(_LOCALISED) >= 50_000:
            _LOCALISED.clear()
        _LOCALISED[key] = known
    return known


def _local_moment(start: datetime, zone: str) -> tuple[datetime | None, str | None]:
    """The UTC moment of a naive local start, and 'nonexistent-time' / 'ambiguous-time'."""
    tz = _zone(zone)
    early = start.replace(tzinfo=tz, fold=0)
    late = start.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        round_trip = early.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)
        if round_trip != start:
            return None, "nonexistent-time"
        return early.astimezone(timezone.utc), "ambiguous-time"
    return early.astimezone(timezone.utc), None


def _recurrence(ctx: _RowContext, meeting_type: int | None, zone: str | None) -> dict[str, Any]:
    present = ctx.present(RECURRENCE_FIELDS)
    if not present:
        if meeting_type == 8:
            ctx.problem("recurrence_type", "missing-value",
                        "a type 8 (recurring, fixed time) meeting needs recurrence_type (1 daily, 2 weekly, 3 monthly)")
        return {}
    if meeting_type != 8:
        if meeting_type is not None:
            ctx.problem(present[0], "not-applicable",
                        f"recurrence columns apply only to type 8 meetings; this row is type {meeting_type}")
        return {}
    recurrence: dict[str, Any] = {}
    kind = ctx.get("recurrence_type", to_choice, (1, 2, 3), required=True)
    if kind is not None:
        recurrence["type"] = kind
    interval = ctx.get("repeat_interval", to_positive_int)
    if interval is not None:
        if kind in REPEAT_MAX and interval > REPEAT_MAX[kind]:
            unit = {1: "days", 2: "weeks", 3: "months"}[kind]
            ctx.problem("repeat_interval", "out-of-range",
                        f"repeat_interval is at most {REPEAT_MAX[kind]} {unit} for this recurrence type")
        recurrence["repeat_interval"] = interval
    days = ctx.get("weekly_days", to_weekdays)
    if kind == 2:
        if days is not None:
            recurrence["weekly_days"] = days
        elif not ctx.has("weekly_days"):
            ctx.problem("weekly_days", "missing-value",
                        "weekly recurrence needs weekly_days, e.g. 2,4,6 for Mon/Wed/Fri (1 = Sunday)")
    elif days is not None:
        ctx.problem("weekly_days", "not-applicable", "weekly_days applies only to weekly recurrence (type 2)")
    monthly_day = ctx.get("monthly_day", to_choice, tuple(range(1, 32)))
    monthly_week = ctx.get("monthly_week", to_choice, (-1, 1, 2, 3, 4))
    monthly_week_day = ctx.get("monthly_week_day", to_choice, tuple(range(1, 8)))
    if kind == 3:
        if monthly_day is not None and (monthly_week is not None or monthly_week_day is not None):
            ctx.problem("monthly_day", "conflict", "give monthly_day, or monthly_week with monthly_week_day, not both")
        elif monthly_day is not None:
            recurrence["monthly_day"] = monthly_day
        elif monthly_week is not None and monthly_week_day is not None:
            recurrence["monthly_week"] = monthly_week
            recurrence["monthly_week_day"] = monthly_week_day
        elif not any(ctx.has(n) for n in ("monthly_day", "monthly_week", "monthly_week_day")):
            ctx.problem("monthly_day", "missing-value",
                        "monthly recurrence needs monthly_day, or monthly_week with monthly_week_day")
        elif ctx.has("monthly_week") != ctx.has("monthly_week_day"):
            # Only when one of the pair is empty: an unreadable cell already has its own problem.
            missing = "monthly_week_day" if ctx.has("monthly_week") else "monthly_week"
            ctx.problem(missing, "missing-value", "monthly_week and monthly_week_day go together")
    elif any(v is not None for v in (monthly_day, monthly_week, monthly_week_day)):
        ctx.problem("monthly_day", "not-applicable", "monthly_* columns apply only to monthly recurrence (type 3)")
    end_times = ctx.get("end_times", to_positive_int)
    end_date = ctx.get("end_date_time", to_end_date_time, zone, ctx.date_order)
    if end_times is not None and end_date is not None:
        ctx.problem("end_times", "conflict", "give end_times or end_date_time, never both")
    elif end_times is not None:
        if end_times > 50:
            ctx.problem("end_times", "out-of-range", "end_times is at most 50 occurrences")
        recurrence["end_times"] = end_times
    elif end_date is not None:
        recurrence["end_date_time"] = end_date
    return recurrence


def _timetable(ctx: _RowContext) -> None:
    """days/time/first_day/last_day -> the type 8 weekly series they describe (timetable.py).

    Derived values fill the API columns left empty; API columns also filled in must agree.
    """
    present = ctx.present(TIMETABLE_FIELDS)
    if not present:
        return
    ctx.timetable = True
    for name in TIMETABLE_FIELDS:
        if name not in present:
            ctx.problem(name, "missing-value",
                        f"{name} is empty: the timetable columns days, time, first_day and last_day go together")
    zone = ctx.get("timezone", to_timezone)
    if zone is None and not ctx.has("timezone"):
        ctx.problem("timezone", "missing-value",
                    "timetable rows need a timezone (e.g. America/New_York) to place the classes")
    days = ctx.get("days", _via(parse_days))
    times = ctx.get("time", _via(parse_time_range))
    first = ctx.get("first_day", to_day, ctx.date_order)
    last = ctx.get("last_day", to_day, ctx.date_order)
    if zone is None or days is None or times is None or first is None or last is None:
        return
    try:
        series = expand(days, times[0], times[1], first, last, zone)
    except ValueError as exc:
        ctx.problem("last_day", "out-of-range", str(exc))
        return
    derived: dict[str, Any] = {
        "type": 8, "start_time": series.start, "duration": series.duration, "recurrence_type": 2,
        "repeat_interval": 1, "weekly_days": series.weekly_days, "end_date_time": series.end_date_time,
    }
    conflicts = False
    for name, value in derived.items():
        if value is None or ctx.written(name) is None or _agrees(ctx, name, value, zone):
            continue
        conflicts = True
        sources = ", ".join(ctx.columns.header(n) for n in TIMETABLE_FIELDS)
        ctx.problem(name, "conflict",
                    f"{ctx.columns.header(name)} '{ctx.written(name)}' disagrees with the timetable columns "
                    f"({sources}), which give {_shown(value)}; clear one of them")
    if ctx.has("end_times"):
        conflicts = True
        ctx.problem("end_times", "conflict",
                    f"end_times conflicts with {ctx.columns.header('last_day')}, which sets the end; clear end_times")
    if not conflicts:  # a row in conflict is invalid already: deriving more would only add noise
        ctx.derived.update({name: value for name, value in derived.items()
                            if value is not None and ctx.written(name) is None})


def _via(parse: Any) -> Any:
    def convert(value: Cell) -> Any:
        try:
            return parse(value)
        except ValueError as exc:
            raise _Invalid("format-error", str(exc)) from None
    return convert


def _agrees(ctx: _RowContext, name: str, derived: Any, zone: str) -> bool:
    """Whether a written API cell means the same as the timetable's value (unreadable: judged later)."""
    written = ctx.written(name)
    converters: dict[str, Any] = {
        "type": to_meeting_type, "duration": to_positive_int, "repeat_interval": to_positive_int,
        "recurrence_type": lambda v: to_choice(v, (1, 2, 3)), "weekly_days": to_weekdays,
        "start_time": lambda v: to_start_time(v, ctx.date_order).replace(tzinfo=None),
        "end_date_time": lambda v: to_end_date_time(v, zone, ctx.date_order),
    }
    try:
        return bool(converters[name](written) == derived)
    except _Invalid:
        return True


def _shown(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)


def to_day(value: Cell, date_order: DateOrder | None) -> date:
    return to_datetime(value, date_order).date()


def _settings(ctx: _RowContext) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, column in ctx.layout.settings:  # settings are never derived: only the sheet's own
        if not ctx.has(column):
            continue
        value = ctx.get(column, _setting_converter(name))
        if value is not None:
            settings[name] = value
    if settings.get("waiting_room") and settings.get("join_before_host"):
        ctx.problem("settings.join_before_host", "ignored-value",
                    "waiting_room turns join_before_host off", warning=True)
    return settings


# --- cell converters: each takes a raw cell and returns a value or raises _Invalid --------


def to_text(value: Cell) -> str:
    if type(value) is str:  # the common case, decided without the checks below
        text = value.strip()
        if not text:
            raise _Invalid("missing-value", "the cell is empty")
        return text
    if isinstance(value, (datetime, date, time)):
        raise _Invalid("type-error", f"expected text, found a date {value}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise _Invalid("missing-value", "the cell is empty")
    return text


_SCIENTIFIC_RE = re.compile(r"[+-]?\d+(\.\d+)?[eE][+-]?\d+")
_SCIENTIFIC_START = frozenset("+-0123456789")
_URL_SCHEME_RE = re.compile(r"^https?://")
_WHOLE_NUMBER_RE = re.compile(r"[+-]?\d+(\.0+)?")
_TYPE_WORD_SPACING_RE = re.compile(r"[\s_\-()]")
_WEEKDAY_SPLIT_RE = re.compile(r"[,;/\s]+")
_EMAIL_SPLIT_RE = re.compile(r"[;,\s]+")


def to_identifier(value: Cell) -> str:
    """Identifiers are text: Excel's 396 is "396", "00123" stays "00123"."""
    if type(value) is str:  # the usual id, decided first; anything else falls through to the checks below
        text = value.strip()
        if text and text[0] not in _SCIENTIFIC_START:
            return text
    if isinstance(value, bool):
        raise _Invalid("type-error", f"expected an identifier, found {value}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        raise _Invalid("type-error",
                       f"{value!r} is not a whole number; format the column as Text in Excel and retype the id")
    text = to_text(value)
    if text[0] in _SCIENTIFIC_START and _SCIENTIFIC_RE.fullmatch(text):
        raise _Invalid("scientific-notation",
                       f"'{text}' is an id that Excel turned into scientific notation; "
                       "format the column as Text and retype the id")
    return text


def to_domain(value: Cell) -> str:
    text = to_identifier(value).lower()
    text = _URL_SCHEME_RE.sub("", text).rstrip("/")
    if "/" in text or " " in text or "." not in text:
        raise _Invalid("format-error", f"'{value}' is not a domain like canvas.example.edu")
    return text


def to_int(value: Cell) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise _Invalid("type-error", f"expected a whole number, found {value}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _Invalid("type-error", f"expected a whole number, found {value}")
    text = str(value).strip()
    if _WHOLE_NUMBER_RE.fullmatch(text):
        try:  # not int(float(text)): that loses digits past 2**53 and overflows on long text
            return int(text.split(".")[0])
        except ValueError:  # more digits than Python converts
            pass
    raise _Invalid("type-error", f"expected a whole number, found '{text}'")


def to_positive_int(value: Cell) -> int:
    number = to_int(value)
    if number <= 0:
        raise _Invalid("out-of-range", f"expected a number greater than 0, found {number}")
    return number


_INT_CHOICES: dict[tuple[Any, ...], bool] = {}


def _all_ints(choices: tuple[Any, ...]) -> bool:
    known = _INT_CHOICES.get(choices)
    if known is None:
        known = _INT_CHOICES[choices] = all(isinstance(c, int) for c in choices)
    return known


def to_choice(value: Cell, choices: tuple[Any, ...]) -> Any:
    if _all_ints(choices):
        number = to_int(value)
        if number not in choices:
            listed = ", ".join(str(c) for c in choices) if len(choices) < 10 else f"{choices[0]}-{choices[-1]}"
            raise _Invalid("out-of-range", f"{number} is not one of {listed}")
        return number
    text = to_text(value).lower()
    if text not in choices:
        raise _Invalid("out-of-range", f"'{text}' is not one of {', '.join(choices)}")
    return text


def to_meeting_type(value: Cell) -> int:
    if type(value) is int and value in (1, 2, 3, 8):
        return value
    if isinstance(value, str):
        word = _TYPE_WORD_SPACING_RE.sub("", value.lower())
        if word in TYPE_WORDS:
            return TYPE_WORDS[word]
    try:
        return to_choice(value, (1, 2, 3, 8))
    except _Invalid as exc:
        raise _Invalid("out-of-range",
                       f"{exc.message}; type is 1 instant, 2 scheduled, 3 recurring (no fixed time), "
                       "8 recurring (fixed time)") from None


def to_bool(value: Cell) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _Invalid("type-error", f"expected TRUE or FALSE (yes/no, 1/0), found '{value}'")


_ZONES: dict[str, str] | None = None


def zone_names() -> dict[str, str]:
    """The zone ids a timezone cell may name, by lower-case name: read from the zone
    database on first use (~45 ms)."""
    global _ZONES
    if _ZONES is None:
        # "localtime" and "Factory" are artefacts of a zone database, not zones Zoom knows.
        _ZONES = {name.lower(): name for name in available_timezones() - {"localtime", "Factory", "posixrules"}}
    return _ZONES


_TIMEZONES: dict[str, str] = {}  # cell text -> zone id, for the texts seen (a sheet uses a few)


def to_timezone(value: Cell) -> str:
    text = to_text(value)
    known = _TIMEZONES.get(text)
    if known is not None:
        return known
    name = _timezone(text)
    if len(_TIMEZONES) < 10_000:
        _TIMEZONES[text] = name
    return name


def _timezone(text: str) -> str:
    if text.lower() in UTC_NAMES:
        return "UTC"
    name = zone_names().get(text.lower().replace(" ", "_"))
    if name is None:
        raise _Invalid("unknown-timezone",
                       f"'{text}' is not a timezone id; use a name like America/New_York or Europe/London")
    try:
        _zone(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - listed zones load
        raise _Invalid("unknown-timezone", f"'{text}' is not a timezone id") from None
    return name


_ZONE_OBJECTS: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    """ZoneInfo(name), without ZoneInfo's own per-call cache lookup."""
    zone = _ZONE_OBJECTS.get(name)
    if zone is None:
        zone = _ZONE_OBJECTS[name] = ZoneInfo(name)
    return zone


def _utc_text(moment: datetime) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' of an aware datetime already in UTC (strftime's output, faster)."""
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def to_weekdays(value: Cell) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        parts = [str(to_int(value))]
    else:
        parts = [p for p in _WEEKDAY_SPLIT_RE.split(to_text(value)) if p]
    days: list[int] = []
    for part in parts:
        if not (part.isdecimal() and len(part) <= 2 and 1 <= int(part) <= 7):
            raise _Invalid("out-of-range",
                           f"weekly_days are numbers 1-7 (1 = Sunday) separated by commas; found '{value}'")
        if int(part) not in days:
            days.append(int(part))
    if not days:
        raise _Invalid("out-of-range", f"weekly_days are numbers 1-7 (1 = Sunday) separated by commas; found '{value}'")
    return ",".join(str(d) for d in sorted(days))


def to_email_list(value: Cell) -> str:
    emails = [p.strip() for p in _EMAIL_SPLIT_RE.split(to_text(value)) if p.strip()]
    for email in emails:
        if not EMAIL_RE.match(email):
            raise _Invalid("format-error", f"'{email}' is not an e-mail address")
    return ";".join(emails)


# --- dates --------------------------------------------------------------------------------

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_SLASH_RE = re.compile(
    r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")


def to_start_time(value: Cell, date_order: DateOrder | None) -> datetime:
    moment = to_datetime(value, date_order)
    if isinstance(value, str) and not _has_time(value):
        raise _Invalid("format-error", f"'{value}' has a date but no time of day; write e.g. 2026-09-08 10:00")
    return moment


def _has_time(text: str) -> bool:
    return ":" in text


def to_end_date_time(value: Cell, zone: str | None, date_order: DateOrder | None) -> str:
    """end_date_time is sent in UTC. A local value is read in the row's timezone. A date
    alone, or a local midnight (what an Excel date cell holds, however it was written back),
    means the end of that day, so the series keeps its last class."""
    moment = to_datetime(value, date_order)
    if moment.tzinfo is None and moment.time() == time(0, 0):
        moment = moment.replace(hour=23, minute=59, second=0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(zone) if zone and zone != "UTC" else timezone.utc)
    return _utc_text(moment.astimezone(timezone.utc))


def to_datetime(value: Cell, date_order: DateOrder | None) -> datetime:
    """A start time from an Excel date cell, an Excel serial number, or text."""
    moment = _to_datetime(value, date_order)
    # Also keeps timezone arithmetic away from datetime's limits (years 1 and 9999 overflow).
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise _Invalid("out-of-range",
                       f"'{value}': year {moment.year} is not a plausible meeting date; check the year")
    # Round, not truncate: Excel stores a time as a fraction of a day, so 10:00 can arrive as 09:59:59.999.
    if not moment.microsecond:
        return moment
    if moment.microsecond >= 500_000:
        moment += timedelta(seconds=1)
    return moment.replace(microsecond=0)


def _to_datetime(value: Cell, date_order: DateOrder | None) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, time):
        raise _Invalid("format-error", "the cell holds a time of day but no date")
    if isinstance(value, bool):
        raise _Invalid("type-error", f"expected a date and time, found {value}")
    if isinstance(value, (int, float)):
        if 20000 < value < 80000:  # an Excel serial date whose cell lost its date format
            return EXCEL_EPOCH + timedelta(days=float(value))
        raise _Invalid("type-error", f"expected a date and time, found the number {value}")
    return _parse_datetime_text(str(value).strip(), date_order)


def _parse_datetime_text(text: str, date_order: DateOrder | None) -> datetime:
    match = _ISO_RE.match(text)
    if match:
        year, month, day, hour, minute, second, offset = match.groups()
        moment = _build(text, int(year), int(month), int(day), hour, minute, second, None)
        if offset:
            moment = moment.replace(tzinfo=_offset(offset))
        return moment
    match = _SLASH_RE.match(text)
    if match:
        first, second_part, year, hour, minute, second, meridiem = match.groups()
        a, b = int(first), int(second_part)
        if date_order == "DMY":
            day, month = a, b
        elif date_order == "MDY":
            month, day = a, b
        elif a > 12 >= b:
            day, month = a, b
        elif b > 12 >= a:
            month, day = a, b
        elif a == b:
            day = month = a
        else:
            raise _Invalid("ambiguous-date",
                           f"'{text}' could be {a}/{b} or {b}/{a} (day/month); write it as YYYY-MM-DD "
                           "or run with --date-order DMY or MDY")
        return _build(text, int(year), month, day, hour, minute, second, meridiem)
    raise _Invalid("format-error",
                   f"'{text}' is not a date and time; write it as YYYY-MM-DD HH:MM (e.g. 2026-09-08 10:00)")


def _build(text: str, year: int, month: int, day: int, hour: str | None, minute: str | None,
           second: str | None, meridiem: str | None) -> datetime:
    h = int(hour or 0)
    if meridiem:
        if not 1 <= h <= 12:
            raise _Invalid("format-error", f"'{text}': {h} is not an hour on a 12-hour clock")
        h = h % 12 + (12 if meridiem.lower() == "pm" else 0)
    try:
        return datetime(year, month, day, h, int(minute or 0), int(second or 0))
    except ValueError as exc:
        raise _Invalid("format-error", f"'{text}' is not a real date and time ({exc})") from None


def _offset(text: str) -> timezone:
    if text.upper() == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise _Invalid("format-error", f"'{text}' is not a UTC offset; write e.g. +02:00 or Z")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
