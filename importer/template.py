"""`importer template`: an empty schedule with the columns the importer understands.

`write_template(path)` writes `.xlsx` or `.csv` by the path's extension; `write_template(path,
rows)` writes it with data rows already filled in (from row 3 of Schedule, under the same
guidance), e.g. `canvas_term_rows`: one row per course of a Canvas term (`importer template
PATH --canvas-term TERM`).

The .xlsx has four sheets: "Schedule" (ready to fill in: drop-downs and range checks made
from the column table's kinds and rules (`columns.py`), an input message on every header cell,
identifier, days and time columns stored as text, term dates formatted as dates, start
times as date-times), "Help" (every column explained, the timetable way first), "Example"
(filled rows that validate clean: timetable rows first, then explicit API rows) and a
hidden "Lists" sheet feeding the timezone drop-down. The .csv is the header row alone
(UTF-8 with BOM), without the legend.

The first screen of Schedule guides a coordinator:

- Row 1 is a one-line legend (cell A1 alone: the reader takes a row of one value above
  the header for a title, see reader.py), the header is row 2 and data starts in row 3.
- The quick columns come first: the row's ids and course, topic, the timetable (days,
  time, first_day, last_day; see timetable.py) and timezone, the easiest way to describe a
  weekly class. The panes are frozen below the header and right of topic, so the ids and
  the topic stay in view.
- The other columns are grouped with Excel's outline, their button left of each group: the
  advanced columns (type, start_time, duration, agenda, password, the recurrence) at level
  1, shown, since one-off sessions and other series need them and a coordinator should see
  that they exist; the settings nested inside at level 2, collapsed, since Zoom's defaults
  (an empty cell) suit most rows and 11 more columns would push the rest off the screen.
  The outline buttons 1, 2, 3 show the quick columns, then the advanced, then all.
- An empty cell a filled row needs turns red (conditional formatting): userId, contextId,
  domain and topic always; type when none of the timetable columns is filled; start_time
  when none is filled and type is not 1 or 3 (instant, no fixed time); the other timetable
  columns and timezone once one timetable column is filled. These are the checker's own
  rules (schema.py), so a red cell is one `importer validate` would refuse.

Example has the same layout, with a last column, "about this example", saying what each
row shows (a column the importer does not know is carried to the result sheet untouched and
never sent, so the rows stay valid), and the same words in a note on the row's row_id.
Help's rows have explicit heights (estimated from the text and the column widths), since
LibreOffice does not grow a wrapped row by itself. Schedule, Help and Example print
landscape, one page wide, with the header rows on every page; the print area of Schedule and
Example is the template's columns and its 2,000 prepared rows, of which Excel and LibreOffice
print only the pages that have something in them (the template alone prints on one page,
where it printed 13 pages of header cells before).

The output is deterministic, byte for byte: fixed document dates, XlsxWriter's fixed zip
timestamps (in-memory mode), and fixed data, so the copies committed under `templates/`
can be compared with a fresh one in the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import secrets
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cells import (
    Boolean,
    Choice,
    ClassTime,
    Date,
    DateTime,
    Days,
    Password,
    Text,
    Timezone,
    Weekdays,
    Whole,
    zone_names,
)
from .columns import (
    BY_NAME,
    INPUT_COLUMNS,
    REQUIRED_WITH_TIMETABLE,
    SETTING_COLUMNS,
    TIMETABLE_FIELDS,
    Column,
    Group,
    Need,
)
from .errors import ConfigError, InputError
from .limits import EXCEL_MAX_ROWS, MAX_OCCURRENCES
from .models import RESULT_COLUMNS
from .resultsheet import cell_text

if TYPE_CHECKING:
    from .canvas import CanvasTerm
    from .models import CanvasCourse
    from .options import Canvas

#: A data row to fill in: template column name -> value (str, int, float, bool, date, datetime).
Row = Mapping[str, Any]

#: The template's columns, in order: the column table's (the timetable columns and timezone
#: right after topic, before the API columns type, start_time, ... that they replace).
TEMPLATE_COLUMNS: tuple[str, ...] = tuple(column.name for column in INPUT_COLUMNS)
#: The timezone column: optional for an API row, needed by a timetable row (schema.py).
TIMEZONE = "timezone"
#: The quick columns, all a weekly class needs: the row's ids and course, what every row
#: needs (topic), the timetable and its timezone. They come first in the column table.
QUICK_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in INPUT_COLUMNS
    if column.group in (Group.ROW, Group.TIMETABLE) or column.need is Need.ALWAYS or column.name == TIMEZONE)
#: The advanced columns, for other kinds of meeting: the rest of the meeting's and the recurrence.
ADVANCED_COLUMNS: tuple[str, ...] = tuple(
    name for name in TEMPLATE_COLUMNS if name not in QUICK_COLUMNS and name not in SETTING_COLUMNS)
#: Excel outline levels: the advanced columns shown, the settings nested inside them, collapsed.
ADVANCED_LEVEL = 1
SETTINGS_LEVEL = 2
#: The last column frozen in view (with every column left of it).
FROZEN_THROUGH = "topic"

SUFFIXES = (".xlsx", ".csv")
SCHEDULE_SHEET = "Schedule"
HELP_SHEET = "Help"
EXAMPLE_SHEET = "Example"
LISTS_SHEET = "Lists"

#: Schedule's and Example's rows (zero-based): the legend, the header, the first data row.
LEGEND_ROW, HEADER_ROW, FIRST_ROW = 0, 1, 2
LEGEND = ("Dark headers are required in every row · light ones are optional · an empty cell means Zoom's "
          "default · a red cell needs a value · see the Help sheet")
EXAMPLE_LEGEND = ("Example rows, all valid: the last column says what each one shows · copy a row to the "
                  "Schedule sheet to start from it · see the Help sheet")
#: Example's last column: what the row shows. The importer carries it through, never sends it.
ABOUT_COLUMN = "about this example"

#: Data rows (below the header) whose cells carry the Text / date-time number formats.
#: The whole column carries them too, for Excel; the cells make it explicit for any reader.
FORMATTED_ROWS = 2000
#: Columns stored as text, so Excel keeps 00123, long ids and "2,4,6" as written, and
#: "10:00-10:50" stays text (a time cell would also be accepted).
TEXT_COLUMNS = tuple(column.name for column in INPUT_COLUMNS
                     if column.identifier or isinstance(column.kind, (Days, ClassTime, Password, Weekdays)))
DATE_COLUMNS = tuple(column.name for column in INPUT_COLUMNS if isinstance(column.kind, Date))
DATETIME_COLUMNS = tuple(column.name for column in INPUT_COLUMNS if isinstance(column.kind, DateTime))
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
#: The range Excel's check on first_day/last_day allows (the importer has its own year checks).
TERM_DATE_MIN = date(2020, 1, 1)
TERM_DATE_MAX = date(2100, 12, 31)
#: Fixed document dates: the same bytes every time.
CREATED = datetime(2026, 1, 1, 0, 0, 0)
INPUT_TITLE_MAX = 32
#: A choice of more options than this is checked as a range of whole numbers, not a drop-down.
DROP_DOWN_MAX = 5
#: An empty cell that a filled row needs (Excel's "light red fill with dark red text").
MISSING_FILL = "#FFC7CE"
MISSING_FONT = "#9C0006"

#: Help's column widths (Excel's unit: the width of a digit of the default font).
HELP_WIDTHS = (34, 26, 60, 44, 40)
#: Characters of text a column holds per unit of its width. English text averages narrower
#: than a digit: about 1.25 characters a unit in Calibri, and in DejaVu Sans, which LibreOffice
#: draws where Calibri is missing (and widens the columns to match); 1.1 leaves room, so that
#: a row is never too short.
CHARS_PER_UNIT = 1.1
#: Points a line of the default font (11 point) takes: Excel's default row height.
LINE_POINTS = 15

HOW_IT_WORKS = (
    "Fill in one row per class or meeting on the Schedule sheet. The Example sheet shows filled rows; the table "
    "below explains every column.",
    "The easiest way: fill days, time, first_day, last_day and timezone (e.g. Mon Wed Fri, 10:00-10:50, "
    "2027-01-11, 2027-04-30, America/New_York). The importer builds the weekly recurring meeting from them: "
    "one row for the whole term, not one row per week.",
    "Then leave type, start_time, duration and the recurrence columns empty (if you fill them too, they must "
    "agree). Use type, start_time and the recurrence columns only for other kinds of meeting: a one-off "
    "session (type 2), a daily or monthly series, a series every other week.",
    f"Zoom allows at most {MAX_OCCURRENCES} classes in one recurring meeting; split a longer term into two rows.",
    "Select a header cell for a note on its column. Dark headers are always required. An empty cell means "
    "Zoom's default. Columns you add are carried to the result sheet untouched.",
    "The Schedule sheet starts with the quick columns, the ids, topic and the timetable. The advanced columns "
    "follow, and the settings are folded away: click + above the columns, or the outline level 3, to show "
    "them. A cell turns red when its row is filled but the cell, which the row needs, is empty.",
    "Check the sheet with `importer validate FILE` (sends nothing), then `importer run FILE` creates each "
    "meeting in Zoom and adds it to its course.",
    f"Both write a result sheet: your rows plus {len(RESULT_COLUMNS)} columns, {', '.join(RESULT_COLUMNS[:-1])} "
    f"and {RESULT_COLUMNS[-1]} (see the end of this sheet). Fix what it asks for in the result sheet and run "
    "that sheet again: meetings that exist are never created twice.",
)


def validation(column: Column, zone_count: int) -> dict[str, Any] | None:
    """The spreadsheet's own check of a column's cells (XlsxWriter data_validation options),
    made from the column's kind and its rule; None where the spreadsheet cannot check it."""
    kind = column.kind
    rule: dict[str, Any]
    if isinstance(kind, Text) and kind.max_length is not None:
        rule = {"validate": "length", "criteria": "<=", "value": kind.max_length}
    elif isinstance(kind, Password):
        rule = {"validate": "length", "criteria": "between", "minimum": 1, "maximum": kind.max_length}
    elif isinstance(kind, Whole) and column.maximum is None:
        rule = {"validate": "integer", "criteria": ">", "value": kind.minimum - 1}
    elif isinstance(kind, Whole):
        rule = {"validate": "integer", "criteria": "between", "minimum": kind.minimum, "maximum": column.maximum}
    elif isinstance(kind, Choice) and len(kind.options) > DROP_DOWN_MAX:
        rule = {"validate": "integer", "criteria": "between", "minimum": min(kind.options),
                "maximum": max(kind.options)}
    elif isinstance(kind, Choice):
        rule = {"validate": "list", "source": [str(option) for option in kind.options]}
    elif isinstance(kind, Boolean):
        rule = {"validate": "list", "source": ["TRUE", "FALSE"]}
    elif isinstance(kind, Timezone):
        rule = {"validate": "list", "source": f"={LISTS_SHEET}!$A$1:$A${zone_count}"}
    elif isinstance(kind, Date):
        rule = {"validate": "date", "criteria": "between", "minimum": TERM_DATE_MIN, "maximum": TERM_DATE_MAX}
    else:
        return None
    return {**rule, "error_message": column.rule, "error_title": column.name[:INPUT_TITLE_MAX]}


