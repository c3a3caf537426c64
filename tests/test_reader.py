"""The reader: typed cells with spreadsheet row numbers, every encoding Excel writes, and one
clear line for each file it cannot use."""

from __future__ import annotations

import codecs
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.errors import InputError
from importer.models import Sheet
from importer.reader import read_sheet

from sheets import write_xlsx

CAFE_ROW = "a@x.edu,Café – Intro\r\n"


def rows_of(sheet: Sheet) -> list[tuple[int, tuple[Any, ...]]]:
    return [(row.row_number, row.cells) for row in sheet.rows]


def read_bytes(tmp_path: Path, name: str, data: bytes, sheet_name: str | None = None) -> Sheet:
    path = tmp_path / name
    path.write_bytes(data)
    return read_sheet(path, sheet_name)


def refused(path: Path, sheet_name: str | None = None) -> str:
    """The one-line message of the InputError that reading `path` raises."""
    with pytest.raises(InputError) as caught:
        read_sheet(path, sheet_name)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- xlsx ---------------------------------------------------------------------------------


@pytest.fixture
def typed_workbook(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "term.xlsx", [
        ["User ID", "Context ID", "Course ID ", " Topic", "Start Time", "Waiting Room", "Duration"],
        ["a@x.edu", "00123", 396, "  Intro  ", datetime(2026, 9, 8, 10, 0), True, 50.5],
        [],
        [None, "   ", None, "\t"],
        ["b@x.edu", "ctx-2", 12345678901234, "Lab", datetime(2026, 9, 9, 14, 30), False, 75],
    ], title="Fall 2026", extra_sheets={"Spring 2027": [["User ID", "Topic"], [], ["c@x.edu", "Seminar"]]})


def test_xlsx_keeps_typed_cells_and_spreadsheet_row_numbers(typed_workbook: Path) -> None:
    sheet = read_sheet(typed_workbook)

    assert sheet.path == str(typed_workbook)
    assert sheet.headers == ("User ID", "Context ID", "Course ID", "Topic", "Start Time", "Waiting Room",
                             "Duration")
    assert rows_of(sheet) == [
        (2, ("a@x.edu", "00123", 396, "Intro", datetime(2026, 9, 8, 10, 0), True, 50.5)),
        (5, ("b@x.edu", "ctx-2", 12345678901234, "Lab", datetime(2026, 9, 9, 14, 30), False, 75)),
    ]
    course_cell = sheet.rows[0].cells[2]
    assert type(course_cell) is int  # the schema, not the reader, makes it "396"


def test_xlsx_sheet_option_selects_a_sheet_by_name(typed_workbook: Path) -> None:
    sheet = read_sheet(typed_workbook, "Spring 2027")

    assert sheet.headers == ("User ID", "Topic")
    assert rows_of(sheet) == [(3, ("c@x.edu", "Seminar"))]


def test_xlsx_missing_sheet_names_the_sheets_there_are(typed_workbook: Path) -> None:
    assert refused(typed_workbook, "Winter") == (
        f"{typed_workbook}: no sheet named 'Winter'; the workbook has 'Fall 2026', 'Spring 2027'"
    )


def test_xlsx_header_below_blank_rows_keeps_real_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "late.xlsx", [[], [], ["User ID", None, "Topic"], ["a@x.edu", "x", "T"]])

    sheet = read_sheet(path)

    assert sheet.headers == ("User ID", "", "Topic")
    assert rows_of(sheet) == [(4, ("a@x.edu", "x", "T"))]


def test_xlsx_short_rows_are_padded_and_cells_beyond_the_header_dropped(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ragged.xlsx", [["User ID", "Topic", "Notes"], ["a@x.edu"],
                                                 ["b@x.edu", "T", "n", "stray"]])

    assert rows_of(read_sheet(path)) == [(2, ("a@x.edu", None, None)), (3, ("b@x.edu", "T", "n"))]


def test_xlsx_numeric_header_and_non_breaking_space(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "odd.xlsx", [["Start\u00a0Time\u00a0", 2026.0], ["2026-09-08 10:00", "x"]])

    assert read_sheet(path).headers == ("Start Time", "2026")


def test_xlsx_control_characters_escaped_by_excel_are_decoded(tmp_path: Path) -> None:
    # Excel (and XlsxWriter) store a CR inside text as _x000D_; openpyxl hands it on raw.
    path = write_xlsx(tmp_path / "escaped.xlsx", [["Topic", "Notes"], ["Intro", "line_x000D_two"]])

    assert rows_of(read_sheet(path)) == [(2, ("Intro", "line\rtwo"))]


