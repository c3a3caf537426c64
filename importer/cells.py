"""What one cell may hold: each kind of column converts a raw cell into the value sent, or
raises `InvalidCell` with a code and a message that says how to fix it.

The kinds are declarative (their limits are fields): the column table (`columns.py`)
names one per column, the checker (`schema.py`) converts with it, and the template
(`template.py`) turns it into the spreadsheet's own checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from .models import Cell
from .timetable import parse_days, parse_time_range

DateOrder = Literal["DMY", "MDY"]

EMAIL_RE = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
PASSWORD_RE = re.compile(r"^[A-Za-z0-9@\-_*]+$")
EXCEL_EPOCH = datetime(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1900, 2999
UTC_NAMES = frozenset({"utc", "gmt", "z", "etc/utc", "etc/gmt"})
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "x", "wahr", "vrai"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "faux", "falsch"})

_SCIENTIFIC_RE = re.compile(r"[+-]?\d+(\.\d+)?[eE][+-]?\d+")
_URL_SCHEME_RE = re.compile(r"^https?://")
_WHOLE_NUMBER_RE = re.compile(r"[+-]?\d+(\.0+)?")
_WORD_SPACING_RE = re.compile(r"[\s_\-()]")
_WEEKDAY_SPLIT_RE = re.compile(r"[,;/\s]+")
_EMAIL_SPLIT_RE = re.compile(r"[;,\s]+")
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_SLASH_RE = re.compile(
    r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")


class InvalidCell(Exception):
    """A cell a kind cannot convert. Caught by the checker and made a `Problem` of that cell."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- the kinds of column ----------------------------------------------------------------------


class Kind:
    """How a column's cells are read. `convert` raises InvalidCell for a cell it cannot use."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Kind):
    max_length: int | None = None

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        text = to_text(value)
        if self.max_length is not None and len(text) > self.max_length:
            raise InvalidCell("too-long",
                              f"{column} has {len(text)} characters; Zoom allows at most {self.max_length:,}")
        return text


@dataclass(frozen=True)
class Identifier(Kind):
    """Text in, text out: Excel's 396 is "396", "00123" stays "00123"."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        return to_identifier(value)


@dataclass(frozen=True)
class Host(Kind):
    """userId: an identifier, and a valid address where it looks like an e-mail."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        user_id = to_identifier(value)
        if "@" in user_id and not EMAIL_RE.match(user_id):
            raise InvalidCell("format-error", "userId looks like an e-mail but is not a valid address")
        return user_id


@dataclass(frozen=True)
class Domain(Kind):
    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        text = _URL_SCHEME_RE.sub("", to_identifier(value).lower()).rstrip("/")
        if "/" in text or " " in text or "." not in text:
            raise InvalidCell("format-error", f"'{value}' is not a domain like canvas.example.edu")
        return text


@dataclass(frozen=True)
class Password(Kind):
    max_length: int

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        password = to_identifier(value)
        if len(password) > self.max_length or not PASSWORD_RE.match(password):
            raise InvalidCell("format-error",
                              f"password must be 1-{self.max_length} characters of letters, digits, @ - _ *")
        return password


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number from `minimum`. A column's maximum, where it has one, depends on the
    row's other cells (`Column.maximum`; the checker's recurrence rules)."""

    minimum: int = 1

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> int:
        number = to_int(value)
        if number < self.minimum:
            raise InvalidCell("out-of-range", f"expected a number greater than {self.minimum - 1}, found {number}")
        return number


@dataclass(frozen=True)
class Choice(Kind):
    """One of `options` (numbers or words); `words` are other spellings of an option."""

    options: tuple[int, ...] | tuple[str, ...]
    words: dict[str, int] = field(default_factory=dict)
    hint: str = ""  # said after the refusal, e.g. what each number means

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> int | str:
        if self.words and isinstance(value, str):
            word = _WORD_SPACING_RE.sub("", value.lower())
            if word in self.words:
                return self.words[word]
        try:
            return self._option(value)
        except InvalidCell as exc:
            if not self.hint:
                raise
            raise InvalidCell("out-of-range", f"{exc.message}; {self.hint}") from None

    def _option(self, value: Cell) -> int | str:
        if all(isinstance(option, int) for option in self.options):
            number = to_int(value)
            if number not in self.options:
                listed = (", ".join(str(option) for option in self.options) if len(self.options) < 10
                          else f"{self.options[0]}-{self.options[-1]}")
                raise InvalidCell("out-of-range", f"{number} is not one of {listed}")
            return number
        text = to_text(value).lower()
        if text not in self.options:
            raise InvalidCell("out-of-range", f"'{text}' is not one of {', '.join(map(str, self.options))}")
        return text


