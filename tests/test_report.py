"""The result sheet writer: exact cells back through openpyxl / csv, formula safety, atomicity."""

from __future__ import annotations

import codecs
import csv
import errno
import io
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from importer import report
from importer.errors import InputError
from importer.models import RESULT_COLUMNS, Outcome, RowResult, Status
from importer.report import (
    ACTION_LIST_LIMIT,
    Summary,
    csv_safe,
    summarise,
    unescape_csv_text,
    unescape_xlsx_text,
    write_report,
)
from importer.report import (  # the writers' internals, checked against their per-cell definitions
    _csv_cell,
    _csv_quoted,
    _error_message,
    _Formats,
    _RowRenderer,
    cell_text,
)

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
    error_message: str | None = None,
    notes: list[str] | None = None,
) -> RowResult:
    outcome = Outcome(status, meeting_id, error_code, error_message)
    return RowResult(row_number, cells, outcome, notes or [])


def sample_rows() -> list[RowResult]:
    """One row per status, each carrying one awkward value."""
    host = "m.okafor@state.example.edu"
    ctx = "0123456789abcdef0123456789abcdef01234567"
    return [
        result(2, ("F26-BIO101-LEC", host, ctx, 396, "BIO 101", START, 50, True, HYPERLINK),
               Status.CREATED, meeting_id="81234567890"),
        result(3, ("F26-CHEM110-LEC", host, ctx, "00123", "CHEM 110", START, 75, False, "+1"),
               Status.FAILED, error_code="1001", error_message="User does not exist",
               notes=["host unknown to Zoom"]),
        result(4, ("F26-MATH221", host, ctx, 501, "MATH 221", START, 50, None, "@x"),
               Status.NOT_ASSOCIATED, meeting_id="81234567891", error_code="406",
               error_message="context cannot be associated"),
        result(5, ("F26-HIST240", host, ctx, 502, "HIST 240", START, "fifty", None, "-x"),
               Status.INVALID, error_message="column 'Duration': must be a whole number"),
        result(6, ("F26-CS150", host, ctx, 503, "CS 150", START, 50, None, "\rcarriage"),
               Status.UNKNOWN, error_message="read timeout"),
        result(7, ("F26-PSY100", host, ctx, 396.0, "PSY 100", START, 60.5, None, "-5"),
               Status.ASSOCIATED, meeting_id="81234567892"),
        # Fewer cells than headers: padded with blanks.
        result(8, ("F26-ECON201", host, ctx, 504, "\tECON 201"), Status.NOT_SENT,
               error_message="daily limit reached"),
    ]


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
    write_report(path, HEADERS, sample_rows(), text_columns=TEXT_COLUMNS)
    return read_xlsx(path)


