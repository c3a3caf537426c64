"""The column table: every column the importer understands, declared once.

Each entry gives the column's canonical name, the other spellings coordinators use, how a
cell is converted (its `Kind`, with its limits), whether it is needed, its help text and
an example. The checker (`schema.py`), the template's drop-downs, checks and Help sheet
(`template.py`) and the README's column table (`markdown_table`) are all read from it.

Headers match case-insensitively, ignoring spaces, `_`, `-`, non-breaking spaces and a
trailing unit in brackets ("Start Time" = start_time, "Duration (minutes)" = duration).
Settings are `settings.<name>`, or the setting's name alone ("Waiting Room").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rapidfuzz import fuzz, process

from .cells import (
    Boolean,
    Choice,
    ClassTime,
    Date,
    DateTime,
    Days,
    Domain,
    Emails,
    Host,
    Identifier,
    Kind,
    Password,
    Text,
    Timezone,
    Weekdays,
    Whole,
)
from .errors import InputError
from .limits import AGENDA_MAX_CHARS, MAX_OCCURRENCES, PASSWORD_MAX_CHARS, REPEAT_MAX, TOPIC_MAX_CHARS
from .models import RESULT_COLUMNS


class Group(Enum):
    ROW = "the row, its host and its course"
    TIMETABLE = "the timetable: days, time and term dates that make a weekly series"
    MEETING = "the meeting"
    RECURRENCE = "Zoom's recurrence, for type 8"
    SETTING = "the meeting's settings"
    RESULT = "what a run said (a result sheet's own columns: recognised, never sent)"


class Need(Enum):
    ALWAYS = "a column every sheet has"
    WITHOUT_TIMETABLE = "a column every sheet has, unless it has the four timetable columns"
    OPTIONAL = "optional"


@dataclass(frozen=True)
class Column:
    name: str
    group: Group
    kind: Kind | None  # None: recognised, never converted (the result columns)
    required: str  # for the coordinator: "yes", "no", or when it is needed
    meaning: str
    format: str
    example: str
    need: Need = Need.OPTIONAL
    aliases: tuple[str, ...] = ()  # other spellings, written as `normalise` leaves them
    identifier: bool = False  # text in and out: "00123" stays "00123", 396 is never 396.0
    rule: str = ""  # the template's refusal, in one sentence, where the spreadsheet checks the cell
    maximum: int | None = None  # the largest whole number a cell may hold (the checker's row rules check it)

    @property
    def setting(self) -> str | None:
        """The setting's name in meetingInfo.settings, for a settings column."""
        return self.name.removeprefix("settings.") if self.group is Group.SETTING else None


TYPE_WORDS = {"instant": 1, "scheduled": 2, "recurring": 3, "recurringnofixedtime": 3, "recurringfixedtime": 8}
_TIMETABLE = "no (instead of type/start_time/recurrence)"
_TYPES = "type is 1 instant, 2 scheduled, 3 recurring (no fixed time), 8 recurring (fixed time)"
_BOOLEAN_FORMAT = "TRUE or FALSE (drop-down); empty = the account's default"


def _boolean(name: str, meaning: str, example: str) -> Column:
    return Column(f"settings.{name}", Group.SETTING, Boolean(), "no", meaning, _BOOLEAN_FORMAT, example,
                  rule=f"settings.{name} is TRUE or FALSE.")


def _choice(name: str, options: tuple[int, ...] | tuple[str, ...], meaning: str, fmt: str, example: str) -> Column:
    listed = ", ".join(map(str, options))
    return Column(f"settings.{name}", Group.SETTING, Choice(options), "no", meaning, fmt, example,
                  rule=f"settings.{name} is one of {listed}.")


def _result(name: str, meaning: str, identifier: bool = False) -> Column:
    return Column(name, Group.RESULT, None, "no", meaning, "", "", identifier=identifier)