def input_message(column: str) -> str:
    """The note shown when the header cell is selected (Excel allows 255 characters)."""
    info = BY_NAME[column]
    required = "Required" if info.required == "yes" else info.required[0].upper() + info.required[1:]
    return f"{required}. {info.meaning} Format: {info.format}."


def timezone_names() -> list[str]:
    """The timezone drop-down: IANA zone ids the importer accepts, sorted, with UTC.

    Only names shipped in the `tzdata` package (a dependency) are listed, so the template
    does not depend on what the machine's own zone folder happens to hold ("localtime").
    """
    names = set(zone_names().values())  # what a timezone cell may name
    try:
        from importlib.resources import files

        shipped = set(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a dependency
        shipped = names
    return sorted((names & shipped) | {"UTC"})


# --- the Example sheet's rows: valid, in 2027, one course per contextId -------------------

EXAMPLE_ROWS: tuple[dict[str, Any], ...] = (
    # The timetable way first: days, time, first_day, last_day and timezone make the weekly
    # type 8 meeting; type, start_time, duration and the recurrence columns stay empty.
    {  # a Mon/Wed/Fri lecture for the whole term (48 classes; Zoom allows 50)
        ABOUT_COLUMN: "weekly lecture, the timetable way: days, time, first_day, last_day, timezone",
        "row_id": "S27-BIO101-LEC", "userId": "m.okafor@example.edu",
        "contextId": "fcef0cfa12df0e2b6715e66ce4e1a75256f703c1", "domain": "canvas.example.edu",
        "courseId": "48213", "topic": "BIO 101 Principles of Biology: Lecture",
        "days": "Mon Wed Fri", "time": "10:00-10:50", "first_day": date(2027, 1, 11), "last_day": date(2027, 4, 30),
        "timezone": "America/New_York", "agenda": "Slides and readings are in the course's Modules.",
        "settings.host_video": True, "settings.participant_video": False, "settings.mute_upon_entry": True,
        "settings.waiting_room": True, "settings.auto_recording": "cloud", "settings.audio": "both",
        "settings.meeting_authentication": False,
    },
    {  # a Tue/Thu afternoon lecture, with a TA as alternative host; the first class is Tuesday the 12th
        ABOUT_COLUMN: "Tue/Thu lecture, the timetable way, AM/PM times, a TA as alternative host",
        "row_id": "S27-CHEM210-LEC", "userId": "r.alvarez@example.edu",
        "contextId": "3f4419a03c2d3d424cf71252898a3aa7783772b0", "domain": "canvas.example.edu",
        "courseId": "48377", "topic": "CHEM 210 Organic Chemistry: Lecture",
        "days": "Tu Th", "time": "2:30 PM - 3:45 PM", "first_day": date(2027, 1, 11), "last_day": date(2027, 4, 30),
        "timezone": "America/Chicago",
        "settings.host_video": True, "settings.participant_video": True, "settings.join_before_host": True,
        "settings.jbh_time": 5, "settings.mute_upon_entry": True, "settings.waiting_room": False,
        "settings.auto_recording": "local", "settings.alternative_hosts": "ta.chem210@example.edu",
        "settings.audio": "voip",
    },
    # The explicit API way, for other kinds of meeting.
    {  # a one-off exam review
        ABOUT_COLUMN: "one-off review (type 2): type, start_time and duration instead of a timetable",
        "row_id": "S27-BIO101-MIDREV", "userId": "m.okafor@example.edu",
        "contextId": "fcef0cfa12df0e2b6715e66ce4e1a75256f703c1", "domain": "canvas.example.edu",
        "courseId": "48213", "topic": "BIO 101 Midterm review", "type": 2,
        "start_time": datetime(2027, 3, 2, 18, 0), "duration": 90, "timezone": "America/New_York",
        "agenda": "Bring your questions on units 1-4.", "password": "Rev1ew",
        "settings.host_video": True, "settings.participant_video": False, "settings.mute_upon_entry": True,
        "settings.waiting_room": True, "settings.auto_recording": "cloud", "settings.approval_type": 2,
        "settings.audio": "both",
    },
    # a cross-listed seminar: the same row_id in two courses is one meeting, linked to both
    *(
        {
            ABOUT_COLUMN: f"cross-listed seminar, course {number} of 2: one row_id, one meeting; type 8, the "
                          "recurrence columns",
            "row_id": "S27-HIST240-SEM", "userId": "s.chen@example.edu", "contextId": context,
            "domain": "canvas.example.edu", "courseId": course,
            "topic": "HIST 240 / POLS 240 joint seminar", "type": 8,
            "start_time": datetime(2027, 1, 13, 15, 0), "duration": 110, "timezone": "America/Los_Angeles",
            "recurrence_type": 2, "repeat_interval": 1, "weekly_days": "4", "end_times": 15,
            "settings.host_video": True, "settings.participant_video": True, "settings.waiting_room": True,
            "settings.auto_recording": "none", "settings.audio": "both",
        }
        for number, (context, course) in enumerate((("409e62824c0c90714a179c6b47f6f29af7232d0d", "48502"),
                                                    ("1ba54235fa1e0aefa52ccc711ca65c8fb47b7c41", "48519")),
                                                   start=1)
    ),
)


# --- writing ------------------------------------------------------------------------------


def check_template_path(path: Path) -> str:
    """The template's suffix (".xlsx" or ".csv"); InputError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        found = f"'{path.suffix}'" if path.suffix else "no extension"
        raise InputError(f"{path}: a template is .xlsx or .csv, not {found}; e.g. importer template term-schedule.xlsx")
    return suffix


def write_template(path: Path, rows: Sequence[Row] = ()) -> None:
    """Write the template to `path` (.xlsx or .csv), atomically, with `rows` filled in (none: the
    empty template, byte for byte the committed one)."""
    path = Path(path)
    _write_atomically(path, template_bytes(check_template_path(path), rows))


def template_bytes(suffix: str, rows: Sequence[Row] = ()) -> bytes:
    """The template's bytes for ".xlsx" or ".csv", with `rows` filled in below the header."""
    for row in rows:
        unknown = sorted(set(row) - set(TEMPLATE_COLUMNS))
        if unknown:
            raise ValueError(f"not template columns: {', '.join(unknown)}")
    if suffix == ".csv":
        return _csv_bytes(rows)
    if suffix == ".xlsx":
        return _xlsx_bytes(rows)
    raise InputError(f"a template is .xlsx or .csv, not '{suffix}'")


def _csv_bytes(rows: Sequence[Row] = ()) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_COLUMNS)
    writer.writerows([cell_text(row.get(name)) for name in TEMPLATE_COLUMNS] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


# --- a Canvas term's courses, one row each ------------------------------------------------

#: --canvas-account's default: Canvas's root account.
DEFAULT_CANVAS_ACCOUNT = "1"


def term_rows(term: CanvasTerm, courses: Sequence[CanvasCourse], domain: str) -> list[dict[str, Any]]:
    """One template row per course: its ids (contextId only when Canvas has made it: `run` makes
    the others), `domain`, its name as topic, and the term's dates as first_day/last_day (the
    date of start_at and end_at in UTC) when the term has them."""
    first_day, last_day = utc_date(term.start_at), utc_date(term.end_at)
    return [
        {"contextId": course.lti_context_id, "domain": domain, "courseId": course.id,
         "sis_course_id": course.sis_course_id, "topic": course.name, "first_day": first_day, "last_day": last_day}
        for course in courses
    ]


def utc_date(timestamp: str | None) -> date | None:
    """The UTC date of a Canvas timestamp ("2026-09-08T04:00:00Z" -> 2026-09-08); None when
    there is none or it cannot be read."""
    if not timestamp:
        return None
    try:
        moment = datetime.fromisoformat(timestamp.strip())
    except ValueError:
        return None
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def pick_term(terms: Sequence[CanvasTerm], wanted: str, account: str) -> CanvasTerm:
    """The term `wanted` names, by id, else by name (any case). ConfigError naming the terms
    there are when none (or several) match."""
    wanted = wanted.strip()
    found = [term for term in terms if term.id == wanted]
    if not found:
        found = [term for term in terms if term.name.strip().casefold() == wanted.casefold()]
    if len(found) == 1:
        return found[0]
    listed = "; ".join(f"{term.name} (id {term.id})" for term in terms) or "none"
    if found:
        raise ConfigError(f"Canvas account {account} has {len(found)} terms named '{wanted}': give the term's id "
                          f"instead (--canvas-term ID); its terms: {listed}")
    raise ConfigError(f"Canvas account {account} has no term '{wanted}'; its terms: {listed}")


def canvas_term_rows(canvas: Canvas, term: str, account: str = DEFAULT_CANVAS_ACCOUNT
                     ) -> tuple[CanvasTerm, list[dict[str, Any]]]:
    """The term `term` (its name or id) of the Canvas account, and one template row per course
    of it (`term_rows`), every page of Canvas's lists followed."""
    from .canvas import CanvasClient
    from .courses import canvas_host

    async def fetch() -> tuple[CanvasTerm, list[CanvasCourse]]:
        async with CanvasClient(canvas.url, canvas.token, timeout=canvas.timeout, backoff=canvas.backoff) as client:
            await client.whoami()
            chosen = pick_term(await client.terms(account), term, account)
            return chosen, await client.term_courses(account, chosen.id)

    chosen, courses = asyncio.run(fetch())
    return chosen, term_rows(chosen, courses, canvas_host(canvas))


def _write_atomically(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name ending .xlsx or .csv")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder for the template")
    temporary = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        hint = " (is it open in another program?)" if isinstance(exc, PermissionError) else ""
        raise InputError(f"{path}: cannot write the template: {exc.strerror or exc}{hint}") from None


def _xlsx_bytes(rows: Sequence[Row] = ()) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    # in_memory: XlsxWriter then stamps every zip member 1980-01-01, so the bytes never vary.
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({
        "title": "Term schedule template",
        "subject": "Zoom class meetings for LMS courses, for `importer run`",
        "author": "importer",
        "created": CREATED,
    })
    formats = _Formats(workbook)
    zones = timezone_names()

    schedule = workbook.add_worksheet(SCHEDULE_SHEET)
    help_sheet = workbook.add_worksheet(HELP_SHEET)
    example = workbook.add_worksheet(EXAMPLE_SHEET)
    lists = workbook.add_worksheet(LISTS_SHEET)

    _write_schedule(schedule, formats, len(zones), rows)
    _write_help(help_sheet, formats)
    _write_example(example, formats)
    for row, name in enumerate(zones):
        lists.write_string(row, 0, name)
    lists.set_column(0, 0, 32)
    lists.hide()
    schedule.activate()
    workbook.close()
    return buffer.getvalue()


class _Formats:
    def __init__(self, workbook: Any) -> None:
        header = {"bold": True, "border": 1, "valign": "top"}
        self.required_header = workbook.add_format({**header, "bg_color": "#1F4E78", "font_color": "#FFFFFF"})
        self.optional_header = workbook.add_format({**header, "bg_color": "#DDEBF7"})
        self.legend = workbook.add_format({"italic": True, "font_color": "#404040"})
        self.text = workbook.add_format({"num_format": TEXT_FORMAT})
        self.date = workbook.add_format({"num_format": DATE_FORMAT})
        self.datetime = workbook.add_format({"num_format": DATETIME_FORMAT})
        self.missing = workbook.add_format({"bg_color": MISSING_FILL, "font_color": MISSING_FONT})
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.table_header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.wrap_bold = workbook.add_format({"text_wrap": True, "valign": "top", "bold": True})

    def header(self, column: str) -> Any:
        # Dark: required in every row. type and start_time are not when the timetable columns are used.
        return self.required_header if column in REQUIRED_WITH_TIMETABLE else self.optional_header

    def column(self, column: str) -> Any:
        if column in TEXT_COLUMNS:
            return self.text
        if column in DATE_COLUMNS:
            return self.date
        if column in DATETIME_COLUMNS:
            return self.datetime
        return None


def _width(column: str) -> float:
    if column == "contextId":
        return 44
    if column == ABOUT_COLUMN:
        return 84
    if column in ("topic", "agenda", "settings.alternative_hosts"):
        return 36
    if column in ("userId", "timezone", "row_id", "domain"):
        return 24
    if column in DATETIME_COLUMNS:
        return 17
    if column == "time":
        return 20
    return max(12.0, len(column) + 2.0)


def _outline(column: str) -> dict[str, Any]:
    """A column's place in the outline: the advanced columns shown at level 1, the settings
    collapsed at level 2; the column left of the settings holds their (collapsed) button."""
    if column in SETTING_COLUMNS:
        return {"level": SETTINGS_LEVEL, "hidden": True}
    options: dict[str, Any] = {"level": ADVANCED_LEVEL} if column in ADVANCED_COLUMNS else {}
    position = TEMPLATE_COLUMNS.index(column)
    if position + 1 < len(TEMPLATE_COLUMNS) and TEMPLATE_COLUMNS[position + 1] == SETTING_COLUMNS[0]:
        options["collapsed"] = True
    return options


def _write_header(sheet: Any, formats: _Formats, legend: str, extra: tuple[str, ...] = (), filled: int = 0) -> None:
    """The legend, the header row (the template's columns, then `extra` ones), the column
    widths, formats and outline, the frozen panes and the print set-up (over the prepared rows,
    or the `filled` rows when there are more)."""
    # The outline's buttons sit left of each group, so that the settings' button is not
    # shared with the advanced group's (both would end at the same column on the right).
    sheet.outline_settings(True, True, False, False)
    for col, column in enumerate(TEMPLATE_COLUMNS):
        sheet.set_column(col, col, _width(column), formats.column(column), _outline(column))
        sheet.write_string(HEADER_ROW, col, column, formats.header(column))
    for col, column in enumerate(extra, start=len(TEMPLATE_COLUMNS)):
        sheet.set_column(col, col, _width(column))
        sheet.write_string(HEADER_ROW, col, column, formats.optional_header)
    sheet.write_string(LEGEND_ROW, 0, legend, formats.legend)
    sheet.freeze_panes(FIRST_ROW, TEMPLATE_COLUMNS.index(FROZEN_THROUGH) + 1)
    last_col = len(TEMPLATE_COLUMNS) + len(extra) - 1
    _print_setup(sheet, LEGEND_ROW, HEADER_ROW)
    # The template's columns and prepared rows. Excel and LibreOffice leave out the pages
    # with nothing in them, so only filled rows print. (Not whole columns, $A:$AI: openpyxl,
    # the reader's fallback, warns that it cannot read such a print area.)
    sheet.print_area(0, 0, FIRST_ROW + max(FORMATTED_ROWS, filled) - 1, last_col)


def _print_setup(sheet: Any, first_title_row: int, last_title_row: int) -> None:
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)  # one page wide, as many tall as it takes
    sheet.repeat_rows(first_title_row, last_title_row)


