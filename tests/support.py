"""Helpers for the end-to-end tests: sheet rows, credentials, reading results back."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl

from importer.simulator import SimulatorServer

KEY = "test-key-KLAIJC9"
SECRET = "test-secret-never-printed-7f3a9c"

HEADERS = ["Row ID", "User ID", "Context ID", "Domain", "Course ID", "Topic", "Type", "Start Time",
           "Duration", "Timezone"]


def row(topic: str, *, user: str = "host@x.edu", context: str = "ctx-1", course: Any = 396,
        start: Any = datetime(2027, 10, 8, 10, 0), meeting_type: Any = 2, duration: Any = 60,
        row_id: Any = None, domain: str = "canvas.x.edu", zone: str = "America/New_York") -> list[Any]:
    return [row_id, user, context, domain, course, topic, meeting_type, start, duration, zone]



def read_xlsx(path: Path) -> list[dict[str, Any]]:
    """The result sheet's first sheet as dicts keyed by header."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, values, strict=True)) for values in rows[1:]]


def creates(server: SimulatorServer) -> list[dict[str, Any]]:
    return [r for r in server.state.snapshot()["requests"] if r["endpoint"] == "createAndAssociate"]


SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def load_make_samples() -> ModuleType:
    """samples/ is not a package: load the script as the module `make_samples`."""
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@contextmanager
def simulate_command(lines: int) -> Iterator[tuple[str, list[str]]]:
    """`importer simulate --port 0` in a process of its own: its root URL and the first `lines` lines it
    printed, while it serves; stopped after."""
    command = [sys.executable, "-m", "importer", "simulate", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            stdout = process.stdout
            assert stdout is not None
            printed: list[str] = []
            reader = threading.Thread(target=lambda: printed.extend(stdout.readline() for _ in range(lines)),
                                      daemon=True)
            reader.start()
            reader.join(timeout=20)
            assert len(printed) == lines, printed
            assert printed[0].startswith("LTI Pro simulator on http://127.0.0.1:")
            yield printed[0].split()[4].removesuffix("/api/v1/lti/rich"), [line.strip() for line in printed]
        finally:
            process.terminate()
            process.wait(timeout=10)