@pytest.fixture
def csv_rows(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "out.csv"
    write_report(path, HEADERS, sample_rows(), text_columns=TEXT_COLUMNS)
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


def test_xlsx_datetime_cell(xlsx: openpyxl.Workbook) -> None:
    cell = xlsx["Results"].cell(2, 6)
    assert cell.is_date and cell.value == START
    assert cell.number_format == "yyyy-mm-dd hh:mm"


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

    def fill(row: int) -> str:
        return sheet.cell(row, status_col).fill.fgColor.rgb

    created, failed, not_associated, invalid, unknown, associated, not_sent = (
        fill(r) for r in range(2, 9)
    )
    assert created == associated != failed
    assert failed == invalid
    assert not_associated == unknown == not_sent
    assert len({created, failed, not_associated}) == 3
    assert sheet.cell(2, 1).fill.fgColor.rgb != created  # only the status cell is coloured


def test_xlsx_frozen_header_and_autofilter(xlsx: openpyxl.Workbook) -> None:
    sheet = xlsx["Results"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:M8"


def test_xlsx_summary_counts_and_actions(xlsx: openpyxl.Workbook) -> None:
    rows = values(xlsx["Summary"])
    assert rows[0] == ["Status", "Rows", "What to do next"]
    counts = {r[0]: r[1] for r in rows[1:9]}
    assert counts == {
        "invalid": 1, "created": 1, "associated": 1, "not_associated": 1,
        "failed": 1, "unknown": 1, "not_sent": 1, "total": 7,
    }
    # Status enum order
    assert [r[0] for r in rows[1:8]] == [
        "invalid", "created", "associated", "not_associated", "failed", "unknown", "not_sent",
    ]
    next_steps = {r[0]: r[2] for r in rows[1:8]}
    assert "fix the cell named in error_message" in next_steps["invalid"]
    assert "--retry-unknown" in next_steps["unknown"]
    assert "00:00 UTC" in next_steps["not_sent"]
    listed = [r[:3] for r in rows if isinstance(r[0], int)]
    assert listed == [
        [3, "failed", "User does not exist; host unknown to Zoom"],
        [4, "not_associated", "context cannot be associated"],
        [5, "invalid", "column 'Duration': must be a whole number"],
        [6, "unknown", "read timeout"],
        [8, "not_sent", "daily limit reached"],
    ]


def test_xlsx_summary_caps_action_list(tmp_path: Path) -> None:
    extra = 37
    rows = [
        result(n, (f"R{n}",), Status.FAILED, error_message="=no")
        for n in range(2, 2 + ACTION_LIST_LIMIT + extra)
    ]
    path = tmp_path / "many.xlsx"
    write_report(path, ["Row ID"], iter(rows), text_columns=[0])
    sheet = read_xlsx(path)["Summary"]
    listed = [r for r in values(sheet) if isinstance(r[0], int)]
    assert len(listed) == ACTION_LIST_LIMIT
    assert listed[0][2] == "=no"
    first = next(r for r in sheet.iter_rows() if isinstance(r[0].value, int))
    assert first[2].data_type == "s"  # the message is text, not a formula
    last = values(sheet)[-1][0]
    assert last.startswith(f"... and {extra} more")


def test_xlsx_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_report(path, ["Topic"], [])
    wb = read_xlsx(path)
    assert values(wb["Results"]) == [["Topic", *RESULT_COLUMNS]]
    assert any(r[0] == "No rows need action." for r in values(wb["Summary"]))


def test_xlsx_values_excel_cannot_hold_are_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    aware = datetime(2026, 9, 8, 14, 0, tzinfo=timezone.utc)
    cells = (aware, 12345678901234567, float("nan"), date(2026, 10, 1), time(9, 30), "a\ud800b")
    headers = ["A", "B", "C", "D", "E", "F"]
    write_report(path, headers, [result(2, cells, Status.VALID)])
    row = values(read_xlsx(path)["Results"])[1]
    assert row[:6] == [
        "2026-09-08 14:00+00:00", "12345678901234567", "nan",
        datetime(2026, 10, 1), time(9, 30), "a\ufffdb",
    ]


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "OUT.XLSX"
    write_report(path, HEADERS, sample_rows(), text_columns=TEXT_COLUMNS)
    assert read_xlsx(path).sheetnames[0] == "Results"


# ------------------------------------------------------------------ csv


def test_csv_starts_with_bom_and_uses_crlf(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_report(path, HEADERS, sample_rows(), text_columns=TEXT_COLUMNS)
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    assert raw[len(codecs.BOM_UTF8):].startswith(b"Row ID,User ID,")
    assert b"\r\n" in raw


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
    assert csv_rows[6][3] == "396"  # 396.0 float in a text column
    assert csv_rows[6][6] == "60.5"
    assert csv_rows[7][4:9] == ["'\tECON 201", "", "", "", ""]
    assert [r[9] for r in csv_rows[1:]] == [
        "created", "failed", "not_associated", "invalid", "unknown", "associated", "not_sent",
    ]


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
        time(9, 5), 3.0, 0.1, -4, None, False,
    )
    write_report(path, [f"c{i}" for i in range(len(cells))], [result(2, cells, Status.VALID)])
    assert read_csv(path)[1][: len(cells)] == [
        "2026-09-08 10:00", "2026-09-08 10:00:30", "2026-12-11", "09:05", "3", "0.1", "-4", "",
        "FALSE",
    ]


def test_csv_equal_datetimes_keep_their_own_offsets(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    utc, eastern = timezone.utc, timezone(timedelta(hours=-5))
    moments = [datetime(2026, 9, 8, 15, 0, tzinfo=utc), datetime(2026, 9, 8, 10, 0, tzinfo=eastern),
               datetime(2026, 9, 8, 15, 0), datetime(2026, 9, 8, 15, 0, tzinfo=utc)]
    write_report(path, ["Start"], [result(n + 2, (m,), Status.VALID) for n, m in enumerate(moments)])
    assert [r[0] for r in read_csv(path)[1:]] == [
        "2026-09-08 15:00+00:00", "2026-09-08 10:00-05:00", "2026-09-08 15:00", "2026-09-08 15:00+00:00",
    ]


def test_csv_quotes_every_character_as_csv_writer_does() -> None:
    fields = ["a" + chr(c) + "b" for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    expected = io.StringIO()
    csv.writer(expected).writerow(fields)
    assert ",".join(_csv_quoted(fields)) + "\r\n" == expected.getvalue()


_CELLS = st.one_of(
    st.none(),
    st.text(st.sampled_from("ab ,\"'=+-@\t\r\n1.\ud800"), max_size=6),
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 1)),
    st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-5))])),
    st.dates(),
    st.times(),
)


