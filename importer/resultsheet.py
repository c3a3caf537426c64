"""Write the result sheet: the input's columns plus the result columns, as .xlsx or .csv.

* **Read at a glance** (.xlsx). The workbook opens on Summary: the counts, the done rows that
  carry warnings, then every row that needs action with its row number, row_id, topic, status,
  next step and message. On Results (the first sheet) the header and row_id/topic stay in view,
  each column is as wide as its content up to a cap (longer text wraps and its row grows), a
  status shows a symbol beside its colour, and it prints landscape, one page wide.

* **Atomic.** The sheet is written to a hidden temp file beside the target, fsynced and
  moved over it with `os.replace` only when complete: a crash, Ctrl-C or full disk never
  leaves half a workbook where the last good one was, nor a temp file.
* **Text stays text.** Identifiers (`text_columns`, `meeting_id`) are written as text
  ('@' format in .xlsx), so `00123` stays `00123` and a course id 396 never becomes
  `396.0`. Text that starts like a formula is never evaluated: .xlsx stores every text as
  a string cell (typed `write_*` calls only, and XlsxWriter's string conversions off);
  .csv prefixes it with `'` (`escapes.csv_safe`). Values Excel cannot hold (integers from
  10**15, NaN, infinities, 1e308 on, aware datetimes, years before 1900) are kept as text.
* **XlsxWriter's public API only**, one typed write call per cell, in `constant_memory` mode
  (rows go to a temp file as written; strings inline, which openpyxl reads undecoded: `escapes`).
  Measured, 100,000 rows x 13 columns: constant_memory 6.0 s, peak RSS 85 MB (no growth over the
  84 MB held before); default mode 5.6-5.9 s, 218 MB (+133 MB). 5,000 rows: 0.31 s, +0 vs 0.28 s, +6 MB.
* **What XlsxWriter cannot keep exactly**: of two `_xHHHH_` runs that share their `_`
  ("_x005F_x0041_"), it escapes only the first, so the text reads back changed; and a text
  wrapped in `<r>...</r>` goes in as a rich string (see `_write_text`). csv keeps both.
"""

from __future__ import annotations

import contextlib
import csv
import math
import numbers
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException

from .errors import InputError
from .escapes import csv_safe
from .limits import EXCEL_MAX_ROWS
from .models import RESULT_COLUMNS, Cell, RowResult
from .report import Report
from .statuses import STATUSES, SYMBOLS, Colour, Status

#: The result columns that hold sentences (wrapped) rather than words.
_PROSE_COLUMNS = frozenset({"error_message", "next_step", "warnings"})

RESULTS_SHEET = "Results"
SUMMARY_SHEET = "Summary"

# Excel's limits: past these XlsxWriter silently drops cells, which would lose results.
_XLSX_MAX_COLS = 16_384
# Excel keeps 15 significant digits: bigger integers are written as text so no digit is lost.
_XLSX_MAX_EXACT_INT = 10**15
# Excel's largest number is 9.99999999999999E+307: beyond it (and NaN, infinities) a float is text.
_XLSX_MAX_NUMBER = 1e308
# Excel's limit on the text of one cell, in UTF-16 code units.
_XLSX_MAX_TEXT = 32_767

# Each status's colour, and a symbol shown before its word (a number format: the cell's value
# stays the bare status), so that colour is never the only signal.
_COLOURS: dict[Colour, dict[str, str]] = {
    "green": {"bg_color": "#C6EFCE", "font_color": "#006100", "num_format": f'"{SYMBOLS["green"]} "@'},
    "amber": {"bg_color": "#FFEB9C", "font_color": "#7A4700", "num_format": f'"{SYMBOLS["amber"]} "@'},
    "red": {"bg_color": "#FFC7CE", "font_color": "#9C0006", "num_format": f'"{SYMBOLS["red"]} "@'},
}

