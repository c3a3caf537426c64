"""Read a schedule (.xlsx or .csv) into rows of raw cells, each with its spreadsheet row number.

The reader keeps cells as the sheet typed them (text, number, bool, datetime) so the
schema can tell an Excel number 396 from the text "00123". It never guesses meaning.
Files it cannot use raise `InputError` with one line saying what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import re
import threading
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from itertools import chain
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from .errors import InputError
from .models import Sheet, SourceRow
from .report import gc_paused, unescape_csv_text, unescape_xlsx_text

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and encrypted .xlsx
DELIMITERS = (",", ";", "\t")


def read_sheet(path: Path, sheet_name: str | None = None) -> Sheet:
    """Read the whole sheet: header row, then every row that has at least one value."""
    try:
        return _read_sheet(Path(path), sheet_name)
    except OSError as exc:  # locked by Excel, no permission, a device: one line, not a traceback
        hint = " (is it open in Excel?)" if isinstance(exc, PermissionError) else ""
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}{hint}") from None


def _read_sheet(path: Path, sheet_name: str | None) -> Sheet:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a schedule file")
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise InputError(f"{path}: the file is empty (0 bytes); fill in the template and save it again")
    if suffix == ".xls" or (head == OLE_MAGIC and suffix not in XLSX_SUFFIXES):
        raise InputError(f"{path}: legacy .xls files are not read; open it in Excel and save it as .xlsx")
    if suffix not in XLSX_SUFFIXES and suffix not in CSV_SUFFIXES:
        raise InputError(f"{path}: unsupported file type '{suffix}'; save the schedule as .xlsx or .csv")
    if suffix in CSV_SUFFIXES and head.startswith(ZIP_MAGIC):
        raise InputError(f"{path}: this is an Excel workbook named {suffix}; rename it to .xlsx")
    with gc_paused():
        rows = _xlsx_rows(path, head, sheet_name) if suffix in XLSX_SUFFIXES else _csv_rows(path)
        return _assemble(str(path), rows)


def _assemble(path: str, rows: Iterator[tuple[int, Sequence[Any]]]) -> Sheet:
    header: Sequence[Any] | None = None
    for row_number, cells in rows:
        if _has_value(cells):
            header = cells
            break
    if header is None:
        raise InputError(f"{path}: the sheet has no header row and no data")
    width = max((i + 1 for i, cell in enumerate(header) if cell is not None), default=0)
    headers = tuple(_header_text(cell) for cell in header[:width])
    padding = (None,) * width
    data: list[SourceRow] = []
    append = data.append
    for row_number, cells in rows:
        if len(cells) != width:
            cells = (tuple(cells) + padding)[:width]
        if _has_value(cells):
            append(SourceRow(row_number, tuple(cells)))
    if not data:
        raise InputError(f"{path}: the sheet has a header row but no data rows")
    return Sheet(path=path, headers=headers, rows=data)


def _has_value(cells: Sequence[Any]) -> bool:
    # any() is the fast test; a row of only 0/False cells needs the exact one.
    return any(cells) or cells.count(None) != len(cells)


def _header_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).replace("\u00a0", " ").strip()


# --- xlsx -------------------------------------------------------------------------------


def _xlsx_rows(path: Path, head: bytes, sheet_name: str | None) -> Iterator[tuple[int, Sequence[Any]]]:
    if head == OLE_MAGIC:
        raise InputError(
            f"{path}: the workbook is password-protected (or is a legacy .xls); "
            "remove the password in Excel and save it as .xlsx"
        )
    if not head.startswith(ZIP_MAGIC):
        if _looks_like_text(path):
            raise InputError(f"{path}: this is a CSV/text file named .xlsx; rename it to .csv")
        raise InputError(f"{path}: not an Excel workbook; open it in Excel and save it as .xlsx")
    rows = _calamine_rows(path, sheet_name)
    if rows is None:  # calamine cannot read it: openpyxl reads it, or says why not
        rows = _openpyxl_rows(path, sheet_name)
    return rows


def _no_such_sheet(path: Path, sheet_name: str, names: Iterable[str]) -> InputError:
    listed = ", ".join(repr(n) for n in names)
    return InputError(f"{path}: no sheet named {sheet_name!r}; the workbook has {listed}")


# calamine (Rust) parses a 100,000-row sheet ~10x faster than openpyxl and hands over cells
# typed the way openpyxl does, with differences made up for here: every number is a float,
# a date-only cell is a `date`, an empty cell is "" (`_calamine_cell`), and an error cell
# (#N/A, #DIV/0!, ...) is "" too (`_error_cells` finds their text, as openpyxl gave it).
# It decodes Excel's `_xHHHH_` escapes itself, in inline and shared strings alike.
_INT_LIMIT = 2.0**53  # beyond it a float no longer holds every integer: leave it a float


def _calamine_rows(path: Path, sheet_name: str | None) -> Iterator[tuple[int, Sequence[Any]]] | None:
    """The sheet's rows read with python-calamine, or None when calamine cannot read the file."""
    try:
        from python_calamine import CalamineWorkbook, SheetTypeEnum
    except ImportError:  # pragma: no cover - a declared dependency; openpyxl still works
        return None
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception:  # noqa: BLE001 - any failure: openpyxl gives the exact reason
        return None
    scan: _ErrorScan | None = None
    try:
        names = list(workbook.sheet_names)
        if sheet_name is not None:
            if sheet_name not in names:
                raise _no_such_sheet(path, sheet_name, names)
            worksheet = workbook.get_sheet_by_name(sheet_name)
        else:
            # The first worksheet, as openpyxl's `worksheets[0]` (chart sheets hold no cells).
            sheet_name = next((m.name for m in workbook.sheets_metadata
                               if m.typ == SheetTypeEnum.WorkSheet), names[0] if names else None)
            if sheet_name is None:
                return None
        # Error cells are looked for in a thread while calamine parses (both release the GIL).
        scan = _ErrorScan(path, sheet_name)
        scan.start()
        worksheet = workbook.get_sheet_by_name(sheet_name)
        start = worksheet.start
        # skip_empty_area: rows and columns before the first cell are left out, and `start`
        # says where the first one is, so row numbers stay the sheet's own.
        values = worksheet.to_python(skip_empty_area=True)
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - as above
        return None
    finally:
        workbook.close()
        if scan is not None:
            scan.join()
    first_row, first_col = start if start is not None else (0, 0)
    for (row, col), text in scan.errors.items():
        if 0 <= row - first_row < len(values) and 0 <= col - first_col < len(values[row - first_row]):
            values[row - first_row][col - first_col] = text
    return _number_calamine_rows(values, first_row + 1, first_col)