# --- csv ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.csv", ("User ID,Topic\r\n" + CAFE_ROW).encode("utf-8")),
        ("bom.csv", codecs.BOM_UTF8 + ("User ID,Topic\r\n" + CAFE_ROW).encode("utf-8")),
        ("cp1252.csv", b"User ID,Topic\r\na@x.edu,Caf\xe9 \x96 Intro\r\n"),
        # Excel's "Unicode text": UTF-16 LE with a BOM, tab-delimited, often saved as .txt.
        ("unicode.txt", codecs.BOM_UTF16_LE + "User ID\tTopic\r\na@x.edu\tCafé – Intro\r\n".encode("utf-16-le")),
        ("unicode.csv", codecs.BOM_UTF16_LE + "User ID\tTopic\r\na@x.edu\tCafé – Intro\r\n".encode("utf-16-le")),
        ("utf16be.csv", codecs.BOM_UTF16_BE + ("User ID,Topic\r\n" + CAFE_ROW).encode("utf-16-be")),
        ("utf16-no-bom.csv", ("User ID,Topic\r\n" + CAFE_ROW).encode("utf-16-le")),
        ("semicolon.csv", "User ID;Topic\r\na@x.edu;Café – Intro\r\n".encode()),
        ("tab.tsv", b"User ID\tTopic\na@x.edu\tCaf\xc3\xa9 \xe2\x80\x93 Intro\n"),
        ("old-mac.csv", "User ID,Topic\r" + CAFE_ROW.rstrip("\n")),
    ],
)
def test_csv_encodings_and_delimiters(tmp_path: Path, name: str, data: bytes | str) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data

    sheet = read_bytes(tmp_path, name, raw)

    assert sheet.headers == ("User ID", "Topic")
    assert rows_of(sheet) == [(2, ("a@x.edu", "Café – Intro"))]


def test_csv_semicolon_file_keeps_commas_inside_cells(tmp_path: Path) -> None:
    sheet = read_bytes(tmp_path, "euro.csv", b'User ID;Topic;Agenda\r\na@x.edu;"Bio, part 1";1,5 h\r\n')

    assert rows_of(sheet) == [(2, ("a@x.edu", "Bio, part 1", "1,5 h"))]


def test_csv_quoted_newline_keeps_later_row_numbers_right(tmp_path: Path) -> None:
    data = b'User ID,Agenda\r\na@x.edu,"week 1\r\nweek 2"\r\nb@x.edu,x\r\n\r\n,\r\nc@x.edu,y\r\n'

    sheet = read_bytes(tmp_path, "agenda.csv", data)

    # Excel shows the two-line cell in row 2; the blank line is row 4, the empty cells row 5.
    assert rows_of(sheet) == [
        (2, ("a@x.edu", "week 1\r\nweek 2")),
        (3, ("b@x.edu", "x")),
        (6, ("c@x.edu", "y")),
    ]


def test_csv_cells_are_trimmed_text_and_empty_cells_none(tmp_path: Path) -> None:
    data = b"User ID , Course ID,Topic,Notes\r\n  a@x.edu  ,00123,  ,396\r\n"

    sheet = read_bytes(tmp_path, "trim.csv", data)

    assert sheet.headers == ("User ID", "Course ID", "Topic", "Notes")
    assert rows_of(sheet) == [(2, ("a@x.edu", "00123", None, "396"))]


def test_csv_non_breaking_space_in_header(tmp_path: Path) -> None:
    utf8 = read_bytes(tmp_path, "nbsp.csv", "User\u00a0ID,Start\u00a0Time\u00a0\r\na,b\r\n".encode("utf-8"))
    cp1252 = read_bytes(tmp_path, "nbsp1252.csv", b"User\xa0ID,Start\xa0Time\r\na,b\r\n")

    assert utf8.headers == cp1252.headers == ("User ID", "Start Time")


def test_csv_formula_escape_of_a_result_sheet_is_undone(tmp_path: Path) -> None:
    data = b"Topic,Notes\r\n'=see syllabus,'-5\r\n'hello,'@home\r\n"

    sheet = read_bytes(tmp_path, "result.csv", data)

    assert rows_of(sheet) == [(2, ("=see syllabus", "-5")), (3, ("'hello", "@home"))]