def generated_results(rows: list[tuple[list[Any], Status, str | None, str | None]], width: int,
                      same_type_columns: bool, id_prefix: str) -> list[RowResult]:
    """Hypothesis rows as results; with same_type_columns every cell of a row is its first cell,
    so whole columns are of one type (what the fast paths take)."""
    if same_type_columns:
        rows = [([row[0][0]] * width if row[0] else [], *row[1:]) for row in rows]  # type: ignore[misc]
    return [result(n + 2, tuple(cells), status, meeting_id=None if code is None else id_prefix + code,
                   error_code=code, error_message=message)
            for n, (cells, status, code, message) in enumerate(rows)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(_CELLS, max_size=4), st.sampled_from(list(Status)),
                          st.one_of(st.none(), st.text(max_size=3)),
                          st.one_of(st.none(), st.text(st.sampled_from(",\"'=\r\nx\ud800"), max_size=3))),
                max_size=30),
       st.booleans())
def test_csv_rows_are_each_cell_through_csv_writer(
    rows: list[tuple[list[Any], Status, str | None, str | None]], same_type_columns: bool
) -> None:
    """The column-at-a-time writer gives what `csv.writer` made of `_csv_cell` of each cell."""
    width = 4
    results = generated_results(rows, width, same_type_columns, id_prefix="m")
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow(["c0", "c1", "c2", "c3", *RESULT_COLUMNS])
    for r in results:
        padded = [*r.cells, *[None] * (width - len(r.cells))]
        outcome = r.outcome
        writer.writerow([_csv_cell(cell) for cell in (
            *padded, str(outcome.status), outcome.meeting_id, outcome.error_code, outcome.error_message)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        write_report(path, ["c0", "c1", "c2", "c3"], results)
        assert path.read_bytes().decode("utf-8-sig") == expected.getvalue()


# ------------------------------------------------------------------ csv_safe


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
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1), min_size=1,
                max_size=5))
def test_text_survives_both_formats(texts: list[str]) -> None:
    rows = [result(n + 2, (t,), Status.VALID) for n, t in enumerate(texts)]
    with tempfile.TemporaryDirectory() as tmp:
        xlsx_path, csv_path = Path(tmp) / "r.xlsx", Path(tmp) / "r.csv"
        write_report(xlsx_path, ["Notes"], rows)
        write_report(csv_path, ["Notes"], rows)
        read = [r[0] for r in values(read_xlsx(xlsx_path)["Results"])[1:]]
        assert [unescape_xlsx_text(t) for t in read] == texts
        assert [unescape_csv_text(r[0]) for r in read_csv(csv_path)[1:]] == texts


def _cell_by_cell_xml(renderer: _RowRenderer, rows: list[RowResult], width: int) -> str:
    """The rows' XML with each cell's body from the renderer's per-cell methods."""
    lines = []
    for number, row in enumerate(rows, start=2):
        outcome = row.outcome
        cells = [*row.cells, *[None] * (width - len(row.cells)), str(outcome.status),
                 outcome.meeting_id, outcome.error_code, _error_message(row)]
        xml = []
        for col, value in enumerate(cells):
            if value is None:
                continue
            if col == width:
                body = renderer.status_bodies[Status(value)]
            elif col == width + 1 or (col < width and renderer.text_flags[col]):
                body = renderer._text(value if type(value) is str else cell_text(value))
            else:
                body = renderer.bodies.get(type(value), renderer._other)(value)
            xml.append(f'<c r="{renderer.letters[col]}{number}"{body}</c>')
        lines.append(f'<row r="{number}">{"".join(xml)}</row>')
    return "".join(lines)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(_CELLS, max_size=4), st.sampled_from(list(Status)),
                          st.one_of(st.none(), st.text(max_size=3)),
                          st.one_of(st.none(), st.text(st.sampled_from("<&_x0D \r\ud800"), max_size=3))),
                max_size=30),
       st.booleans(), st.booleans())
