"""Small builders for the reader/schema/plan tests: typed xlsx sheets, rows, problem triples."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl

from importer.cells import DateOrder
from importer.columns import ColumnMap, canonical_name
from importer.models import Problem, SourceRow
from importer.schema import RowCheck, check_row

#: A fixed "now" so that no test depends on the day it runs.
NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)

#: Headers as a coordinator might write them (every schema field, in the sheet's spelling).
HEADERS = (
    "Row ID", "User ID", "Context ID", "Domain", "Course ID", "Topic", "Type", "Start Time",
    "Duration", "Timezone", "Agenda", "Password", "Recurrence Type", "Repeat Interval",
    "Weekly Days", "Monthly Day", "Monthly Week", "Monthly Week Day", "End Times",
    "End Date Time", "Settings.Waiting Room", "Settings.Join Before Host", "Settings.JBH Time",
    "Settings.Auto Recording", "Settings.Alternative Hosts", "Notes", "import_status", "meeting_id",
    "error_code", "error_message",
)
COLUMNS = ColumnMap.build(HEADERS, "term.xlsx")

#: A valid type 2 row, by header.
VALID: dict[str, Any] = {
    "User ID": "host@x.edu",
    "Context ID": "0f978981bb1184ba5f9e34839f045c4476d30737",
    "Domain": "canvas.x.edu",
    "Course ID": 396,
    "Topic": "BIO 101 Lecture",
    "Type": 2,
    "Start Time": datetime(2026, 10, 8, 10, 0),
    "Duration": 50,
    "Timezone": "America/New_York",
}


def write_xlsx(path: Path, rows: Iterable[Sequence[Any]], title: str = "Sheet",
               extra_sheets: Mapping[str, Iterable[Sequence[Any]]] | None = None) -> Path:
    """A workbook whose first sheet holds `rows` as typed cells (header included)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for values in rows:
        sheet.append(list(values))
    for name, extra in (extra_sheets or {}).items():
        other = workbook.create_sheet(name)
        for values in extra:
            other.append(list(values))
    workbook.save(path)
    return path


def source_row(values: Mapping[str, Any], row_number: int = 2,
               headers: Sequence[str] = HEADERS) -> SourceRow:
    return SourceRow(row_number, tuple(values.get(header) for header in headers))


def header_for(name: str, headers: Sequence[str] = HEADERS) -> str:
    """The header in `headers` that means the field `name` (any spelling canonical_name knows)."""
    wanted = canonical_name(name)
    matches = [header for header in headers if canonical_name(header) == wanted]
    assert wanted is not None and len(matches) == 1, name
    return matches[0]


def check(row_number: int = 2, *, date_order: DateOrder | None = None, now: datetime = NOW,
          columns: ColumnMap = COLUMNS, **changes: Any) -> RowCheck:
    """Check VALID with some cells changed, named by field (`start_time=...`,
    `waiting_room=...`); a value of None empties the cell."""
    values = dict(VALID)
    for name, value in changes.items():
        values[header_for(name, columns.headers)] = value
    return check_row(columns, source_row(values, row_number, columns.headers),
                     date_order=date_order, now=now)


def triples(problems: Iterable[Problem]) -> list[tuple[int, str, str]]:
    return [(p.row_number, p.column, p.code) for p in problems]