def _write_schedule(sheet: Any, formats: _Formats, zone_count: int, rows: Sequence[Row] = ()) -> None:
    _write_header(sheet, formats, LEGEND, filled=len(rows))
    for col, column in enumerate(TEMPLATE_COLUMNS):
        sheet.data_validation(HEADER_ROW, col, HEADER_ROW, col, {
            "validate": "any", "input_title": column[:INPUT_TITLE_MAX], "input_message": input_message(column)})
        rule = validation(BY_NAME[column], zone_count)
        if rule is not None:
            sheet.data_validation(FIRST_ROW, col, EXCEL_MAX_ROWS - 1, col, rule)  # to the last row (zero-based)
        cell_format = formats.column(column)
        if cell_format is not None:
            for row in range(FIRST_ROW, FIRST_ROW + FORMATTED_ROWS):
                sheet.write_blank(row, col, None, cell_format)
    for columns, criteria in missing_value_rules():
        first = TEMPLATE_COLUMNS.index(columns[0])
        ranges = " ".join(_column_range(TEMPLATE_COLUMNS.index(name)) for name in columns)
        sheet.conditional_format(FIRST_ROW, first, EXCEL_MAX_ROWS - 1, first, {
            "type": "formula", "criteria": criteria, "format": formats.missing, "multi_range": ranges})
    for row, values in enumerate(rows, start=FIRST_ROW):
        _write_row(sheet, formats, row, values, TEMPLATE_COLUMNS)


