"""The result sheet as a coordinator gets it: cells read back through openpyxl / csv, formats,
formula safety, the Summary sheet, atomic writes and one-line errors."""

from __future__ import annotations

import codecs
import csv
import errno
import math
import os
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
from importer.resultsheet import ACTION_LIST_LIMIT, cell_text, write_result_sheet
from importer.statuses import STATUSES, Status

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


def report(headers: tuple[str, ...] | list[str], results: list[RowResult]) -> Report:
    return Report(output=Path("unused"), headers=tuple(headers), results=results)


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
    return report(HEADERS, sample_rows())


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
        HYPERLINK, "created", "81234567890", None, None,
    ]
    assert rows[2][-4:] == [
        "failed", None, "1001", "User does not exist; host unknown to Zoom",
    ]
    assert rows[4][6] == "fifty"
    assert rows[5][-1] == "read timeout -> check in Zoom"  # the outcome's message and next step
    assert rows[6][6] == 60.5
    assert rows[7] == [
        "F26-ECON201", "m.okafor@state.example.edu",
        "0123456789abcdef0123456789abcdef01234567", "504", "\tECON 201", None, None, None,
        None, "not_sent", None, None, "daily limit reached",
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
    # The whole column is '@', so what a coordinator types there later stays text too.
    formats = [column(sheet, n).number_format for n in range(1, len(ALL_HEADERS) + 1)]
    assert formats == ["@"] * 4 + ["General"] * 6 + ["@"] + ["General"] * 2  # meeting_id is text


def column(sheet: Any, number: int) -> Any:
    """The column dimension holding column `number` (openpyxl groups equal neighbours)."""
    return next(d for d in sheet.column_dimensions.values() if d.min <= number <= d.max)


def test_xlsx_column_widths(xlsx: openpyxl.Workbook) -> None:
    widths = [column(xlsx["Results"], n).width for n in range(1, len(ALL_HEADERS) + 1)]
    # From the header's length, 10 to 50; result columns wider. XlsxWriter adds padding (10 -> 10.71).
    assert [math.floor(width) for width in widths] == [10, 10, 10, 10, 10, 10, 10, 21, 10, 14, 14, 12, 50]


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
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:M8"


def test_xlsx_summary_counts_and_actions(xlsx: openpyxl.Workbook) -> None:
    rows = values(xlsx["Summary"])
    assert rows[0] == ["Status", "Rows", "What to do next"]
    assert all(cell.font.b for cell in xlsx["Summary"][1])
    counts = {r[0]: r[1] for r in rows[1:9]}
    assert counts == {
        "invalid": 1, "created": 1, "associated": 1, "not_associated": 1,
        "failed": 1, "unknown": 1, "not_sent": 1, "total": 7,
    }
    # Status enum order
    assert [r[0] for r in rows[1:8]] == [
        "invalid", "created", "associated", "not_associated", "failed", "unknown", "not_sent",
    ]
    assert {r[0]: r[2] for r in rows[1:8]} == {r[0]: STATUSES[Status(r[0])].next_step for r in rows[1:8]}
    assert "--retry-unknown" in rows[6][2]
    assert rows[8][0] == "total" and xlsx["Summary"].cell(9, 1).font.b and xlsx["Summary"].cell(9, 2).font.b
    assert rows[9] == [None, None, None]
    assert rows[10][0] == "Rows that need action"
    assert rows[11] == ["Input row", "Status", "error_message"]
    listed = [r[:3] for r in rows if isinstance(r[0], int)]
    assert listed == [
        [3, "failed", "User does not exist; host unknown to Zoom"],
        [4, "not_associated", "context cannot be associated"],
        [5, "invalid", "column 'Duration': must be a whole number"],
        [6, "unknown", "read timeout -> check in Zoom"],
        [8, "not_sent", "daily limit reached"],
    ]
    assert len(rows) == 12 + len(listed)  # nothing after the list: none were left off
    assert xlsx["Summary"].cell(13, 2).fill.fgColor.rgb == "FFFFC7CE"  # failed: red


def test_xlsx_summary_caps_action_list(tmp_path: Path) -> None:
    extra = 37
    rows = [
        result(n, (f"R{n}",), Status.FAILED, message="=no")
        for n in range(2, 2 + ACTION_LIST_LIMIT + extra)
    ]
    path = tmp_path / "many.xlsx"
    write_result_sheet(path, report(["Row ID"], rows), text_columns=[0])
    sheet = read_xlsx(path)["Summary"]
    listed = [r for r in values(sheet) if isinstance(r[0], int)]
    assert ACTION_LIST_LIMIT == 200
    assert len(listed) == ACTION_LIST_LIMIT
    assert listed[0][2] == "=no"
    first = next(r for r in sheet.iter_rows() if isinstance(r[0].value, int))
    assert first[2].data_type == "s"  # the message is text, not a formula
    assert values(sheet)[-1][0] == f"... and {extra} more: filter import_status on the Results sheet"


def test_xlsx_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_result_sheet(path, report(["Topic"], []))
    wb = read_xlsx(path)
    assert values(wb["Results"]) == [["Topic", *RESULT_COLUMNS]]
    assert values(wb["Summary"]) == [
        ["Status", "Rows", "What to do next"], ["total", 0, None], [None, None, None],
        ["No rows need action.", None, None],
    ]


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
    assert raw.endswith(b"daily limit reached\r\n")
    assert raw.count(b"\r\n") == 8  # a header and 7 rows; the CR of '\rcarriage' is inside quotes


def test_csv_exact_values(csv_rows: list[list[str]]) -> None:
    assert csv_rows[0] == ALL_HEADERS
    assert csv_rows[1] == [
        "F26-BIO101-LEC", "m.okafor@state.example.edu",
        "0123456789abcdef0123456789abcdef01234567", "396", "BIO 101", "2026-09-08 10:00",
        "50", "TRUE", "'" + HYPERLINK, "created", "81234567890", "", "",
    ]
    assert csv_rows[2][3] == "00123"
    assert csv_rows[2][7] == "FALSE"
    assert csv_rows[2][-2:] == ["1001", "User does not exist; host unknown to Zoom"]
    assert csv_rows[5][-1] == "read timeout -> check in Zoom"
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
        result(n + 2, tuple(cells), status, meeting_id=code, error_code=code, message=message)
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
                 outcome.error_code, row.error_message]
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
            None if v is None else cell_text(v) for v in (outcome.meeting_id, outcome.error_code, row.error_message)]


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
