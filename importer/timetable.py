"""Timetable columns: "BIO 101, Mon/Wed/Fri 10:00-10:50, 7 Sep to 11 Dec" -> a Zoom weekly series.

Coordinators think in days, times and term dates, not in recurrence objects. These pure
functions turn `days`, `time`, `first_day` and `last_day` into the type 8 meeting Zoom
wants; the schema decides what to do with disagreements. Errors are `ValueError`s with
a message that says how to fix the cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .limits import MAX_OCCURRENCES

# Python weekday (Mon=0) -> Zoom weekly_days (Sun=1 .. Sat=7).
ZOOM_DAY = {0: 2, 1: 3, 2: 4, 3: 5, 4: 6, 5: 7, 6: 1}
DAY_NAMES = {
    "mon": 0, "monday": 0, "mo": 0, "tue": 1, "tues": 1, "tuesday": 1, "tu": 1, "wed": 2, "weds": 2,
    "wednesday": 2, "we": 2, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "th": 3, "fri": 4,
    "friday": 4, "fr": 4, "sat": 5, "saturday": 5, "sa": 5, "sun": 6, "sunday": 6, "su": 6,
}
# Registrar shorthand: "MWF", "TTh", "TR", "MTWRF"; two-letter codes are matched first.
COMPACT = (("th", 3), ("tu", 1), ("sa", 5), ("su", 6), ("m", 0), ("t", 1), ("w", 2), ("r", 3),
           ("f", 4), ("u", 6))
TIME_RE = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Series:
    start: datetime  # the first occurrence, local time in the row's timezone (naive)
    duration: int | None
    weekly_days: str  # Zoom numbering, e.g. "2,4,6"
    end_date_time: str  # UTC, covering the last day
    occurrences: int


def parse_days(value: object) -> list[int]:
    """Python weekdays (Mon=0) from 'Mon Wed Fri', 'M/W/F', 'MWF', 'TTh', 'Monday, Wednesday'."""
    text = str(value).strip().lower()
    tokens = [t for t in re.split(r"[\s,/;&+.-]+", text) if t]
    if not tokens:
        raise ValueError("no days given; write e.g. Mon Wed Fri, MWF or Tu Th")
    days: list[int] = []
    for token in tokens:
        for day in ([DAY_NAMES[token]] if token in DAY_NAMES else _compact(token, value)):
            if day not in days:
                days.append(day)
    return sorted(days)


def _compact(token: str, original: object) -> list[int]:
    days, rest = [], token
    while rest:
        for code, day in COMPACT:
            if rest.startswith(code):
                days.append(day)
                rest = rest[len(code):]
                break
        else:
            raise ValueError(f"'{original}' is not a list of days; write e.g. Mon Wed Fri, MWF or Tu Th")
    return days


def parse_time_range(value: object) -> tuple[time, time | None]:
    """'10:00', '10:00-10:50', '10am', '2:30 PM', '9-10:15am'; an Excel time cell."""
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0), None
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0), None
    text = str(value).strip()
    parts = [p.strip() for p in re.split(r"\s*(?:-|–|—|\bto\b)\s*", text, flags=re.IGNORECASE) if p.strip()]
    if len(parts) not in (1, 2):
        raise ValueError(f"'{text}' is not a time; write e.g. 10:00, 10:00-10:50 or 2:30 PM")
    parsed = [_clock(p, text) for p in parts]
    start, start_meridiem = parsed[0]
    if len(parsed) == 1:
        return _to_time(start, start_meridiem, text), None
    end, end_meridiem = parsed[1]
    if start_meridiem is None and end_meridiem is not None:
        # "9-10:15am": the start shares the end's half of the day unless that would put it after the end.
        same = _to_time(start, end_meridiem, text)
        start_meridiem = end_meridiem if same <= _to_time(end, end_meridiem, text) else "am"
    return _to_time(start, start_meridiem, text), _to_time(end, end_meridiem or start_meridiem, text)


def _clock(part: str, text: str) -> tuple[tuple[int, int], str | None]:
    match = TIME_RE.match(part)
    if not match:
        raise ValueError(f"'{text}' is not a time; write e.g. 10:00, 10:00-10:50 or 2:30 PM")
    hour, minute, meridiem = match.groups()
    return (int(hour), int(minute or 0)), (meridiem.replace(".", "").lower() if meridiem else None)


def _to_time(clock: tuple[int, int], meridiem: str | None, text: str) -> time:
    hour, minute = clock
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(f"'{text}': {hour} is not an hour on a 12-hour clock")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"'{text}' is not a time of day")
    return time(hour, minute)


def expand(days: list[int], start: time, end: time | None, first_day: date, last_day: date,
           zone: str) -> Series:
    """The weekly series that holds every class from first_day to last_day (inclusive)."""
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    duration = None
    if end is not None:
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if minutes <= 0:
            raise ValueError(f"the class ends ({end:%H:%M}) before it starts ({start:%H:%M})")
        duration = minutes
    dates = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    classes = [d for d in dates if d.weekday() in days]
    if not classes:
        raise ValueError(f"no {_names(days)} falls between {first_day} and {last_day}")
    if len(classes) > MAX_OCCURRENCES:
        raise ValueError(f"{len(classes)} classes from {first_day} to {last_day}: Zoom allows at most "
                         f"{MAX_OCCURRENCES} in one recurring meeting; split the term into two rows")
    last_end = datetime.combine(last_day, time(23, 59)).replace(tzinfo=ZoneInfo(zone))
    return Series(
        start=datetime.combine(classes[0], start),
        duration=duration,
        weekly_days=",".join(str(ZOOM_DAY[d]) for d in sorted(days, key=lambda d: ZOOM_DAY[d])),
        end_date_time=last_end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        occurrences=len(classes),
    )


def _names(days: list[int]) -> str:
    labels = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return "/".join(labels[d] for d in days)