def _column_range(col: int) -> str:
    from xlsxwriter.utility import xl_range

    return str(xl_range(FIRST_ROW, col, EXCEL_MAX_ROWS - 1, col))


def missing_value_rules() -> list[tuple[tuple[str, ...], str]]:
    """Schedule's conditional formats: (columns, formula) that turn a needed empty cell red.

    Each formula is written for the first column's cell in the first data row (Excel moves
    it to every other cell of the ranges). "Empty" is empty or blanks, as the reader reads
    it; a row is filled when any of the template's columns holds something."""
    from xlsxwriter.utility import xl_col_to_name

    row = FIRST_ROW + 1  # the spreadsheet's row number

    def cell(name: str, fixed: bool = True) -> str:
        return f"{'$' if fixed else ''}{xl_col_to_name(TEMPLATE_COLUMNS.index(name))}{row}"

    def empty(name: str) -> str:
        return f'LEN(TRIM({cell(name, fixed=False)}))=0'

    filled_row = f"COUNTA({cell(TEMPLATE_COLUMNS[0])}:{cell(TEMPLATE_COLUMNS[-1])})>0"
    timetable = f"COUNTA({','.join(cell(name) for name in TIMETABLE_FIELDS)})"
    meeting_type = cell("type")
    untimed = ",".join(f"{meeting_type}={value}" for value in (1, 3, '"1"', '"3"'))
    return [
        # every row: userId, contextId, domain, topic
        (REQUIRED_WITH_TIMETABLE, f"=AND({empty(REQUIRED_WITH_TIMETABLE[0])},{filled_row})"),
        # a row without the timetable: type
        (("type",), f"=AND({empty('type')},{filled_row},{timetable}=0)"),
        # ... and start_time, unless type is 1 (instant) or 3 (no fixed time)
        (("start_time",), f"=AND({empty('start_time')},{filled_row},{timetable}=0,NOT(OR({untimed})))"),
        # a row with one timetable column: the others and timezone
        ((*TIMETABLE_FIELDS, TIMEZONE), f"=AND({empty(TIMETABLE_FIELDS[0])},{timetable}>0)"),
    ]