def test_csv_header_only_with_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(b"User ID,Topic\r\n\r\n,\r\n  ,  \r\n")

    assert refused(path) == f"{path}: the sheet has a header row but no data rows"


def test_csv_unclosed_quote_is_refused_not_swallowed(tmp_path: Path) -> None:
    # Without the check, every row after the stray quote would vanish into one cell.
    path = tmp_path / "quote.csv"
    path.write_bytes(b'User ID,Topic\r\na@x.edu,"Intro\r\nb@x.edu,Lab\r\nc@x.edu,Seminar\r\n')

    assert refused(path) == (
        f'{path}: row 2 opens a quote (") that is never closed; close or remove it and save the CSV again'
    )


def test_csv_stray_quote_inside_a_cell_is_read_leniently(tmp_path: Path) -> None:
    sheet = read_bytes(tmp_path, "inches.csv", b'User ID,Topic\r\na@x.edu,27" screen\r\nb@x.edu,"x"y\r\n')

    assert rows_of(sheet) == [(2, ("a@x.edu", '27" screen')), (3, ("b@x.edu", "xy"))]


# --- files that cannot be used --------------------------------------------------------------


def _not_a_workbook_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")


def _workbook_named_csv(path: Path) -> None:
    workbook = path.with_suffix(".xlsx")
    write_xlsx(workbook, [["User ID"], ["a"]])
    path.write_bytes(workbook.read_bytes())


UNUSABLE: list[tuple[str, Any, str]] = [
    ("empty.csv", b"", "the file is empty (0 bytes); fill in the template and save it again"),
    ("empty.xlsx", b"", "the file is empty (0 bytes); fill in the template and save it again"),
    ("header.csv", b"User ID,Topic\r\n", "the sheet has a header row but no data rows"),
    ("blank.csv", b"\r\n\r\n , \r\n", "the sheet has no header row and no data"),
    ("legacy.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
     "legacy .xls files are not read; open it in Excel and save it as .xlsx"),
    ("renamed.xls", b"User ID,Topic\r\na,b\r\n",
     "legacy .xls files are not read; open it in Excel and save it as .xlsx"),
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
     "the workbook is password-protected (or is a legacy .xls); "
     "remove the password in Excel and save it as .xlsx"),
    ("really-csv.xlsx", b"User ID,Topic\r\na@x.edu,Intro\r\n",
     "this is a CSV/text file named .xlsx; rename it to .csv"),
    ("junk.xlsx", bytes(range(256)) * 8, "not an Excel workbook; open it in Excel and save it as .xlsx"),
    ("junk.csv", bytes(range(256)) * 8,
     "this is not a text/CSV file; save the schedule as .xlsx or CSV UTF-8"),
    ("archive.xlsx", _not_a_workbook_zip,
     "the workbook is damaged and cannot be read (KeyError); open it in Excel and save it again as .xlsx"),
    ("workbook.csv", _workbook_named_csv, "this is an Excel workbook named .csv; rename it to .xlsx"),
    ("broken16.csv", codecs.BOM_UTF16_LE + b"U\x00s\x00\x00\xd8",
     "the file says it is utf-16-le but byte 4 is not; save it again as CSV UTF-8"),
    ("schedule.pdf", b"%PDF-1.7\n", "unsupported file type '.pdf'; save the schedule as .xlsx or .csv"),
]


@pytest.mark.parametrize(("name", "content", "message"), UNUSABLE, ids=[case[0] for case in UNUSABLE])
def test_unusable_file_gives_one_specific_line(tmp_path: Path, name: str, content: Any, message: str) -> None:
    path = tmp_path / name
    if callable(content):
        content(path)
    else:
        path.write_bytes(content)

    assert refused(path) == f"{path}: {message}"


def test_header_only_xlsx(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "header.xlsx", [["User ID", "Topic"], [], [None, "  "]])

    assert refused(path) == f"{path}: the sheet has a header row but no data rows"


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "term.xlsx"

    assert refused(path) == f"{path}: no such file"


def test_folder_instead_of_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "term.csv"
    folder.mkdir()

    assert refused(folder) == f"{folder}: is a folder, not a schedule file"


# --- title rows above the header ------------------------------------------------------------


def test_csv_one_cell_title_row_above_the_header(tmp_path: Path) -> None:
    # As a CSV saved from the template's Schedule sheet: the legend in A1, the header in row 2.
    data = b"Dark headers are required in every row,,\r\nUser ID,Topic,Notes\r\na@x.edu,Intro,\r\n"

    sheet = read_bytes(tmp_path, "titled.csv", data)

    assert sheet.headers == ("User ID", "Topic", "Notes")
    assert rows_of(sheet) == [(3, ("a@x.edu", "Intro", None))]


