"""The column table: the README's table is made from it, and every entry's example is a cell its kind takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.cells import InvalidCell
from importer.columns import BY_NAME, COLUMNS, INPUT_COLUMNS, Group, canonical_name, markdown_table, normalise

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_shows_the_column_table() -> None:
    assert markdown_table() in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("column", INPUT_COLUMNS, ids=lambda column: column.name)
def test_every_example_is_a_cell_its_column_takes(column) -> None:
    assert column.kind is not None
    try:
        column.kind.convert(column.example, column.name, None)
    except InvalidCell as exc:
        pytest.fail(f"{column.name}'s example {column.example!r} is refused: {exc.message}")


def test_every_name_and_alias_means_its_column() -> None:
    spellings = [(column.name, column.name) for column in COLUMNS]
    spellings += [(alias, column.name) for column in COLUMNS for alias in column.aliases]
    for spelling, name in spellings:
        assert canonical_name(spelling) == name, spelling
    normalised = [normalise(spelling) for spelling, _ in spellings]
    assert len(normalised) == len(set(normalised)), "two columns share a spelling"


def test_rules_and_results() -> None:
    assert [c.name for c in COLUMNS if c.group is Group.RESULT] == [
        "import_status", "meeting_id", "error_code", "error_message", "next_step", "warnings"]
    assert all(c.kind is None for c in COLUMNS if c.group is Group.RESULT)
    assert BY_NAME["topic"].rule == "topic is at most 200 characters."
