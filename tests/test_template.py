"""`importer template`: the committed templates, the workbook's contents, and its Example rows."""

from __future__ import annotations

import csv
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter

from importer import ReadOptions, Status, validate_file
from importer.cli import cli
from importer.columns import (
    BY_NAME,
    REQUIRED,
    REQUIRED_WITH_TIMETABLE,
    SETTING_COLUMNS,
    TIMETABLE_FIELDS,
    ColumnMap,
    Group,
)
from importer.errors import InputError
from importer.limits import MAX_OCCURRENCES
from importer.models import RESULT_COLUMNS, SourceRow
from importer.reader import read_sheet
from importer.schema import check_row
from importer.template import (
    ABOUT_COLUMN,
    ADVANCED_COLUMNS,
    DATE_FORMAT,
    DATETIME_FORMAT,
    EXAMPLE_ROWS,
    FORMATTED_ROWS,
    HELP_WIDTHS,
    HOW_IT_WORKS,
    LINE_POINTS,
    LISTS_SHEET,
    MISSING_FILL,
    QUICK_COLUMNS,
    TEMPLATE_COLUMNS,
    TEXT_COLUMNS,
    input_message,
    timezone_names,
    write_template,
)
from importer.timetable import expand, parse_days, parse_time_range

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
EXPECTED_COLUMNS = (
    "row_id", "userId", "contextId", "domain", "courseId", "sis_course_id", "topic", "days", "time", "first_day",
    "last_day", "timezone", "type", "start_time", "duration",
    "agenda", "password", "recurrence_type", "repeat_interval", "weekly_days", "monthly_day",
    "monthly_week", "monthly_week_day", "end_times", "end_date_time", "settings.host_video",
    "settings.participant_video", "settings.join_before_host", "settings.jbh_time", "settings.mute_upon_entry",
    "settings.waiting_room", "settings.auto_recording", "settings.alternative_hosts", "settings.approval_type",
    "settings.audio", "settings.meeting_authentication",
)
#: Schedule's and Example's layout, as a coordinator sees it: the legend, the header, the first data row.
LEGEND_ROW, HEADER_ROW, FIRST_ROW = 1, 2, 3
#: A moment before the Example's 2027 dates, so that none is "in the past".
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "term-schedule.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def workbook(xlsx: Path) -> Any:
    return openpyxl.load_workbook(xlsx)


def _letter(name: str) -> str:
    """The spreadsheet letter of the template column `name` (A for the first)."""
    return str(get_column_letter(TEMPLATE_COLUMNS.index(name) + 1))


def _validations(sheet: Any) -> dict[str, Any]:
    """Data validations of the data rows, keyed by the header of the column they cover."""
    found: dict[str, Any] = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            if cell_range.min_row == FIRST_ROW:
                assert cell_range.min_col == cell_range.max_col
                found[TEMPLATE_COLUMNS[cell_range.min_col - 1]] = validation
    return found