COLUMNS: tuple[Column, ...] = (
    Column("row_id", Group.ROW, Identifier(), "no",
           "Your own stable id for the meeting. Re-runs recognise the row by it even after you edit its topic or "
           "time. Rows with the same row_id in different courses are one cross-listed meeting.",
           "text", "S27-BIO101-LEC", identifier=True),
    Column("userId", Group.ROW, Host(), "yes", "The host: their Zoom e-mail address or Zoom user id.",
           "text", "m.okafor@example.edu", Need.ALWAYS,
           ("host", "hostemail", "hostid", "hostuserid", "zoomhostuserid", "user", "zoomhost", "zoomhostemail",
            "zoomuser", "zoomuserid", "zoomemail", "instructoremail", "instructorzoomemail", "teacheremail"),
           identifier=True),
    Column("contextId", Group.ROW, Identifier(), "yes",
           "The LMS course's LTI context id (Canvas: GET /api/v1/courses/:id?include[]=lti_context_id).",
           "text; 40 hexadecimal characters in Canvas", "fcef0cfa12df0e2b6715e66ce4e1a75256f703c1",
           Need.ALWAYS, ("lticontextid", "ltiid"), identifier=True),
    Column("domain", Group.ROW, Domain(), "yes", "The host name of the LMS the course is in.",
           "host name, without https://", "canvas.example.edu", Need.ALWAYS, ("lmsdomain",), identifier=True),
    Column("courseId", Group.ROW, Identifier(), "no",
           "The LMS course id, the number in the course's web address (Canvas calendar and conversations need it).",
           "text", "48213", aliases=("canvascourseid", "lmscourseid", "livecourseid"), identifier=True),
    Column("sis_course_id", Group.ROW, Identifier(), "no (with Canvas: instead of contextId)",
           "The course's SIS id in Canvas. With CANVAS_URL and CANVAS_TOKEN set, the importer looks the course up "
           "(by this or by courseId) and fills contextId, courseId and domain.",
           "text", "2027SP-BIO-101-001", aliases=("sisid", "coursesisid"), identifier=True),
    Column("topic", Group.MEETING, Text(TOPIC_MAX_CHARS), "yes", "The meeting's title, as students see it.",
           f"text, at most {TOPIC_MAX_CHARS:,} characters", "BIO 101 Principles of Biology: Lecture",
           Need.ALWAYS, ("meetingtopic", "meetingname", "meetingtitle", "title"),
           rule=f"topic is at most {TOPIC_MAX_CHARS:,} characters."),
    Column("days", Group.TIMETABLE, Days(), _TIMETABLE,
           "The days the class meets. With time, first_day, last_day and timezone, the importer builds the "
           "weekly recurring meeting.",
           "text: day names or letters, e.g. Mon Wed Fri, MWF, Tu Th, TTh", "Mon Wed Fri",
           aliases=("meetingdays", "weekdays", "classdays", "coursedays", "daysofweek", "daysmet")),
    Column("time", Group.TIMETABLE, ClassTime(), _TIMETABLE,
           "When the class starts and ends, in the row's timezone; the end sets the duration.",
           "text: start-end, 24-hour or AM/PM, e.g. 10:00-10:50 or 2:30 PM - 3:45 PM", "10:00-10:50",
           aliases=("classtime", "classtimes", "meetingtime", "meetingtimes", "coursetime", "times")),
    Column("first_day", Group.TIMETABLE, Date(), _TIMETABLE,
           "The term's first day. The first class is the first of the days on or after it.",
           "date yyyy-mm-dd", "2027-01-11",
           aliases=("firstclass", "firstdayofclasses", "termstart", "termstartdate", "startdate", "coursestartdate",
                    "classesbegin"),
           rule="first_day is a date, yyyy-mm-dd, e.g. 2027-01-11."),
    Column("last_day", Group.TIMETABLE, Date(), _TIMETABLE,
           f"The term's last day; a class on it is included. Zoom allows at most {MAX_OCCURRENCES} classes in one "
           "meeting: split a longer term into two rows.",
           "date yyyy-mm-dd", "2027-04-30",
           aliases=("lastclass", "lastdayofclasses", "termend", "termenddate", "enddate", "courseenddate",
                    "classesend"),
           rule="last_day is a date, yyyy-mm-dd, e.g. 2027-01-11."),
    Column("timezone", Group.MEETING, Timezone(), "no (yes with days/time)",
           "The timezone time or start_time is in; Zoom uses the host's account timezone when empty.",
           "zone id from the drop-down, e.g. America/New_York, or UTC", "America/New_York",
           aliases=("timezoneid", "tz", "meetingtimezone"),
           rule="Pick a timezone from the list, e.g. America/New_York or UTC."),
    Column("type", Group.MEETING, Choice((1, 2, 3, 8), TYPE_WORDS, _TYPES),
           "yes, unless days/time/first_day/last_day are filled",
           "1 instant, 2 scheduled (one-off), 3 recurring with no fixed time, 8 recurring with a fixed time. "
           "Timetable rows are type 8 already.", "1, 2, 3 or 8 (drop-down)", "2", Need.WITHOUT_TIMETABLE,
           ("meetingtype",), rule=f"{_TYPES}."),
    Column("start_time", Group.MEETING, DateTime(), "yes, for types 2 and 8 (not with days/time)",
           "When the (first) meeting starts, in the row's timezone.",
           "date and time yyyy-mm-dd hh:mm (an Excel date cell or text; 03/04/2027 is refused as ambiguous)",
           "2027-01-11 09:00", Need.WITHOUT_TIMETABLE, ("start", "startdatetime", "meetingstartdatetime")),
    Column("duration", Group.MEETING, Whole(1), "no", "Length in minutes; Zoom uses 60 when empty.",
           "whole number greater than 0", "50",
           aliases=("durationminutes", "durationinminutes", "meetingduration", "meetingdurationminutes",
                    "meetinglength", "length"),
           rule="duration is a whole number of minutes, greater than 0."),
    Column("agenda", Group.MEETING, Text(AGENDA_MAX_CHARS), "no", "The meeting's description.",
           f"text, at most {AGENDA_MAX_CHARS:,} characters", "Slides and readings are in the course's Modules.",
           rule=f"agenda is at most {AGENDA_MAX_CHARS:,} characters."),
    Column("password", Group.MEETING, Password(PASSWORD_MAX_CHARS), "no", "The meeting passcode.",
           f"1-{PASSWORD_MAX_CHARS} characters: letters, digits, @ - _ *", "Rev1ew",
           rule=f"password is 1-{PASSWORD_MAX_CHARS} characters: letters, digits, @ - _ *"),
    Column("recurrence_type", Group.RECURRENCE, Choice((1, 2, 3)), "no (needed for type 8)",
           "How a type 8 meeting repeats: 1 daily, 2 weekly, 3 monthly.", "1, 2 or 3 (drop-down)", "2",
           rule="recurrence_type is 1 daily, 2 weekly, 3 monthly."),
    Column("repeat_interval", Group.RECURRENCE, Whole(1), "no", "Repeat every N days, weeks or months; 1 when empty.",
           f"whole number; at most {REPEAT_MAX[1]} (daily), {REPEAT_MAX[2]} (weekly), {REPEAT_MAX[3]} (monthly)", "1",
           rule=f"repeat_interval is a whole number: at most {REPEAT_MAX[1]} days, {REPEAT_MAX[2]} weeks or "
                f"{REPEAT_MAX[3]} months.", maximum=max(REPEAT_MAX.values())),
    Column("weekly_days", Group.RECURRENCE, Weekdays(), "no (needed for weekly recurrence)",
           "The days of the week a weekly meeting happens on.",
           "numbers 1-7 separated by commas, 1 = Sunday: 2,4,6 is Mon/Wed/Fri", "2,4,6"),
    Column("monthly_day", Group.RECURRENCE, Choice(tuple(range(1, 32))),
           "no (monthly: this, or monthly_week with monthly_week_day)",
           "The day of the month a monthly meeting happens on.", "whole number 1-31", "15",
           rule="monthly_day is a day of the month, 1-31."),
    Column("monthly_week", Group.RECURRENCE, Choice((-1, 1, 2, 3, 4)), "no",
           "The week of the month a monthly meeting happens in (with monthly_week_day).",
           "-1 (last), 1, 2, 3 or 4 (drop-down)", "1", rule="monthly_week is -1 (last), 1, 2, 3 or 4."),
    Column("monthly_week_day", Group.RECURRENCE, Choice(tuple(range(1, 8))), "no",
           "The day of the week for monthly_week.", "whole number 1-7, 1 = Sunday", "3",
           rule="monthly_week_day is 1-7, 1 = Sunday."),
    Column("end_times", Group.RECURRENCE, Whole(1),
           "no (end_times or end_date_time, never both)", "How many times a type 8 meeting happens.",
           f"whole number 1-{MAX_OCCURRENCES}", "45",
           rule=f"end_times is a whole number of occurrences, 1-{MAX_OCCURRENCES}.", maximum=MAX_OCCURRENCES),
    Column("end_date_time", Group.RECURRENCE, DateTime(time_of_day=False), "no",
           "When a type 8 series ends, in the row's timezone; a date alone means the end of that day.",
           "date and time yyyy-mm-dd hh:mm, or a date yyyy-mm-dd", "2027-04-29 23:59"),
    _boolean("host_video", "Start with the host's video on.", "TRUE"),
    _boolean("participant_video", "Start with participants' video on.", "FALSE"),
    _boolean("join_before_host",
             "Let participants join before the host (types 2, 3, 8); a waiting room turns it off.", "TRUE"),
    _choice("jbh_time", (0, 5, 10),
            "With join_before_host: how many minutes before the start participants may join (0 = any time).",
            "0, 5 or 10 (drop-down)", "5"),
    _boolean("mute_upon_entry", "Mute participants when they join.", "TRUE"),
    _boolean("waiting_room", "Hold participants in a waiting room until the host admits them.", "TRUE"),
    _choice("auto_recording", ("local", "cloud", "none"),
            "Record automatically: local (the host's computer), cloud, or none.",
            "local, cloud or none (drop-down)", "cloud"),
    Column("settings.alternative_hosts", Group.SETTING, Emails(), "no", "Other people who may start the meeting.",
           "e-mail addresses separated by ;", "ta.chem210@example.edu"),
    _choice("approval_type", (0, 1, 2),
            "Registration: 0 approve automatically, 1 approve manually, 2 no registration.",
            "0, 1 or 2 (drop-down)", "2"),
    _choice("audio", ("both", "telephony", "voip"),
            "Audio: both, telephony (phone only) or voip (computer only).",
            "both, telephony or voip (drop-down)", "both"),
    _boolean("meeting_authentication", "Only signed-in Zoom users may join.", "FALSE"),
    _result("import_status", "what happened to the row"),
    _result("meeting_id", "the Zoom meeting the row has", identifier=True),
    _result("error_code", "the problem's or the server's code"),
    _result("error_message", "what went wrong (empty when nothing did)"),
    _result("next_step", "what to do now, in words (empty when nothing)"),
    _result("warnings", "what is worth a look on a row that is otherwise fine"),
)

