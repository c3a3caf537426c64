"""The library's public surface: what `import importer` offers, pinned as httpx pins its own."""

from __future__ import annotations

import ast
from pathlib import Path

import importer

PACKAGE = Path(importer.__file__).parent


def test_the_public_names_are_pinned() -> None:
    assert sorted(importer.__all__) == [
        "Canvas", "ConfigError", "Connection", "ImportOptions", "ImporterError", "InputError", "JournalError",
        "Outcome", "Problem", "Progress", "ReadOptions", "Report", "RowResult", "Status", "StopRequest", "__version__",
        "import_file", "validate_file",
    ]
    for name in importer.__all__:
        assert getattr(importer, name) is not None, name


def test_every_error_is_an_importer_error() -> None:
    for error in (importer.ConfigError, importer.InputError, importer.JournalError):
        assert issubclass(error, importer.ImporterError)


def test_no_module_imports_another_modules_private_names() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):  # also `from . import _name`
                private = [alias.name for alias in node.names if alias.name.startswith("_")
                           and alias.name != "__version__"]
                assert not private, f"{path.relative_to(PACKAGE)} imports {private} from {node.module or '.'}"