def _lines(text: str, width: float, bold: bool = False) -> int:
    """How many lines `text` takes, wrapped in a column `width` wide (an estimate that errs long)."""
    per_line = max(1, int(width * CHARS_PER_UNIT * (0.9 if bold else 1.0)))
    return max(1, len(textwrap.wrap(text, per_line, break_on_hyphens=False)))


def _height(*cells: tuple[str, float, bool]) -> float:
    """A row's height in points for its (text, column width, bold) cells."""
    return LINE_POINTS * max(_lines(text, width, bold) for text, width, bold in cells)


def _write_help(sheet: Any, formats: _Formats) -> None:
    for col, width in enumerate(HELP_WIDTHS):
        sheet.set_column(col, col, width)
    last_col = len(HELP_WIDTHS) - 1
    whole = sum(HELP_WIDTHS)
    sheet.write_string(0, 0, "Term schedule: how it works", formats.title)
    sheet.set_row(0, 21)
    # Each line wraps across the sheet's width: one merged cell a line, as tall as its text.
    for offset, line in enumerate(HOW_IT_WORKS, start=1):
        sheet.merge_range(offset, 0, offset, last_col, line, formats.wrap)
        sheet.set_row(offset, _height((line, whole, False)))
    top = len(HOW_IT_WORKS) + 2
    titles = ("column", "required", "meaning", "format", "example")
    for col, title in enumerate(titles):
        sheet.write_string(top, col, title, formats.table_header)
    row = top
    for row, column in enumerate(TEMPLATE_COLUMNS, start=top + 1):
        info = BY_NAME[column]
        texts = (column, info.required, info.meaning, info.format, info.example)
        for col, text in enumerate(texts):
            sheet.write_string(row, col, text, formats.wrap_bold if col == 0 else formats.wrap)
        sheet.set_row(row, _height(*((text, width, col == 0)
                                     for col, (text, width) in enumerate(zip(texts, HELP_WIDTHS, strict=True)))))
    # The result sheet's own columns, named and explained.
    results = row + 2
    sheet.write_string(results, 0, "result column", formats.table_header)
    sheet.merge_range(results, 1, results, last_col, "what the result sheet says in it", formats.table_header)
    for row, name in enumerate(RESULT_COLUMNS, start=results + 1):
        meaning = BY_NAME[name].meaning
        sheet.write_string(row, 0, name, formats.wrap_bold)
        sheet.merge_range(row, 1, row, last_col, meaning, formats.wrap)
        sheet.set_row(row, _height((name, HELP_WIDTHS[0], True), (meaning, whole - HELP_WIDTHS[0], False)))
    sheet.freeze_panes(top + 1, 0)
    _print_setup(sheet, top, top)
    sheet.print_area(0, 0, row, last_col)


def _write_example(sheet: Any, formats: _Formats) -> None:
    _write_header(sheet, formats, EXAMPLE_LEGEND, extra=(ABOUT_COLUMN,))
    sheet.set_comments_author("importer")
    for row, values in enumerate(EXAMPLE_ROWS, start=FIRST_ROW):
        _write_row(sheet, formats, row, values, (*TEMPLATE_COLUMNS, ABOUT_COLUMN))
        sheet.write_comment(row, 0, f"This example: {values[ABOUT_COLUMN]}.", {"x_scale": 1.5})


def _write_row(sheet: Any, formats: _Formats, row: int, values: Row, columns: tuple[str, ...]) -> None:
    """One data row: booleans, dates and date-times as such, ids and other text columns as text
    (a number there is written as its digits, so Excel keeps 00123 and long ids), numbers as numbers."""
    for col, column in enumerate(columns):
        value = values.get(column)
        if value is None:
            continue
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, value, formats.datetime)
        elif isinstance(value, date):
            sheet.write_datetime(row, col, value, formats.date)
        elif isinstance(value, (int, float)) and column not in TEXT_COLUMNS:
            sheet.write_number(row, col, value)
        else:
            sheet.write_string(row, col, str(value), formats.column(column))