#: The table by canonical name.
BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}
#: The columns a coordinator fills in (the template's, in order): every group but the results.
INPUT_COLUMNS: tuple[Column, ...] = tuple(column for column in COLUMNS if column.group is not Group.RESULT)


def in_group(group: Group) -> tuple[str, ...]:
    """The names of a group's columns, in the table's order."""
    return tuple(column.name for column in COLUMNS if column.group is group)


TIMETABLE_FIELDS = in_group(Group.TIMETABLE)
RECURRENCE_FIELDS = in_group(Group.RECURRENCE)
SETTING_COLUMNS = in_group(Group.SETTING)
assert in_group(Group.RESULT) == RESULT_COLUMNS, "the result columns are models.RESULT_COLUMNS, in order"
REQUIRED = tuple(c.name for c in COLUMNS if c.need is not Need.OPTIONAL)
REQUIRED_WITH_TIMETABLE = tuple(c.name for c in COLUMNS if c.need is Need.ALWAYS)
IDENTIFIERS = tuple(c.name for c in COLUMNS if c.identifier)
#: The columns a Canvas lookup fills (courses.py), in the order it adds them to a sheet without them.
LOOKED_UP = ("contextId", "courseId", "domain")


# --- header matching ---------------------------------------------------------------------------


def normalise(header: str) -> str:
    """Lower case without spaces, `_`, `-` or a trailing unit in brackets: "Duration (minutes)"."""
    header = re.sub(r"\s*[(\[][^()\[\]]*[)\]]\s*$", "", header)
    return "".join(ch for ch in header.lower() if ch not in " _-\u00a0\t")