# Column widths, in Excel's characters: each column as wide as its longest value or header, plus a
# margin, up to a cap; text longer than the cap wraps. Identifiers are never wrapped (a 40-character
# contextId fits). The symbol and margin of a status need 4 more.
_WIDTH_MIN = 8
_WIDTH_MARGIN = 2
_WIDTH_CAP = 50
_IDENTIFIER_CAP = 44
_STATUS_EXTRA = 4
# A wrapped line's height in points (Calibri 11), and the most lines a row grows to (Excel's row
# height limit is 409 points; a longer text is still all in the cell).
_LINE_HEIGHT = 15.0
_MAX_LINES = 12
# The widest the frozen columns (through row_id and topic) may be, in characters, before the others
# among them fold away: a laptop screen shows about 180, and the results must stay in view beside them.
_FROZEN_BUDGET = 90
# The width a date, date-time or time cell needs (its number format's text).
_DATE_WIDTHS = {"datetime": 16, "date": 10, "time": 5}

_SURROGATES = re.compile("[\ud800-\udfff]")


# --------------------------------------------------------------------------- cell text


def _clean_text(value: str) -> str:
    """Lone surrogates (possible from a JSON `\\ud800` escape) replaced with U+FFFD: neither
    UTF-8 nor XML can hold them, and one must not cost the whole result sheet."""
    return _SURROGATES.sub("\ufffd", value)


def _float_text(value: float) -> str:
    """An integral float as an integer (396.0 -> '396'), else Python's shortest repr."""
    if math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def _timespec(value: datetime | time) -> str:
    """Minutes when seconds are zero, so 10:00 reads as '10:00', never '10:00:00'."""
    if value.microsecond:
        return "microseconds"
    return "seconds" if value.second else "minutes"


