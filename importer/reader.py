"""Read a schedule (.xlsx or .csv) into rows of raw cells, each with its spreadsheet row number.

The reader keeps cells as the sheet typed them (text, number, bool, datetime) so the
schema can tell an Excel number 396 from the text "00123". It never guesses meaning.
Files it cannot use raise `InputError` with one line saying what to do.

An .xlsx is read with python-calamine; openpyxl reads what calamine refuses (and says
why a damaged workbook cannot be read). Both give the same cells: text stripped, an
empty cell None, whole numbers int, date cells datetime, error cells their text ("#N/A").
A .csv is decoded as Excel may have saved it (BOM, UTF-16, UTF-8, cp1252); its cells are text.

The header is the first row with two or more values. Rows above it that hold one value each
are titles, not the header: the template's Schedule sheet has a one-line legend in A1 and
its header in row 2. A sheet with no row of two values has its first row with a value as the
header, as any sheet once had. Blank rows and title rows are skipped, and every row keeps its
spreadsheet row number: the template's first data row is row 3.
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook, SheetTypeEnum

from .errors import InputError
from .escapes import unescape_csv_text, unescape_xlsx_text
from .models import Cell, Sheet, SourceRow

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and encrypted .xlsx
DELIMITERS = (",", ";", "\t")

#: Rows as read: (spreadsheet row number, cells).
Rows = Iterator[tuple[int, Sequence[Cell]]]


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
    rows = _xlsx_rows(path, head, sheet_name) if suffix in XLSX_SUFFIXES else _csv_rows(path)
    return _assemble(str(path), rows)


def _assemble(path: str, rows: Rows) -> Sheet:
    """The header (see the module's docstring: the first row with two values, below any title
    rows of one value); every later row with a value is data, padded or cut to the header's width."""
    header, rows = _header(rows)
    if header is None:
        raise InputError(f"{path}: the sheet has no header row and no data")
    width = max((i + 1 for i, cell in enumerate(header) if cell is not None), default=0)
    headers = tuple(_header_text(cell) for cell in header[:width])
    padding = (None,) * width
    data = []
    for row_number, cells in rows:
        if len(cells) != width:
            cells = (tuple(cells) + padding)[:width]
        if _has_value(cells):
            data.append(SourceRow(row_number, tuple(cells)))
    if not data:
        raise InputError(f"{path}: the sheet has a header row but no data rows")
    return Sheet(path=path, headers=headers, rows=data)


def _header(rows: Rows) -> tuple[Sequence[Cell] | None, Rows]:
    """The header row and the rows after it. Leading rows of one value are held back until a
    row of two or more values shows they were titles; if none does, the first of them is the
    header and the others are data."""
    titles: list[tuple[int, Sequence[Cell]]] = []
    for row_number, cells in rows:
        values = len(cells) - cells.count(None)
        if values >= 2:
            return cells, rows
        if values == 1:
            titles.append((row_number, cells))
    if not titles:
        return None, rows
    return titles[0][1], iter(titles[1:])


def _has_value(cells: Sequence[Cell]) -> bool:
    return cells.count(None) < len(cells)


def _header_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).replace("\u00a0", " ").strip()


# --- xlsx -------------------------------------------------------------------------------


def _xlsx_rows(path: Path, head: bytes, sheet_name: str | None) -> Rows:
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