_SPELLINGS = {normalise(c.name): c.name for c in COLUMNS if c.group is not Group.SETTING}
_SPELLINGS.update({alias: c.name for c in COLUMNS for alias in c.aliases})
_SETTINGS = {normalise(c.setting): c.name for c in COLUMNS if c.setting}


def canonical_name(header: str) -> str | None:
    """The canonical column a header means, `settings.<name>` for settings, or None if unknown."""
    key = normalise(header)
    if key.startswith("settings"):  # "settings.waiting_room", or "Settings Waiting Room"
        return _SETTINGS.get(key.removeprefix("settings").lstrip(".:"))
    return _SPELLINGS.get(key) or _SETTINGS.get(key)  # "Waiting Room" alone is the setting


#: How alike (0-100, rapidfuzz's ratio of the normalised texts) a header must be to a column's
#: spellings to be named as its closest header. Only ever a suggestion: nothing is mapped by it.
SUGGESTION_CUTOFF = 80


def _closest(query: str, choices: Mapping[str, str], scorer: Any = fuzz.ratio) -> tuple[str, float] | None:
    """The choice (a key of `choices`, matched on its value) most like `query`, with its score.
    Whole texts are compared (`ratio`): "Course" is not close to "course time". A --map's header
    may be a part of the sheet's (`WRatio`: "Zoom Host" for "Zoom Host User ID")."""
    found = process.extractOne(normalise(query), choices, scorer=scorer, score_cutoff=SUGGESTION_CUTOFF)
    return (found[2], found[1]) if found else None


