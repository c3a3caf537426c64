"""The result sheet: the input's own columns plus the result columns, as .xlsx or .csv.

Why it is built this way:

* **Atomic.** The sheet is written to a hidden temp file beside the target and moved
  over it with `os.replace` only when complete, so a crash or Ctrl-C never leaves half
  a workbook where the last good one was.
* **Streaming.** Rows are rendered a batch at a time (`_RowRenderer`: the XML
  XlsxWriter's `constant_memory` mode writes, made ~5x faster) straight into the zipped
  Results sheet, deflated by a second thread while the next rows are rendered
  (`_WrittenBehind`). XlsxWriter writes the rest of the workbook first, from the rows'
  count and `Summary` (the counts and the first `ACTION_LIST_LIMIT` rows that need
  action), so .xlsx goes over the rows twice: an iterator is listed first. Whatever the
  row count, the XML held at a time is under ~20 MB (a 4 MB block gathering, two
  waiting, one being deflated). csv goes over the rows once.
* **Text stays text.** Identifiers (`text_columns`, `meeting_id`) are written as text,
  so `00123` stays `00123` and a course id 396 never becomes `396.0`. Text that starts
  like a formula (`=`, `+`, `-`, `@`, tab, CR) is never evaluated: xlsx stores it as a
  string cell; csv prefixes it with `'` (see `csv_safe`), which `unescape_csv_text`
  removes again when the sheet is read back.

Reading a result sheet back (the reader's side of the contract):

* csv: call `unescape_csv_text` on every text cell (headers included).
* xlsx: Excel escapes control characters in text as `_xHHHH_` (a CR is `_x000D_`),
  and a literal `_xHHHH_` by writing its `_` as `_x005F_`; so does this writer. Excel
  and calamine (the reader) decode them; openpyxl does not for inline strings (the
  kind written here). Call `unescape_xlsx_text` on text cells read with openpyxl to
  get the original text.
"""

from __future__ import annotations

import csv
import gc
import math
import numbers
import os
import queue
import re
import tempfile
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice, repeat
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from .errors import InputError
from .models import DONE_STATUSES, NEEDS_ACTION, NEXT_STEPS, RESULT_COLUMNS, Cell, RowResult, Status

__all__ = [
    "ACTION_LIST_LIMIT",
    "NEXT_STEPS",
    "ActionRow",
    "Summary",
    "csv_safe",
    "gc_paused",
    "summarise",
    "unescape_csv_text",
    "unescape_xlsx_text",
    "write_report",
]

RESULTS_SHEET = "Results"
SUMMARY_SHEET = "Summary"

#: How many rows needing action the Summary sheet lists before saying "and N more".
ACTION_LIST_LIMIT = 200

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


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: for loops that build or walk 100,000s of rows.

    Such loops make no reference cycles, yet each full collection walks every object the
    run holds (all the rows), and a 100,000-row sheet triggers dozens: 10-40% of the time
    of reading, checking, planning. Objects are still freed as usual; collection resumes
    (if it was on) when the block ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- text rules

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# First characters after which `csv_safe` may have to add its `'`.
_FORMULA_FIRST = frozenset("=+-@\t\r'")
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
    if type(value) is int:  # the usual number (bool is not `int` here): skip the checks below
        return str(value)
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


def _csv_text(value: str) -> str:
    """`_csv_cell` of a str."""
    return csv_safe(_clean_text(value))


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
        status = row.outcome.status
        if type(status) is not Status:
            status = Status(status)
        self.counts[status] += 1
        if status in NEEDS_ACTION:
            self._needs_action(row, status)

    def extend(self, rows: list[RowResult]) -> None:
        """`add` each of `rows`: counted in one go, and looked at one by one only when some
        need action."""
        counts = Counter([row.outcome.status for row in rows])
        for status, count in counts.items():
            self.counts[status if type(status) is Status else Status(status)] += count
        if NEEDS_ACTION.isdisjoint(counts):
            return
        for row in rows:
            if row.outcome.status in NEEDS_ACTION:
                self._needs_action(row, Status(row.outcome.status))

    def _needs_action(self, row: RowResult, status: Status) -> None:
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
    for batch in _batches(rows):
        summary.extend(batch)
    return summary


