"""Screenshots of the web console, step by step, and its measures (README "Web console").

Starts `importer serve --simulate` on a free loopback port, drives Debian's chromium through
Playwright (never `playwright install`) with the demo sheet (samples/make_samples.py --demo),
and writes one PNG per step into docs/console/ at a 1280x800 viewport:

    1-start.png     the start page
    2-checked.png   the checked demo sheet: counts, each host's creates, Run, the table
    2-invalid-row.png  the same filtered to its invalid row, scrolled to the cell with the problem
    3-running.png   a run in progress
    4-done.png      the run done: outcomes and the download link

Then it measures, against the same console (numbers for the README):
    - page weight (HTML + CSS + JS bytes as served, uncompressed) of `/`, of a sheet page without
      the sheet's data (its table body) and of a run page;
    - the time from clicking Run to the first progress update in the page;
    - the time from clicking Check on a 5,000-row sheet to its table shown.

Run: make screenshots   (or .venv/bin/python scripts/console_screenshots.py [--no-measure])
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl

from importer import validate_file

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("IMPORTER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
LINE = re.compile(r"^Console: (?P<root>http://[^/\s]+)/\?token=(?P<token>\S+)$")
PROGRESS_AT_LEAST = "n => { const el = document.querySelector('[role=progressbar]');" \
                    " return el !== null && Number(el.getAttribute('aria-valuenow')) >= n; }"


@contextmanager
def console(workdir: Path) -> Iterator[str]:
    """`importer serve --simulate` on 127.0.0.1: yields its printed start URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LTI_", "CANVAS_", "ZOOM_", "IMPORTER_"))}
    env["IMPORTER_JOURNAL"] = str(workdir / "journal.sqlite")
    command = [sys.executable, "-m", "importer", "serve", "--host", "127.0.0.1", "--port", "0", "--simulate"]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for text in process.stdout:
            lines.put(text.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    try:
        line = lines.get(timeout=30)
        match = LINE.match(line or "")
        if not match:
            raise SystemExit(f"console_screenshots: the console did not print its line (got {line!r})")
        yield match.group(0).removeprefix("Console: ")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def demo_sheet(folder: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "samples" / "make_samples.py"), "--demo", str(folder)], check=True,
                   stdout=subprocess.DEVNULL)
    return folder / "term.xlsx"


def variant(demo: Path, out: Path, copies: int, tag: str, limit: int | None = None) -> Path:
    """The demo's rows repeated `copies` times (or its first `limit` rows), each a meeting of its own:
    a distinct Row ID and topic, so the importer sees no duplicate and sends each one."""
    source = openpyxl.load_workbook(demo).worksheets[0]
    header, *rows = [list(r) for r in source.iter_rows(values_only=True)]
    row_id, topic = header.index("Row ID"), header.index("Topic")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    count = 0
    for copy in range(copies):
        for values in rows[:limit]:
            count += 1
            values = list(values)
            values[row_id] = f"{values[row_id] or 'ROW'}-{tag}{copy}-{count}"
            values[topic] = f"{values[topic]} ({tag}{copy})"
            sheet.append(values)
    book.save(out)
    return out


# -- page steps ------------------------------------------------------------------------------

def check(page: Any, path: Path) -> None:
    page.get_by_label("Schedule").set_input_files(path)
    page.get_by_role("button", name="Check").click()
    page.wait_for_url(re.compile(r"/sheets/[^/?#]+$"))


def rows_table(page: Any) -> Any:
    """The checked rows' table (a sheet page also has the hosts' table): the one with a Row column."""
    return page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Row", exact=True))