def test_xlsx_title_rows_above_the_header_keep_real_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "titled.xlsx", [
        ["Fall 2026 schedule"], [], [None, "   ", "prepared by the registrar"],
        ["User ID", "Topic"], ["a@x.edu", "Intro"], [], ["b@x.edu"],
    ])

    sheet = read_sheet(path)

    assert sheet.headers == ("User ID", "Topic")
    assert rows_of(sheet) == [(5, ("a@x.edu", "Intro")), (7, ("b@x.edu", None))]


def test_a_first_row_of_two_cells_is_still_the_header(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "two.xlsx", [["Fall 2026", "schedule"], ["User ID", "Topic"], ["a@x.edu", "T"]])

    sheet = read_sheet(path)

    assert sheet.headers == ("Fall 2026", "schedule")
    assert rows_of(sheet) == [(2, ("User ID", "Topic")), (3, ("a@x.edu", "T"))]


def test_a_sheet_of_one_column_has_its_first_row_as_header(tmp_path: Path) -> None:
    # No row has two values: nothing is a title, the first row with a value is the header.
    data = b"\r\nTopic\r\nIntro\r\n\r\nLab\r\n"

    sheet = read_bytes(tmp_path, "one.csv", data)

    assert sheet.headers == ("Topic",)
    assert rows_of(sheet) == [(3, ("Intro",)), (5, ("Lab",))]


def test_a_title_alone_is_a_header_without_data(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "title.xlsx", [["Fall 2026 schedule"], []])

    assert refused(path) == f"{path}: the sheet has a header row but no data rows"


# --- xlsx: layout and round trips ---------------------------------------------------------


def test_xlsx_blank_first_row_and_first_column_keep_sheet_row_numbers(tmp_path: Path) -> None:
    # Header in B2..C2, data from B3; a stray cell in A5 widens the used area to column A.
    path = write_xlsx(tmp_path / "offset.xlsx", [[], [None, "User ID", "Topic"], [None, "a@x.edu", "T"],
                                                 [], ["stray", "b@x.edu", None]])

    sheet = read_sheet(path)

    assert sheet.headers == ("", "User ID", "Topic")
    assert rows_of(sheet) == [(3, (None, "a@x.edu", "T")), (5, ("stray", "b@x.edu", None))]


def test_xlsx_header_in_column_b_only(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "colb.xlsx", [[], [None, "User ID", "Topic"], [None, "a@x.edu", "T"]])

    sheet = read_sheet(path)

    assert sheet.headers == ("", "User ID", "Topic")
    assert rows_of(sheet) == [(3, (None, "a@x.edu", "T"))]


def test_xlsx_numbers_dates_and_times_are_typed_as_before(tmp_path: Path) -> None:
    from datetime import date, time, timedelta

    path = write_xlsx(tmp_path / "types.xlsx", [
        ["A", "B", "C", "D", "E", "F", "G"],
        [396, 50.5, date(2026, 9, 8), time(9, 30), -4, 0, timedelta(hours=1)],
        [2.0**60, True, datetime(2026, 9, 8, 10, 0, 30), None, 12345678901234, 1e20, False],
    ])

    rows = rows_of(read_sheet(path))

    assert rows == [
        (2, (396, 50.5, datetime(2026, 9, 8), time(9, 30), -4, 0, timedelta(hours=1))),
        (3, (2.0**60, True, datetime(2026, 9, 8, 10, 0, 30), None, 12345678901234, 1e20, False)),
    ]
    assert [type(v) for v in rows[0][1][:6]] == [int, float, datetime, time, int, int]
    assert [type(v) for v in rows[1][1][:6]] == [float, bool, datetime, type(None), int, float]


