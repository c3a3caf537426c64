"""Fixtures shared by the end-to-end tests: a real simulator on loopback, and sheet builders."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from importer.simulator import SimConfig, SimulatorServer

from support import HEADERS, KEY, SECRET


@pytest.fixture
def write_xlsx(tmp_path: Path) -> Callable[..., Path]:
    def write(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS, name: str = "term.xlsx") -> Path:
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(list(headers))
        for values in rows:
            sheet.append(list(values))
        path = tmp_path / name
        workbook.save(path)
        return path
    return write


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS, name: str = "term.csv",
              encoding: str = "utf-8", delimiter: str = ",") -> Path:
        path = tmp_path / name
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(headers)
            for values in rows:
                writer.writerow(["" if v is None else v for v in values])
        return path
    return write


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(key=KEY, secret=SECRET, unknown_users=frozenset({"ghost@x.edu"}),
                     reject_contexts=frozenset({"bad-ctx"}), flaky_contexts=frozenset({"flaky-ctx"}))


@pytest.fixture
def sim(sim_config: SimConfig) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim_config) as server:
        yield server


@pytest.fixture
def start_simulator() -> Iterator[Callable[[SimConfig], SimulatorServer]]:
    """Start a simulator of its own for a test (a fault or limit configuration); all are stopped after it."""
    servers: list[SimulatorServer] = []

    def start(config: SimConfig) -> SimulatorServer:
        servers.append(SimulatorServer(config).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
