"""How text survives a round trip through a result sheet, written and read back.

* CSV: text that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) is written with a
  leading `'` (`csv_safe`), so no spreadsheet evaluates it; `unescape_csv_text` removes
  exactly that `'` when the sheet is read back.
* xlsx: Excel (and XlsxWriter) store control characters as `_xHHHH_` (a CR is `_x000D_`)
  and a literal `_xHHHH_` by writing its `_` as `_x005F_`. Excel and calamine decode
  them; openpyxl does not for inline strings, so text it reads goes through
  `unescape_xlsx_text`.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_XLSX_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def csv_safe(value: str) -> str:
    """Text for a CSV cell that no spreadsheet evaluates as a formula.

    Text starting with = + - @ tab or CR gets a leading `'`, unless it is a plain number
    such as `-5` or `+1.25` (a number is not a formula, and escaping it would turn every
    negative amount into text). Text that already starts with `'` gets one more, so that
    `unescape_csv_text` can always undo exactly what was done.
    """
    if value.startswith("'") or (value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def unescape_csv_text(value: str) -> str:
    """The original text of a CSV cell written through `csv_safe`.

    Strips one leading `'` when what follows starts with = + - @ tab CR or `'`, i.e.
    when the quote can only be `csv_safe`'s. `unescape_csv_text(csv_safe(s)) == s` for
    every string; a coordinator's own `'hello` is left alone.
    """
    if value.startswith("'") and value[1:].startswith((*FORMULA_STARTS, "'")):
        return value[1:]
    return value


def unescape_xlsx_text(value: str) -> str:
    """Decode Excel's `_xHHHH_` escapes (as Excel does) in text read with openpyxl."""
    return _XLSX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