def test_xlsx_formula_cached_values_and_error_cells(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "formulas.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["User ID", "Sum", "Lookup", "Text"])
    sheet.write_string(1, 0, "a@x.edu")
    sheet.write_formula(1, 1, "=1+2", None, 3)
    sheet.write_formula(1, 2, "=NA()", None, "#N/A")
    sheet.write_formula(1, 3, '=" x "', None, " x ")
    other = workbook.add_worksheet("Other")  # error cells are found in the sheet asked for
    other.write_row(2, 1, ["User ID", "Timezone"])
    other.write_string(3, 1, "b@x.edu")
    other.write_formula(3, 2, "=1/0", None, "#DIV/0!")
    workbook.close()

    # An error cell reads as its text, so the schema refuses it rather than taking it as empty.
    assert rows_of(read_sheet(path)) == [(2, ("a@x.edu", 3, "#N/A", "x"))]
    assert rows_of(read_sheet(path, "Other")) == [(4, (None, "b@x.edu", "#DIV/0!"))]


def test_xlsx_hidden_columns_are_read(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "hidden.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["User ID", "Secret", "Topic"])
    sheet.append(["a@x.edu", "s", "T"])
    sheet.column_dimensions["B"].hidden = True
    workbook.save(path)

    assert rows_of(read_sheet(path)) == [(2, ("a@x.edu", "s", "T"))]


def write_result(path: Path, headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Path:
    """A result sheet (as `importer run` writes it) with `rows` as its input cells, all `valid`."""
    from importer.models import Outcome, RowResult
    from importer.report import Report
    from importer.resultsheet import write_result_sheet
    from importer.statuses import Status

    results = [RowResult(n + 2, cells, Outcome(Status.VALID)) for n, cells in enumerate(rows)]
    write_result_sheet(path, Report(output=path, headers=headers, results=results))
    return path


def test_result_sheet_text_reads_back_exactly(tmp_path: Path) -> None:
    texts = ["a_x0041_b", "x_x005F_y", "line\rbreak", "_x000D_ literal", "tab\tinside", "two\nlines",
             "=1+2", "'quoted"]
    path = write_result(tmp_path / "result.xlsx", ("Notes",), [(text,) for text in texts])

    sheet = read_sheet(path)

    assert sheet.headers[0] == "Notes"
    assert [row.cells[0] for row in sheet.rows] == texts


def test_excel_shared_strings_are_decoded_once(tmp_path: Path) -> None:
    # Excel keeps text in sharedStrings.xml, escaping a literal `_x0041_` as `_x005F_x0041_`.
    import xlsxwriter

    path = tmp_path / "shared.xlsx"
    workbook = xlsxwriter.Workbook(str(path))  # not constant_memory: shared strings, as Excel writes
    sheet = workbook.add_worksheet()
    texts = ["a_x0041_b", "x_x005F_y", "line\rbreak"]
    sheet.write_column(0, 0, ["Notes", *texts])
    workbook.close()

    assert [row.cells[0] for row in read_sheet(path).rows] == texts


#: Two `_xHHHH_` runs sharing their `_`: XlsxWriter escapes only the first (see the test below).
OVERLAPPING_ESCAPES = re.compile("_x[0-9A-Fa-f]{4}_x[0-9A-Fa-f]{4}_")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.sampled_from("_x005FDd1A \r\n\t\x01\x1f&<é"), min_size=1, max_size=24)
                .filter(lambda text: not OVERLAPPING_ESCAPES.search(text)), min_size=1, max_size=6))
def test_result_sheet_escapes_round_trip(texts: list[str]) -> None:
    # Literal `_xHHHH_` sequences next to control characters, which both become `_xHHHH_`.
    import openpyxl

    from importer.escapes import unescape_xlsx_text

    with tempfile.TemporaryDirectory() as tmp:
        path = write_result(Path(tmp) / "r.xlsx", ("Id", "Notes"), [("x", text) for text in texts])

        read = [row.cells[1] for row in read_sheet(path).rows]
        workbook = openpyxl.load_workbook(path, read_only=True)
        raw = [row[1] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)]
        workbook.close()

    assert read == [text.strip() or None for text in texts]
    assert [unescape_xlsx_text(value) for value in raw] == texts


@pytest.mark.xfail(strict=True, reason="XlsxWriter escapes only the first of two `_xHHHH_` runs that share "
                                      "their `_`; the text then reads back changed. Remove when it passes.")
def test_overlapping_escape_runs_round_trip(tmp_path: Path) -> None:
    path = write_result(tmp_path / "r.xlsx", ("Id", "Notes"), [("x", "_x005F_x0041_")])

    assert [row.cells[1] for row in read_sheet(path).rows] == ["_x005F_x0041_"]


def test_a_file_that_cannot_be_read_is_one_input_error(tmp_path: Path) -> None:
    device = tmp_path / "mem.csv"
    device.symlink_to("/proc/self/mem")  # exists, but reading it fails with an OSError
    with pytest.raises(InputError, match="cannot be read"):
        read_sheet(device)