@dataclass(frozen=True)
class Boolean(Kind):
    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise InvalidCell("type-error", f"expected TRUE or FALSE (yes/no, 1/0), found '{value}'")


@dataclass(frozen=True)
class Timezone(Kind):
    """An IANA zone id (any case, spaces for `_`), or UTC."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        text = to_text(value)
        if text.lower() in UTC_NAMES:
            return "UTC"
        name = zone_names().get(text.lower().replace(" ", "_"))
        if name is None:
            raise InvalidCell("unknown-timezone",
                              f"'{text}' is not a timezone id; use a name like America/New_York or Europe/London")
        return name


@dataclass(frozen=True)
class DateTime(Kind):
    """A date and time: an Excel date cell, an Excel serial number, or text; `time_of_day`
    refuses text that gives only a date."""

    time_of_day: bool = True

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> datetime:
        moment = to_datetime(value, date_order)
        if self.time_of_day and isinstance(value, str) and ":" not in value:
            raise InvalidCell("format-error", f"'{value}' has a date but no time of day; write e.g. 2026-09-08 10:00")
        return moment


@dataclass(frozen=True)
class Date(Kind):
    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> date:
        return to_datetime(value, date_order).date()


@dataclass(frozen=True)
class Weekdays(Kind):
    """Zoom's weekly_days: numbers 1-7 (1 = Sunday), sent sorted without repeats: "2,4,6"."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts = [str(to_int(value))]
        else:
            parts = [p for p in _WEEKDAY_SPLIT_RE.split(to_text(value)) if p]
        if not parts or not all(p.isdecimal() and len(p) <= 2 and 1 <= int(p) <= 7 for p in parts):
            raise InvalidCell("out-of-range",
                              f"weekly_days are numbers 1-7 (1 = Sunday) separated by commas; found '{value}'")
        return ",".join(str(day) for day in sorted({int(p) for p in parts}))


@dataclass(frozen=True)
class Emails(Kind):
    """E-mail addresses, sent `;`-separated."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> str:
        emails = [p.strip() for p in _EMAIL_SPLIT_RE.split(to_text(value)) if p.strip()]
        for email in emails:
            if not EMAIL_RE.match(email):
                raise InvalidCell("format-error", f"'{email}' is not an e-mail address")
        return ";".join(emails)


@dataclass(frozen=True)
class Days(Kind):
    """Class days: 'Mon Wed Fri', 'MWF', 'Tu Th' (timetable.py) -> Python weekdays."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> list[int]:
        try:
            return parse_days(value)
        except ValueError as exc:
            raise InvalidCell("format-error", str(exc)) from None


@dataclass(frozen=True)
class ClassTime(Kind):
    """A class's time: '10:00-10:50', '2:30 PM' (timetable.py) -> (start, end or None)."""

    def convert(self, value: Cell, column: str, date_order: DateOrder | None) -> tuple[time, time | None]:
        try:
            return parse_time_range(value)
        except ValueError as exc:
            raise InvalidCell("format-error", str(exc)) from None


# --- the conversions the kinds share --------------------------------------------------------