def _spellings(column: str) -> tuple[str, ...]:
    return (column, *BY_NAME[column].aliases) if column in BY_NAME else (column,)


def _likeness(header: str, column: str) -> float:
    key = normalise(header)
    return max(fuzz.ratio(key, normalise(spelling)) for spelling in _spellings(column))


def closest_header(column: str, headers: tuple[str, ...], rivals: tuple[str, ...] = ()) -> str | None:
    """The header most like any spelling of `column` (its name or an alias), if one is alike enough
    and is not more like one of the `rivals` (the other missing columns: "Meeting Timezone" is
    offered as timezone, not as time)."""
    scored = [(header, _likeness(header, column)) for header in headers if header]
    for header, score in sorted(scored, key=lambda found: -found[1]):
        if score < SUGGESTION_CUTOFF:
            break
        if max((column, *rivals), key=lambda other: _likeness(header, other)) == column:
            return header
    return None


def closest_column(text: str) -> str | None:
    """The input column whose name is most like `text` (for a --map that names no known column)."""
    found = _closest(text, {column.name: normalise(column.name) for column in INPUT_COLUMNS})
    return found[0] if found else None


def headers_key(headers: tuple[str, ...]) -> str:
    """What identifies a sheet's layout for a remembered --map: its headers, in order, without
    result columns (so a result sheet has its input's key)."""
    kept = [header for header in headers if canonical_name(header) not in RESULT_COLUMNS]
    return hashlib.sha256(json.dumps(kept, ensure_ascii=False).encode()).hexdigest()[:32]


def _map_option(header: str, column: str) -> str:
    return f'--map "{header}={column}"'


def _resolve_given(headers: tuple[str, ...], given: Mapping[str, str]) -> dict[str, int]:
    """Where each column named by a --map sits: canonical name -> position. InputError for a
    header the sheet does not have, or a column the importer does not know."""
    index: dict[str, int] = {}
    for header, column in given.items():
        matches = [p for p, h in enumerate(headers) if h and h.casefold() == header.strip().casefold()] or [
            p for p, h in enumerate(headers) if h and normalise(h) == normalise(header)]
        if len(matches) > 1:
            raise InputError(f"{_map_option(header, column)}: the sheet has {len(matches)} headers '{header}'; "
                             "rename one so the map names one column")
        position = matches[0] if matches else None
        if position is None:
            near = _closest(header, {h: normalise(h) for h in headers if h}, fuzz.WRatio)
            hint = f"; did you mean {_map_option(near[0], column)}?" if near else ""
            found = ", ".join(h for h in headers if h) or "none"
            raise InputError(f"{_map_option(header, column)}: the sheet has no header '{header}' "
                             f"(headers found: {found}){hint}")
        name = BY_NAME[column].name if column in BY_NAME else canonical_name(column)
        if name is None or name in RESULT_COLUMNS:
            near_column = closest_column(column)
            hint = f"; did you mean {_map_option(header, near_column)}?" if near_column else ""
            raise InputError(f"{_map_option(header, column)}: '{column}' is not a column the importer reads{hint} "
                             "(the columns are listed by `importer template` and in the README)")
        if name in index:
            raise InputError(f"--map names two headers for {name}: '{headers[index[name]]}' and '{headers[position]}'")
        if position in index.values():
            raise InputError(f"--map reads '{headers[position]}' as two columns; map a header once")
        index[name] = position
    return index