# An error cell: `<c r="C2" t="e"><f>NA()</f><v>#N/A</v></c>` (not a self-closing `<c .../>`,
# and its content never runs into the next cell).
_ERROR_CELL = re.compile(
    rb'<(?:\w+:)?c\b([^>]*?\bt="e"[^>]*?)(?<!/)>((?:(?!<(?:\w+:)?c\b).)*?)</(?:\w+:)?c>', re.DOTALL
)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_CELL_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


class _ErrorScan(threading.Thread):
    """The text of the sheet's error cells, {(row, column) from 0: '#N/A'}, in `errors`.

    calamine reads an error cell as empty; openpyxl gave its text, which the schema then
    refuses where a value is wrong (a timezone '#N/A') instead of taking the column as
    left empty. Best effort: anything unexpected leaves `errors` empty.
    """

    def __init__(self, path: Path, sheet_name: str) -> None:
        super().__init__(name="importer-error-cells", daemon=True)
        self.path = path
        self.sheet_name = sheet_name
        self.errors: dict[tuple[int, int], str] = {}

    def run(self) -> None:
        try:
            self.errors = _error_cells(self.path, self.sheet_name)
        except Exception:  # noqa: BLE001 - best effort, see above
            self.errors = {}


def _error_cells(path: Path, sheet_name: str) -> dict[tuple[int, int], str]:
    with zipfile.ZipFile(path) as archive:
        part = _worksheet_part(archive, sheet_name)
        if part is None:
            return {}
        xml = archive.read(part)
    if b't="e"' not in xml:  # the usual case: one fast scan of the sheet's XML
        return {}
    errors = {}
    for match in _ERROR_CELL.finditer(xml):
        ref = _CELL_REF.search(match.group(1))
        value = _CELL_VALUE.search(match.group(2))
        if ref is not None and value is not None:
            row = int(ref.group(2)) - 1
            col = 0
            for letter in ref.group(1):
                col = col * 26 + letter - 64
            errors[(row, col - 1)] = value.group(1).decode("utf-8").strip()
    return errors