def _error_message(row: RowResult) -> str | None:
    """The outcome's message and the row's notes, joined with '; '."""
    if not row.notes:
        return row.outcome.error_message or None
    parts = [row.outcome.error_message, *row.notes]
    text = "; ".join(part for part in parts if part)
    return text or None


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
    with gc_paused():
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
    fields = _CsvFields(len(headers))
    for batch in _batches(rows):
        handle.write(fields.text(batch))


#: Rows taken together by the writers, which render them a column at a time.
_BATCH = 1024


def _batches(rows: Iterable[RowResult]) -> Iterator[list[RowResult]]:
    """`rows` in lists of up to `_BATCH`."""
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        yield batch


def _columns(rows: list[RowResult], width: int) -> list[list[Cell]]:
    """The input cells of `rows` as `width` columns, short rows padded with None.

    ValueError for a row with more cells than there are headers.
    """
    cells = list(map(_CELLS, rows))
    lengths = list(map(len, cells))
    if max(lengths, default=0) > width:
        row = rows[next(n for n, length in enumerate(lengths) if length > width)]
        raise ValueError(
            f"row {row.row_number} has {len(row.cells)} cells but the sheet has {width} columns"
        )
    if not width:
        return []
    if min(lengths) < width:
        padding = (None,) * width
        cells = [row if len(row) == width else (row + padding)[:width] for row in cells]
    return list(map(list, zip(*cells)))


_CELLS = attrgetter("cells")


def _no_surrogates(texts: list[str]) -> bool:
    """True when `texts` need nothing from `_clean_text`: no lone surrogate in them.

    One UTF-8 encode of them all is the fast test (a surrogate cannot be encoded); a
    regex search is ~10x slower.
    """
    try:
        "".join(texts).encode()
    except UnicodeEncodeError:
        return False
    return True


class _CsvFields:
    """The CSV text of result rows: each field what `_csv_cell` makes of its cell, quoted
    as `csv.writer` quotes it.

    Cells are converted a column of a batch at a time: a column of plain text (no lone
    surrogate, nothing that starts like a formula, nothing to quote) is used as it is;
    other columns go cell by cell, through a converter chosen by the cell's exact type.
    Rows are then one `str.join` each (csv.writer took ~0.6 s per 100,000 rows).
    """

    #: How many distinct datetimes are remembered (start times repeat across a term).
    CACHE_LIMIT = 20_000

    def __init__(self, width: int) -> None:
        self.width = width
        self.datetimes: dict[datetime, str] = {}
        self.by_type: dict[type, Callable[[Any], str]] = {
            str: _csv_text, int: str, float: _float_text, bool: _csv_cell,
            datetime: self._datetime, date: date.isoformat, time: _csv_cell,
        }
        self.statuses = {status: str(status) for status in Status}

    def text(self, rows: list[RowResult]) -> str:
        """The CSV lines of `rows`, each ended by CRLF."""
        columns = [self._column(values) for values in _columns(rows, self.width)]
        outcomes = [row.outcome for row in rows]
        statuses = self.statuses
        columns.append([statuses.get(o.status) or str(Status(o.status)) for o in outcomes])
        columns.append(self._texts([None if o.meeting_id is None else cell_text(o.meeting_id)
                                    for o in outcomes]))
        columns.append(self._texts([None if o.error_code is None else cell_text(o.error_code)
                                    for o in outcomes]))
        columns.append(self._texts([_error_message(row) for row in rows]))
        return "\r\n".join(map(",".join, zip(*columns))) + "\r\n"

    def _column(self, values: list[Cell]) -> list[str]:
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if kinds == {str}:
            return self._texts(values)
        if not kinds:
            return [""] * len(values)
        if kinds == {int}:  # digits and '-': nothing to escape or quote
            return ["" if v is None else str(v) for v in values]
        by_type = self.by_type
        return _csv_quoted([
            "" if v is None else by_type.get(type(v), _csv_cell)(v) for v in values
        ])

    @staticmethod
    def _texts(texts: list[str | None]) -> list[str]:
        present = [text for text in texts if text]
        if not (_no_surrogates(present) and _FORMULA_FIRST.isdisjoint([text[0] for text in present])):
            return _csv_quoted(["" if text is None else _csv_text(text) for text in texts])
        if len(present) != len(texts):
            texts = ["" if text is None else text for text in texts]
        return _csv_quoted(texts)  # type: ignore[arg-type]  # no None left

    def _datetime(self, value: datetime) -> str:
        text = self.datetimes.get(value)
        if text is None:
            text = cell_text(value)
            # Aware datetimes are equal across time zones but written with their own offset.
            if value.tzinfo is None and len(self.datetimes) < self.CACHE_LIMIT:
                self.datetimes[value] = text
        return text