@dataclass(frozen=True)
class ColumnMap:
    """Where each known column sits in one sheet's rows."""

    headers: tuple[str, ...]
    index: dict[str, int]  # canonical name -> column index
    #: The headers read through a --map (header -> column), given now or remembered.
    mapped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, headers: tuple[str, ...], path: str = "", given: Mapping[str, str] | None = None,
              lookup: bool = False) -> ColumnMap:
        """The sheet's columns: those a --map names (`given`: header -> column), then every other
        header that is a column's name or alias. InputError for two headers meaning one column, or
        a required column missing (naming, for each, the closest header and the --map to use).
        With `lookup` (courses looked up in Canvas), a sheet that names its courses by courseId or
        sis_course_id needs no contextId or domain column: the lookup adds them."""
        index = _resolve_given(headers, given or {})
        mapped = {headers[position]: name for name, position in index.items()}
        for position, header in enumerate(headers):
            if position in index.values():
                continue
            name = canonical_name(header) if header else None
            if name is None:
                continue
            if name in index:
                how = " (by --map)" if headers[index[name]] in mapped else ""
                raise InputError(f"{path}: columns '{headers[index[name]]}'{how} and '{header}' both mean {name}; "
                                 "delete or rename one")
            index[name] = position
        missing = _missing(index, lookup)
        if missing:
            raise InputError(_missing_message(path, headers, index, missing))
        return cls(headers=headers, index=index, mapped=mapped)

    def header(self, name: str) -> str:
        """The header as the coordinator wrote it (for messages)."""
        return self.headers[self.index[name]] if name in self.index else name

    @property
    def output_positions(self) -> tuple[int, ...]:
        """Input columns carried to the result sheet: all but any old result columns."""
        dropped = {self.index[name] for name in RESULT_COLUMNS if name in self.index}
        return tuple(i for i in range(len(self.headers)) if i not in dropped)

    @property
    def text_positions(self) -> frozenset[int]:
        """The columns holding identifiers."""
        return frozenset(self.index[name] for name in IDENTIFIERS if name in self.index)


def _missing(index: dict[str, int], lookup: bool = False) -> list[str]:
    """The required columns a sheet lacks. A sheet with some of the timetable columns is written
    the timetable way: it lacks the rest of them, not type and start_time."""
    timetable = [name for name in TIMETABLE_FIELDS if name in index]
    needed = (*REQUIRED_WITH_TIMETABLE, *TIMETABLE_FIELDS, "timezone") if timetable else REQUIRED
    if lookup and ("courseId" in index or "sis_course_id" in index):
        needed = tuple(name for name in needed if name not in LOOKED_UP)
    return [name for name in needed if name not in index]


def _missing_message(path: str, headers: tuple[str, ...], index: dict[str, int], missing: list[str]) -> str:
    """One line: the missing columns, then for each the sheet's closest unused header and the --map to use."""
    unused = tuple(header for position, header in enumerate(headers) if header and position not in index.values())
    found = ", ".join(h for h in headers if h) or "none"
    line = f"{path}: missing required column(s) {', '.join(missing)} (headers found: {found})"
    closest = {name: closest_header(name, unused, tuple(other for other in missing if other != name))
               for name in missing}
    if not any(closest.values()):
        return f"{line}; no header is close to them: add them, or start from `importer template`"
    hints = [f"{name}: closest header '{near}', use {_map_option(near, name)}" if near
             else f"{name}: no header is close, add the column" for name, near in closest.items()]
    return f"{line}. {'; '.join(hints)}"


def markdown_table() -> str:
    """The README's column table, made from this one."""
    lines = ["| column | required | meaning | format | example |", "|---|---|---|---|---|"]
    for column in INPUT_COLUMNS:
        cells = (f"`{column.name}`", column.required, column.meaning, column.format, f"`{column.example}`")
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)