def _worksheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member holding the worksheet named `sheet_name` (workbook.xml and its rels)."""
    package_rels = ElementTree.fromstring(archive.read("_rels/.rels"))
    workbook_part = next((rel.get("Target", "") for rel in package_rels
                          if rel.get("Type", "").endswith("/officeDocument")), "xl/workbook.xml")
    workbook_part = workbook_part.lstrip("/")
    folder = posixpath.dirname(workbook_part)
    workbook = ElementTree.fromstring(archive.read(workbook_part))
    rel_id = next((sheet.get(key) for sheet in workbook.iter() if sheet.tag.endswith("}sheet")
                   and sheet.get("name") == sheet_name
                   for key in sheet.attrib if key.endswith("}id")), None)
    if rel_id is None:
        return None
    rels_part = posixpath.join(folder, "_rels", posixpath.basename(workbook_part) + ".rels")
    for rel in ElementTree.fromstring(archive.read(rels_part)):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join(folder, target))
    return None


def _number_calamine_rows(values: list[list[Any]], first_row: int,
                          first_col: int) -> Iterator[tuple[int, Sequence[Any]]]:
    if len(set(map(len, values))) > 1:  # not expected of calamine, whose rows span the sheet's width
        return _cell_by_cell(values, first_row, first_col)
    # Column by column: below its header a column holds one kind of cell, converted in one
    # pass at C speed where it can be (~10x faster than deciding cell by cell); rows come
    # back as tuples. The first row (the header, usually) is converted on its own.
    pad = (None,) * first_col
    first = pad + tuple(map(_calamine_cell, values[0])) if values else ()
    columns = [_calamine_column(column) for column in zip(*values[1:])]
    rows = len(values) - 1
    values.clear()  # the columns hold every cell now
    if first_col:
        columns[:0] = [(None,) * rows] * first_col
    return chain([(first_row, first)] if first else (), zip(range(first_row + 1, first_row + 1 + rows), zip(*columns)))


def _cell_by_cell(values: list[list[Any]], first_row: int, first_col: int) -> Iterator[tuple[int, list[Any]]]:
    pad = [None] * first_col
    for index, cells in enumerate(values):
        values[index] = None  # type: ignore[call-overload]  # each list goes as its row is made
        row = [_calamine_cell(cell) for cell in cells]
        yield first_row + index, pad + row if first_col else row


#: Cell types calamine hands over as they are to be kept.
_KEPT_AS_READ = frozenset({datetime, time, timedelta, bool})


def _calamine_column(column: tuple[Any, ...]) -> Sequence[Any]:
    """`_calamine_cell` of every cell of one column."""
    kinds = set(map(type, column))
    if kinds == {str}:  # text, with "" for an empty cell
        texts = list(map(str.strip, column))
        if "" in texts:
            texts = [text or None for text in texts]
        return texts
    if kinds <= _KEPT_AS_READ:
        return column
    if kinds == {float} and all(map(float.is_integer, column)) and -_INT_LIMIT < min(column) \
            and max(column) < _INT_LIMIT:  # whole numbers: ids, types, durations
        return list(map(int, column))
    return list(map(_calamine_cell, column))


def _calamine_cell(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        # Excel stores every number as a float; 396 is an int, as openpyxl reads it.
        if value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT:
            return int(value)
        return value
    if kind is date:
        # openpyxl reads every date cell as a datetime (midnight for a date alone).
        return datetime(value.year, value.month, value.day)
    if kind is str:
        return value.strip() or None
    return value


def _openpyxl_rows(path: Path, sheet_name: str | None) -> Iterator[tuple[int, list[Any]]]:
    # Import here: openpyxl is slow to import and only the fallback needs it.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: the workbook is damaged and cannot be read ({type(exc).__name__}); "
            "open it in Excel and save it again as .xlsx"
        ) from exc
    if sheet_name is not None:
        if sheet_name not in workbook.sheetnames:
            workbook.close()
            raise _no_such_sheet(path, sheet_name, workbook.sheetnames)
        worksheet = workbook[sheet_name]
    else:
        worksheet = workbook.worksheets[0]
    return _stream_xlsx(workbook, worksheet)


def _stream_xlsx(workbook: Any, worksheet: Any) -> Iterator[tuple[int, list[Any]]]:
    try:
        for row_number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield row_number, [_clean_xlsx_cell(value) for value in values]
    finally:
        workbook.close()


def _clean_xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        if "_x" in value:
            value = unescape_xlsx_text(value)
        value = value.strip()
        return value or None
    return value


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as handle:
        sample = handle.read(4096)
    try:
        _decode(sample, path, partial=True)
    except InputError:
        return False
    return True


# --- csv --------------------------------------------------------------------------------


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(path.read_bytes(), path)
    delimiter = _detect_delimiter(text)
    _refuse_unclosed_quote(text, delimiter, path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return _number_csv_rows(reader, path)


def _refuse_unclosed_quote(text: str, delimiter: str, path: Path) -> None:
    """The lenient parser runs a quote left open to the end of the file, silently folding
    every later row into one cell; only strict mode reports it."""
    row_number = 0
    try:
        for row_number, _ in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                                                  strict=True), start=1):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(f'{path}: row {row_number + 1} opens a quote (") that is never closed; '
                             "close or remove it and save the CSV again") from exc


def _number_csv_rows(reader: Iterable[list[str]], path: Path) -> Iterator[tuple[int, list[Any]]]:
    # Spreadsheet row numbers count records, not physical lines (a quoted cell may hold a newline).
    try:
        for row_number, record in enumerate(reader, start=1):
            yield row_number, [_clean_csv_cell(cell) for cell in record]
    except csv.Error as exc:
        raise InputError(f"{path}: the CSV cannot be parsed ({exc}); check for an unclosed quote") from exc


def _clean_csv_cell(cell: str) -> str | None:
    cell = cell.strip()
    if not cell:
        return None
    return unescape_csv_text(cell)


def _decode(raw: bytes, path: Path, partial: bool = False) -> str:
    """Decode CSV bytes: BOMs first, then strict UTF-8, then cp1252; never silently garble."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            return _strict(raw[len(bom):], encoding, path, partial)
    if _is_utf16_without_bom(raw):
        encoding = "utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be"
        return _strict(raw, encoding, path, partial)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(raw) - 3:
            text = raw[: exc.start].decode("utf-8")
        else:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
    _refuse_binary(text, path)
    return text


def _strict(raw: bytes, encoding: str, path: Path, partial: bool) -> str:
    try:
        text = raw.decode(encoding, errors="ignore" if partial else "strict")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: the file says it is {encoding} but byte {exc.start} is not; save it again as CSV UTF-8"
        ) from exc
    _refuse_binary(text, path)
    return text


def _is_utf16_without_bom(raw: bytes) -> bool:
    sample = raw[:200]
    if len(sample) < 4:
        return False
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    half = len(sample) // 2
    return max(even_zeros, odd_zeros) > 0.4 * half and min(even_zeros, odd_zeros) == 0


def _refuse_binary(text: str, path: Path) -> None:
    sample = text[:65536]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if bad > max(2, len(sample) // 1000):
        raise InputError(f"{path}: this is not a text/CSV file; save the schedule as .xlsx or CSV UTF-8")


def _detect_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most fields (`,` on a tie)."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","