def _csv_quoted(fields: list[str]) -> list[str]:
    """`fields` as `csv.writer` writes them (excel dialect): quoted, with `"` doubled, when
    they hold a comma, a quote, CR or LF; as they are otherwise."""
    joined = "".join(fields)
    if "," in joined or '"' in joined or "\r" in joined or "\n" in joined:
        return [
            '"' + field.replace('"', '""') + '"' if _CSV_QUOTE.search(field) else field
            for field in fields
        ]
    return fields


_CSV_QUOTE = re.compile('[,"\r\n]')


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
    """The Results sheet, its rows streamed into the zip, and the Summary sheet.

    XlsxWriter spends 5-10 us on each cell, most of a 100,000-row validate, so the data
    rows are rendered here (`_RowRenderer`) as the XML XlsxWriter writes in constant_memory
    mode. XlsxWriter writes everything else, first: styles, the header row, widths, frozen
    pane, autofilter (these need the row count) and the Summary sheet (the rows' summary).
    `_splice` then zips its package, rendering the rows into the Results sheet as it goes.
    """
    all_headers = (*headers, *RESULT_COLUMNS)
    if len(all_headers) > _XLSX_MAX_COLS:
        raise InputError(f"too many columns ({len(all_headers)}) for .xlsx: write .csv instead")
    rows = rows if isinstance(rows, Sequence) else list(rows)  # counted and summarised, then rendered
    if len(rows) >= _XLSX_MAX_ROWS:  # the header is row 1
        raise InputError(f"too many rows for .xlsx (limit {_XLSX_MAX_ROWS - 1}): write .csv")
    # XlsxWriter keeps constant_memory row data in temp files; a private directory
    # guarantees they are gone even if the write is abandoned half-way.
    # Opening the file first fails fast (before any row is rendered) when the directory
    # cannot be written, instead of at close() with XlsxWriter's temp files still open.
    with open(path, "wb") as handle, tempfile.TemporaryDirectory(prefix="importer-") as scratch:
        package = Path(scratch) / "package.xlsx"
        workbook = xlsxwriter.Workbook(
            str(package),
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
            renderer = _RowRenderer(formats, len(headers), text_cols)  # fixes the style ids first
            _write_results(results, formats, all_headers, text_cols, len(rows))
            _write_summary(workbook.add_worksheet(SUMMARY_SHEET), formats, summarise(rows))
        except BaseException:
            _abandon(workbook)
            raise
        workbook.close()
        _splice(package, _sheet_part(results), renderer.render(rows),
                _dimension(len(rows), len(all_headers)), handle)
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
    text_cols: frozenset[int],
    last_row: int,
) -> None:
    """The Results sheet around its data rows: header, widths, frozen pane, autofilter."""
    _set_widths(sheet, formats, headers, text_cols)
    for col, header in enumerate(headers):
        sheet.write_string(0, col, cell_text(header), formats.bold)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, last_row, len(headers) - 1)


def _set_widths(
    sheet: Worksheet, formats: _Formats, headers: tuple[str, ...], text_cols: frozenset[int]
) -> None:
    """Width from the header (10..50 characters); text columns formatted '@' throughout.

    Measuring every cell would mean holding the rows; the header is a good enough guide.
    """
    for col, header in enumerate(headers):
        width = min(max(len(header), _MIN_WIDTHS.get(header, 10), 10), 50)
        sheet.set_column(col, col, width, formats.text if col in text_cols else None)


# --------------------------------------------------------------------------- xlsx rows

