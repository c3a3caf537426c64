"""The result sheet: the input's own columns plus the result columns, as .xlsx or .csv.

Why it is built this way:

* **Atomic.** The sheet is written to a hidden temp file beside the target and moved
  over it with `os.replace` only when complete, so a crash or Ctrl-C never leaves half
  a workbook where the last good one was.
* **Streaming.** Rows are consumed once, as an iterable; the xlsx writer runs in
  XlsxWriter's `constant_memory` mode, so a 100 000-row term costs no more memory than
  a 10-row one. Only the counts and the first `ACTION_LIST_LIMIT` rows that need action
  are kept, for the Summary sheet.
* **Text stays text.** Identifiers (`text_columns`, `meeting_id`) are written as text,
  so `00123` stays `00123` and a course id 396 never becomes `396.0`. Text that starts
  like a formula (`=`, `+`, `-`, `@`, tab, CR) is never evaluated: xlsx stores it as a
  string cell; csv prefixes it with `'` (see `csv_safe`), which `unescape_csv_text`
  removes again when the sheet is read back.

Reading a result sheet back (the reader's side of the contract):

* csv: call `unescape_csv_text` on every text cell (headers included).
* xlsx: Excel escapes control characters in text as `_xHHHH_` (a CR is `_x000D_`),
  and so does XlsxWriter. Excel decodes them; openpyxl does not. Call
  `unescape_xlsx_text` on text cells read with openpyxl to get the original text.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from .errors import InputError
from .models import DONE_STATUSES, RESULT_COLUMNS, Cell, RowResult, Status

__all__ = [
    "ACTION_LIST_LIMIT",
    "NEXT_STEPS",
    "ActionRow",
    "Summary",
    "csv_safe",
    "summarise",
    "unescape_csv_text",
    "unescape_xlsx_text",
    "write_report",
]

RESULTS_SHEET = "Results"
SUMMARY_SHEET = "Summary"

#: How many rows needing action the Summary sheet lists before saying "and N more".
ACTION_LIST_LIMIT = 200

#: Statuses that ask the coordinator to do something (`valid` and the done ones do not).
NEEDS_ACTION = frozenset(
    {Status.INVALID, Status.NOT_ASSOCIATED, Status.FAILED, Status.UNKNOWN, Status.NOT_SENT}
)

#: One line per status for the Summary sheet, from DESIGN.md's status table.
NEXT_STEPS: dict[Status, str] = {
    Status.VALID: "nothing to fix: `importer run` on this sheet sends it",
    Status.INVALID: "fix the cell named in error_message, then run again",
    Status.CREATED: "nothing: the meeting was created and associated",
    Status.ASSOCIATED: "nothing: an existing meeting was associated with the course",
    Status.NOT_ASSOCIATED: (
        "fix contextId/domain, run again: the meeting is associated, not re-created"
    ),
    Status.FAILED: "fix the problem in error_message, run again (no meeting exists)",
    Status.UNKNOWN: "check in Zoom whether the meeting exists; --retry-unknown sends it again",
    Status.NOT_SENT: "run the same sheet again (after 00:00 UTC for a daily limit)",
}

# Excel's limits: past these XlsxWriter silently drops cells, which would lose results.
_XLSX_MAX_ROWS = 1_048_576
_XLSX_MAX_COLS = 16_384
# Excel keeps 15 significant digits: bigger integers are written as text so no digit is lost.
_XLSX_MAX_EXACT_INT = 10**15

_GREEN = {"bg_color": "#C6EFCE", "font_color": "#006100"}
_AMBER = {"bg_color": "#FFEB9C", "font_color": "#7A4700"}
_RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
_STATUS_COLOURS: dict[Status, dict[str, str]] = {
    Status.CREATED: _GREEN,
    Status.ASSOCIATED: _GREEN,
    Status.VALID: _GREEN,
    Status.NOT_ASSOCIATED: _AMBER,
    Status.UNKNOWN: _AMBER,
    Status.NOT_SENT: _AMBER,
    Status.INVALID: _RED,
    Status.FAILED: _RED,
}

# Result columns get a sensible minimum width; input columns use their header's length.
_MIN_WIDTHS = {"import_status": 14, "meeting_id": 14, "error_code": 12, "error_message": 50}


# --------------------------------------------------------------------------- text rules

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_SURROGATES = re.compile("[\ud800-\udfff]")
_XLSX_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def csv_safe(value: str) -> str:
    """Text for a CSV cell that no spreadsheet evaluates as a formula.

    Text starting with = + - @ tab or CR gets a leading `'`, unless it is a plain number
    such as `-5` or `+1.25` (a number is not a formula, and escaping it would turn every
    negative amount into text). Text that already starts with `'` gets one more, so that
    `unescape_csv_text` can always undo exactly what was done.
    """
    if value.startswith("'") or (
        value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def unescape_csv_text(value: str) -> str:
    """The original text of a CSV cell written through `csv_safe`.

    Strips one leading `'` when what follows starts with = + - @ tab CR or `'`, i.e.
    when the quote can only be `csv_safe`'s. `unescape_csv_text(csv_safe(s)) == s` for
    every string; a coordinator's own `'hello` is left alone.
    """
    if value.startswith("'") and value[1:].startswith((*_FORMULA_STARTS, "'")):
        return value[1:]
    return value


def unescape_xlsx_text(value: str) -> str:
    """Decode Excel's `_xHHHH_` escapes (as Excel does) in text read with openpyxl.

    Excel and XlsxWriter store control characters such as CR as `_x000D_`, and a
    literal `_x000D_` as `_x005F_x000D_`; openpyxl hands both on undecoded.
    """
    return _XLSX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def _clean_text(value: str) -> str:
    """Replace lone surrogates (possible from a JSON `\\ud800` escape) with U+FFFD.

    Neither UTF-8 nor XML can hold them; one such character in a server message
    must not cost the whole result sheet.
    """
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
    time -> 'HH:MM[:SS]', anything else -> str().
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return _float_text(float(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec=_timespec(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec=_timespec(value))
    return _clean_text(str(value))


def _csv_cell(value: Cell) -> str:
    """A CSV field: numbers as they are, everything textual through `csv_safe`."""
    text = cell_text(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return text  # a number is never a formula, and its '-' is a sign
    return csv_safe(text)


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True, slots=True)
class ActionRow:
    """A row the coordinator has to look at, as listed on the Summary sheet."""

    row_number: int
    status: Status
    error_message: str


@dataclass(slots=True)
class Summary:
    """What `summarise` returns: counts per status and the rows that need action.

    `counts` is a Counter keyed by Status; `needs_action` holds the first
    `ACTION_LIST_LIMIT` rows whose status asks for action, and `more_needing_action`
    how many such rows were left off. Built incrementally (`add`) so the writer can
    summarise while it streams.
    """

    counts: Counter[Status] = field(default_factory=Counter)
    needs_action: list[ActionRow] = field(default_factory=list)
    more_needing_action: int = 0

    def add(self, row: RowResult) -> None:
        status = Status(row.outcome.status)
        self.counts[status] += 1
        if status not in NEEDS_ACTION:
            return
        if len(self.needs_action) < ACTION_LIST_LIMIT:
            message = _error_message(row) or ""
            self.needs_action.append(ActionRow(row.row_number, status, message))
        else:
            self.more_needing_action += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def ordered(self) -> list[tuple[Status, int]]:
        """(status, count) for the statuses that occur, in `Status` order."""
        return [(status, self.counts[status]) for status in Status if self.counts[status]]

    def all_in(self, statuses: Collection[Status] = DONE_STATUSES) -> bool:
        """True when every row ended in one of `statuses` (the exit-code question)."""
        return all(status in statuses for status in self.counts)


def summarise(rows: Iterable[RowResult]) -> Summary:
    """Counts per status and the rows needing action (see `Summary`)."""
    summary = Summary()
    for row in rows:
        summary.add(row)
    return summary


def _error_message(row: RowResult) -> str | None:
    """The outcome's message and the row's notes, joined with '; '."""
    parts = [row.outcome.error_message, *row.notes]
    text = "; ".join(part for part in parts if part)
    return text or None


def _output_cells(row: RowResult, width: int) -> tuple[Cell, ...]:
    """The row's input cells padded to the headers, then its result cells."""
    cells = tuple(row.cells)
    if len(cells) > width:
        raise ValueError(
            f"row {row.row_number} has {len(cells)} cells but the sheet has {width} columns"
        )
    outcome = row.outcome
    padding = (None,) * (width - len(cells))
    return (
        *cells,
        *padding,
        str(Status(outcome.status)),
        None if outcome.meeting_id is None else cell_text(outcome.meeting_id),
        None if outcome.error_code is None else cell_text(outcome.error_code),
        _error_message(row),
    )


# --------------------------------------------------------------------------- entry point


def write_report(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[RowResult],
    *,
    text_columns: Collection[int] = (),
) -> None:
    """Write the result sheet to `path` (.xlsx or .csv, by suffix), atomically.

    `headers` are the input's columns (old result columns already removed) and each
    row's `cells` are aligned with them. `text_columns` are indexes of input columns
    holding identifiers: their values are written as text. Raises InputError for an
    unsupported suffix or a target that cannot be written.
    """
    path = Path(path)
    writer = _writer_for(path)
    headers = tuple(headers)
    text_set = frozenset(text_columns)
    if any(not 0 <= index < len(headers) for index in text_set):
        raise ValueError(f"text_columns {sorted(text_set)} outside the {len(headers)} headers")
    _write_atomically(path, lambda tmp: writer(tmp, headers, rows, text_set))


_Writer = Callable[[Path, tuple[str, ...], Iterable[RowResult], frozenset[int]], None]


def _writer_for(path: Path) -> _Writer:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _write_xlsx
    if suffix == ".csv":
        return _write_csv
    raise InputError(
        f"cannot write '{path.name}': the result sheet must end in .xlsx or .csv"
    )


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Run `write` on a temp file beside `path`, then move it over `path`.

    Same directory, so `os.replace` is a rename on one filesystem: readers see the old
    file or the new one, never a mix. The temp file is fsynced before the rename so a
    power cut after it cannot leave an empty file either.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)  # each writer fsyncs its file before returning
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


# --------------------------------------------------------------------------- csv


def _write_csv(
    path: Path, headers: tuple[str, ...], rows: Iterable[RowResult], text_columns: frozenset[int]
) -> None:
    """UTF-8 with BOM (so Excel detects the encoding), default csv dialect.

    `text_columns` needs nothing special here: every CSV value is text already, and
    numbers are formatted without a trailing '.0'.
    """
    del text_columns
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        _write_csv_rows(handle, headers, rows)
        handle.flush()
        os.fsync(handle.fileno())


def _write_csv_rows(handle: TextIO, headers: tuple[str, ...], rows: Iterable[RowResult]) -> None:
    writer = csv.writer(handle)
    writer.writerow([csv_safe(cell_text(h)) for h in (*headers, *RESULT_COLUMNS)])
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in _output_cells(row, len(headers))])


# --------------------------------------------------------------------------- xlsx


@dataclass(slots=True)
class _Formats:
    """The workbook's cell formats, made once (XlsxWriter formats belong to a workbook)."""

    bold: Format
    text: Format
    datetime: Format
    date: Format
    time: Format
    status: dict[Status, Format]

    @classmethod
    def create(cls, workbook: xlsxwriter.Workbook) -> _Formats:
        return cls(
            bold=workbook.add_format({"bold": True}),
            text=workbook.add_format({"num_format": "@"}),
            datetime=workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            date=workbook.add_format({"num_format": "yyyy-mm-dd"}),
            time=workbook.add_format({"num_format": "hh:mm"}),
            status={s: workbook.add_format(dict(c)) for s, c in _STATUS_COLOURS.items()},
        )


def _write_xlsx(
    path: Path, headers: tuple[str, ...], rows: Iterable[RowResult], text_columns: frozenset[int]
) -> None:
    """Results sheet streamed row by row, then the Summary sheet from the counts."""
    all_headers = (*headers, *RESULT_COLUMNS)
    if len(all_headers) > _XLSX_MAX_COLS:
        raise InputError(f"too many columns ({len(all_headers)}) for .xlsx: write .csv instead")
    # XlsxWriter keeps constant_memory row data in temp files; a private directory
    # guarantees they are gone even if the write is abandoned half-way.
    # Opening the file first fails fast (before any row is consumed) when the directory
    # cannot be written, instead of at close() with XlsxWriter's temp files still open.
    with open(path, "wb") as handle, tempfile.TemporaryDirectory(prefix="importer-") as scratch:
        workbook = xlsxwriter.Workbook(
            handle,
            {
                "constant_memory": True,
                "tmpdir": scratch,
                # We only call typed write_* methods, but never let a string turn
                # into a formula, URL or number if anything ever calls write().
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        try:
            formats = _Formats.create(workbook)
            text_cols = text_columns | {len(headers) + RESULT_COLUMNS.index("meeting_id")}
            results = workbook.add_worksheet(RESULTS_SHEET)
            summary = _write_results(results, formats, all_headers, rows, text_cols)
            _write_summary(workbook.add_worksheet(SUMMARY_SHEET), formats, summary)
        except BaseException:
            _abandon(workbook)
            raise
        workbook.close()
        handle.flush()
        os.fsync(handle.fileno())


def _abandon(workbook: xlsxwriter.Workbook) -> None:
    """Close a workbook whose write failed, so its temp files are released.

    Closing writes the partial workbook to the temp file, which the caller deletes;
    the scratch directory removes whatever a failing close leaves behind.
    """
    try:
        workbook.close()
    except Exception:  # noqa: BLE001 - already failing; the original error matters
        pass


def _write_results(
    sheet: Worksheet,
    formats: _Formats,
    headers: tuple[str, ...],
    rows: Iterable[RowResult],
    text_cols: frozenset[int],
) -> Summary:
    """Header, then one row per result; returns the summary gathered on the way."""
    _set_widths(sheet, formats, headers, text_cols)
    for col, header in enumerate(headers):
        sheet.write_string(0, col, cell_text(header), formats.bold)
    sheet.freeze_panes(1, 0)

    status_col = headers.index("import_status", len(headers) - len(RESULT_COLUMNS))
    input_width = len(headers) - len(RESULT_COLUMNS)
    summary = Summary()
    last_row = 0
    for last_row, row in enumerate(rows, start=1):
        if last_row >= _XLSX_MAX_ROWS:
            raise InputError(f"too many rows for .xlsx (limit {_XLSX_MAX_ROWS - 1}): write .csv")
        cells = _output_cells(row, input_width)
        for col, value in enumerate(cells):
            if col == status_col:
                sheet.write_string(last_row, col, value, formats.status[Status(value)])
            else:
                _write_cell(sheet, formats, last_row, col, value, col in text_cols)
        summary.add(row)
    # Autofilter and freeze panes are stored and emitted at close: fine after streaming.
    sheet.autofilter(0, 0, last_row, len(headers) - 1)
    return summary


def _set_widths(
    sheet: Worksheet, formats: _Formats, headers: tuple[str, ...], text_cols: frozenset[int]
) -> None:
    """Width from the header (10..50 characters); text columns formatted '@' throughout.

    Measuring every cell would mean holding the rows; the header is a good enough guide.
    """
    for col, header in enumerate(headers):
        width = min(max(len(header), _MIN_WIDTHS.get(header, 10), 10), 50)
        sheet.set_column(col, col, width, formats.text if col in text_cols else None)


def _write_cell(
    sheet: Worksheet, formats: _Formats, row: int, col: int, value: Cell, as_text: bool
) -> None:
    """Write one value with the XlsxWriter method that keeps its type.

    Strings always go through write_string, so '=...' is stored as text and never
    becomes a formula. Values Excel cannot hold exactly (aware datetimes, dates before
    1900, integers of 16+ digits, NaN) are written as text rather than altered.
    """
    if value is None:
        return
    if as_text:
        sheet.write_string(row, col, cell_text(value), formats.text)
        return
    for kind, write in _TYPED_WRITERS:
        if isinstance(value, kind):
            if write(sheet, formats, row, col, value):
                return
            break
    sheet.write_string(row, col, cell_text(value))


def _write_bool(sheet: Worksheet, f: _Formats, row: int, col: int, value: Any) -> bool:
    sheet.write_boolean(row, col, bool(value))
    return True


def _write_int(sheet: Worksheet, f: _Formats, row: int, col: int, value: Any) -> bool:
    number = int(value)
    if abs(number) >= _XLSX_MAX_EXACT_INT:
        return False
    sheet.write_number(row, col, number)
    return True


def _write_real(sheet: Worksheet, f: _Formats, row: int, col: int, value: Any) -> bool:
    number = float(value)
    if not math.isfinite(number):
        return False
    sheet.write_number(row, col, number)
    return True


def _write_datetime(sheet: Worksheet, f: _Formats, row: int, col: int, value: Any) -> bool:
    if value.tzinfo is not None or value.year < 1900:
        return False
    sheet.write_datetime(row, col, value, f.datetime)
    return True


def _write_date(sheet: Worksheet, f: _Formats, row: int, col: int, value: Any) -> bool:
    if value.year < 1900:
        return False
    sheet.write_datetime(row, col, value, f.date)
    return True


def _write_time(sheet: Worksheet, f: _Formats, row: int, col: int, value: Any) -> bool:
    if value.tzinfo is not None:
        return False
    sheet.write_datetime(row, col, value, f.time)
    return True


def _write_str(sheet: Worksheet, f: _Formats, row: int, col: int, value: Any) -> bool:
    sheet.write_string(row, col, _clean_text(value))
    return True


_TypedWriter = Callable[[Worksheet, _Formats, int, int, Any], bool]

#: Checked in order: bool before int (bool is an int), datetime before date.
_TYPED_WRITERS: tuple[tuple[type | tuple[type, ...], _TypedWriter], ...] = (
    (str, _write_str),
    (bool, _write_bool),
    (numbers.Integral, _write_int),
    (numbers.Real, _write_real),
    (datetime, _write_datetime),
    (date, _write_date),
    (time, _write_time),
)


def _write_summary(sheet: Worksheet, formats: _Formats, summary: Summary) -> None:
    """Counts per status with the next step, then the rows that need action."""
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 16)
    sheet.set_column(2, 2, 80)
    for col, title in enumerate(("Status", "Rows", "What to do next")):
        sheet.write_string(0, col, title, formats.bold)
    row = 1
    for status, count in summary.ordered():
        sheet.write_string(row, 0, str(status), formats.status[status])
        sheet.write_number(row, 1, count)
        sheet.write_string(row, 2, NEXT_STEPS[status])
        row += 1
    sheet.write_string(row, 0, "total", formats.bold)
    sheet.write_number(row, 1, summary.total, formats.bold)
    row += 2
    _write_action_list(sheet, formats, summary, row)


def _write_action_list(sheet: Worksheet, formats: _Formats, summary: Summary, row: int) -> None:
    if not summary.needs_action:
        sheet.write_string(row, 0, "No rows need action.", formats.bold)
        return
    sheet.write_string(row, 0, "Rows that need action", formats.bold)
    row += 1
    for col, title in enumerate(("Input row", "Status", "error_message")):
        sheet.write_string(row, col, title, formats.bold)
    for action in summary.needs_action:
        row += 1
        sheet.write_number(row, 0, action.row_number)
        sheet.write_string(row, 1, str(action.status), formats.status[action.status])
        sheet.write_string(row, 2, _clean_text(action.error_message))
    if summary.more_needing_action:
        sheet.write_string(
            row + 1,
            0,
            f"... and {summary.more_needing_action} more: filter import_status "
            f"on the {RESULTS_SHEET} sheet",
        )