def to_text(value: Cell) -> str:
    if isinstance(value, (datetime, date, time)):
        raise InvalidCell("type-error", f"expected text, found a date {value}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise InvalidCell("missing-value", "the cell is empty")
    return text


def to_identifier(value: Cell) -> str:
    """Identifiers are text: Excel's 396 is "396", "00123" stays "00123"."""
    if isinstance(value, bool):
        raise InvalidCell("type-error", f"expected an identifier, found {value}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        raise InvalidCell("type-error",
                          f"{value!r} is not a whole number; format the column as Text in Excel and retype the id")
    text = to_text(value)
    if _SCIENTIFIC_RE.fullmatch(text):
        raise InvalidCell("scientific-notation",
                          f"'{text}' is an id that Excel turned into scientific notation; "
                          "format the column as Text and retype the id")
    return text


def to_int(value: Cell) -> int:
    if isinstance(value, bool):
        raise InvalidCell("type-error", f"expected a whole number, found {value}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise InvalidCell("type-error", f"expected a whole number, found {value}")
    text = str(value).strip()
    if _WHOLE_NUMBER_RE.fullmatch(text):
        try:  # not int(float(text)): that loses digits past 2**53 and overflows on long text
            return int(text.split(".")[0])
        except ValueError:  # more digits than Python converts
            pass
    raise InvalidCell("type-error", f"expected a whole number, found '{text}'")


@cache
def zone_names() -> dict[str, str]:
    """The zone ids a timezone cell may name, by lower-case name (read from the zone database once)."""
    # "localtime" and "Factory" are artefacts of a zone database, not zones Zoom knows.
    return {name.lower(): name for name in available_timezones() - {"localtime", "Factory", "posixrules"}}


def utc_text(moment: datetime) -> str:
    """'YYYY-MM-DDTHH:MM:SSZ' of an aware datetime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def end_of_series(moment: datetime, zone: str | None) -> datetime:
    """end_date_time as an aware moment. A local value is read in the row's timezone; a date
    alone, or a local midnight (what an Excel date cell holds), means the end of that day,
    so the series keeps its last class."""
    if moment.tzinfo is None and moment.time() == time(0, 0):
        moment = moment.replace(hour=23, minute=59, second=0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone) if zone and zone != "UTC" else UTC)
    return moment


def to_datetime(value: Cell, date_order: DateOrder | None) -> datetime:
    """A moment from an Excel date cell, an Excel serial number, or text."""
    moment = _to_datetime(value, date_order)
    # Also keeps timezone arithmetic away from datetime's limits (years 1 and 9999 overflow).
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InvalidCell("out-of-range",
                          f"'{value}': year {moment.year} is not a plausible meeting date; check the year")
    # Round, not truncate: Excel stores a time as a fraction of a day, so 10:00 can arrive as 09:59:59.999.
    if moment.microsecond >= 500_000:
        moment += timedelta(seconds=1)
    return moment.replace(microsecond=0)


def _to_datetime(value: Cell, date_order: DateOrder | None) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, time):
        raise InvalidCell("format-error", "the cell holds a time of day but no date")
    if isinstance(value, bool):
        raise InvalidCell("type-error", f"expected a date and time, found {value}")
    if isinstance(value, (int, float)):
        if 20000 < value < 80000:  # an Excel serial date whose cell lost its date format
            return EXCEL_EPOCH + timedelta(days=float(value))
        raise InvalidCell("type-error", f"expected a date and time, found the number {value}")
    return _parse_datetime_text(str(value).strip(), date_order)


def _parse_datetime_text(text: str, date_order: DateOrder | None) -> datetime:
    match = _ISO_RE.match(text)
    if match:
        year, month, day, hour, minute, second, offset = match.groups()
        moment = _build(text, int(year), int(month), int(day), hour, minute, second, None)
        return moment.replace(tzinfo=_offset(offset)) if offset else moment
    match = _SLASH_RE.match(text)
    if match:
        first, second_part, year, hour, minute, second, meridiem = match.groups()
        a, b = int(first), int(second_part)
        if date_order == "DMY":
            day, month = a, b
        elif date_order == "MDY":
            month, day = a, b
        elif a > 12 >= b or a == b:  # only one reading is a date, or both readings are the same
            day, month = a, b
        elif b > 12 >= a:
            month, day = a, b
        else:
            raise InvalidCell("ambiguous-date",
                              f"'{text}' could be {a}/{b} or {b}/{a} (day/month); write it as YYYY-MM-DD "
                              "or run with --date-order DMY or MDY")
        return _build(text, int(year), month, day, hour, minute, second, meridiem)
    raise InvalidCell("format-error",
                      f"'{text}' is not a date and time; write it as YYYY-MM-DD HH:MM (e.g. 2026-09-08 10:00)")


def _build(text: str, year: int, month: int, day: int, hour: str | None, minute: str | None,
           second: str | None, meridiem: str | None) -> datetime:
    h = int(hour or 0)
    if meridiem:
        if not 1 <= h <= 12:
            raise InvalidCell("format-error", f"'{text}': {h} is not an hour on a 12-hour clock")
        h = h % 12 + (12 if meridiem.lower() == "pm" else 0)
    try:
        return datetime(year, month, day, h, int(minute or 0), int(second or 0))
    except ValueError as exc:
        raise InvalidCell("format-error", f"'{text}' is not a real date and time ({exc})") from None


def _offset(text: str) -> timezone:
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise InvalidCell("format-error", f"'{text}' is not a UTC offset; write e.g. +02:00 or Z")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