# Excel's limit on the text of one cell, in UTF-16 code units (XlsxWriter truncates to it).
_XLSX_MAX_TEXT = 32_767
# Anything that makes a text need more than the plain `<t>text</t>`.
_NEEDS_ESCAPE = re.compile(
    "[&<>\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
# For a whole column of texts joined by newlines (`_plain_xml_texts`).
_ESCAPE_LIKE = re.compile("_x[0-9A-Fa-f]{4}")
# An `_` that a reader would take as the start of an `_xHHHH_` escape: the one before a
# literal `_x000D_`, and the one before `x` + 4 hex digits + a control character (which
# becomes `_xHHHH_` itself). Excel writes such an `_` as `_x005F_`.
_ESCAPE_START = re.compile("_(?=x[0-9A-Fa-f]{4}[_\x00-\x08\x0b-\x1f\ufffe\uffff])")
_EPOCH = datetime(1899, 12, 31)


def _xml_text(text: str) -> str:
    """The `<is>` element of an inline string cell holding `text`, as Excel reads it back.

    Excel (and XlsxWriter) store control characters as `_xHHHH_` (a CR is `_x000D_`) and
    escape a literal `_xHHHH_` by writing its `_` as `_x005F_`; `unescape_xlsx_text`, Excel
    and calamine undo exactly that. Text over Excel's 32,767 characters is cut there.
    """
    if len(text) > _XLSX_MAX_TEXT // 2 and _utf16_len(text) > _XLSX_MAX_TEXT:
        text = _utf16_truncate(text, _XLSX_MAX_TEXT)
    if _NEEDS_ESCAPE.search(text) is not None:
        text = _SURROGATES.sub("\ufffd", text)
        text = _ESCAPE_START.sub("_x005F_", text)
        text = _CONTROL.sub(_control_escape, text)
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text and (text[0].isspace() or text[-1].isspace()):
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


def _plain_xml_texts(texts: list[str]) -> bool:
    """True when every text is its own `<t>` content: nothing to escape (`_xml_text`), no
    space at either end to preserve, none too long.

    Checked for a whole column at once; the character tests run on its UTF-8 bytes, ~10x
    faster than a regex search (a lone surrogate fails the encode).
    """
    joined = "\n".join(texts)  # a newline needs no escape, and ends any `_xHHHH` run
    try:
        data = joined.encode()
    except UnicodeEncodeError:
        return False
    return (
        len(data.translate(None, _CONTROL_BYTES)) == len(data)
        and b"&" not in data and b"<" not in data and b">" not in data
        and b"\xef\xbf\xbe" not in data and b"\xef\xbf\xbf" not in data  # U+FFFE, U+FFFF
        and ("_x" not in joined or _ESCAPE_LIKE.search(joined) is None)
        and list(map(str.strip, texts)) == texts
        and max(map(len, texts), default=0) <= _XLSX_MAX_TEXT // 2
    )


# The control characters `_xml_text` escapes, as UTF-8 bytes (never part of a longer sequence).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0B, 0x20)])


def _control_escape(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_truncate(text: str, limit: int) -> str:
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > limit:
            return text[:index]
    return text


def _excel_serial(value: datetime | date | time) -> float:
    """Days since Excel's epoch, computed as XlsxWriter's write_datetime does."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.fromordinal(value.toordinal())
    else:
        moment = datetime.combine(_EPOCH, value)
    delta = moment - _EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / 86400
    if isinstance(value, datetime) and (moment.year, moment.month, moment.day) == (1900, 1, 1):
        serial -= 1  # XlsxWriter: Excel's time-only values sit on 1899-12-31
    if serial > 59:
        serial += 1  # Excel's 1900 leap-year bug
    return serial


class _RowRenderer:
    """Renders result rows as worksheet `<row>` XML, cell for cell what XlsxWriter wrote
    for them (`_write_cell` before): same cell types, number text (`.16G`), string
    escapes and styles.

    A cell is `<c r="B7"` + its "body" (attributes and content, from the value alone) +
    `</c>`. Rows are rendered `_BATCH` at a time, a column at a time (see `_column`), and
    each row of a batch is then one `str.join` of its pieces, zipped from the columns
    (`_joined_rows`): a column of plain text or numbers costs no Python call per cell, and
    assembling a row none at all.
    """

    #: How many distinct texts (and datetimes) are remembered per column kind, and the
    #: longest text remembered: at most ~10 MB, however long or varied the cells.
    CACHE_LIMIT = 20_000
    CACHED_TEXT = 200

    def __init__(self, formats: _Formats, input_width: int, text_cols: frozenset[int]) -> None:
        # Style ids are fixed now, so the rows can name them before XlsxWriter writes styles.xml.
        text_style = formats.text._get_xf_index()
        self.datetime_style = formats.datetime._get_xf_index()
        self.date_style = formats.date._get_xf_index()
        self.time_style = formats.time._get_xf_index()
        self.status_bodies = {
            status: f' s="{f._get_xf_index()}" t="inlineStr"><is><t>{status}</t></is>'
            for status, f in formats.status.items()
        }
        self.text_prefix = f' s="{text_style}" t="inlineStr">'
        self.input_width = input_width
        self.text_flags = [col in text_cols for col in range(input_width)]
        self.letters = [xl_col_to_name(col) for col in range(input_width + len(RESULT_COLUMNS))]
        self.text_bodies: dict[str, str] = {}
        self.plain_bodies: dict[str, str] = {}
        self.datetime_bodies: dict[datetime, str] = {}
        self.bodies: dict[type, Callable[[Any], str]] = {
            str: self._str, bool: self._bool, int: self._int, float: self._float,
            datetime: self._datetime, date: self._date, time: self._time,
        }

    def render(self, rows: Iterable[RowResult]) -> Iterator[bytes]:
        """The rows' XML in UTF-8, a batch of rows at a time; the first is sheet row 2."""
        first = 2  # the header is sheet row 1
        for batch in _batches(rows):
            yield self._batch(batch, first).encode()
            first += len(batch)

    def _batch(self, rows: list[RowResult], first: int) -> str:
        """The XML of `rows`, the first of them sheet row `first`."""
        columns = [
            self._column(values, as_text)
            for values, as_text in zip(_columns(rows, self.input_width), self.text_flags)
        ]
        outcomes = [row.outcome for row in rows]
        status_bodies = self.status_bodies
        statuses = []
        for outcome in outcomes:
            body = status_bodies.get(outcome.status)
            if body is None:
                body = status_bodies[Status(outcome.status)]  # ValueError: not a status
            statuses.append(body)
        columns.append(("", statuses, ""))
        meeting_ids = [None if o.meeting_id is None else cell_text(o.meeting_id) for o in outcomes]
        columns.append(self._column(meeting_ids, True))
        codes = [None if o.error_code is None else cell_text(o.error_code) for o in outcomes]
        columns.append(self._column(codes, False))
        columns.append(self._column([_error_message(row) for row in rows], False))

        # Every row is the same pieces: `<row r="` + its number + `">`, then for each column
        # `<c r="B` + the number + `"` + head + its text + tail + `</c>`. A column with empty
        # cells (left out of their rows) instead gives each of its cells whole, or '' where
        # empty. `_joined_rows` zips the pieces of all rows (~2.5x faster than a %-template).
        numbers = list(map(str, range(first, first + len(rows))))
        pieces: list[str | list[str]] = ['<row r="', numbers, '">']
        for letter, column in zip(self.letters, columns):
            if column is None:
                continue
            head, values, tail = column
            if None in values:
                pieces.append([
                    "" if value is None else f'<c r="{letter}{number}"{head}{value}{tail}</c>'
                    for number, value in zip(numbers, values)
                ])
            else:
                pieces += (f'<c r="{letter}', numbers, f'"{head}', values, f"{tail}</c>")
        pieces.append("</row>")
        return _joined_rows(pieces)

    def _column(self, values: list[Any], as_text: bool) -> tuple[str, list[str | None], str] | None:
        """One column of a batch as (head, texts, tail): a cell's body is head + text + tail,
        and a None text an empty cell. None when every cell is empty."""
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if not kinds:
            return None
        if len(kinds) == 1:
            (kind,) = kinds
            if kind is str:
                return self._texts(values, self.text_prefix if as_text else ' t="inlineStr">')
            if kind is int:
                full = None not in values
                present = values if full else [v for v in values if v is not None]
                if as_text or -_XLSX_MAX_EXACT_INT < min(present) and max(present) < _XLSX_MAX_EXACT_INT:
                    texts = list(map(str, values)) if full else [None if v is None else str(v) for v in values]
                    if as_text:
                        return self._texts(texts, self.text_prefix)
                    return "><v>", texts, "</v>"  # below 10**15, str() is XlsxWriter's .16G
            if kind is datetime and not as_text:  # start times: most already rendered once
                known, render = self.datetime_bodies.get, self._datetime
                return "", [None if v is None else known(v) or render(v) for v in values], ""
        if as_text:
            return "", [None if v is None else self._text(v if type(v) is str else cell_text(v))
                        for v in values], ""
        bodies, fallback = self.bodies, self._other
        return "", [None if v is None else bodies.get(type(v), fallback)(v) for v in values], ""

    def _texts(self, texts: list[str | None], prefix: str) -> tuple[str, list[str | None], str]:
        """A column of texts: as they are, between `<is><t>` and `</t></is>`, when no text
        needs an escape or a preserved space; else each its own body."""
        present = [text for text in texts if text is not None]
        if _plain_xml_texts(present):
            return prefix + "<is><t>", texts, "</t></is>"
        one = self._text if prefix is self.text_prefix else self._str
        return "", [None if text is None else one(text) for text in texts], ""

    # Cell bodies: everything between `<c r="B7"` and `</c>`.

    def _text(self, value: str) -> str:
        """A text column's cell: the '@' format, always a string."""
        body = self.text_bodies.get(value)
        if body is None:
            body = self.text_prefix + _xml_text(value)
            if len(self.text_bodies) < self.CACHE_LIMIT and len(value) <= self.CACHED_TEXT:
                self.text_bodies[value] = body
        return body

    def _str(self, value: str) -> str:
        body = self.plain_bodies.get(value)
        if body is None:
            body = ' t="inlineStr">' + _xml_text(value)
            if len(self.plain_bodies) < self.CACHE_LIMIT and len(value) <= self.CACHED_TEXT:
                self.plain_bodies[value] = body
        return body

    @staticmethod
    def _bool(value: Any) -> str:
        return ' t="b"><v>1</v>' if value else ' t="b"><v>0</v>'

    def _int(self, value: Any) -> str:
        number = int(value)
        if not -_XLSX_MAX_EXACT_INT < number < _XLSX_MAX_EXACT_INT:
            return self._str(cell_text(value))
        return f"><v>{number}</v>"  # below 10**15, str() is XlsxWriter's .16G

    def _float(self, value: Any) -> str:
        number = float(value)
        if not math.isfinite(number):
            return self._str(cell_text(value))
        return f"><v>{number:.16G}</v>"

    def _datetime(self, value: datetime) -> str:
        body = self.datetime_bodies.get(value)
        if body is None:
            if value.tzinfo is not None or value.year < 1900:
                return self._str(cell_text(value))
            body = f' s="{self.datetime_style}"><v>{_excel_serial(value):.16G}</v>'
            if len(self.datetime_bodies) < self.CACHE_LIMIT:
                self.datetime_bodies[value] = body
        return body

    def _date(self, value: date) -> str:
        if value.year < 1900:
            return self._str(cell_text(value))
        return f' s="{self.date_style}"><v>{_excel_serial(value):.16G}</v>'

    def _time(self, value: time) -> str:
        if value.tzinfo is not None:
            return self._str(cell_text(value))
        return f' s="{self.time_style}"><v>{_excel_serial(value):.16G}</v>'

    def _other(self, value: Any) -> str:
        """Subclasses and other number types, checked in `_write_cell`'s old order."""
        if isinstance(value, str):
            return self._str(value)
        if isinstance(value, bool):
            return self._bool(value)
        if isinstance(value, numbers.Integral):
            return self._int(value)
        if isinstance(value, numbers.Real):
            return self._float(value)
        if isinstance(value, datetime):
            return self._datetime(value)
        if isinstance(value, date):
            return self._date(value)
        if isinstance(value, time):
            return self._time(value)
        return self._str(cell_text(value))


def _joined_rows(pieces: list[str | list[str]]) -> str:
    """Rows made of `pieces`, each a text found in every row or a list of each row's own
    text (one list at least), joined: no Python call per row or cell."""
    columns: list[Iterable[str]] = []
    fixed = ""
    for piece in pieces:
        if isinstance(piece, str):
            fixed += piece
            continue
        if fixed:
            columns.append(repeat(fixed))
            fixed = ""
        columns.append(piece)
    if fixed:
        columns.append(repeat(fixed))
    return "".join(map("".join, zip(*columns)))


def _sheet_part(sheet: Worksheet) -> str:
    """The package part XlsxWriter stores a worksheet in (sheets are numbered from 1)."""
    return f"xl/worksheets/sheet{sheet.index + 1}.xml"


def _dimension(last_row: int, width: int) -> bytes:
    return f'<dimension ref="A1:{xl_col_to_name(width - 1)}{last_row + 1}"/>'.encode()


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


#: Deflate level of the rows part. For 100,000 rows (60 MB of XML): level 1 ~0.19 s and
#: 6.3 MB, 2 the same time and 5.9 MB (longer matches, fewer literals to code), 3 ~0.26 s
#: and 5.4 MB, XlsxWriter's 6 ~0.8 s and 4.9 MB.
_ROWS_ZIP_LEVEL = 2


def _splice(package: Path, part: str, rows_xml: Iterable[bytes], dimension: bytes, handle: Any) -> None:
    """Copy XlsxWriter's package to `handle` with `rows_xml` inside `part`'s sheetData.

    XlsxWriter wrote only the header row there, so its dimension says A1:M1: it is
    replaced by the real one. The rows part is deflated at a fast level (XlsxWriter's
    default level costs ~4x the time for a ~17% smaller file), by a second thread while
    `rows_xml` makes the next block (`_WrittenBehind`).
    """
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(
        handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_ROWS_ZIP_LEVEL
    ) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != part:
                target.writestr(info, data)
                continue
            head, end, tail = data.partition(b"</sheetData>")
            if not end or head.count(b"<dimension ") != 1:
                raise XlsxWriterException(f"unexpected worksheet XML in {part}")
            head = _DIMENSION.sub(dimension, head, count=1)
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry._compresslevel = _ROWS_ZIP_LEVEL  # type: ignore[attr-defined]
            with target.open(entry, "w") as member, _WrittenBehind(member) as out:
                out.write(head)
                for block in rows_xml:
                    out.write(block)
                out.write(end)
                out.write(tail)


#: `_WrittenBehind` hands its thread blocks of at least this many bytes, and lets at most
#: `_WAITING_BLOCKS` of them wait. Each `write` in the thread takes the GIL back a few
#: times (after the CRC, after each growth of zlib's output buffer, after the file write),
#: each time waiting up to the switch interval (5 ms) while the caller runs Python: with a
#: batch of rows at a time (~0.6 MB) that wait was most of the thread's time, and it
#: overlapped little with rendering; with ~4 MB blocks it keeps up.
_BLOCK_BYTES = 4 << 20
_WAITING_BLOCKS = 2


class _WrittenBehind:
    """`write` to `out` done by a second thread, in order, while the caller goes on.

    For a zip member, writing is deflating (and a CRC), which zlib does without holding
    the GIL: on a second core the rows part's deflate (~0.3 s per 100,000 rows) overlaps
    the rendering of the next rows instead of following it. The bytes reach `out` in the
    order written (gathered into blocks of `_BLOCK_BYTES`), and deflate's output does not
    depend on how its input is cut: the file is byte for byte what writing here makes.
    At most `_WAITING_BLOCKS` blocks wait, so a slow disk holds the caller back instead
    of filling memory.

    An exception in the thread is raised in the caller: by the next hand-over of a block,
    or on leaving the `with` block. When the block is left, the thread is joined (if it was
    left by an exception, after writing only what was already handed over); a Ctrl-C
    during that join leaves it to end on its own, with nothing more to write.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._blocks: queue.Queue[bytes | None] = queue.Queue(_WAITING_BLOCKS)
        self._failed: list[BaseException] = []
        self._pending: list[bytes] = []
        self._pending_size = 0
        # A daemon: should a Ctrl-C cut `__exit__`'s join short, the thread (which ends
        # at the `None` already queued) must not keep the interpreter from exiting.
        self._thread = threading.Thread(target=self._drain, name="importer-write-behind", daemon=True)

    def __enter__(self) -> _WrittenBehind:
        self._thread.start()
        return self

    def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _BLOCK_BYTES:
            self._hand_over()

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None and self._pending:
                self._hand_over()
        finally:
            self._blocks.put(None)
            self._thread.join()
        if kind is None and self._failed:
            raise self._failed[0]

    def _hand_over(self) -> None:
        if self._failed:
            raise self._failed[0]
        self._blocks.put(b"".join(self._pending))
        self._pending.clear()
        self._pending_size = 0

    def _drain(self) -> None:
        blocks = self._blocks
        try:
            while (block := blocks.get()) is not None:
                self._out.write(block)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._failed.append(exc)
            while blocks.get() is not None:  # the caller may still be handing blocks over
                pass


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
