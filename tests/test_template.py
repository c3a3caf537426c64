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

from importer.cli import cli
from importer.columns import BY_NAME, REQUIRED, REQUIRED_WITH_TIMETABLE, TIMETABLE_FIELDS, ColumnMap
from importer.errors import InputError
from importer.limits import MAX_OCCURRENCES
from importer.models import SourceRow
from importer.reader import read_sheet
from importer.schema import check_row
from importer.template import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    EXAMPLE_ROWS,
    FORMATTED_ROWS,
    HOW_IT_WORKS,
    LISTS_SHEET,
    TEMPLATE_COLUMNS,
    TEXT_COLUMNS,
    input_message,
    timezone_names,
    write_template,
)
from importer.timetable import expand, parse_days, parse_time_range

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
EXPECTED_COLUMNS = (
    "row_id", "userId", "contextId", "domain", "courseId", "topic", "days", "time", "first_day", "last_day",
    "type", "start_time", "duration",
    "timezone", "agenda", "password", "recurrence_type", "repeat_interval", "weekly_days", "monthly_day",
    "monthly_week", "monthly_week_day", "end_times", "end_date_time", "settings.host_video",
    "settings.participant_video", "settings.join_before_host", "settings.jbh_time", "settings.mute_upon_entry",
    "settings.waiting_room", "settings.auto_recording", "settings.alternative_hosts", "settings.approval_type",
    "settings.audio", "settings.meeting_authentication",
)


@pytest.fixture(scope="module")
def xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "term-schedule.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def workbook(xlsx: Path) -> Any:
    return openpyxl.load_workbook(xlsx)


def _validations(sheet: Any) -> dict[str, Any]:
    """Data validations of the data rows, keyed by the header of the column they cover."""
    found: dict[str, Any] = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            if cell_range.min_row == 2:
                assert cell_range.min_col == cell_range.max_col
                found[TEMPLATE_COLUMNS[cell_range.min_col - 1]] = validation
    return found


def _header_prompts(sheet: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            if cell_range.min_row == cell_range.max_row == 1 and validation.prompt:
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
    # The timetable columns come right after topic, before the API columns they replace.
    topic = TEMPLATE_COLUMNS.index("topic")
    assert TEMPLATE_COLUMNS[topic + 1:topic + 5] == TIMETABLE_FIELDS


def test_headers_are_canonical_names_the_importer_matches() -> None:
    columns = ColumnMap.build(TEMPLATE_COLUMNS)
    assert set(columns.index) == set(TEMPLATE_COLUMNS)
    assert all(columns.index[name] == position for position, name in enumerate(TEMPLATE_COLUMNS))


def test_sheets_and_header(workbook: Any) -> None:
    assert workbook.sheetnames == ["Schedule", "Help", "Example", LISTS_SHEET]
    assert workbook.active.title == "Schedule"
    assert [sheet.sheet_state for sheet in workbook.worksheets] == ["visible", "visible", "visible", "hidden"]
    schedule = workbook["Schedule"]
    assert tuple(cell.value for cell in schedule[1]) == TEMPLATE_COLUMNS
    assert schedule.freeze_panes == "A2"
    assert all(value is None for row in schedule.iter_rows(min_row=2, values_only=True) for value in row)


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
        assert (cells.min_row, cells.max_row) == (2, 1_048_576), column


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
        for row in (2, FORMATTED_ROWS // 2, FORMATTED_ROWS + 1):
            assert schedule.cell(row, col).number_format == "@", (name, row)
    start = TEMPLATE_COLUMNS.index("start_time") + 1
    assert schedule.cell(2, start).number_format == DATETIME_FORMAT == "yyyy-mm-dd hh:mm"
    assert schedule.cell(FORMATTED_ROWS + 1, start).number_format == DATETIME_FORMAT
    for name in ("first_day", "last_day"):
        col = TEMPLATE_COLUMNS.index(name) + 1
        for row in (2, FORMATTED_ROWS + 1):
            assert schedule.cell(row, col).number_format == DATE_FORMAT == "yyyy-mm-dd", (name, row)


def test_dark_headers_are_the_columns_every_row_needs(workbook: Any) -> None:
    schedule = workbook["Schedule"]
    dark = {cell.value for cell in schedule[1] if cell.font.b and cell.fill.fgColor.rgb.endswith("1F4E78")}
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
    table = {row[0]: row for row in rows[header_at + 1:] if row[0]}
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


# --- (3) the Example rows validate clean ----------------------------------------------------


def test_example_sheet_rows(workbook: Any) -> None:
    example = workbook["Example"]
    rows = list(example.iter_rows(values_only=True))
    assert tuple(rows[0]) == TEMPLATE_COLUMNS
    data = [dict(zip(TEMPLATE_COLUMNS, row, strict=False)) for row in rows[1:]]
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
    assert example.cell(2, first_day).number_format == DATE_FORMAT
    assert example.freeze_panes == "A2"


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