def _header_prompts(sheet: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            if cell_range.min_row == cell_range.max_row == HEADER_ROW and validation.prompt:
                found[TEMPLATE_COLUMNS[cell_range.min_col - 1]] = validation.prompt
    return found


# --- (1) the committed templates never drift ------------------------------------------------


@pytest.mark.parametrize("name", ["term-schedule.xlsx", "term-schedule.csv"])
def test_committed_template_is_what_write_template_writes(tmp_path: Path, name: str) -> None:
    fresh = tmp_path / name
    write_template(fresh)
    committed = TEMPLATES / name
    assert committed.exists(), f"templates/{name} is missing; run: importer template templates/{name}"
    assert _contents(committed) == _contents(fresh), (
        f"templates/{name} differs from what `importer template` writes now; "
        f"run: importer template templates/{name}")


def _contents(path: Path) -> object:
    """What a file says: for a workbook, its unzipped parts (zlib builds may compress differently)."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}
    return path.read_bytes()


@pytest.mark.parametrize("name", ["a.xlsx", "a.csv"])
def test_output_is_the_same_bytes_every_time(tmp_path: Path, name: str) -> None:
    first, second = tmp_path / "1" / name, tmp_path / "2" / name
    first.parent.mkdir()
    second.parent.mkdir()
    write_template(first)
    write_template(second)
    assert first.read_bytes() == second.read_bytes()


def test_xlsx_zip_members_have_fixed_timestamps(xlsx: Path) -> None:
    with zipfile.ZipFile(xlsx) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-01-01T00:00:00Z" in core


# --- (2) the workbook --------------------------------------------------------------------------


def test_column_list_is_the_documented_order() -> None:
    assert TEMPLATE_COLUMNS == EXPECTED_COLUMNS
    assert len(set(TEMPLATE_COLUMNS)) == len(TEMPLATE_COLUMNS)
    # The timetable columns and timezone come right after topic, before the API columns they replace.
    topic = TEMPLATE_COLUMNS.index("topic")
    assert TEMPLATE_COLUMNS[topic + 1:topic + 6] == (*TIMETABLE_FIELDS, "timezone")


def test_headers_are_canonical_names_the_importer_matches() -> None:
    columns = ColumnMap.build(TEMPLATE_COLUMNS)
    assert set(columns.index) == set(TEMPLATE_COLUMNS)
    assert all(columns.index[name] == position for position, name in enumerate(TEMPLATE_COLUMNS))


def test_sheets_and_header(workbook: Any) -> None:
    assert workbook.sheetnames == ["Schedule", "Help", "Example", LISTS_SHEET]
    assert workbook.active.title == "Schedule"
    assert [sheet.sheet_state for sheet in workbook.worksheets] == ["visible", "visible", "visible", "hidden"]
    schedule = workbook["Schedule"]
    assert tuple(cell.value for cell in schedule[HEADER_ROW]) == TEMPLATE_COLUMNS
    assert all(value is None for row in schedule.iter_rows(min_row=FIRST_ROW, values_only=True) for value in row)


def test_data_validations(workbook: Any) -> None:
    rules = _validations(workbook["Schedule"])
    zones = timezone_names()
    assert (rules["type"].type, rules["type"].formula1) == ("list", '"1,2,3,8"')
    assert rules["timezone"].type == "list"
    assert rules["timezone"].formula1 == f"{LISTS_SHEET}!$A$1:$A${len(zones)}"
    def rule(column: str) -> tuple[str, str, str]:
        return rules[column].type, rules[column].operator, rules[column].formula1

    assert rule("duration") == ("whole", "greaterThan", "0")
    assert rule("topic") == ("textLength", "lessThanOrEqual", "200")
    assert (rules["recurrence_type"].type, rules["recurrence_type"].formula1) == ("list", '"1,2,3"')
    end_times = rules["end_times"]
    assert (end_times.type, end_times.formula1, end_times.formula2) == ("whole", "1", "50")
    for column in ("first_day", "last_day"):  # Excel date serials of 2020-01-01 and 2100-12-31
        rule = rules[column]
        # "between" is Excel's default operator: XlsxWriter leaves it out.
        assert (rule.type, rule.operator or "between") == ("date", "between"), column
        assert (rule.formula1, rule.formula2) == ("43831", "73415"), column
    assert "days" not in rules and "time" not in rules  # the importer reads many spellings: no Excel check
    expected_lists = {
        "settings.auto_recording": '"local,cloud,none"', "settings.audio": '"both,telephony,voip"',
        "settings.jbh_time": '"0,5,10"', "settings.approval_type": '"0,1,2"',
    }
    for name in ("host_video", "participant_video", "join_before_host", "mute_upon_entry", "waiting_room",
                 "meeting_authentication"):
        expected_lists[f"settings.{name}"] = '"TRUE,FALSE"'
    for column, formula in expected_lists.items():
        assert (rules[column].type, rules[column].formula1) == ("list", formula), column
    for column, rule in rules.items():
        assert rule.showErrorMessage and rule.allow_blank, column
        (cells,) = rule.sqref.ranges  # one range: the whole column below the header
        assert (cells.min_row, cells.max_row) == (FIRST_ROW, 1_048_576), column


def test_timezone_list_sheet(workbook: Any) -> None:
    zones = timezone_names()
    assert zones == sorted(zones)
    assert {"UTC", "America/New_York", "Europe/London", "Asia/Kolkata"} <= set(zones)
    assert "localtime" not in zones
    lists = workbook[LISTS_SHEET]
    assert [row[0] for row in lists.iter_rows(values_only=True)] == zones


def test_every_header_cell_has_an_input_message(workbook: Any) -> None:
    prompts = _header_prompts(workbook["Schedule"])
    assert set(prompts) == set(TEMPLATE_COLUMNS)
    for column, prompt in prompts.items():
        assert prompt == input_message(column)
        assert 0 < len(prompt) <= 255, column
    for column in TIMETABLE_FIELDS:
        assert prompts[column].startswith("No (instead of type/start_time/recurrence). "), column
    assert "Mon Wed Fri" in prompts["days"] and "MWF" in prompts["days"]
    assert "10:00-10:50" in prompts["time"] and "2:30 PM" in prompts["time"]
    assert prompts["first_day"].endswith("Format: date yyyy-mm-dd.")
    assert prompts["last_day"].endswith("Format: date yyyy-mm-dd.")
    assert prompts["type"].startswith("Yes, unless days/time/first_day/last_day are filled. ")
    assert prompts["userId"].startswith("Required. ")


def test_identifier_and_date_columns_are_formatted(workbook: Any) -> None:
    schedule = workbook["Schedule"]
    for name in ("row_id", "userId", "contextId", "domain", "courseId", "days", "time"):
        assert name in TEXT_COLUMNS
    for name in TEXT_COLUMNS:
        col = TEMPLATE_COLUMNS.index(name) + 1
        for row in (FIRST_ROW, FORMATTED_ROWS // 2, FIRST_ROW + FORMATTED_ROWS - 1):
            assert schedule.cell(row, col).number_format == "@", (name, row)
    start = TEMPLATE_COLUMNS.index("start_time") + 1
    assert schedule.cell(FIRST_ROW, start).number_format == DATETIME_FORMAT == "yyyy-mm-dd hh:mm"
    assert schedule.cell(FIRST_ROW + FORMATTED_ROWS - 1, start).number_format == DATETIME_FORMAT
    for name in ("first_day", "last_day"):
        col = TEMPLATE_COLUMNS.index(name) + 1
        for row in (FIRST_ROW, FIRST_ROW + FORMATTED_ROWS - 1):
            assert schedule.cell(row, col).number_format == DATE_FORMAT == "yyyy-mm-dd", (name, row)
    # The header cells are not formatted as text: the header is not a data row.
    assert schedule.cell(HEADER_ROW, 1).value == "row_id"


def test_dark_headers_are_the_columns_every_row_needs(workbook: Any) -> None:
    schedule = workbook["Schedule"]
    dark = {cell.value for cell in schedule[HEADER_ROW] if cell.font.b and cell.fill.fgColor.rgb.endswith("1F4E78")}
    assert dark == set(REQUIRED_WITH_TIMETABLE)


def test_help_sheet_documents_every_column(workbook: Any) -> None:
    rows = list(workbook["Help"].iter_rows(values_only=True))
    assert "how it works" in rows[0][0].lower()
    assert rows[1][0] and "Schedule" in rows[1][0]
    # The timetable way is explained first, before the API columns.
    assert rows[2][0].startswith("The easiest way: fill days, time, first_day, last_day and timezone")
    assert "weekly recurring meeting" in rows[2][0]
    assert "only for other kinds of meeting" in rows[3][0]
    assert [row[0] for row in rows[1:1 + len(HOW_IT_WORKS)]] == list(HOW_IT_WORKS)
    titles = ("column", "required", "meaning", "format", "example")
    header_at = next(i for i, row in enumerate(rows) if row[:5] == titles)
    end = next(i for i in range(header_at + 1, len(rows)) if not rows[i][0])  # the table ends at a blank row
    table = {row[0]: row for row in rows[header_at + 1:end]}
    assert list(table) == list(TEMPLATE_COLUMNS)
    for column, (_, required, meaning, form, example) in table.items():
        assert meaning and form and example, column
        if column in REQUIRED:
            assert required.startswith("yes"), column
        else:
            assert required.startswith("no"), column
    assert table["start_time"][1] == "yes, for types 2 and 8 (not with days/time)"
    for column in TIMETABLE_FIELDS:
        assert table[column][1] == "no (instead of type/start_time/recurrence)", column
    assert (table["days"][3], table["days"][4]) == ("text: day names or letters, e.g. Mon Wed Fri, MWF, Tu Th, TTh",
                                                    "Mon Wed Fri")
    assert table["time"][4] == "10:00-10:50"
    assert (table["first_day"][3], table["first_day"][4]) == ("date yyyy-mm-dd", "2027-01-11")
    assert (table["last_day"][3], table["last_day"][4]) == ("date yyyy-mm-dd", "2027-04-30")
    assert all(table[name][2] == BY_NAME[name].meaning for name in TEMPLATE_COLUMNS)


# --- (2b) the first screen guides ------------------------------------------------------------


def _dimension(sheet: Any, name: str) -> Any:
    """The column dimension covering the template column `name` (openpyxl may group equal columns)."""
    col = TEMPLATE_COLUMNS.index(name) + 1
    found = [d for d in sheet.column_dimensions.values() if d.min is not None and d.min <= col <= d.max]
    return found[0] if found else sheet.column_dimensions[get_column_letter(col)]


@pytest.mark.parametrize("name", ["Schedule", "Example"])
def test_legend_above_the_header_and_panes_frozen_through_topic(workbook: Any, name: str) -> None:
    sheet = workbook[name]
    legend = [cell.value for cell in sheet[LEGEND_ROW]]
    assert legend[0] and set(legend[1:]) == {None}  # one line, in A1 alone
    assert "see the Help sheet" in legend[0]
    if name == "Schedule":
        assert legend[0].startswith("Dark headers are required in every row · light ones are optional")
        assert "an empty cell means Zoom's default" in legend[0] and "a red cell needs a value" in legend[0]
    assert sheet.cell(HEADER_ROW, 1).value == "row_id"
    # Frozen below the header rows and right of topic: the ids and the topic stay in view.
    after_topic = get_column_letter(TEMPLATE_COLUMNS.index("topic") + 2)
    assert sheet.freeze_panes == f"{after_topic}{FIRST_ROW}"
    assert all(BY_NAME[name].group is Group.ROW for name in TEMPLATE_COLUMNS[:TEMPLATE_COLUMNS.index("topic")])


def test_quick_advanced_and_settings_columns_come_from_the_column_table() -> None:
    rows = tuple(c for c in TEMPLATE_COLUMNS if BY_NAME[c].group is Group.ROW)
    recurrence = tuple(c for c in TEMPLATE_COLUMNS if BY_NAME[c].group is Group.RECURRENCE)
    assert (*rows, "topic", *TIMETABLE_FIELDS, "timezone") == QUICK_COLUMNS
    assert ("type", "start_time", "duration", "agenda", "password", *recurrence) == ADVANCED_COLUMNS
    # In this order, so that each group is one block of columns.
    assert TEMPLATE_COLUMNS == QUICK_COLUMNS + ADVANCED_COLUMNS + SETTING_COLUMNS


@pytest.mark.parametrize("name", ["Schedule", "Example"])
def test_advanced_columns_grouped_and_settings_folded_away(workbook: Any, name: str) -> None:
    sheet = workbook[name]
    for column in QUICK_COLUMNS:
        dimension = _dimension(sheet, column)
        assert (dimension.outlineLevel or 0, dimension.hidden) == (0, False), column
    for column in ADVANCED_COLUMNS:
        dimension = _dimension(sheet, column)
        assert (dimension.outlineLevel, dimension.hidden) == (1, False), column
    for column in SETTING_COLUMNS:
        dimension = _dimension(sheet, column)
        assert (dimension.outlineLevel, dimension.hidden) == (2, True), column
    # The buttons sit left of the groups: the settings' (collapsed) one over end_date_time.
    assert sheet.sheet_properties.outlinePr.summaryRight is False
    assert TEMPLATE_COLUMNS[TEMPLATE_COLUMNS.index(SETTING_COLUMNS[0]) - 1] == "end_date_time"
    assert _dimension(sheet, "end_date_time").collapsed
    assert sheet.sheet_properties.outlinePr.showOutlineSymbols in (None, True)  # shown (the default)


def test_empty_required_cells_turn_red(workbook: Any) -> None:
    schedule = workbook["Schedule"]
    rules: dict[str, tuple[str, Any]] = {}
    for formatting in schedule.conditional_formatting:
        (rule,) = formatting.rules
        for cell_range in formatting.sqref.ranges:
            assert (cell_range.min_row, cell_range.max_row) == (FIRST_ROW, 1_048_576)
            assert cell_range.min_col == cell_range.max_col
            rules[TEMPLATE_COLUMNS[cell_range.min_col - 1]] = (rule.formula[0], rule.dxf)
    everything = f"COUNTA($A{FIRST_ROW}:${get_column_letter(len(TEMPLATE_COLUMNS))}{FIRST_ROW})>0"
    # Every row: userId, contextId, domain, topic, written for the first range's cell (userId's, B3).
    first_required = _letter(REQUIRED_WITH_TIMETABLE[0])
    assert REQUIRED_WITH_TIMETABLE[0] == "userId" and first_required == "B"
    for column in REQUIRED_WITH_TIMETABLE:
        assert rules[column][0] == f"AND(LEN(TRIM({first_required}{FIRST_ROW}))=0,{everything})", column
    timetable = ",".join(f"${_letter(n)}{FIRST_ROW}" for n in TIMETABLE_FIELDS)
    # The four timetable cells side by side, right after topic.
    first_timetable = TEMPLATE_COLUMNS.index("topic") + 1
    assert timetable == ",".join(f"${get_column_letter(first_timetable + offset + 1)}{FIRST_ROW}"
                                 for offset in range(len(TIMETABLE_FIELDS)))
    meeting_type, start_time, days = _letter("type"), _letter("start_time"), _letter(TIMETABLE_FIELDS[0])
    # type and start_time: only in a row that does not use the timetable (start_time: not for types 1, 3).
    assert rules["type"][0] == f"AND(LEN(TRIM({meeting_type}3))=0,{everything},COUNTA({timetable})=0)"
    assert rules["start_time"][0] == (f"AND(LEN(TRIM({start_time}3))=0,{everything},COUNTA({timetable})=0,"
                                      f'NOT(OR(${meeting_type}3=1,${meeting_type}3=3,${meeting_type}3="1",'
                                      f'${meeting_type}3="3")))')
    # The timetable columns and timezone: once one timetable column is filled.
    for column in (*TIMETABLE_FIELDS, "timezone"):
        assert rules[column][0] == f"AND(LEN(TRIM({days}3))=0,COUNTA({timetable})>0)", column
    assert set(rules) == {*REQUIRED_WITH_TIMETABLE, "type", "start_time", *TIMETABLE_FIELDS, "timezone"}
    for column, (_, dxf) in rules.items():
        assert dxf.fill.bgColor.rgb.endswith(MISSING_FILL.lstrip("#")), column
    assert not workbook["Example"].conditional_formatting  # the Example rows are complete


def test_help_rows_are_as_tall_as_their_text(workbook: Any) -> None:
    help_sheet = workbook["Help"]
    # XlsxWriter stores a width with Excel's padding of 0.71.
    widths = [int(help_sheet.column_dimensions[get_column_letter(col)].width) for col in range(1, 6)]
    assert tuple(widths) == HELP_WIDTHS
    # The how-it-works lines wrap across the whole width: one merged cell a line.
    how = range(2, 2 + len(HOW_IT_WORKS))
    merged = {str(cell_range) for cell_range in help_sheet.merged_cells.ranges}
    assert {f"A{row}:E{row}" for row in how} <= merged
    filled = [row for row in range(1, help_sheet.max_row + 1) if help_sheet.cell(row, 1).value]
    # LibreOffice does not grow a wrapped row: every row taller than a line says its height
    # (XlsxWriter leaves out a height equal to the default, 15 points: one line).
    assert help_sheet.sheet_format.defaultRowHeight == LINE_POINTS
    tall = 0
    for row in filled:
        height = help_sheet.row_dimensions[row].height or LINE_POINTS
        tall += height > LINE_POINTS
        if row in how:
            text, width = help_sheet.cell(row, 1).value, sum(widths)
            assert height >= LINE_POINTS * len(text) / width, row
        elif help_sheet.cell(row, 1).value in TEMPLATE_COLUMNS:  # a line per column width of text, or so
            fullest = max(len(str(help_sheet.cell(row, col).value or "")) / widths[col - 1] for col in range(1, 6))
            assert height >= LINE_POINTS * fullest * 0.9, row
    assert tall > 20
    start_time = next(row for row in filled if help_sheet.cell(row, 1).value == "start_time")
    assert help_sheet.row_dimensions[start_time].height >= 3 * LINE_POINTS  # its format: 3 lines at width 44
    assert help_sheet.row_dimensions[filled[-1]].height is None  # "warnings": one line, the default


def test_help_names_the_six_result_columns(workbook: Any) -> None:
    assert RESULT_COLUMNS == ("import_status", "meeting_id", "error_code", "error_message", "next_step", "warnings")
    line = HOW_IT_WORKS[-1]
    assert "6 columns, import_status, meeting_id, error_code, error_message, next_step and warnings" in line
    rows = list(workbook["Help"].iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row[0] == "result column")
    assert [(row[0], row[1]) for row in rows[header_at + 1:]] == [
        (name, BY_NAME[name].meaning) for name in RESULT_COLUMNS]


def test_print_setup(workbook: Any) -> None:
    # Schedule: the template's columns; Example: those and its "about this example" column.
    last, about = get_column_letter(len(TEMPLATE_COLUMNS)), get_column_letter(len(TEMPLATE_COLUMNS) + 1)
    expected = {"Schedule": ("$1:$2", f"'Schedule'!$A$1:${last}${FIRST_ROW + FORMATTED_ROWS - 1}"),
                "Example": ("$1:$2", f"'Example'!$A$1:${about}${FIRST_ROW + FORMATTED_ROWS - 1}")}
    help_rows = list(workbook["Help"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(help_rows) if row[0] == "column") + 1
    expected["Help"] = (f"${header}:${header}", f"'Help'!$A$1:$E${len(help_rows)}")
    for name, (titles, area) in expected.items():
        sheet = workbook[name]
        assert sheet.page_setup.orientation == "landscape", name
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, name
        # One page wide (1 is the file format's default, which XlsxWriter leaves out), any number tall.
        assert (sheet.page_setup.fitToWidth or 1, sheet.page_setup.fitToHeight) == (1, 0), name
        assert sheet.print_title_rows == titles, name
        assert sheet.print_area == area, name
    # The print area is the template's rows, not the whole sheet: openpyxl, the reader's fallback,
    # cannot read whole columns ($A:$AJ), and says so in a warning (errors here).


# --- (3) the Example rows validate clean ----------------------------------------------------


def test_example_sheet_rows(workbook: Any) -> None:
    example = workbook["Example"]
    rows = list(example.iter_rows(values_only=True))
    assert rows[0][0].startswith("Example rows") and set(rows[0][1:]) == {None}  # the legend
    assert tuple(rows[1]) == (*TEMPLATE_COLUMNS, ABOUT_COLUMN)
    data = [dict(zip(TEMPLATE_COLUMNS, row, strict=False)) for row in rows[2:]]
    assert 4 <= len(data) <= 6
    # The timetable way first: a Mon/Wed/Fri and a Tue/Thu lecture, API columns left empty.
    mwf, tth = data[0], data[1]
    assert (mwf["days"], mwf["time"]) == ("Mon Wed Fri", "10:00-10:50")
    assert (tth["days"], tth["time"]) == ("Tu Th", "2:30 PM - 3:45 PM")
    for r in (mwf, tth):
        assert (r["first_day"], r["last_day"]) == (datetime(2027, 1, 11), datetime(2027, 4, 30))
        assert r["timezone"]
        for column in ("type", "start_time", "duration", "recurrence_type", "repeat_interval", "weekly_days",
                       "end_times", "end_date_time"):
            assert r[column] is None, column
    # Then the explicit API way.
    assert data[2]["type"] == 2 and data[2]["days"] is None
    assert any(r["type"] == 8 and r["weekly_days"] for r in data[2:])
    for r in data:
        assert r["domain"] == "canvas.example.edu"
        assert isinstance(r["courseId"], str)
        assert len(r["contextId"]) == 40 and int(r["contextId"], 16) >= 0
        when = r["first_day"] if r["days"] else r["start_time"]
        assert isinstance(when, datetime) and when.year == 2027
    first_day = TEMPLATE_COLUMNS.index("first_day") + 1
    assert example.cell(FIRST_ROW, first_day).number_format == DATE_FORMAT


def test_example_timetable_rows_fit_in_one_zoom_series() -> None:
    for values in EXAMPLE_ROWS:
        if values.get("days"):
            start, end = parse_time_range(values["time"])
            series = expand(parse_days(values["days"]), start, end, values["first_day"], values["last_day"],
                            values["timezone"])
            assert series.occurrences <= MAX_OCCURRENCES, values["row_id"]


def test_example_rows_validate_clean(workbook: Any, tmp_path: Path) -> None:
    copy = openpyxl.Workbook()
    sheet = copy.active
    for values in workbook["Example"].iter_rows(values_only=True):
        sheet.append(list(values))
    source = tmp_path / "example.xlsx"
    copy.save(source)
    output = tmp_path / "example.result.xlsx"
    result = CliRunner().invoke(cli, ["validate", str(source), "-o", str(output)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result_rows = list(openpyxl.load_workbook(output).worksheets[0].iter_rows(values_only=True))
    status = result_rows[0].index("import_status")
    assert len(result_rows) == 1 + len(EXAMPLE_ROWS)
    assert [row[status] for row in result_rows[1:]] == ["valid"] * len(EXAMPLE_ROWS)


def test_example_rows_have_no_warnings() -> None:
    """Checked at a fixed moment, so the 2027 dates are never 'in the past' here."""
    columns = ColumnMap.build(TEMPLATE_COLUMNS)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    for number, values in enumerate(EXAMPLE_ROWS, start=2):
        row = SourceRow(number, tuple(values.get(name) for name in TEMPLATE_COLUMNS))
        check = check_row(columns, row, now=now)
        assert check.request is not None and not check.problems, [p.describe() for p in check.problems]


def test_first_example_row_becomes_a_weekly_type_8_request() -> None:
    columns = ColumnMap.build(TEMPLATE_COLUMNS)
    row = SourceRow(2, tuple(EXAMPLE_ROWS[0].get(name) for name in TEMPLATE_COLUMNS))
    check = check_row(columns, row, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert check.request is not None and check.problems == ()
    info = check.request.meeting_info
    assert (info["type"], info["start_time"], info["duration"], info["timezone"]) == (
        8, "2027-01-11T10:00:00", 50, "America/New_York")
    # 30 Apr 2027 23:59 in New York (EDT) is 1 May 03:59 UTC: the last Friday's class is covered.
    assert info["recurrence"] == {"type": 2, "repeat_interval": 1, "weekly_days": "2,4,6",
                                  "end_date_time": "2027-05-01T03:59:00Z"}
    assert EXAMPLE_ROWS[0]["first_day"] == date(2027, 1, 11)


def test_example_rows_say_what_they_show(workbook: Any) -> None:
    example = workbook["Example"]
    about = len(TEMPLATE_COLUMNS) + 1  # the last column: seen without hovering
    assert example.cell(HEADER_ROW, about).value == ABOUT_COLUMN == "about this example"
    labels = [example.cell(row, about).value for row in range(FIRST_ROW, FIRST_ROW + len(EXAMPLE_ROWS))]
    assert labels == [values[ABOUT_COLUMN] for values in EXAMPLE_ROWS]
    assert labels[0].startswith("weekly lecture, the timetable way")
    assert labels[2].startswith("one-off review (type 2)")
    assert labels[3].startswith("cross-listed seminar, course 1 of 2")
    assert labels[4].startswith("cross-listed seminar, course 2 of 2")
    assert len(set(labels)) == len(labels)
    # ... and in a note on the row's row_id, in the column always in view.
    for row, label in enumerate(labels, start=FIRST_ROW):
        assert example.cell(row, 1).comment.text == f"This example: {label}."
    # The importer does not know the column: carried through, never sent.
    assert ColumnMap.build((*TEMPLATE_COLUMNS, ABOUT_COLUMN)).index == ColumnMap.build(TEMPLATE_COLUMNS).index


def test_template_example_sheet_validates_as_it_is(xlsx: Path, tmp_path: Path) -> None:
    """`importer validate term-schedule.xlsx --sheet Example`: every row valid, at its own row number."""
    output = tmp_path / "example.result.xlsx"
    result = CliRunner().invoke(cli, ["validate", str(xlsx), "--sheet", "Example", "-o", str(output)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = validate_file(xlsx, tmp_path / "again.xlsx", ReadOptions(sheet="Example"), now=NOW)
    assert [(r.row_number, r.outcome.status) for r in report.results] == [
        (row, Status.VALID) for row in range(FIRST_ROW, FIRST_ROW + len(EXAMPLE_ROWS))]
    assert not report.problems
    result_rows = list(openpyxl.load_workbook(output).worksheets[0].iter_rows(values_only=True))
    assert result_rows[0][len(TEMPLATE_COLUMNS)] == ABOUT_COLUMN  # carried to the result sheet


def test_filled_in_template_validates_with_spreadsheet_row_numbers(xlsx: Path, tmp_path: Path) -> None:
    """A coordinator fills the Schedule from row 3 on: the legend is skipped, rows keep their numbers."""
    filled = openpyxl.load_workbook(xlsx)
    schedule = filled["Schedule"]
    good = EXAMPLE_ROWS[0]
    for col, name in enumerate(TEMPLATE_COLUMNS, start=1):
        if good.get(name) is not None:
            schedule.cell(FIRST_ROW, col, good[name])
            schedule.cell(FIRST_ROW + 2, col, good[name])  # row 5, after a blank row
    schedule.cell(FIRST_ROW + 2, 1, "S27-BIO101-LEC-2")
    schedule.cell(FIRST_ROW + 2, TEMPLATE_COLUMNS.index("domain") + 1).value = None  # a red cell left empty
    source = tmp_path / "term.xlsx"
    filled.save(source)

    assert read_sheet(source).headers == TEMPLATE_COLUMNS
    report = validate_file(source, tmp_path / "term.result.xlsx", now=NOW)

    assert [(r.row_number, r.outcome.status) for r in report.results] == [
        (FIRST_ROW, Status.VALID), (FIRST_ROW + 2, Status.INVALID)]
    assert {(p.row_number, p.column, p.code) for p in report.problems if not p.warning} == {
        (FIRST_ROW + 2, "domain", "missing-value")}


# --- (4) the CSV ----------------------------------------------------------------------------


def test_csv_template_is_the_header_row(tmp_path: Path) -> None:
    path = tmp_path / "term-schedule.csv"
    write_template(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw == b"\xef\xbb\xbf" + ",".join(TEMPLATE_COLUMNS).encode() + b"\r\n"
    with pytest.raises(InputError, match="header row but no data rows"):
        read_sheet(path)
    # The same header with one row under it is read as the template's columns.
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["x"] * len(TEMPLATE_COLUMNS))
    assert read_sheet(path).headers == TEMPLATE_COLUMNS


# --- (5) errors and atomic writing ----------------------------------------------------------


@pytest.mark.parametrize("name", ["x.pdf", "x", "x.xls"])
def test_unsupported_suffix_is_one_line_exit_2(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    result = CliRunner().invoke(cli, ["template", str(target)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and ".xlsx or .csv" in lines[0], result.output
    assert "Traceback" not in result.output
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["template", str(tmp_path / "nope" / "t.xlsx")])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "no such folder" in result.output


def test_template_command_writes_and_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "term.xlsx"
    result = CliRunner().invoke(cli, ["template", str(target)])
    assert result.exit_code == 0, result.output
    assert f"Template written: {target}" in result.output
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir()] == ["term.xlsx"]  # no temporary file left behind
    # The command never replaces a file (it may be a filled schedule); the writer replaces atomically.
    target.write_bytes(b"old")
    assert CliRunner().invoke(cli, ["template", str(target)]).exit_code == 2
    assert target.read_bytes() == b"old"
    write_template(target)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir()] == ["term.xlsx"]


def test_write_failure_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importer.template as template

    def refuse(source: Any, destination: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(template.os, "replace", refuse)
    with pytest.raises(InputError, match="cannot write the template"):
        write_template(tmp_path / "term.csv")
    assert list(tmp_path.iterdir()) == []