def test_xlsx_rows_are_each_cell_rendered_alone(
    rows: list[tuple[list[Any], Status, str | None, str | None]], same_type_columns: bool,
    text_column: bool,
) -> None:
    """The column-at-a-time renderer gives what its per-cell methods give each cell."""
    width = 4
    results = generated_results(rows, width, same_type_columns, id_prefix="0")
    assert_rendered_as_cell_by_cell(results, width, {1} if text_column else set())


def assert_rendered_as_cell_by_cell(results: list[RowResult], width: int, text_columns: set[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workbook = xlsxwriter.Workbook(str(Path(tmp) / "w.xlsx"))
        formats = _Formats.create(workbook)
        text_cols = frozenset({*text_columns, width + 1})
        xml = b"".join(_RowRenderer(formats, width, text_cols).render(results)).decode()
        workbook.close()
    assert xml == _cell_by_cell_xml(_RowRenderer(formats, width, text_cols), results, width)


@pytest.mark.parametrize("column", [
    ["a", " lead"], ["trail\t", "b"], ["a", "b\n"], ["a", ""], ["a&b", "c"], ["x<y>", "c"],
    ["_x0041_", "b"], ["_x004", "1_"], ["ctl\x1f", "b"], ["\ufffe", "b"], ["sur\ud800", "b"],
    ["😀" * 16384, "b"], ["x" * 16384, "b"], ["x" * 16383, None],
    [10**15 - 1, -(10**15) + 1], [10**15, 1], [1, -(10**15)], [2**70, None], [True, False],
    [datetime(2026, 9, 8, 10), datetime(2026, 9, 8, 10)], [datetime(2026, 9, 8, 10, tzinfo=timezone.utc), None],
    [datetime(1899, 1, 1), datetime(1900, 1, 1, 6)], [1.5, float("inf")], [None, None],
])
@pytest.mark.parametrize("as_text", [False, True])
def test_xlsx_column_of_one_kind_rendered_as_cell_by_cell(column: list[Any], as_text: bool) -> None:
    results = [result(n + 2, (value, value), Status.VALID) for n, value in enumerate(column * 3)]
    assert_rendered_as_cell_by_cell(results, 2, {0} if as_text else set())


def test_summary_counted_per_batch_as_row_by_row() -> None:
    statuses = [*Status, "invalid", "valid"] * 100
    rows = [result(n, ("x",), status, error_message=f"m{n}")  # type: ignore[arg-type]
            for n, status in enumerate(statuses)]
    one_by_one = Summary()
    for row in rows:
        one_by_one.add(row)
    batched = Summary()
    batched.extend(rows[:7])
    batched.extend(rows[7:])
    assert batched == one_by_one
    assert batched.more_needing_action == one_by_one.more_needing_action > 0
    assert set(map(type, batched.counts)) == {Status}


def test_too_many_cells_in_a_later_batch(tmp_path: Path) -> None:
    rows = [result(n, ("x",), Status.VALID) for n in range(2, 3000)]
    rows[2500] = result(2502, ("x", "y"), Status.VALID)
    for name in ("out.xlsx", "out.csv"):
        with pytest.raises(ValueError, match="row 2502 has 2 cells"):
            write_report(tmp_path / name, ["A"], rows)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ errors and atomicity


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.xlsx or \.csv"):
        write_report(tmp_path / "out.ods", HEADERS, sample_rows())
    assert list(tmp_path.iterdir()) == []


class Exploding:
    """A cell whose conversion to text fails, half-way through a sheet."""

    def __str__(self) -> str:
        raise RuntimeError("boom")


def rows_then_failure() -> Iterator[RowResult]:
    yield from sample_rows()
    yield result(9, ("F26-X", "h", "c", 1, Exploding()), Status.CREATED)


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_failed_write_leaves_previous_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_report(path, HEADERS, sample_rows(), text_columns=TEXT_COLUMNS)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        write_report(path, HEADERS, rows_then_failure(), text_columns=TEXT_COLUMNS)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_failed_text_column_write_leaves_no_temp(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    rows = [result(2, (Exploding(),), Status.CREATED)]
    with pytest.raises(RuntimeError):
        write_report(path, ["Row ID"], rows, text_columns=[0])
    assert list(tmp_path.iterdir()) == []


def test_too_many_cells_is_a_bug_not_a_half_sheet(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with pytest.raises(ValueError, match="row 2"):
        write_report(path, ["A"], [result(2, ("x", "y"), Status.VALID)])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.xlsx", "out.csv"])
def test_unwritable_target_is_an_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="cannot write .*No such file"):
        write_report(tmp_path / "missing-dir" / name, ["A"], [])


def test_success_leaves_only_the_target(tmp_path: Path) -> None:
    write_report(tmp_path / "a.xlsx", HEADERS, sample_rows(), text_columns=TEXT_COLUMNS)
    write_report(tmp_path / "a.csv", HEADERS, sample_rows(), text_columns=TEXT_COLUMNS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.xlsx"]


def write_behind_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "importer-write-behind"]


def test_failure_while_rows_are_deflated_behind_leaves_no_temp_and_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering fails after earlier batches went to the deflating thread."""
    monkeypatch.setattr(report, "_BLOCK_BYTES", 1)  # each batch handed over as it is rendered
    rows = [result(n, ("x",), Status.VALID) for n in range(2, 5000)]
    rows[4000] = result(4002, (Exploding(),), Status.VALID)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(tmp_path / "out.xlsx", ["A"], rows)
    assert list(tmp_path.iterdir()) == []
    assert write_behind_threads() == []


@pytest.mark.parametrize("block_bytes", [1, None], ids=["a block per batch", "one block at the end"])
def test_write_error_in_the_deflating_thread_is_raised_by_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int | None
) -> None:
    """A full disk met by the second thread is the caller's InputError, as in one thread:
    whether it meets a later hand-over or only the end of the rows (most sheets: under 4 MB)."""
    if block_bytes is not None:
        monkeypatch.setattr(report, "_BLOCK_BYTES", block_bytes)
    real_write = zipfile._ZipWriteFile.write

    def write(self: Any, data: bytes) -> int:
        if threading.current_thread() is not threading.main_thread():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(zipfile._ZipWriteFile, "write", write)
    rows = [result(n, ("x",), Status.VALID) for n in range(2, 5000)]
    with pytest.raises(InputError, match="cannot write .*No space left on device"):
        write_report(tmp_path / "out.xlsx", ["A"], rows)
    assert list(tmp_path.iterdir()) == []
    assert write_behind_threads() == []


def deflated_member(path: Path, name: str) -> bytes:
    """A zip member's bytes as stored (deflated), read from behind its local header."""
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as package:
        info = package.getinfo(name)
    at = info.header_offset
    start = at + 30 + int.from_bytes(raw[at + 26:at + 28], "little") + int.from_bytes(raw[at + 28:at + 30], "little")
    return raw[start:start + info.compress_size]


def test_rows_part_is_the_same_however_it_is_handed_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = sample_rows() * 500  # ~1.5 MB of XML: one block by default
    write_report(tmp_path / "one.xlsx", HEADERS, rows, text_columns=TEXT_COLUMNS)
    monkeypatch.setattr(report, "_BLOCK_BYTES", 1)  # a block per batch
    write_report(tmp_path / "many.xlsx", HEADERS, rows, text_columns=TEXT_COLUMNS)
    part = "xl/worksheets/sheet1.xml"
    assert deflated_member(tmp_path / "one.xlsx", part) == deflated_member(tmp_path / "many.xlsx", part)


# ------------------------------------------------------------------ summarise


def test_summarise() -> None:
    summary = summarise(sample_rows())
    assert summary.total == 7
    assert summary.counts[Status.CREATED] == 1
    assert [s for s, _ in summary.ordered()] == [
        Status.INVALID, Status.CREATED, Status.ASSOCIATED, Status.NOT_ASSOCIATED,
        Status.FAILED, Status.UNKNOWN, Status.NOT_SENT,
    ]
    assert [a.row_number for a in summary.needs_action] == [3, 4, 5, 6, 8]
    assert not summary.all_in()
    done = summarise(r for r in sample_rows() if r.outcome.status in {"created", "associated"})
    assert done.all_in() and done.total == 2


def test_refused_rename_removes_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(InputError, match="cannot write"):
        write_report(target, HEADERS, sample_rows())
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert target.is_dir()
