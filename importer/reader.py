"""Read a schedule (.xlsx or .csv) into rows of raw cells, each with its spreadsheet row number.

The reader keeps cells as the sheet typed them (text, number, bool, datetime) so the
schema can tell an Excel number 396 from the text "00123". It never guesses meaning.
Files it cannot use raise `InputError` with one line saying what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import InputError
from .models import Sheet, SourceRow
from .report import unescape_csv_text, unescape_xlsx_text

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and encrypted .xlsx
DELIMITERS = (",", ";", "\t")


def read_sheet(path: Path, sheet_name: str | None = None) -> Sheet:
    """Read the whole sheet: header row, then every row that has at least one value."""
    path = Path(path)
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
    if suffix in XLSX_SUFFIXES:
        rows = _xlsx_rows(path, head, sheet_name)
    elif suffix in CSV_SUFFIXES:
        if head.startswith(ZIP_MAGIC):
            raise InputError(f"{path}: this is an Excel workbook named {suffix}; rename it to .xlsx")
        rows = _csv_rows(path)
    else:
        raise InputError(f"{path}: unsupported file type '{suffix}'; save the schedule as .xlsx or .csv")
    return _assemble(str(path), rows)


def _assemble(path: str, rows: Iterator[tuple[int, list[Any]]]) -> Sheet:
    header: list[Any] | None = None
    for row_number, cells in rows:
        if any(cell is not None for cell in cells):
            header = cells
            break
    if header is None:
        raise InputError(f"{path}: the sheet has no header row and no data")
    width = max((i + 1 for i, cell in enumerate(header) if cell is not None), default=0)
    headers = tuple(_header_text(cell) for cell in header[:width])
    data: list[SourceRow] = []
    for row_number, cells in rows:
        cells = cells[:width]
        if not any(cell is not None for cell in cells):
            continue
        if len(cells) < width:
            cells = cells + [None] * (width - len(cells))
        data.append(SourceRow(row_number, tuple(cells)))
    if not data:
        raise InputError(f"{path}: the sheet has a header row but no data rows")
    return Sheet(path=path, headers=headers, rows=data)


def _header_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).replace("\u00a0", " ").strip()


# --- xlsx -------------------------------------------------------------------------------


def _xlsx_rows(path: Path, head: bytes, sheet_name: str | None) -> Iterator[tuple[int, list[Any]]]:
    if head == OLE_MAGIC:
        raise InputError(
            f"{path}: the workbook is password-protected (or is a legacy .xls); "
            "remove the password in Excel and save it as .xlsx"
        )
    if not head.startswith(ZIP_MAGIC):
        if _looks_like_text(path):
            raise InputError(f"{path}: this is a CSV/text file named .xlsx; rename it to .csv")
        raise InputError(f"{path}: not an Excel workbook; open it in Excel and save it as .xlsx")
    # Import here: openpyxl is slow to import and CSV runs don't need it.
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
            names = ", ".join(repr(n) for n in workbook.sheetnames)
            raise InputError(f"{path}: no sheet named {sheet_name!r}; the workbook has {names}")
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
