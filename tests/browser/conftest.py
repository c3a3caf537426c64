"""The console's browser tests: Debian's chromium driven by Playwright, `importer serve` as a subprocess.

Never `playwright install`: the browser is the system's (`apt-get install chromium`). Without it
(or without the playwright package) these tests skip and say why, unless
IMPORTER_BROWSER_TESTS=required (CI sets it), where they fail with the same reason.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from importer.simulator import SimulatorServer

from support import KEY, SECRET

CHROMIUM = Path(os.environ.get("IMPORTER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REQUIRED = os.environ.get("IMPORTER_BROWSER_TESTS", "") == "required"
START_TIMEOUT_S = 20.0
LINE = re.compile(r"^Console: (?P<root>http://[^/\s]+)/\?token=(?P<token>[^\s&]+)$")
#: What the console must not inherit from the developer's shell: it is configured by the test alone.
CLEARED_ENV = ("LTI_", "CANVAS_", "ZOOM_", "IMPORTER_")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return (f"the console's browser tests need chromium, and there is none at {CHROMIUM}: "
                "apt-get install chromium (never `playwright install`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the playwright package is missing ({exc}): pip install -e '.[test]'"
    return None


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"IMPORTER_BROWSER_TESTS=required but {reason}", pytrace=False)
    pytest.skip(reason)


# Module scope, not session: Playwright's sync API keeps its event loop running in this thread
# while it is open, and every later test that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = browser_missing()
    if reason:
        _unavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            # launch() gives every browser a fresh temporary profile (user data dir), removed at close.
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # the browser is there but does not start: same rule as missing
            _unavailable(f"chromium at {CHROMIUM} does not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


#: `importer serve`, as the installed command runs it.
CONSOLE = [sys.executable, "-m", "importer", "serve"]


@dataclass
class Console:
    """A running `importer serve`: `root` is http://127.0.0.1:PORT, `token` the printed one."""

    root: str
    token: str
    process: subprocess.Popen[str]
    stderr_path: Path
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def start_url(self) -> str:
        return f"{self.root}/?token={self.token}"

    def url(self, path: str) -> str:
        return self.root + path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.reader is not None:
            self.reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_console(workdir: Path, *, sim: SimulatorServer | None = None, simulate: bool = False,
                  extra: tuple[str, ...] = ()) -> Console:
    """Start the console on 127.0.0.1 with a free port and wait for its one printed line."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED_ENV)}
    env["IMPORTER_JOURNAL"] = str(workdir / "journal.sqlite")
    if sim is not None:
        env.update(LTI_BASE_URL=sim.base_url, LTI_KEY=KEY, LTI_SECRET=SECRET)
    args = [*CONSOLE, "--host", "127.0.0.1", "--port", "0", *(["--simulate"] if simulate else []), *extra]
    stderr_path = workdir / "console.stderr"
    with stderr_path.open("w") as stderr:
        # cwd: the working directory's .env would configure the console; this one has none.
        process = subprocess.Popen(args, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=stderr, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:  # read every line, so a chatty server never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    console = Console("", "", process, stderr_path, reader=reader)
    try:
        line = lines.get(timeout=START_TIMEOUT_S)
    except queue.Empty:
        console.stop()
        pytest.fail(f"the console printed nothing in {START_TIMEOUT_S:.0f} s; stderr:\n{console.stderr()}")
    if line is None:
        console.stop()
        pytest.fail(f"the console exited ({process.returncode}) before printing its line; stderr:\n"
                    f"{console.stderr()}")
    match = LINE.match(line)
    if not match:
        console.stop()
        pytest.fail(f"the console's first line is not `Console: http://HOST:PORT/?token=TOKEN`: {line!r}")
    console.root, console.token = match["root"], match["token"]
    console.lines.append(line)
    return console


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Console]]:
    """launch(sim=...) or launch(simulate=True): a console stopped (terminate, then kill) after the test."""
    started: list[Console] = []

    def launch_one(**kwargs: Any) -> Console:
        console = start_console(tmp_path / f"console-{len(started)}", **kwargs)
        started.append(console)
        return console

    yield launch_one
    for console in started:
        console.stop()
        # Shown by pytest only when the test failed: what the server said.
        print(f"console {console.root} exited {console.process.returncode}; its stderr:\n{console.stderr()}")