def click_run(page: Any) -> None:
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/runs/[^/?#]+$"), wait_until="commit")


def wait_done(page: Any) -> None:
    page.get_by_role("link", name="Download result sheet").wait_for(timeout=120_000)


def screenshots(browser: Any, start_url: str, demo: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(start_url)
    page.screenshot(path=out / "1-start.png")

    check(page, demo)
    page.screenshot(path=out / "2-checked.png")
    # The invalid rows alone, the table scrolled sideways to the cell that holds the problem.
    page.get_by_role("link", name=re.compile(r"invalid")).first.click()
    page.wait_for_url(re.compile(r"status=invalid"))
    page.locator("[aria-invalid=true]").first.evaluate("el => el.scrollIntoView({block: 'end', inline: 'center'})")
    page.screenshot(path=out / "2-invalid-row.png")

    page.go_back()
    click_run(page)
    page.wait_for_function(PROGRESS_AT_LEAST, arg=20, polling=20, timeout=60_000)
    page.screenshot(path=out / "3-running.png")

    wait_done(page)
    page.screenshot(path=out / "4-done.png")
    context.close()
    print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.png')))} into {out}")


# -- measures --------------------------------------------------------------------------------

WEIGHED = {"document", "stylesheet", "script"}
TABLE_BODY = ("() => Array.from(document.querySelectorAll('tbody'))"
              ".reduce((n, b) => n + new Blob([b.outerHTML]).size, 0)")


def weigh(browser: Any, start_url: str, go: Callable[[Any], None]) -> tuple[int, int, list[str], str]:
    """What a browser with an empty cache loads for the page `go` opens: bytes of HTML+CSS+JS as
    served (uncompressed), the bytes of its table bodies (the sheet's data), the URLs, the page's URL."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(start_url)  # the token visit: sets the cookie
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    go(page)
    page.wait_for_load_state("load")
    weighed = [r for r in responses if r.request.resource_type in WEIGHED and r.status == 200]
    total = sum(len(r.body()) for r in weighed)
    data = int(page.evaluate(TABLE_BODY))
    url = page.url
    context.close()
    return total, data, [_short(r.url) for r in weighed], url


def measure(browser: Any, start_url: str, demo: Path, work: Path) -> list[tuple[str, str]]:
    results: list[tuple[str, str]] = []

    home, _, parts, _ = weigh(browser, start_url, lambda page: page.reload())
    results.append(("page weight of `/` (HTML+CSS+JS)", f"{home:,} bytes ({', '.join(parts)})"))
    total, data, _, _ = weigh(browser, start_url, lambda page: check(page, demo))
    results.append(("page weight of a sheet page without the sheet's data",
                    f"{total - data:,} bytes ({total:,} with the demo's 60 rows, {data:,} of them the table body)"))

    # Run -> first progress update, on fresh 20-row sheets (a sheet run twice has nothing left to send).
    first_update: list[float] = []
    run_page: list[float] = []
    run_url = ""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(start_url)
    for n in range(5):
        check(page, variant(demo, work / f"run-{n}.xlsx", 1, f"R{n}", limit=20))
        start = time.perf_counter()
        click_run(page)
        run_page.append(time.perf_counter() - start)
        page.wait_for_function(PROGRESS_AT_LEAST, arg=1, polling=5, timeout=30_000)
        first_update.append(time.perf_counter() - start)
        wait_done(page)
        run_url = page.url
        page.goto(start_url)
    context.close()
    total, data, _, _ = weigh(browser, start_url, lambda page: page.goto(run_url))
    results.append(("page weight of a run page without the sheet's data",
                    f"{total - data:,} bytes ({total:,} for a 20-row run done, with its outcome table)"))
    results.append(("click Run -> run page shown", _ms(run_page)))
    results.append(("click Run -> first progress update (aria-valuenow >= 1)", _ms(first_update)))

    big = variant(demo, work / "five-thousand.xlsx", 84, "K")  # 84 x 60 rows, cut to 5,000
    _cut(big, 5_000)
    shown: list[float] = []
    reloaded: list[float] = []
    for _ in range(3):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(start_url)
        page.get_by_label("Schedule").set_input_files(big)
        start = time.perf_counter()
        page.get_by_role("button", name="Check").click()
        page.wait_for_url(re.compile(r"/sheets/[^/?#]+$"))
        rows_table(page).get_by_role("row").nth(100).wait_for()
        shown.append(time.perf_counter() - start)
        start = time.perf_counter()
        page.reload()
        rows_table(page).get_by_role("row").nth(100).wait_for()
        reloaded.append(time.perf_counter() - start)
        context.close()
    checked: list[float] = []
    for n in range(3):  # the server's own share: the same validate_file call, in this process
        start = time.perf_counter()
        validate_file(big, work / f"five-thousand-{n}.result.xlsx")
        checked.append(time.perf_counter() - start)
    results.append(("5,000-row sheet: click Check -> its table's first 100 rows shown", _ms(shown)))
    results.append(("5,000-row sheet: of which validate_file (the check itself, in-process)", _ms(checked)))
    results.append(("5,000-row sheet: checked page reloaded -> table shown", _ms(reloaded)))
    return results


def _cut(path: Path, rows: int) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book.active
    sheet.delete_rows(rows + 2, sheet.max_row)
    book.save(path)


def _ms(seconds: list[float]) -> str:
    values = sorted(s * 1000 for s in seconds)
    return f"median {statistics.median(values):.0f} ms, max {values[-1]:.0f} ms ({len(values)} runs)"


def _short(url: str) -> str:
    return "/" + url.split("/", 3)[3].split("?")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    parser.add_argument("--no-measure", action="store_true", help="screenshots only")
    args = parser.parse_args()
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        raise SystemExit(f"console_screenshots: no chromium at {CHROMIUM}: apt-get install chromium "
                         "(never `playwright install`)")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="console-shots-"))
    try:
        demo = demo_sheet(work / "demo")
        with console(work) as start_url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            print(f"chromium {browser.version}")
            screenshots(browser, start_url, demo, args.out)
            if not args.no_measure:
                print("| measure | result |\n|---|---|")
                for name, value in measure(browser, start_url, demo, work):
                    print(f"| {name} | {value} |")
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
