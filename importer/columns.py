"""Header matching: which input column is which API field.

Headers match case-insensitively, ignoring spaces, `_`, `-` and non-breaking spaces
("Start Time" = start_time, "Context ID" = contextId). Settings are `settings.<name>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError
from .models import RESULT_COLUMNS

FIELDS = (
    "row_id", "userId", "contextId", "domain", "courseId", "topic", "type", "start_time",
    "duration", "timezone", "agenda", "password",
)
RECURRENCE_FIELDS = (
    "recurrence_type", "repeat_interval", "weekly_days", "monthly_day", "monthly_week",
    "monthly_week_day", "end_times", "end_date_time",
)
#: Timetable columns: days, time and term dates that build a weekly series (see timetable.py).
TIMETABLE_FIELDS = ("days", "time", "first_day", "last_day")
SETTINGS = (
    "host_video", "participant_video", "join_before_host", "jbh_time", "mute_upon_entry",
    "waiting_room", "auto_recording", "alternative_hosts", "approval_type", "audio",
    "meeting_authentication",
)
REQUIRED = ("userId", "contextId", "domain", "topic", "type", "start_time")
#: With the timetable columns, type and start_time follow from them.
REQUIRED_WITH_TIMETABLE = ("userId", "contextId", "domain", "topic")
#: Columns holding identifiers: always text in and out (396 -> "396", never 396.0).
IDENTIFIERS = ("row_id", "userId", "contextId", "domain", "courseId", "meeting_id")

#: Spellings coordinators use that are not a normalised canonical name.
ALIASES = {
    "host": "userId", "hostemail": "userId", "hostid": "userId", "user": "userId",
    "lticontextid": "contextId", "lmsdomain": "domain", "canvascourseid": "courseId",
    "meetingtopic": "topic", "meetingtype": "type", "start": "start_time",
    "durationminutes": "duration", "timezoneid": "timezone", "tz": "timezone",
    "rowid": "row_id",
    "meetingdays": "days", "weekdays": "days", "classdays": "days", "classtime": "time",
    "meetingtime": "time", "times": "time", "firstclass": "first_day", "termstart": "first_day",
    "startdate": "first_day", "lastclass": "last_day", "termend": "last_day", "enddate": "last_day",
}


def normalise(header: str) -> str:
    """Lower case without spaces, `_`, `-` or a trailing unit in brackets: "Duration (minutes)"."""
    header = re.sub(r"\s*[(\[][^()\[\]]*[)\]]\s*$", "", header)
    return "".join(ch for ch in header.lower() if ch not in " _-\u00a0\t")


_CANONICAL = {normalise(name): name for name in FIELDS + RECURRENCE_FIELDS + TIMETABLE_FIELDS + RESULT_COLUMNS}
_CANONICAL.update(ALIASES)
_SETTINGS = {normalise(name): name for name in SETTINGS}


def canonical_name(header: str) -> str | None:
    """The canonical field for a header, `settings.<name>` for settings, or None if unknown."""
    key = normalise(header)
    if key.startswith("settings"):  # "settings.waiting_room", or "Settings Waiting Room"
        setting = _SETTINGS.get(key.removeprefix("settings").lstrip(".:"))
        return f"settings.{setting}" if setting else None
    if key in _CANONICAL:
        return _CANONICAL[key]
    setting = _SETTINGS.get(key)  # "Waiting Room" alone is understood as the setting
    return f"settings.{setting}" if setting else None


@dataclass(frozen=True)
class ColumnMap:
    """Where each known field sits in a sheet's rows, and which columns pass through."""

    headers: tuple[str, ...]
    index: dict[str, int]  # canonical name -> column index

    @classmethod
    def build(cls, headers: tuple[str, ...], path: str = "") -> ColumnMap:
        index: dict[str, int] = {}
        for position, header in enumerate(headers):
            name = canonical_name(header) if header else None
            if name is None:
                continue
            if name in index:
                first = headers[index[name]]
                raise InputError(
                    f"{path}: columns '{first}' and '{header}' both mean {name}; delete or rename one"
                )
            index[name] = position
        timetable = all(name in index for name in TIMETABLE_FIELDS)
        missing = [name for name in (REQUIRED_WITH_TIMETABLE if timetable else REQUIRED) if name not in index]
        if missing:
            found = ", ".join(h for h in headers if h) or "none"
            raise InputError(
                f"{path}: missing required column(s) {', '.join(missing)} "
                f"(headers found: {found}); start from `importer template`"
            )
        return cls(headers=headers, index=index)

    def header(self, name: str) -> str:
        """The header as the coordinator wrote it (for messages)."""
        return self.headers[self.index[name]] if name in self.index else name

    @property
    def result_positions(self) -> frozenset[int]:
        return frozenset(self.index[name] for name in RESULT_COLUMNS if name in self.index)

    @property
    def output_positions(self) -> tuple[int, ...]:
        """Input columns carried to the result sheet: all but any old result columns."""
        dropped = self.result_positions
        return tuple(i for i in range(len(self.headers)) if i not in dropped)

    @property
    def text_positions(self) -> frozenset[int]:
        return frozenset(self.index[name] for name in IDENTIFIERS if name in self.index)
