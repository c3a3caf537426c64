"""`importer template`: an empty schedule with the columns the importer understands.

`write_template(path)` writes `.xlsx` or `.csv` by the path's extension.

The .xlsx has four sheets: "Schedule" (the header row, ready to fill in: drop-downs and
range checks made from the column table's kinds and rules (`columns.py`), an input message on every header cell,
identifier, days and time columns stored as text, term dates formatted as dates, start
times as date-times), "Help" (every column explained, the timetable way first), "Example"
(filled rows that validate clean: timetable rows first, then explicit API rows) and a
hidden "Lists" sheet feeding the timezone drop-down. The .csv is the header row alone
(UTF-8 with BOM).

The timetable columns (days, time, first_day, last_day; see timetable.py) come right after
topic: with timezone they are the easiest way to describe a weekly class, so the template
puts them before type, start_time and the recurrence columns they replace.

The output is deterministic, byte for byte: fixed document dates, XlsxWriter's fixed zip
timestamps (in-memory mode), and fixed data, so the copies committed under `templates/`
can be compared with a fresh one in the tests.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Any

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
from .columns import BY_NAME, INPUT_COLUMNS, REQUIRED_WITH_TIMETABLE, Column
from .errors import InputError
from .limits import EXCEL_MAX_ROWS, MAX_OCCURRENCES
from .models import RESULT_COLUMNS

#: The template's columns, in order: the column table's (the timetable columns right after
#: topic, before the API columns type, start_time, ... that they replace).
TEMPLATE_COLUMNS: tuple[str, ...] = tuple(column.name for column in INPUT_COLUMNS)

SUFFIXES = (".xlsx", ".csv")
SCHEDULE_SHEET = "Schedule"
HELP_SHEET = "Help"
EXAMPLE_SHEET = "Example"
LISTS_SHEET = "Lists"

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
    "Check the sheet with `importer validate FILE` (sends nothing), then `importer run FILE` creates each "
    "meeting in Zoom and adds it to its course.",
    f"Both write a result sheet: your rows plus {', '.join(RESULT_COLUMNS[:-1])} and {RESULT_COLUMNS[-1]}. Fix "
    "what it asks for in the result sheet and run that sheet again: meetings that exist are never created twice.",
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
            "row_id": "S27-HIST240-SEM", "userId": "s.chen@example.edu", "contextId": context,
            "domain": "canvas.example.edu", "courseId": course,
            "topic": "HIST 240 / POLS 240 joint seminar", "type": 8,
            "start_time": datetime(2027, 1, 13, 15, 0), "duration": 110, "timezone": "America/Los_Angeles",
            "recurrence_type": 2, "repeat_interval": 1, "weekly_days": "4", "end_times": 15,
            "settings.host_video": True, "settings.participant_video": True, "settings.waiting_room": True,
            "settings.auto_recording": "none", "settings.audio": "both",
        }
        for context, course in (("409e62824c0c90714a179c6b47f6f29af7232d0d", "48502"),
                                ("1ba54235fa1e0aefa52ccc711ca65c8fb47b7c41", "48519"))
    ),
)


# --- writing ------------------------------------------------------------------------------


def write_template(path: Path) -> None:
    """Write the template to `path` (.xlsx or .csv), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        found = f"'{path.suffix}'" if path.suffix else "no extension"
        raise InputError(f"{path}: a template is .xlsx or .csv, not {found}; e.g. importer template term-schedule.xlsx")
    _write_atomically(path, template_bytes(suffix))


def template_bytes(suffix: str) -> bytes:
    """The template's bytes for ".xlsx" or ".csv"."""
    if suffix == ".csv":
        return _csv_bytes()
    if suffix == ".xlsx":
        return _xlsx_bytes()
    raise InputError(f"a template is .xlsx or .csv, not '{suffix}'")


def _csv_bytes() -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow(TEMPLATE_COLUMNS)
    return buffer.getvalue().encode("utf-8-sig")


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


def _xlsx_bytes() -> bytes:
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

    _write_schedule(schedule, formats, len(zones))
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
        self.text = workbook.add_format({"num_format": TEXT_FORMAT})
        self.date = workbook.add_format({"num_format": DATE_FORMAT})
        self.datetime = workbook.add_format({"num_format": DATETIME_FORMAT})
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
    if column in ("topic", "agenda", "settings.alternative_hosts"):
        return 36
    if column in ("userId", "timezone", "row_id"):
        return 24
    if column in DATETIME_COLUMNS:
        return 17
    if column == "time":
        return 20
    return max(12.0, len(column) + 2.0)


def _write_header(sheet: Any, formats: _Formats) -> None:
    for col, column in enumerate(TEMPLATE_COLUMNS):
        sheet.set_column(col, col, _width(column), formats.column(column))
        sheet.write_string(0, col, column, formats.header(column))
    sheet.freeze_panes(1, 0)


def _write_schedule(sheet: Any, formats: _Formats, zone_count: int) -> None:
    _write_header(sheet, formats)
    for col, column in enumerate(TEMPLATE_COLUMNS):
        sheet.data_validation(0, col, 0, col, {
            "validate": "any", "input_title": column[:INPUT_TITLE_MAX], "input_message": input_message(column)})
        rule = validation(BY_NAME[column], zone_count)
        if rule is not None:
            sheet.data_validation(1, col, EXCEL_MAX_ROWS - 1, col, rule)  # to the last row (zero-based)
        cell_format = formats.column(column)
        if cell_format is not None:
            for row in range(1, FORMATTED_ROWS + 1):
                sheet.write_blank(row, col, None, cell_format)


def _write_help(sheet: Any, formats: _Formats) -> None:
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 60)
    sheet.set_column(3, 3, 44)
    sheet.set_column(4, 4, 40)
    sheet.write_string(0, 0, "Term schedule: how it works", formats.title)
    for offset, line in enumerate(HOW_IT_WORKS, start=1):
        sheet.write_string(offset, 0, line)
    top = len(HOW_IT_WORKS) + 2
    for col, title in enumerate(("column", "required", "meaning", "format", "example")):
        sheet.write_string(top, col, title, formats.table_header)
    for row, column in enumerate(TEMPLATE_COLUMNS, start=top + 1):
        info = BY_NAME[column]
        sheet.write_string(row, 0, column, formats.wrap_bold)
        sheet.write_string(row, 1, info.required, formats.wrap)
        sheet.write_string(row, 2, info.meaning, formats.wrap)
        sheet.write_string(row, 3, info.format, formats.wrap)
        sheet.write_string(row, 4, info.example, formats.wrap)
    sheet.freeze_panes(top + 1, 0)


def _write_example(sheet: Any, formats: _Formats) -> None:
    _write_header(sheet, formats)
    for row, values in enumerate(EXAMPLE_ROWS, start=1):
        for col, column in enumerate(TEMPLATE_COLUMNS):
            value = values.get(column)
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(row, col, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(row, col, value, formats.datetime)
            elif isinstance(value, date):
                sheet.write_datetime(row, col, value, formats.date)
            elif isinstance(value, (int, float)):
                sheet.write_number(row, col, value)
            else:
                sheet.write_string(row, col, value, formats.column(column))
