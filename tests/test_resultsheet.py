"""The result sheet as a coordinator gets it: cells read back through openpyxl / csv, formats,
formula safety, the Summary sheet, atomic writes and one-line errors."""

from __future__ import annotations

import codecs
import csv
import errno
import math
import os
import re
import tempfile
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.errors import InputError
from importer.escapes import csv_safe, unescape_csv_text, unescape_xlsx_text
from importer.models import RESULT_COLUMNS, Outcome, RowResult
from importer.report import Report
from importer.resultsheet import cell_text, write_result_sheet
from importer.run import check_sheet
from importer.statuses import STATUSES, Status

import support

HEADERS = (
    "Row ID",
    "User ID",
    "Context ID",
    "Course ID",
    "Topic",
    "Start Time",
    "Duration",
    "Settings.Waiting Room",
    "Notes",
)
TEXT_COLUMNS = {0, 1, 2, 3}
ALL_HEADERS = [*HEADERS, *RESULT_COLUMNS]
HYPERLINK = '=HYPERLINK("http://evil.example","click")'
START = datetime(2026, 9, 8, 10, 0)


def result(
    row_number: int,
    cells: tuple[Any, ...],
    status: Status,
    meeting_id: str | None = None,
    error_code: str | None = None,
    message: str | None = None,
    notes: tuple[str, ...] = (),
    next_step: str | None = None,
) -> RowResult:
    return RowResult(row_number, cells, Outcome(status, meeting_id, error_code, message, next_step), notes)


def report(headers: tuple[str, ...] | list[str], results: list[RowResult], *, row_id: int | None = None,
           topic: int | None = None, output: str = "term.result.xlsx") -> Report:
    return Report(output=Path(output), headers=tuple(headers), results=results, row_id_column=row_id,
                  topic_column=topic)


def sample_rows() -> list[RowResult]:
    """One row per status, each carrying one awkward value."""
    host = "m.okafor@state.example.edu"
    ctx = "0123456789abcdef0123456789abcdef01234567"
    return [
        result(2, ("F26-BIO101-LEC", host, ctx, 396, "BIO 101", START, 50, True, HYPERLINK),
               Status.CREATED, meeting_id="81234567890"),
        result(3, ("F26-CHEM110-LEC", host, ctx, "00123", "CHEM 110", START, 75, False, "+1"),
               Status.FAILED, error_code="1001", message="User does not exist",
               notes=("host unknown to Zoom",)),
        result(4, ("F26-MATH221", host, ctx, 501, "MATH 221", START, 50, None, "@x"),
               Status.NOT_ASSOCIATED, meeting_id="81234567891", error_code="406",
               message="context cannot be associated"),
        result(5, ("F26-HIST240", host, ctx, 502, "HIST 240", START, "fifty", None, "-x"),
               Status.INVALID, message="column 'Duration': must be a whole number"),
        result(6, ("F26-CS150", host, ctx, 503, "CS 150", START, 50, None, "\rcarriage"),
               Status.UNKNOWN, message="read timeout", next_step="check in Zoom"),
        result(7, ("F26-PSY100", host, ctx, 396.0, "PSY 100", START, 60.5, None, "-5"),
               Status.ASSOCIATED, meeting_id="81234567892"),
        # Fewer cells than headers: padded with blanks.
        result(8, ("F26-ECON201", host, ctx, 504, "\tECON 201"), Status.NOT_SENT,
               message="daily limit reached"),
    ]


def sample_report() -> Report:
    """As a run makes it: row_id is "Row ID" and topic is "Topic"."""
    return report(HEADERS, sample_rows(), row_id=0, topic=4)