def _calamine_rows(path: Path, sheet_name: str | None) -> Rows | None:
    """The sheet's rows read with python-calamine, or None when calamine cannot read the file."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception:  # any failure: openpyxl reads it or gives the exact reason
        return None
    with workbook:
        names = workbook.sheet_names
        if sheet_name is not None and sheet_name not in names:
            raise _no_such_sheet(path, sheet_name, names)
        if sheet_name is None:
            # The first worksheet, as openpyxl's `worksheets[0]` (chart sheets hold no cells).
            sheet_name = next((sheet.name for sheet in workbook.sheets_metadata
                               if sheet.typ == SheetTypeEnum.WorkSheet), names[0] if names else None)
            if sheet_name is None:
                return None
        try:
            # From cell A1, as openpyxl reads: row and column indexes are the sheet's own.
            values = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except Exception:  # as above
            return None
    for (row, column), text in _error_cells(path, sheet_name).items():
        if row < len(values) and column < len(values[row]):
            values[row][column] = text
    return ((number, tuple(map(_calamine_cell, cells))) for number, cells in enumerate(values, start=1))


#: Beyond it a float no longer holds every integer: such a number stays a float.
_INT_LIMIT = 2.0**53


def _calamine_cell(value: Cell) -> Cell:
    """A cell as openpyxl reads it. calamine gives every number as a float, a date-only
    cell as a `date` and an empty cell as ""; it decodes `_xHHHH_` escapes itself."""
    kind = type(value)
    if kind is float:
        # Excel stores every number as a float; 396 is an int, as openpyxl reads it.
        return int(value) if value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT else value
    if kind is date:
        # openpyxl reads every date cell as a datetime (midnight for a date alone).
        return datetime(value.year, value.month, value.day)
    if kind is str:
        return value.strip() or None
    return value


def _error_cells(path: Path, sheet_name: str) -> dict[tuple[int, int], str]:
    """The text of the sheet's error cells (#N/A, #DIV/0!, ...) by (row, column) from 0.

    calamine reads an error cell as empty (python-calamine has no way to tell it apart);
    openpyxl gives its text, which the schema then refuses where a value is wrong (a
    timezone '#N/A') instead of taking the column as left empty. Best effort: a workbook
    laid out in a way this does not follow is read as having none.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            xml = archive.read(_worksheet_part(archive, sheet_name))
        if b't="e"' not in xml and b"t='e'" not in xml:  # the usual case: no error cell
            return {}
        from openpyxl.utils.cell import coordinate_to_tuple

        errors = {}
        for _, element in ElementTree.iterparse(io.BytesIO(xml)):
            if element.tag.endswith("}c") and element.get("t") == "e":
                ref, text = element.get("r"), element.findtext("{*}v")
                if ref and text:
                    row, column = coordinate_to_tuple(ref)
                    errors[(row - 1, column - 1)] = text
            elif element.tag.endswith("}row"):
                element.clear()  # done with the row's cells
        return errors
    except (OSError, KeyError, ValueError, StopIteration, zipfile.BadZipFile, ElementTree.ParseError):
        return {}


def _worksheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str:
    """The zip member holding the worksheet named `sheet_name`: the package's relationships
    name the workbook part, the workbook gives the sheet's relationship id, and the
    workbook's relationships name the sheet's part."""
    workbook = next(target for kind, target in _relationships(archive, "").values()
                    if kind.endswith("/officeDocument"))
    rel_id = next(value for sheet in ElementTree.fromstring(archive.read(workbook)).iter()
                  if sheet.tag.endswith("}sheet") and sheet.get("name") == sheet_name
                  for key, value in sheet.attrib.items() if key.endswith("}id"))
    return _relationships(archive, workbook)[rel_id][1]


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """{Id: (Type, zip member)} of a part's relationships ("" for the package's own)."""
    folder, name = posixpath.split(part)
    rels = ElementTree.fromstring(archive.read(posixpath.join(folder, "_rels", name + ".rels")))
    return {rel.get("Id", ""): (rel.get("Type", ""),
                                posixpath.normpath(posixpath.join(folder, rel.get("Target", ""))).lstrip("/"))
            for rel in rels}


def _openpyxl_rows(path: Path, sheet_name: str | None) -> Rows:
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
    if sheet_name is not None and sheet_name not in workbook.sheetnames:
        workbook.close()
        raise _no_such_sheet(path, sheet_name, workbook.sheetnames)
    worksheet = workbook[sheet_name] if sheet_name is not None else workbook.worksheets[0]
    return _stream_xlsx(workbook, worksheet)


def _stream_xlsx(workbook: Any, worksheet: Any) -> Rows:  # openpyxl is untyped
    try:
        for row_number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield row_number, [_openpyxl_cell(value) for value in values]
    finally:
        workbook.close()


def _openpyxl_cell(value: Cell) -> Cell:
    if isinstance(value, str):
        # openpyxl leaves Excel's `_xHHHH_` escapes in inline strings.
        return unescape_xlsx_text(value).strip() or None
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


def _csv_rows(path: Path) -> Rows:
    text = _decode(path.read_bytes(), path)
    delimiter = _detect_delimiter(text)
    _refuse_unclosed_quote(text, delimiter, path)
    return _number_csv_rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), path)


def _refuse_unclosed_quote(text: str, delimiter: str, path: Path) -> None:
    """The lenient parser runs a quote left open to the end of the file, silently folding
    every later row into one cell; only strict mode reports it."""
    records = 0
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            records += 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(f'{path}: row {records + 1} opens a quote (") that is never closed; '
                             "close or remove it and save the CSV again") from exc


def _number_csv_rows(reader: Iterable[list[str]], path: Path) -> Rows:
    # Spreadsheet row numbers count records, not physical lines (a quoted cell may hold a newline).
    try:
        for row_number, record in enumerate(reader, start=1):
            yield row_number, [_csv_cell(cell) for cell in record]
    except csv.Error as exc:
        raise InputError(f"{path}: the CSV cannot be parsed ({exc}); check for an unclosed quote") from exc


def _csv_cell(cell: str) -> str | None:
    cell = cell.strip()
    return unescape_csv_text(cell) if cell else None


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
        if partial and exc.start >= len(raw) - 3:  # a sample cut inside a character
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