def cell_text(value: Cell) -> str:
    """The text form of any cell value: what csv writes and what xlsx text columns hold.

    None -> '', bool -> TRUE/FALSE, 396 and 396.0 -> '396', datetime ->
    'YYYY-MM-DD HH:MM[:SS]' (plus its UTC offset when it has one), date -> 'YYYY-MM-DD',
    time -> 'HH:MM[:SS]', anything else -> str() (lone surrogates as U+FFFD).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, numbers.Integral)):  # int first: an ABC check costs more
        return str(int(value))
    if isinstance(value, (float, numbers.Real)):
        return _float_text(float(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec=_timespec(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec=_timespec(value))
    return _clean_text(str(value))


# --------------------------------------------------------------------------- entry point


def write_result_sheet(path: Path, report: Report, text_columns: Collection[int] = ()) -> None:
    """Write `report`'s rows to `path` (.xlsx or .csv, by suffix), atomically.

    Each row is its input cells (aligned with `report.headers`) and the result columns.
    `text_columns` are indexes of input columns holding identifiers: written as text.
    InputError for an unsupported suffix, a sheet too big for .xlsx, or a target that
    cannot be written; ValueError for a row with more cells than there are headers.
    """
    path = Path(path)
    width = len(report.headers)
    text_set = frozenset(text_columns)
    if any(not 0 <= index < width for index in text_set):
        raise ValueError(f"text_columns {sorted(text_set)} outside the {width} headers")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _write_atomically(path, lambda tmp: _write_csv(tmp, report))
    elif suffix == ".xlsx":
        if width + len(RESULT_COLUMNS) > _XLSX_MAX_COLS:
            raise InputError(
                f"too many columns ({width + len(RESULT_COLUMNS)}) for .xlsx: write .csv instead")
        if len(report.results) >= EXCEL_MAX_ROWS:  # the header is row 1
            raise InputError(f"too many rows for .xlsx (limit {EXCEL_MAX_ROWS - 1}): write .csv")
        _write_atomically(path, lambda tmp: _write_xlsx(tmp, report, text_set))
    else:
        raise InputError(f"cannot write '{path.name}': the result sheet must end in .xlsx or .csv")


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Run `write` on a temp file beside `path` (it fsyncs it), then move it over `path`.

    Same directory, so `os.replace` is a rename on one filesystem: readers see the old
    file or the new one, never a mix.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (OSError, XlsxWriterException)):
            raise InputError(f"cannot write '{path}': {_reason(exc)}") from exc
        raise
    _fsync_dir(path.parent)


def _reason(exc: BaseException) -> str:
    """One line from an OSError (or XlsxWriter's wrapper around one).

    A refused rename is nearly always the old sheet still open in Excel (Windows locks
    it), so that case says so.
    """
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else exc
    if isinstance(inner, PermissionError):
        return f"{inner.strerror or 'permission denied'} (is it open in another program?)"
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    return str(inner).splitlines()[0] if str(inner) else type(inner).__name__


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; best effort (not possible on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _input_cells(result: RowResult, width: int) -> tuple[Cell, ...]:
    """The row's input cells; ValueError when it has more than there are headers."""
    if len(result.cells) > width:
        raise ValueError(
            f"row {result.row_number} has {len(result.cells)} cells but the sheet has {width} columns")
    return result.cells


# --------------------------------------------------------------------------- csv


def _csv_cell(value: Cell) -> str:
    """A CSV field: numbers as they are (a '-' is a sign), everything else through `csv_safe`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_safe(_clean_text(value))
    if isinstance(value, (int, float, numbers.Real)) and not isinstance(value, bool):
        return cell_text(value)
    return csv_safe(cell_text(value))


def _result_cells(result: RowResult) -> tuple[str, str | None, str | None, str | None, str | None, str | None]:
    """The six result columns of a row, in `RESULT_COLUMNS` order."""
    outcome = result.outcome
    return (Status(outcome.status).value, outcome.meeting_id, outcome.error_code, result.error_message,
            result.next_step, result.warnings)


def _write_csv(path: Path, report: Report) -> None:
    """UTF-8 with BOM (so Excel detects the encoding), csv.writer's default dialect (CRLF)."""
    width = len(report.headers)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([_csv_cell(header) for header in (*report.headers, *RESULT_COLUMNS)])
        for result in report.results:
            cells = _input_cells(result, width)
            writer.writerow([*map(_csv_cell, cells), *[""] * (width - len(cells)),
                             *map(_csv_cell, _result_cells(result))])
        handle.flush()
        os.fsync(handle.fileno())


# --------------------------------------------------------------------------- xlsx


@dataclass(frozen=True)
class _Formats:
    """The workbook's cell formats (XlsxWriter's Format objects belong to one workbook)."""

    bold: Any
    header: Any
    title: Any
    text: Any  # identifiers: text, never wrapped
    wrap: Any  # everything else that is text: wrapped at the column's width
    top: Any  # numbers and booleans: at the top of a row made tall by wrapped text, as the text is
    bold_number: Any
    number: Any  # the Summary's numbers: left, at the top, beside the text they count
    datetime: Any
    date: Any
    time: Any
    status: dict[Status, Any]

    @classmethod
    def create(cls, workbook: Any) -> _Formats:
        top = {"valign": "top"}
        colours = {colour: workbook.add_format({**spec, **top}) for colour, spec in _COLOURS.items()}
        return cls(
            bold=workbook.add_format({"bold": True}),
            header=workbook.add_format({"bold": True, "text_wrap": True, **top}),
            title=workbook.add_format({"bold": True, "font_size": 14}),
            text=workbook.add_format({"num_format": "@", **top}),
            wrap=workbook.add_format({"text_wrap": True, **top}),
            top=workbook.add_format(top),
            number=workbook.add_format({"align": "left", **top}),
            bold_number=workbook.add_format({"align": "left", "bold": True}),
            datetime=workbook.add_format({"num_format": "yyyy-mm-dd hh:mm", **top}),
            date=workbook.add_format({"num_format": "yyyy-mm-dd", **top}),
            time=workbook.add_format({"num_format": "hh:mm", **top}),
            status={status: colours[info.colour] for status, info in STATUSES.items()},
        )


def _print_setup(sheet: Any, header_rows: int = 1) -> None:
    """Landscape, one page wide (as many pages down as it takes), the header on every page."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    if header_rows:
        sheet.repeat_rows(0, header_rows - 1)


def _frozen_columns(report: Report) -> tuple[int, frozenset[int]]:
    """How many columns stay in view when scrolling right (through row_id and topic), and the
    columns among them that fold away (see `_FROZEN_BUDGET`)."""
    identifying = {column for column in (report.row_id_column, report.topic_column) if column is not None}
    frozen = max(identifying) + 1 if identifying else 0
    return frozen, frozenset(range(frozen)) - identifying


def _set_widths(sheet: Any, widths: list[int], text_flags: list[bool], frozen: int, folding: frozenset[int],
                formats: _Formats) -> None:
    """Each column as wide as its content up to a cap. When the frozen columns would be wider than
    `_FROZEN_BUDGET`, the frozen ones that are not row_id or topic fold away (collapsed to one "+",
    their widths kept for when they are shown), so scrolling right still shows the results."""
    sized = [max(_WIDTH_MIN, min(longest + _WIDTH_MARGIN, _IDENTIFIER_CAP if text_flags[col] else _WIDTH_CAP))
             for col, longest in enumerate(widths)]
    fold = sum(sized[:frozen]) > _FROZEN_BUDGET and bool(folding)
    for col, column_width in enumerate(sized):
        options = {"level": 1, "hidden": True} if fold and col in folding else {}
        sheet.set_column(col, col, column_width, formats.text if text_flags[col] else None, options)
    if fold:
        after = max(folding) + 1  # the column after the group carries its "+"
        sheet.set_column(after, after, sized[after], formats.text if text_flags[after] else None, {"collapsed": True})


def _write_xlsx(path: Path, report: Report, text_columns: frozenset[int]) -> None:
    """The Results sheet (header, rows, sized columns, frozen panes, filter, print set-up), then
    Summary, which the workbook opens on."""
    width = len(report.headers)
    headers = (*report.headers, *RESULT_COLUMNS)
    # XlsxWriter keeps each sheet's rows in a temp file until close(): a private directory
    # guarantees they are gone even if the write is abandoned half-way. Opening the target
    # first fails fast, before any row is written, when its directory cannot be written.
    with open(path, "wb") as handle, tempfile.TemporaryDirectory(prefix="importer-") as scratch:
        workbook = xlsxwriter.Workbook(handle, {
            "constant_memory": True,  # see the module docstring
            "tmpdir": scratch,
            # Only typed write_* calls are made; never let a text become a formula, URL or number.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        try:
            formats = _Formats.create(workbook)
            sheet = workbook.add_worksheet(RESULTS_SHEET)
            text_flags = [col in text_columns for col in range(width)]
            text_flags += [header == "meeting_id" for header in RESULT_COLUMNS]
            widths = [len(cell_text(header)) for header in headers]
            for col, header in enumerate(headers):
                _write_text(sheet, 0, col, cell_text(header), formats.header)
            for row, result in enumerate(report.results, start=1):
                _write_row(sheet, row, result, width, text_flags, formats, widths)
            widths[width] += _STATUS_EXTRA
            frozen, folding = _frozen_columns(report)
            _set_widths(sheet, widths, text_flags, frozen, folding, formats)
            sheet.freeze_panes(1, frozen)
            sheet.autofilter(0, 0, len(report.results), len(headers) - 1)
            _print_setup(sheet)
            summary = workbook.add_worksheet(SUMMARY_SHEET)
            _write_summary(summary, formats, report)
            summary.activate()
        except BaseException:
            _abandon(workbook)
            raise
        workbook.close()
        handle.flush()
        os.fsync(handle.fileno())


def _abandon(workbook: Any) -> None:
    """Close a workbook whose write failed, so that its temp files are released (the
    partial workbook goes to the temp target, which the caller deletes)."""
    with contextlib.suppress(Exception):  # already failing: the original error matters
        workbook.close()


def _line_widths(text: str) -> list[int]:
    """The width of each of a text's lines, in characters; an East Asian wide character counts two."""
    lines = text.split("\n") if "\n" in text else [text]
    if text.isascii():
        return [len(line) for line in lines]
    return [sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines]


def _measure(text: str, column_width: int = _WIDTH_CAP) -> tuple[int, int]:
    """(the width of the text's longest line, the lines it takes wrapped in a column of this width).
    A text wraps only in a column at its cap, so the cap is the width for the Results sheet."""
    room = column_width - _WIDTH_MARGIN
    if len(text) <= room and "\n" not in text and text.isascii():  # the common case, measured at once
        return len(text), 1
    widths = _line_widths(text)
    return max(widths), sum(max(1, -(-width // room)) for width in widths)


def _row_height(lines: int) -> float:
    """The height of a row whose longest wrapped text takes `lines` lines. Set explicitly: neither
    Excel nor LibreOffice grows a row to its wrapped text when opening a written workbook."""
    return _LINE_HEIGHT * min(lines, _MAX_LINES)


def _write_row(sheet: Any, row: int, result: RowResult, width: int, text_flags: list[bool],
               formats: _Formats, widths: list[int]) -> None:
    """One result row: its input cells, then the result columns; `widths` grows to fit them, and
    the row is as high as its longest wrapped text."""
    lines = 1
    for col, value in enumerate(_input_cells(result, width)):
        if value is None:
            continue
        if text_flags[col]:
            text = cell_text(value)
            _write_text(sheet, row, col, text, formats.text)
            shown = _measure(text)[0]
        else:
            written = _write_value(sheet, row, col, value, formats)
            if isinstance(written, str):
                shown, taken = _measure(written)
                lines = max(lines, taken)
            else:
                shown = written
        if shown > widths[col]:
            widths[col] = shown
    for col, value in enumerate(_result_cells(result), start=width):
        if value is None:
            continue
        text = _clean_text(value)
        if col == width:
            sheet.write_string(row, col, text, formats.status[Status(value)])
        else:
            _write_text(sheet, row, col, text, formats.text if text_flags[col] else formats.wrap)
        shown, taken = _measure(text)
        if not text_flags[col]:
            lines = max(lines, taken)
        if shown > widths[col]:
            widths[col] = shown
    if lines > 1:
        sheet.set_row(row, _row_height(lines))


def _write_value(sheet: Any, row: int, col: int, value: Cell, formats: _Formats) -> str | int:
    """An input cell as Excel's cell of its type; as (wrapped) text when Excel cannot hold it
    exactly. Returns the text written, or the characters a number or date shows."""
    if isinstance(value, str):
        text = _clean_text(value)
        _write_text(sheet, row, col, text, formats.wrap)
        return text
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value, formats.top)
        return 5
    if isinstance(value, (int, numbers.Integral)):
        if -_XLSX_MAX_EXACT_INT < int(value) < _XLSX_MAX_EXACT_INT:
            sheet.write_number(row, col, int(value), formats.top)
            return len(str(int(value)))
    elif isinstance(value, (float, numbers.Real)) and abs(float(value)) < _XLSX_MAX_NUMBER:  # not NaN
        sheet.write_number(row, col, float(value), formats.top)
        return len(cell_text(value))
    elif isinstance(value, datetime) and value.tzinfo is None and value.year >= 1900:
        sheet.write_datetime(row, col, value, formats.datetime)
        return _DATE_WIDTHS["datetime"]
    elif isinstance(value, date) and not isinstance(value, datetime) and value.year >= 1900:
        sheet.write_datetime(row, col, value, formats.date)
        return _DATE_WIDTHS["date"]
    elif isinstance(value, time) and value.tzinfo is None:
        sheet.write_datetime(row, col, value, formats.time)
        return _DATE_WIDTHS["time"]
    text = cell_text(value)
    _write_text(sheet, row, col, text, formats.wrap)
    return text


def _write_text(sheet: Any, row: int, col: int, text: str, cell_format: Any = None) -> None:
    """A string cell (no lone surrogates in `text`); over Excel's limit it is cut there.

    XlsxWriter copies a string that starts with `<r>` and ends with `</r>` into the XML
    unescaped, as the rich string it would have made: such a text goes in as a rich string
    of three plain runs instead, which XlsxWriter escapes (and readers join again). Its
    control characters and `_xHHHH_` runs are then escaped twice (the runs, then the whole):
    they read back as `_x000D_` and the like, in a workbook that still opens.
    """
    if not (text.startswith("<r>") and text.endswith("</r>")):
        sheet.write_string(row, col, text, cell_format)
        return
    if len(text) > _XLSX_MAX_TEXT // 2:  # write_rich_string refuses, not cuts, a long text
        text = text.encode("utf-16-le")[: 2 * _XLSX_MAX_TEXT].decode("utf-16-le", "ignore")
    parts = (text[:1], text[1:2], text[2:], *([cell_format] if cell_format is not None else []))
    sheet.write_rich_string(row, col, *parts)


#: The Summary's columns: the counts use the first three, the rows that need action all six.
_SUMMARY_COLUMNS = (("Input row", 18), ("row_id", 22), ("topic", 40), ("import_status", 18), ("next_step", 60),
                    ("error_message", 60))


def _write_summary(sheet: Any, formats: _Formats, report: Report) -> None:
    """Counts per status with the next step, a total, the rows done with warnings; then every row
    that needs action, with its row number, row_id, topic, status, next step and message."""
    for col, (_, column_width) in enumerate(_SUMMARY_COLUMNS):
        sheet.set_column(col, col, column_width, formats.wrap if col in (2, 4, 5) else None)
    last = len(_SUMMARY_COLUMNS) - 1
    sheet.merge_range(0, 0, 0, last, f"{len(report.results)} row(s): {report.output.name}", formats.title)
    for col, title in enumerate(("Status", "Rows", "What to do next")):
        sheet.write_string(2, col, title, formats.bold)
    row = 3
    for status, count in report.ordered_counts():
        sheet.write_string(row, 0, status.value, formats.status[status])
        sheet.write_number(row, 1, count, formats.number)
        sheet.merge_range(row, 2, row, last, STATUSES[status].next_step)
        row += 1
    sheet.write_string(row, 0, "total", formats.bold)
    sheet.write_number(row, 1, len(report.results), formats.bold_number)
    row += 1
    done = "/".join(status.value for status in sorted(report.done, key=list(Status).index))
    sheet.write_string(row, 0, "with warnings")
    sheet.write_number(row, 1, report.done_with_warnings, formats.number)
    sheet.merge_range(row, 2, row, last, f"rows {done} that carry a warning worth a look: "
                                        f"filter the warnings column on the {RESULTS_SHEET} sheet")
    for notice in report.notices:
        row += 1
        sheet.merge_range(row, 0, row, last, f"warning: {notice}")
    row += 2
    needs_action = report.needs_action
    if not needs_action:
        sheet.write_string(row, 0, "No rows need action.", formats.bold)
        _print_setup(sheet, header_rows=0)
        return
    sheet.write_string(row, 0, f"Rows that need action ({len(needs_action)})", formats.bold)
    row += 1
    for col, (title, _) in enumerate(_SUMMARY_COLUMNS):
        sheet.write_string(row, col, title, formats.header)
    table_header = row
    for result in needs_action:
        row += 1
        status = Status(result.outcome.status)
        sheet.write_number(row, 0, result.row_number, formats.number)
        for col, value in ((1, report.row_id(result)), (2, report.topic(result))):
            if value is not None and value != "":
                _write_text(sheet, row, col, cell_text(value), formats.wrap)
        sheet.write_string(row, 3, status.value, formats.status[status])
        for col, text in ((4, result.next_step), (5, result.error_message)):
            if text:
                _write_text(sheet, row, col, _clean_text(text), formats.wrap)
        lines = max(_measure(cell_text(value), _SUMMARY_COLUMNS[col][1])[1] for col, value in
                    ((1, report.row_id(result)), (2, report.topic(result)), (4, result.next_step),
                     (5, result.error_message)))
        if lines > 1:
            sheet.set_row(row, _row_height(lines))
    _print_setup(sheet, header_rows=0)
    sheet.repeat_rows(table_header)  # the action table's header on every printed page