def read_xlsx(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def values(sheet: Any) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def xlsx(tmp_path: Path) -> openpyxl.Workbook:
    path = tmp_path / "out.xlsx"
    write_result_sheet(path, sample_report(), text_columns=TEXT_COLUMNS)
    return read_xlsx(path)


@pytest.fixture
def csv_rows(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "out.csv"
    write_result_sheet(path, sample_report(), text_columns=TEXT_COLUMNS)
    return read_csv(path)


# ------------------------------------------------------------------ xlsx


def test_xlsx_sheets_headers_and_order(xlsx: openpyxl.Workbook) -> None:
    assert xlsx.sheetnames == ["Results", "Summary"]
    rows = values(xlsx["Results"])
    assert rows[0] == ALL_HEADERS
    assert [r[0] for r in rows[1:]] == [
        "F26-BIO101-LEC", "F26-CHEM110-LEC", "F26-MATH221", "F26-HIST240",
        "F26-CS150", "F26-PSY100", "F26-ECON201",
    ]
    assert [r[len(HEADERS)] for r in rows[1:]] == [
        "created", "failed", "not_associated", "invalid", "unknown", "associated", "not_sent",
    ]
    assert all(cell.font.b for cell in xlsx["Results"][1])


def test_xlsx_exact_values(xlsx: openpyxl.Workbook) -> None:
    rows = values(xlsx["Results"])
    assert rows[1] == [
        "F26-BIO101-LEC", "m.okafor@state.example.edu",
        "0123456789abcdef0123456789abcdef01234567", "396", "BIO 101", START, 50, True,
        HYPERLINK, "created", "81234567890", None, None, None, None,
    ]
    # The message alone; the status's next step (the row has none of its own); the row's notes.
    assert rows[2][-6:] == [
        "failed", None, "1001", "User does not exist", STATUSES[Status.FAILED].next_step, "host unknown to Zoom",
    ]
    assert rows[4][6] == "fifty"
    assert rows[5][-3:] == ["read timeout", "check in Zoom", None]  # the outcome's message and next step, apart
    assert rows[6][6] == 60.5
    assert rows[7] == [
        "F26-ECON201", "m.okafor@state.example.edu",
        "0123456789abcdef0123456789abcdef01234567", "504", "\tECON 201", None, None, None,
        None, "not_sent", None, None, "daily limit reached", STATUSES[Status.NOT_SENT].next_step, None,
    ]


def test_xlsx_identifiers_are_text(xlsx: openpyxl.Workbook) -> None:
    sheet = xlsx["Results"]
    course = [sheet.cell(row, 4) for row in range(2, 9)]
    assert [c.value for c in course] == ["396", "00123", "501", "502", "503", "396", "504"]
    assert all(c.data_type == "s" and c.number_format == "@" for c in course)
    meeting = sheet.cell(2, len(HEADERS) + 2)
    assert meeting.value == "81234567890"
    assert meeting.data_type == "s" and meeting.number_format == "@"
    assert sheet.cell(2, 7).data_type == "n"  # Duration is not a text column


def test_xlsx_identifier_columns_stay_text_for_what_is_typed_later(xlsx: openpyxl.Workbook) -> None:
    # The whole column is '@', so what a coordinator types there later stays text too.
    sheet = xlsx["Results"]
    formats = [column(sheet, n).number_format for n in range(1, len(ALL_HEADERS) + 1)]
    assert formats == ["@"] * 4 + ["General"] * 6 + ["@"] + ["General"] * 4  # meeting_id is text


def column(sheet: Any, number: int) -> Any:
    """The column dimension holding column `number` (openpyxl groups equal neighbours)."""
    return next(d for d in sheet.column_dimensions.values() if d.min <= number <= d.max)


def test_xlsx_column_widths(xlsx: openpyxl.Workbook) -> None:
    widths = [column(xlsx["Results"], n).width for n in range(1, len(ALL_HEADERS) + 1)]
    # Each column's longest text (value or header) + 2, at least 8, at most 50 (44 for identifiers);
    # Start Time shows 16 characters, import_status 4 more for its symbol. XlsxWriter adds padding
    # (17 -> 17.71).
    assert [math.floor(width) for width in widths] == [
        17, 28, 42, 11, 11, 18, 10, 23, 43, 20, 13, 12, 43, 50, 22,
    ]


def test_xlsx_datetime_cell(xlsx: openpyxl.Workbook) -> None:
    cell = xlsx["Results"].cell(2, 6)
    assert cell.is_date and cell.value == START
    assert cell.number_format == "yyyy-mm-dd hh:mm"


def test_xlsx_date_and_time_cells(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    write_result_sheet(path, report(["D", "T"], [result(2, (date(2026, 10, 1), time(9, 30)), Status.VALID)]))
    sheet = read_xlsx(path)["Results"]
    day, moment = sheet.cell(2, 1), sheet.cell(2, 2)
    assert (day.value, day.number_format) == (datetime(2026, 10, 1), "yyyy-mm-dd")
    assert (moment.value, moment.number_format) == (time(9, 30), "hh:mm")


@pytest.mark.parametrize(
    ("row", "col", "text"),
    [(2, 9, HYPERLINK), (3, 9, "+1"), (4, 9, "@x"), (5, 9, "-x"), (7, 9, "-5"),
     (8, 5, "\tECON 201")],
)
def test_xlsx_formula_like_text_is_a_string(
    xlsx: openpyxl.Workbook, row: int, col: int, text: str
) -> None:
    cell = xlsx["Results"].cell(row, col)
    assert cell.data_type == "s"
    assert cell.value == text


def test_xlsx_carriage_return_is_escaped_the_excel_way(xlsx: openpyxl.Workbook) -> None:
    cell = xlsx["Results"].cell(6, 9)
    assert cell.data_type == "s"
    assert cell.value == "_x000D_carriage"  # what openpyxl sees; Excel decodes it
    assert unescape_xlsx_text(cell.value) == "\rcarriage"


def test_xlsx_status_fills(xlsx: openpyxl.Workbook) -> None:
    sheet = xlsx["Results"]
    status_col = len(HEADERS) + 1

    def colours(row: int) -> tuple[str, str]:
        cell = sheet.cell(row, status_col)
        return cell.fill.fgColor.rgb, cell.font.color.rgb

    green, red, amber = ("FFC6EFCE", "FF006100"), ("FFFFC7CE", "FF9C0006"), ("FFFFEB9C", "FF7A4700")
    assert [colours(row) for row in range(2, 9)] == [green, red, amber, red, amber, green, amber]
    assert sheet.cell(2, 1).fill.fgColor.rgb != green[0]  # only the status cell is coloured


def test_every_status_has_the_colour_of_its_registry_entry(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    write_result_sheet(path, report(["A"], [result(n + 2, ("x",), status) for n, status in enumerate(Status)]))
    fills = {"green": "FFC6EFCE", "amber": "FFFFEB9C", "red": "FFFFC7CE"}
    sheet = read_xlsx(path)["Results"]
    assert [sheet.cell(n + 2, 2).fill.fgColor.rgb for n in range(len(Status))] == [
        fills[STATUSES[status].colour] for status in Status
    ]


def test_xlsx_frozen_header_and_autofilter(xlsx: openpyxl.Workbook) -> None:
    sheet = xlsx["Results"]
    assert sheet.freeze_panes == "F2"  # below the header, right of Topic
    assert sheet.auto_filter.ref == "A1:O8"


def test_xlsx_summary_counts_and_actions(xlsx: openpyxl.Workbook) -> None:
    summary = xlsx["Summary"]
    rows = values(summary)
    assert rows[0][0] == "7 row(s): term.result.xlsx"
    assert summary["A1"].font.b
    assert rows[2][:3] == ["Status", "Rows", "What to do next"]
    assert all(cell.font.b for cell in summary[3][:3])
    counts = {r[0]: r[1] for r in rows[3:12]}
    assert counts == {
        "invalid": 1, "created": 1, "associated": 1, "not_associated": 1,
        "failed": 1, "unknown": 1, "not_sent": 1, "total": 7, "with warnings": 0,
    }
    # Status enum order
    assert [r[0] for r in rows[3:10]] == [
        "invalid", "created", "associated", "not_associated", "failed", "unknown", "not_sent",
    ]
    assert {r[0]: r[2] for r in rows[3:10]} == {r[0]: STATUSES[Status(r[0])].next_step for r in rows[3:10]}
    assert "--retry-unknown" in rows[8][2]
    assert rows[10][0] == "total" and summary.cell(11, 1).font.b and summary.cell(11, 2).font.b
    assert rows[11][0] == "with warnings" and "warnings column" in rows[11][2]
    assert rows[12] == [None] * 6
    assert rows[13][0] == "Rows that need action (5)"
    assert rows[14] == ["Input row", "row_id", "topic", "import_status", "next_step", "error_message"]
    listed = rows[15:]
    assert listed == [
        [3, "F26-CHEM110-LEC", "CHEM 110", "failed", STATUSES[Status.FAILED].next_step, "User does not exist"],
        [4, "F26-MATH221", "MATH 221", "not_associated", STATUSES[Status.NOT_ASSOCIATED].next_step,
         "context cannot be associated"],
        [5, "F26-HIST240", "HIST 240", "invalid", STATUSES[Status.INVALID].next_step,
         "column 'Duration': must be a whole number"],
        [6, "F26-CS150", "CS 150", "unknown", "check in Zoom", "read timeout"],  # the row's own next step
        [8, "F26-ECON201", "\tECON 201", "not_sent", STATUSES[Status.NOT_SENT].next_step, "daily limit reached"],
    ]
    assert summary.cell(16, 4).fill.fgColor.rgb == "FFFFC7CE"  # failed: red


def test_xlsx_summary_lists_every_row_that_needs_action(tmp_path: Path) -> None:
    rows = [
        result(n, (f"R{n}", f"Topic {n}"), Status.CREATED if n % 10 == 0 else Status.FAILED, message="=no")
        for n in range(2, 2 + 280)
    ]
    failed = [r for r in rows if r.outcome.status == Status.FAILED]
    assert len(failed) == 252  # more than the 200 an older Summary listed
    path = tmp_path / "many.xlsx"
    write_result_sheet(path, report(["Row ID", "Topic"], rows, row_id=0, topic=1), text_columns=[0])
    sheet = read_xlsx(path)["Summary"]
    table = values(sheet)
    heading = table.index(["Rows that need action (252)", *[None] * 5])
    assert table[heading + 1][:3] == ["Input row", "row_id", "topic"]
    listed = table[heading + 2:]
    assert [r[:4] for r in listed] == [[r.row_number, f"R{r.row_number}", f"Topic {r.row_number}", "failed"]
                                       for r in failed]
    assert all(r[5] == "=no" for r in listed)
    assert sheet.cell(heading + 3, 6).data_type == "s"  # the message is text, not a formula


def test_xlsx_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_result_sheet(path, report(["Topic"], [], topic=0))
    wb = read_xlsx(path)
    assert values(wb["Results"]) == [["Topic", *RESULT_COLUMNS]]
    rows = values(wb["Summary"])
    assert [r[:2] for r in rows] == [
        ["0 row(s): term.result.xlsx", None], [None, None], ["Status", "Rows"], ["total", 0],
        ["with warnings", 0], [None, None], ["No rows need action.", None],
    ]


# ------------------------------------------------------------------ what a coordinator sees in Excel

#: The symbol each status colour shows before the status word (a number format, not the value).
SYMBOLS = {"green": '"\u2713 "@', "amber": '"! "@', "red": '"\u2717 "@'}
#: The default row height, in points (Calibri 11).
DEFAULT_ROW_HEIGHT = 15
#: The widest a column grows, before XlsxWriter's padding: prose wraps there, identifiers do not.
WIDTH_CAP, IDENTIFIER_CAP = 50, 44
_DATE_FORMATS = {"yyyy-mm-dd hh:mm": "%Y-%m-%d %H:%M", "yyyy-mm-dd": "%Y-%m-%d", "hh:mm": "%H:%M"}


def shown(cell: Any) -> str:
    """The text Excel shows in a cell (its longest line): a date by its number format, a status
    with its symbol, a number or a bool as Excel's General format writes it."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime | date | time):
        return value.strftime(_DATE_FORMATS[cell.number_format])
    if isinstance(value, int | float):
        return cell_text(value)
    symbol = re.fullmatch(r'"(.*)"@', cell.number_format)
    text = (symbol.group(1) if symbol else "") + unescape_xlsx_text(value)
    return max(text.split("\n"), key=len)


def test_xlsx_opens_on_summary_with_results_first(xlsx: openpyxl.Workbook) -> None:
    assert xlsx.worksheets[0].title == "Results"  # what the importer reads when the sheet is fed back
    assert xlsx.active is not None and xlsx.active.title == "Summary"
    # Only Summary's tab is selected: two selected tabs would group the sheets, and an edit would go to both.
    assert [bool(ws.sheet_view.tabSelected) for ws in xlsx.worksheets] == [False, True]


def test_xlsx_summary_shows_a_row_that_needs_action_and_counts_warnings(tmp_path: Path) -> None:
    headers = ("Topic", "Start Time", "Row ID")
    rows = [
        result(2, ("BIO 101", START, "R-2"), Status.CREATED, meeting_id="81234567890",
               notes=("starts on a public holiday", "cross-listed with row 5")),
        result(3, ("MATH 221", START, "R-3"), Status.FAILED, error_code="1001", message="User does not exist",
               next_step="check the host's Zoom e-mail"),
        result(4, ("CS 150", START, "R-4"), Status.CREATED, meeting_id="81234567891"),
        result(5, ("HIST 240", START, "R-5"), Status.INVALID, message="column 'Duration': must be a whole number",
               notes=("starts in the past",)),  # a warning on a row that is not done: not "with warnings"
    ]
    path = tmp_path / "term.result.xlsx"
    write_result_sheet(path, report(headers, rows, topic=0, row_id=2), text_columns=[2])
    workbook = read_xlsx(path)
    summary = values(workbook["Summary"])
    assert {r[0]: r[1] for r in summary if r[0] in ("total", "with warnings")} == {"total": 4, "with warnings": 1}
    heading = summary.index(["Rows that need action (2)", *[None] * 5])
    assert summary[heading + 2:] == [
        [3, "R-3", "MATH 221", "failed", "check the host's Zoom e-mail", "User does not exist"],
        [5, "R-5", "HIST 240", "invalid", STATUSES[Status.INVALID].next_step,
         "column 'Duration': must be a whole number"],
    ]
    results = [dict(zip(values(workbook["Results"])[0], r, strict=True)) for r in values(workbook["Results"])[1:]]
    created = results[0]
    assert created["warnings"] == "starts on a public holiday; cross-listed with row 5"
    assert (created["import_status"], created["error_message"], created["next_step"]) == ("created", None, None)
    assert results[2]["warnings"] is None


def long_report() -> Report:
    """Columns of every kind, some longer than the caps."""
    headers = ("Row ID", "Context ID", "Topic", "Start Time", "Day", "At", "Recorded", "Capacity", "Agenda")
    agenda = "Weekly lecture; bring the lab notebook and read chapter four beforehand. " * 4
    long_id = "ctx-" + "0123456789abcdef" * 4  # 68 characters: past the identifiers' cap
    rows = [
        result(2, ("R-2", "0123456789abcdef0123456789abcdef01234567", "BIO 101", START, date(2026, 9, 8),
                   time(9, 30), True, 1234567.25, agenda), Status.CREATED, meeting_id="81234567890"),
        result(3, ("R-3", long_id, "A much longer topic: Organic Chemistry II", datetime(2026, 12, 31, 23, 59),
                   None, None, False, 12, "short"), Status.FAILED, error_code="3000",
               message="this host may not schedule meetings here " * 3, notes=("host over quota",)),
        result(4, ("R-4", "c", "X", None, None, None, None, None, None), Status.VALID),
    ]
    return report(headers, rows, row_id=0, topic=2)


def test_xlsx_every_column_fits_its_content(tmp_path: Path) -> None:
    path = tmp_path / "wide.xlsx"
    write_result_sheet(path, long_report(), text_columns=[0, 1])
    sheet = read_xlsx(path)["Results"]
    header = [cell.value for cell in sheet[1]]
    for number, name in enumerate(header, start=1):
        cells = [sheet.cell(row, number) for row in range(1, sheet.max_row + 1)]
        longest = max(len(shown(cell)) for cell in cells)
        cap = IDENTIFIER_CAP if name in ("Row ID", "Context ID", "meeting_id") else WIDTH_CAP
        assert column(sheet, number).width >= min(longest, cap), name
    widths = {name: column(sheet, number).width for number, name in enumerate(header, start=1)}
    assert widths["Start Time"] >= 16  # "2026-09-08 10:00": never "###"
    assert widths["Day"] >= 10 and widths["At"] >= 5
    assert math.floor(widths["Context ID"]) == IDENTIFIER_CAP  # 68 characters: the identifiers' cap
    # Long text: the column stops at the cap (XlsxWriter adds 0.71 of padding) and the text wraps.
    for name, row in (("Agenda", 2), ("error_message", 3)):
        assert math.floor(widths[name]) == WIDTH_CAP, name
        assert sheet.cell(row, header.index(name) + 1).alignment.wrap_text, name
    assert not sheet.cell(3, 2).alignment.wrap_text  # an identifier is never broken over lines


@pytest.mark.parametrize(
    ("headers", "row_id", "topic", "frozen"),
    [
        (("Row ID", "Topic", "Start Time", "Notes"), 0, 1, "C2"),
        (("Topic", "Duration", "Row ID", "Notes"), 2, 0, "D2"),  # row_id after topic: through row_id
        (("Notes", "Topic", "Start Time"), None, 1, "C2"),
        (("Notes", "Start Time"), None, None, "A2"),  # nothing to keep in view but the header
    ],
)
def test_xlsx_freeze_keeps_row_id_and_topic_in_view(
    tmp_path: Path, headers: tuple[str, ...], row_id: int | None, topic: int | None, frozen: str
) -> None:
    cells = tuple(f"{header} of row 2" for header in headers)
    path = tmp_path / "frozen.xlsx"
    write_result_sheet(path, report(headers, [result(2, cells, Status.VALID)], row_id=row_id, topic=topic))
    sheet = read_xlsx(path)["Results"]
    assert sheet.freeze_panes == frozen
    assert not any(d.hidden or d.outline_level for d in sheet.column_dimensions.values())  # narrow: nothing folds


def test_xlsx_wide_frozen_part_folds_the_columns_between(xlsx: openpyxl.Workbook) -> None:
    # Row ID (17) + User ID (28) + Context ID (42) + Course ID (11) + Topic (11) > 90 characters.
    sheet = xlsx["Results"]
    assert sheet.freeze_panes == "F2"
    folded = [(column(sheet, n).hidden, column(sheet, n).outline_level) for n in range(1, 7)]
    assert folded == [(False, 0), (True, 1), (True, 1), (True, 1), (False, 0), (False, 0)]
    assert column(sheet, 5).collapsed  # Topic carries the group's "+"
    assert math.floor(column(sheet, 3).width) == 42  # a folded column keeps its width for when it is shown


def test_xlsx_print_setup(xlsx: openpyxl.Workbook) -> None:
    for name in ("Results", "Summary"):
        sheet = xlsx[name]
        assert sheet.page_setup.orientation == "landscape", name
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, name
        assert sheet.page_setup.fitToHeight == 0, name  # as many pages down as it takes
        # One page wide: XlsxWriter leaves out fitToWidth when it is 1, Excel's default.
        assert sheet.page_setup.fitToWidth in (1, None), name
    assert (xlsx["Results"].print_title_rows or "").replace("$", "") == "1:1"  # the header on every page


def test_xlsx_status_symbol_is_a_format_not_the_value(xlsx: openpyxl.Workbook) -> None:
    statuses = [xlsx["Results"].cell(row, len(HEADERS) + 1) for row in range(2, 9)]
    assert [cell.value for cell in statuses] == [
        "created", "failed", "not_associated", "invalid", "unknown", "associated", "not_sent",
    ]
    assert [cell.number_format for cell in statuses] == [SYMBOLS[STATUSES[Status(cell.value)].colour]
                                                         for cell in statuses]
    assert shown(statuses[0]) == "\u2713 created" and shown(statuses[1]) == "\u2717 failed"
    # The Summary's counts too: the bare word, the symbol in its format.
    counted = [row[0] for row in xlsx["Summary"].iter_rows(min_row=4, max_row=10)]
    assert [(cell.value, cell.number_format) for cell in counted] == [
        (status.value, SYMBOLS[STATUSES[status].colour]) for status in Status
        if status.value in {cell.value for cell in statuses}]


#: The importer's own input columns (tests/support.py): what a coordinator's sheet holds.
RUN_TEXT_COLUMNS = [support.HEADERS.index(h) for h in ("Row ID", "User ID", "Context ID", "Domain", "Course ID")]
LATER = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)  # "now" for the checks: before every row's start


def test_result_sheet_is_read_back_by_the_importer(tmp_path: Path) -> None:
    def cells(topic: str, row_id: str) -> tuple[Any, ...]:
        return tuple(support.row(topic, row_id=row_id))

    rows = [
        result(2, cells("BIO 101", "R-2"), Status.CREATED, meeting_id="81234567890", notes=("cross-listed",)),
        result(3, cells("CHEM 110", "R-3"), Status.FAILED, error_code="1001", message="User does not exist",
               next_step="check the host"),
        result(4, cells("MATH 221", "R-4"), Status.NOT_ASSOCIATED, meeting_id="81234567891", error_code="406",
               message="context cannot be associated"),
        result(5, cells("CS 150", "R-5"), Status.UNKNOWN, message="read timeout"),
    ]
    path = tmp_path / "term.result.xlsx"
    write_result_sheet(path, report(support.HEADERS, rows, row_id=0, topic=5), text_columns=RUN_TEXT_COLUMNS)
    _, checks = check_sheet(path, now=LATER)
    # The statuses are read as the bare words, whatever symbol their cells show.
    assert [(c.prior.status, c.prior.meeting_id, c.prior.error_code) for c in checks] == [
        ("created", "81234567890", None), ("failed", None, "1001"), ("not_associated", "81234567891", "406"),
        ("unknown", None, None),
    ]
    assert [(c.prior.message, c.prior.next_step) for c in checks] == [
        (None, None), ("User does not exist", "check the host"),
        ("context cannot be associated", STATUSES[Status.NOT_ASSOCIATED].next_step),
        ("read timeout", STATUSES[Status.UNKNOWN].next_step),
    ]
    assert all(c.request is not None and not c.errors for c in checks)  # the result columns are not sent


def test_older_result_sheet_with_four_result_columns_is_read(tmp_path: Path) -> None:
    path = tmp_path / "old.result.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*support.HEADERS, "import_status", "meeting_id", "error_code", "error_message"])
    sheet.append([*support.row("BIO 101", row_id="R-2"), "created", "81234567890", None, None])
    sheet.append([*support.row("CHEM 110", row_id="R-3"), "failed", None, "1001",
                  "User does not exist -> check the host"])  # "message -> next step" in one cell
    sheet.append([*support.row("MATH 221", row_id="R-4"), "failed", None, "300", "Zoom rejected the topic"])
    workbook.save(path)
    _, checks = check_sheet(path, now=LATER)
    assert [(c.prior.status, c.prior.meeting_id, c.prior.error_code, c.prior.message, c.prior.next_step)
            for c in checks] == [
        ("created", "81234567890", None, None, None),
        ("failed", None, "1001", "User does not exist", "check the host"),
        ("failed", None, "300", "Zoom rejected the topic", None),
    ]
    assert all(c.request is not None and not c.errors for c in checks)


def test_xlsx_long_wrapped_text_makes_a_taller_row(tmp_path: Path) -> None:
    path = tmp_path / "tall.xlsx"
    write_result_sheet(path, long_report(), text_columns=[0, 1])
    sheet = read_xlsx(path)["Results"]
    heights = {row: sheet.row_dimensions[row].height for row in (2, 3, 4)}
    assert heights[2] is not None and heights[2] > DEFAULT_ROW_HEIGHT  # the agenda: 296 characters
    assert heights[3] is not None and heights[3] > DEFAULT_ROW_HEIGHT  # the error message: 123 characters
    assert heights[2] > heights[3]  # more lines, higher
    assert heights[4] is None  # short cells: Excel's default
    assert all(height <= 409 for height in (heights[2], heights[3]))  # Excel's largest row height


def test_xlsx_values_excel_cannot_hold_are_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    aware = datetime(2026, 9, 8, 14, 0, tzinfo=UTC)
    cells = (aware, 12345678901234567, float("nan"), date(2026, 10, 1), time(9, 30), "a\ud800b")
    headers = ["A", "B", "C", "D", "E", "F"]
    write_result_sheet(path, report(headers, [result(2, cells, Status.VALID)]))
    row = values(read_xlsx(path)["Results"])[1]
    assert row[:6] == [
        "2026-09-08 14:00+00:00", "12345678901234567", "nan",
        datetime(2026, 10, 1), time(9, 30), "a\ufffdb",
    ]


# (cell, what openpyxl reads back in an ordinary column, in a text column); a str read back
# is compared after `unescape_xlsx_text`, as the reader does.
EDGE_CELLS = [
    (" lead", " lead", " lead"),
    ("trail\t", "trail\t", "trail\t"),
    ("b\n", "b\n", "b\n"),
    ("", "", ""),
    ("a&b", "a&b", "a&b"),
    ("x<y>", "x<y>", "x<y>"),
    ("_x0041_", "_x0041_", "_x0041_"),
    ("_x004", "_x004", "_x004"),
    ("ctl\x1f", "ctl\x1f", "ctl\x1f"),
    ("\ufffe", "\ufffe", "\ufffe"),
    ("sur\ud800", "sur\ufffd", "sur\ufffd"),
    ("=1+2", "=1+2", "=1+2"),
    ("<r>a&b</r>", "<r>a&b</r>", "<r>a&b</r>"),  # XlsxWriter's own marker of a rich string
    ("<r><t>x</t></r>", "<r><t>x</t></r>", "<r><t>x</t></r>"),
    ("x" * 16384, "x" * 16384, "x" * 16384),
    ("x" * 40000, "x" * 32767, "x" * 32767),  # Excel's limit per cell
    ("😀" * 16384, "😀" * 16383, "😀" * 16383),  # 32,768 UTF-16 units: a pair is not split
    ("<r>" + "y" * 40000 + "</r>", "<r>" + "y" * 32764, "<r>" + "y" * 32764),
    (10**15 - 1, 10**15 - 1, "999999999999999"),
    (-(10**15) + 1, -(10**15) + 1, "-999999999999999"),
    (10**15, "1000000000000000", "1000000000000000"),
    (-(10**15), "-1000000000000000", "-1000000000000000"),
    (2**70, str(2**70), str(2**70)),
    (True, True, "TRUE"),
    (False, False, "FALSE"),
    (396.0, 396, "396"),
    (1.5, 1.5, "1.5"),
    (float("inf"), "inf", "inf"),
    (float("-inf"), "-inf", "-inf"),
    # Past Excel's largest number, 9.99999999999999E+307; an integral float's text is its integer.
    (1.7976931348623157e308, str(int(1.7976931348623157e308)), str(int(1.7976931348623157e308))),
    (-1e308, str(int(-1e308)), str(int(-1e308))),
    (9.99999999999999e307, 9.99999999999999e307, str(int(9.99999999999999e307))),
    (1.5e300, 1.5e300, str(int(1.5e300))),
    (datetime(2026, 9, 8, 10), datetime(2026, 9, 8, 10), "2026-09-08 10:00"),
    (datetime(2026, 9, 8, 10, tzinfo=UTC), "2026-09-08 10:00+00:00", "2026-09-08 10:00+00:00"),
    (datetime(1899, 1, 1), "1899-01-01 00:00", "1899-01-01 00:00"),
    (date(1899, 12, 31), "1899-12-31", "1899-12-31"),
    (time(9, 30, tzinfo=UTC), "09:30+00:00", "09:30+00:00"),
    (time(9, 30, 15), time(9, 30, 15), "09:30:15"),
]


@pytest.mark.parametrize(("cell", "plain", "as_text"), EDGE_CELLS, ids=lambda v: repr(v)[:20])
def test_xlsx_edge_cells(tmp_path: Path, cell: Any, plain: Any, as_text: str) -> None:
    path = tmp_path / "edge.xlsx"
    write_result_sheet(path, report(["plain", "id"], [result(2, (cell, cell), Status.VALID)]), text_columns=[1])
    sheet = read_xlsx(path)["Results"]
    got_plain, got_text = sheet.cell(2, 1), sheet.cell(2, 2)
    for got, expected in ((got_plain, plain), (got_text, as_text)):
        if isinstance(expected, str):
            assert got.data_type == "s"
            assert unescape_xlsx_text(got.value or "") == expected
        else:
            assert got.value == expected and type(got.value) is type(expected)
    assert got_text.number_format == "@"


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "OUT.XLSX"
    write_result_sheet(path, sample_report(), text_columns=TEXT_COLUMNS)
    assert read_xlsx(path).sheetnames[0] == "Results"
    write_result_sheet(tmp_path / "OUT.Csv", sample_report())
    assert read_csv(tmp_path / "OUT.Csv")[0] == ALL_HEADERS


def test_xlsx_refuses_more_columns_than_excel_has(tmp_path: Path) -> None:
    headers = [f"c{n}" for n in range(16_384 - len(RESULT_COLUMNS) + 1)]
    with pytest.raises(InputError, match=r"^too many columns \(16385\) for \.xlsx: write \.csv instead$"):
        write_result_sheet(tmp_path / "wide.xlsx", report(headers, []))
    assert list(tmp_path.iterdir()) == []


def test_xlsx_refuses_more_rows_than_excel_has(tmp_path: Path) -> None:
    rows = [result(2, ("x",), Status.VALID)] * 1_048_576
    with pytest.raises(InputError, match=r"^too many rows for \.xlsx \(limit 1048575\): write \.csv$"):
        write_result_sheet(tmp_path / "long.xlsx", report(["A"], rows))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ csv


def test_csv_starts_with_bom_and_uses_crlf(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_result_sheet(path, sample_report(), text_columns=TEXT_COLUMNS)
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    assert raw[len(codecs.BOM_UTF8):].startswith(b"Row ID,User ID,")
    assert raw.endswith(f"daily limit reached,{STATUSES[Status.NOT_SENT].next_step},\r\n".encode())
    assert raw.count(b"\r\n") == 8  # a header and 7 rows; the CR of '\rcarriage' is inside quotes


def test_csv_exact_values(csv_rows: list[list[str]]) -> None:
    assert csv_rows[0] == ALL_HEADERS
    assert csv_rows[1] == [
        "F26-BIO101-LEC", "m.okafor@state.example.edu",
        "0123456789abcdef0123456789abcdef01234567", "396", "BIO 101", "2026-09-08 10:00",
        "50", "TRUE", "'" + HYPERLINK, "created", "81234567890", "", "", "", "",
    ]
    assert csv_rows[2][3] == "00123"
    assert csv_rows[2][7] == "FALSE"
    assert csv_rows[2][-4:] == [
        "1001", "User does not exist", STATUSES[Status.FAILED].next_step, "host unknown to Zoom",
    ]
    assert csv_rows[5][-3:] == ["read timeout", "check in Zoom", ""]
    assert csv_rows[6][3] == "396"  # 396.0 float in a text column
    assert csv_rows[6][6] == "60.5"
    assert csv_rows[7][4:9] == ["'\tECON 201", "", "", "", ""]
    assert [r[9] for r in csv_rows[1:]] == [
        "created", "failed", "not_associated", "invalid", "unknown", "associated", "not_sent",
    ]


def test_csv_header_is_escaped_too(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    write_result_sheet(path, report(["=cmd", "ok"], [result(2, ("a", "b"), Status.VALID)]))
    assert read_csv(path)[0] == ["'=cmd", "ok", *RESULT_COLUMNS]


def test_csv_formula_like_text_is_escaped_and_reversible(csv_rows: list[list[str]]) -> None:
    notes = [r[8] for r in csv_rows[1:]]
    # "+1" and "-5" are plain numbers: no spreadsheet evaluates them, so they stay as-is.
    assert notes == ["'" + HYPERLINK, "+1", "'@x", "'-x", "'\rcarriage", "-5", ""]
    assert [unescape_csv_text(n) for n in notes] == [
        HYPERLINK, "+1", "@x", "-x", "\rcarriage", "-5", "",
    ]


def test_csv_dates_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    cells = (
        datetime(2026, 9, 8, 10, 0), datetime(2026, 9, 8, 10, 0, 30), date(2026, 12, 11),
        time(9, 5), 3.0, 0.1, -4, None, False, float("-inf"), 10**20,
    )
    write_result_sheet(path, report([f"c{i}" for i in range(len(cells))], [result(2, cells, Status.VALID)]))
    assert read_csv(path)[1][: len(cells)] == [
        "2026-09-08 10:00", "2026-09-08 10:00:30", "2026-12-11", "09:05", "3", "0.1", "-4", "",
        "FALSE", "-inf", "100000000000000000000",
    ]


def test_csv_equal_datetimes_keep_their_own_offsets(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    eastern = timezone(timedelta(hours=-5))
    moments = [datetime(2026, 9, 8, 15, 0, tzinfo=UTC), datetime(2026, 9, 8, 10, 0, tzinfo=eastern),
               datetime(2026, 9, 8, 15, 0), datetime(2026, 9, 8, 15, 0, tzinfo=UTC)]
    write_result_sheet(path, report(["Start"], [result(n + 2, (m,), Status.VALID) for n, m in enumerate(moments)]))
    assert [r[0] for r in read_csv(path)[1:]] == [
        "2026-09-08 15:00+00:00", "2026-09-08 10:00-05:00", "2026-09-08 15:00", "2026-09-08 15:00+00:00",
    ]


_CELLS = st.one_of(
    st.none(),
    st.text(st.sampled_from("ab ,\"'=+-@\t\r\n1.\ud800"), max_size=6),
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 1)),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.dates(),
    st.times(),
)
_ROWS = st.lists(
    st.tuples(st.lists(_CELLS, max_size=4), st.sampled_from(list(Status)),
              st.one_of(st.none(), st.text(st.sampled_from(",\"'=\r\nx0\ud800"), max_size=3)),
              st.one_of(st.none(), st.text(st.sampled_from(",\"'=\r\nx<&_\ud800"), max_size=3))),
    max_size=30)


def generated(rows: list[tuple[list[Any], Status, str | None, str | None]]) -> Report:
    return report(["c0", "c1", "c2", "c3"], [
        result(n + 2, tuple(cells), status, meeting_id=code, error_code=code, message=message, next_step=code,
               notes=(message, code) if message and code else ())
        for n, (cells, status, code, message) in enumerate(rows)])


@settings(max_examples=60, deadline=None)
@given(_ROWS)
def test_csv_holds_each_cells_text(rows: list[tuple[list[Any], Status, str | None, str | None]]) -> None:
    """Read back, every field is its cell's text: a number as it is, anything else after
    `unescape_csv_text`; short rows are padded with empty fields."""
    sheet = generated(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        write_result_sheet(path, sheet)
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
        read = read_csv(path)
    assert read[0] == ["c0", "c1", "c2", "c3", *RESULT_COLUMNS]
    assert len(read) == len(sheet.results) + 1
    for fields, row in zip(read[1:], sheet.results, strict=True):
        outcome = row.outcome
        cells = [*row.cells, *[None] * (4 - len(row.cells)), outcome.status.value, outcome.meeting_id,
                 outcome.error_code, row.error_message, row.next_step, row.warnings]
        for field, cell in zip(fields, cells, strict=True):
            number = isinstance(cell, int | float) and not isinstance(cell, bool)
            assert (field if number else unescape_csv_text(field)) == cell_text(cell)
            if not number:
                assert field == csv_safe(cell_text(cell))


# ------------------------------------------------------------------ both formats


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("=1+2", "'=1+2"), ("+1", "+1"), ("-5", "-5"), ("-2.5", "-2.5"), ("+x", "'+x"),
        ("-", "'-"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("'hello", "''hello"),
        ("'=x", "''=x"), ("hello", "hello"), ("", ""), ("1-2", "1-2"),
    ],
)
def test_csv_safe_examples(text: str, escaped: str) -> None:
    assert csv_safe(text) == escaped
    assert unescape_csv_text(escaped) == text


@given(st.text())
def test_csv_safe_round_trip(text: str) -> None:
    escaped = csv_safe(text)
    assert unescape_csv_text(escaped) == text
    if escaped.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert escaped.lstrip("+-").replace(".", "", 1).isdigit()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200), min_size=1,
                max_size=5))
def test_text_survives_both_formats(texts: list[str]) -> None:
    rows = [result(n + 2, (t, t), Status.VALID) for n, t in enumerate(texts)]
    with tempfile.TemporaryDirectory() as tmp:
        xlsx_path, csv_path = Path(tmp) / "r.xlsx", Path(tmp) / "r.csv"
        write_result_sheet(xlsx_path, report(["Notes", "Id"], rows), text_columns=[1])
        write_result_sheet(csv_path, report(["Notes", "Id"], rows), text_columns=[1])
        read = values(read_xlsx(xlsx_path)["Results"])[1:]
        assert [unescape_xlsx_text(r[0]) for r in read] == texts
        assert [unescape_xlsx_text(r[1]) for r in read] == texts
        assert [unescape_csv_text(r[0]) for r in read_csv(csv_path)[1:]] == texts
        assert [unescape_csv_text(r[1]) for r in read_csv(csv_path)[1:]] == texts


def _xlsx_expected(cell: Any) -> Any:
    """What a cell of an ordinary column reads back as: a number, a bool, a date/time, or its text."""
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int):
        return cell if abs(cell) < 10**15 else str(cell)
    if isinstance(cell, float):
        return cell if abs(cell) < 1e308 else cell_text(cell)  # Excel's largest is 9.99999999999999E+307
    if isinstance(cell, datetime):
        return cell if cell.tzinfo is None and cell.year >= 1900 else cell_text(cell)
    if isinstance(cell, date):
        return datetime.combine(cell, time()) if cell.year >= 1900 else cell_text(cell)
    if isinstance(cell, time):
        return cell if cell.tzinfo is None else cell_text(cell)
    return cell_text(cell)


def _same_moment(got: Any, expected: datetime | time) -> bool:
    """Equal to the millisecond: an Excel serial is a float of days."""
    if isinstance(expected, time):
        got = got if isinstance(got, time) else got.time()  # openpyxl reads 00:00 as a datetime
        return abs(datetime.combine(date.min, got) - datetime.combine(date.min, expected)) < timedelta(
            milliseconds=1)
    return isinstance(got, datetime) and abs(got - expected) < timedelta(milliseconds=1)


@settings(max_examples=40, deadline=None)
@given(_ROWS)
def test_xlsx_holds_each_cell_by_its_type(rows: list[tuple[list[Any], Status, str | None, str | None]]) -> None:
    """Read back, a cell Excel can hold is that value, any other its text; result columns are text."""
    # Excel's 1900 leap-year bug makes its first two months ambiguous to any reader: left out.
    sheet = generated([([c for c in cells if not _first_months_of_1900(c)], status, code, message)
                       for cells, status, code, message in rows])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.xlsx"
        write_result_sheet(path, sheet, text_columns=[3])
        read = list(read_xlsx(path)["Results"].iter_rows(min_row=2))
    assert len(read) == len(sheet.results)
    for cells, row in zip(read, sheet.results, strict=True):
        for col, (got, cell) in enumerate(zip(cells, row.cells, strict=False)):
            expected = cell_text(cell) if col == 3 else _xlsx_expected(cell)
            if cell is None:
                assert got.value is None
            elif isinstance(expected, str):
                assert got.data_type == "s" and unescape_xlsx_text(got.value) == expected
            elif isinstance(expected, datetime | time):
                assert _same_moment(got.value, expected)
            else:
                # Numbers go in with 16 significant digits (Excel shows 15).
                assert got.value == expected or math.isclose(got.value, expected, rel_tol=1e-15)
        outcome = row.outcome
        tail = [c.value for c in cells[4:]]
        assert tail[0] == outcome.status.value
        assert [None if v is None else unescape_xlsx_text(v) for v in tail[1:]] == [
            None if v is None else cell_text(v)
            for v in (outcome.meeting_id, outcome.error_code, row.error_message, row.next_step, row.warnings)]


def _first_months_of_1900(cell: Any) -> bool:
    return isinstance(cell, date) and getattr(cell, "tzinfo", None) is None and (cell.year, cell.month) in {
        (1900, 1), (1900, 2)}


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "TRUE"), (False, "FALSE"), (396, "396"), (396.0, "396"), (0.1, "0.1"),
     (float("nan"), "nan"), (10**20, "100000000000000000000"), ("a\ud800b", "a\ufffdb"),
     (datetime(2026, 9, 8, 10, 0), "2026-09-08 10:00"), (datetime(2026, 9, 8, 10, 0, 5), "2026-09-08 10:00:05"),
     (datetime(2026, 9, 8, 10, 0, 0, 500), "2026-09-08 10:00:00.000500"),
     (datetime(2026, 9, 8, 10, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-09-08 10:00-05:00"),
     (date(2026, 12, 11), "2026-12-11"), (time(9, 5), "09:05"), (time(9, 5, 1), "09:05:01")],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


# ------------------------------------------------------------------ errors and atomicity


def test_too_many_cells_in_a_later_row(tmp_path: Path) -> None:
    rows = [result(n, ("x",), Status.VALID) for n in range(2, 3000)]
    rows[2500] = result(2502, ("x", "y"), Status.VALID)
    for name in ("out.xlsx", "out.csv"):
        with pytest.raises(ValueError, match="row 2502 has 2 cells but the sheet has 1 columns"):
            write_result_sheet(tmp_path / name, report(["A"], rows))
    assert list(tmp_path.iterdir()) == []


def test_too_many_cells_is_a_bug_not_a_half_sheet(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with pytest.raises(ValueError, match="row 2"):
        write_result_sheet(path, report(["A"], [result(2, ("x", "y"), Status.VALID)]))
    assert list(tmp_path.iterdir()) == []


def test_text_columns_outside_the_headers_are_a_bug(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the 1 headers"):
        write_result_sheet(tmp_path / "out.csv", report(["A"], []), text_columns=[1])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.ods", "out", "out.xls", "out.xlsx.bak"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match=rf"^cannot write '{name}': the result sheet must end in \.xlsx or \.csv$"):
        write_result_sheet(tmp_path / name, sample_report())
    assert list(tmp_path.iterdir()) == []


class Exploding:
    """A cell whose conversion to text fails, half-way through a sheet."""

    def __str__(self) -> str:
        raise RuntimeError("boom")


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_failed_write_leaves_previous_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_result_sheet(path, sample_report(), text_columns=TEXT_COLUMNS)
    before = path.read_bytes()
    failing = report(HEADERS, [*sample_rows(), result(9, ("F26-X", "h", "c", 1, Exploding()), Status.CREATED)])
    with pytest.raises(RuntimeError, match="boom"):
        write_result_sheet(path, failing, text_columns=TEXT_COLUMNS)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_failed_text_column_write_leaves_no_temp(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(RuntimeError):
        write_result_sheet(path, report(["Row ID"], [result(2, (Exploding(),), Status.CREATED)]), text_columns=[0])
    assert list(tmp_path.iterdir()) == []


def test_failure_after_many_rows_leaves_no_temp_file_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XlsxWriter's own temp files (the rows written so far) go too."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    target = tmp_path / "out"
    target.mkdir()
    rows = [result(n, ("x",), Status.VALID) for n in range(2, 5000)]
    rows[4000] = result(4002, (Exploding(),), Status.VALID)
    with pytest.raises(RuntimeError, match="boom"):
        write_result_sheet(target / "out.xlsx", report(["A"], rows))
    assert list(target.iterdir()) == []
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_unwritable_target_is_an_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match=r"^cannot write '.*': No such file or directory$"):
        write_result_sheet(tmp_path / "missing-dir" / name, report(["A"], []))


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_full_disk_is_an_input_error_and_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"previous")

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(InputError, match=rf"^cannot write '{path}': No space left on device$"):
        write_result_sheet(path, sample_report())
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_locked_target_says_it_may_be_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def replace(src: Any, dst: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(InputError, match=r"Permission denied \(is it open in another program\?\)$"):
        write_result_sheet(tmp_path / name, sample_report())
    assert list(tmp_path.iterdir()) == []


def test_success_leaves_only_the_target(tmp_path: Path) -> None:
    write_result_sheet(tmp_path / "a.xlsx", sample_report(), text_columns=TEXT_COLUMNS)
    write_result_sheet(tmp_path / "a.csv", sample_report(), text_columns=TEXT_COLUMNS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.xlsx"]


def test_refused_rename_removes_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(InputError, match="cannot write"):
        write_result_sheet(target, sample_report())
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert target.is_dir()
