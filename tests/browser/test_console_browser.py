"""`importer serve` in a real Chromium: the page's parts found only by the roles and accessible
names the spec makes a contract (DESIGN.md "The web console"), against the project's simulator."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from importer import InputError, validate_file
from importer.simulator import SimConfig, SimulatorServer

from support import KEY, SECRET, creates, read_xlsx, row

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or, under CI, fails) and says why
    expect = None
    PlaywrightError = Exception

ROOT = Path(__file__).resolve().parents[2]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
TOKEN_REFUSED = "This console needs the link it printed when it started"
FORM_REFUSED = "the form is out of date: reload the page"
BUSY = "A run is already going: wait for it to finish."
MiB = 1024 * 1024
RUN_DONE_S = 60_000  # ms: the longest a run here may take to show its result


def rows(count: int, prefix: str = "T") -> list[list[Any]]:
    """`count` valid rows, each a distinct meeting (own topic, row id and start)."""
    first = datetime(2027, 9, 6, 8, 0)
    return [row(f"{prefix} {n:03d} Lecture", row_id=f"{prefix}-{n:03d}", start=first + timedelta(hours=n))
            for n in range(1, count + 1)]


@pytest.fixture
def slow_sim() -> Iterator[SimulatorServer]:
    """A simulator that takes 0.1 s to answer, so a 60-row run lasts long enough to watch."""
    with SimulatorServer(SimConfig(key=KEY, secret=SECRET, latency_s=0.1)) as server:
        yield server


# -- page steps ------------------------------------------------------------------------------

def rows_table(page: Any) -> Any:
    """The checked rows' table (a sheet page also has the hosts' table): the one with a Row column."""
    return page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Row", exact=True))


def open_console(page: Any, console: Any) -> None:
    response = page.goto(console.start_url)
    assert response is not None and response.status == 200, response and response.status
    expect(page.get_by_role("heading", name="Import a term schedule")).to_be_visible()


def submit_check(page: Any, upload: Any) -> Any:
    """Choose `upload` (a path or a Playwright file payload) and press Check: the POST's response."""
    page.get_by_label("Schedule").set_input_files(upload)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/check")) as answer:
        page.get_by_role("button", name="Check").click()
    page.wait_for_load_state()
    return answer.value


def check(page: Any, path: Path) -> str:
    """Upload and check a sheet: the sheet page's URL."""
    response = submit_check(page, path)
    assert response.status == 303, (response.status, page.content()[:500])
    page.wait_for_url(re.compile(r"/sheets/[^/?#]+$"))
    expect(page.get_by_role("heading", name=re.compile(re.escape(path.name)))).to_be_visible()
    return str(page.url)


def submit_run(page: Any) -> Any:
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/run")) as answer:
        page.get_by_role("button", name="Run").click()
    page.wait_for_load_state()
    return answer.value


def run(page: Any) -> str:
    """Press Run on a sheet page: the run page's URL."""
    response = submit_run(page)
    assert response.status == 303, (response.status, page.content()[:500])
    page.wait_for_url(re.compile(r"/runs/[^/?#]+$"))
    return str(page.url)


def wait_done(page: Any) -> None:
    expect(page.get_by_role("link", name="Download result sheet")).to_be_visible(timeout=RUN_DONE_S)


def download(page: Any, name: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=name).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def progress(page: Any) -> tuple[int, int] | None:
    """(aria-valuenow, aria-valuemax) of the progressbar, or None while it has none (or while the
    page reloads: it does when the run ends)."""
    try:
        values = page.get_by_role("progressbar").evaluate(
            "el => [el.getAttribute('aria-valuenow'), el.getAttribute('aria-valuemax')]", timeout=2_000)
    except PlaywrightError:
        return None
    if values[0] is None or values[1] is None:
        return None
    return int(float(values[0])), int(float(values[1]))


def wait_progress(page: Any, at_least: int = 1, timeout_s: float = 15.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = progress(page)
        if state and state[0] >= at_least:
            return state[0]
        time.sleep(0.02)
    raise AssertionError(f"the progressbar never reached {at_least}: {progress(page)}")


def links_to(page: Any, path: str) -> int:
    """How many links on the page lead to `path` (their href, resolved, ends with it)."""
    hrefs = page.get_by_role("link").evaluate_all("els => els.map(e => e.href)")
    return sum(1 for href in hrefs if href.split("?")[0].endswith(path))


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3].split("?")[0]


def assert_no_secret(page: Any, console: Any) -> None:
    html = page.content()
    assert SECRET not in html
    assert console.token not in html


# -- the tests -------------------------------------------------------------------------------

def test_the_token_is_required_and_then_kept_in_a_strict_http_only_cookie(launch, sim, browser, page):
    console = launch(sim=sim)

    for path in ("/", "/?token=wrong", "/static/console.js"):
        response = page.goto(console.url(path))
        assert response is not None and response.status == 403, path
        assert TOKEN_REFUSED in page.content(), path
    assert page.request.get(console.url("/template.xlsx")).status == 403
    assert page.request.post(console.url("/check"), multipart={"form_token": "x"}).status == 403

    response = page.goto(console.start_url)
    assert response is not None and response.status == 200
    redirect = response.request.redirected_from
    assert redirect is not None and redirect.response().status == 303
    assert page.url == console.url("/")  # the token left the address bar
    headers = response.headers
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "no-store" in headers["cache-control"]
    name = f"importer_console_{console.root.rsplit(':', 1)[1]}"  # one cookie per port: browsers share them across ports
    cookies = [c for c in page.context.cookies() if c["name"] == name]
    assert len(cookies) == 1, f"one cookie {name}=TOKEN; got {page.context.cookies()}"
    cookie = cookies[0]
    assert (cookie["value"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
        console.token, True, "Strict", "/")
    assert console.token not in page.evaluate("document.cookie")
    expect(page.get_by_role("heading", name="Import a term schedule")).to_be_visible()
    assert_no_secret(page, console)
    assert page.request.get(console.url("/static/console.js")).status == 200

    other = browser.new_context()  # a stolen-looking cookie with the wrong value
    try:
        other.add_cookies([{"name": name, "value": "wrong", "url": console.root}])
        assert other.request.get(console.url("/")).status == 403
    finally:
        other.close()


def test_upload_check_run_download_and_the_result_sheet_run_again_creates_nothing(
        launch, sim, page, write_xlsx, tmp_path):
    sheet = write_xlsx(rows(6))
    console = launch(sim=sim)
    open_console(page, console)
    expect(page.get_by_role("heading", name="Earlier runs")).to_be_visible()
    template = download(page, "Download template", tmp_path)
    assert template.suffix == ".xlsx" and template.read_bytes()[:2] == b"PK"

    check(page, sheet)
    assert_no_secret(page, console)
    run_url = run(page)
    wait_done(page)
    assert_no_secret(page, console)
    result = download(page, "Download result sheet", tmp_path / "first")

    made = {m["id"] for m in sim.state.snapshot()["meetings"]}
    result_rows = read_xlsx(result)
    assert [r["import_status"] for r in result_rows] == ["created"] * 6
    assert {r["meeting_id"] for r in result_rows} == made and len(made) == 6
    assert len(creates(sim)) == 6
    assert sim.state.duplicate_meetings() == []

    # The downloaded result sheet, uploaded and run: nothing is created again.
    open_console(page, console)
    check(page, result)
    run(page)
    wait_done(page)
    again = read_xlsx(download(page, "Download result sheet", tmp_path / "second"))
    assert len(creates(sim)) == 6
    assert {r["meeting_id"] for r in again} == made
    assert {r["import_status"] for r in again} <= {"created", "associated"}

    # Both runs are listed as earlier runs, each with its result sheet.
    open_console(page, console)
    expect(page.get_by_role("link", name="Result sheet")).to_have_count(2)
    assert links_to(page, path_of(run_url) + "/result.xlsx") == 1


def test_invalid_rows_show_their_messages_at_their_cells(launch, sim, page, write_xlsx):
    sheet = write_xlsx([*rows(3), row("Broken duration", row_id="BAD-1", duration="fifty"),
                        row("Broken type", row_id="BAD-2", meeting_type=7)])
    try:
        report = validate_file(sheet, sheet.with_name("expected.xlsx"))
    except InputError as exc:
        pytest.fail(f"the fixture sheet itself is unreadable: {exc}")
    problems = [p for p in report.problems if not p.warning]
    assert {p.row_number for p in problems} == {5, 6}

    console = launch(sim=sim)
    open_console(page, console)
    check(page, sheet)
    table = rows_table(page)
    headers = [text.strip() for text in table.get_by_role("columnheader").all_inner_texts()]
    for problem in problems:
        assert problem.column in headers, (problem.column, headers)
        line = table.get_by_role("row").filter(has_text=str(report.results[problem.row_number - 2].cells[0]))
        expect(line).to_have_count(1)
        expect(line).to_contain_text("invalid")
        cells = line.get_by_role("rowheader").or_(line.get_by_role("cell"))
        cell = cells.nth(headers.index(problem.column))
        expect(cell).to_have_attribute("aria-invalid", "true")
        expect(cell).to_contain_text(problem.message)
        expect(cell).to_contain_text(str(problem.value))
    assert table.locator("[aria-invalid=true]").count() == len(problems)

    # The count of invalid rows is a link that filters the table to them.
    page.get_by_role("link", name=re.compile(r"invalid", re.I)).first.click()
    page.wait_for_url(re.compile(r"status=invalid"))
    expect(rows_table(page).get_by_role("row").filter(has_text="Lecture")).to_have_count(0)
    expect(rows_table(page).get_by_role("row").filter(has_text="Broken")).to_have_count(2)


def test_progress_advances_live_during_a_run(launch, slow_sim, page, write_xlsx):
    sheet = write_xlsx(rows(40))
    console = launch(sim=slow_sim)
    open_console(page, console)
    check(page, sheet)
    run(page)
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuemin", "0")
    seen: list[tuple[int, int]] = []
    texts: list[str] = []
    done = page.get_by_role("link", name="Download result sheet")
    deadline = time.monotonic() + RUN_DONE_S / 1000
    while time.monotonic() < deadline and not done.is_visible():
        state = progress(page)
        if state and (not seen or state != seen[-1]):
            seen.append(state)
            with contextlib.suppress(PlaywrightError):
                texts.append(page.evaluate("document.body.innerText"))
        time.sleep(0.02)
    wait_done(page)

    creating = [now for now, total in seen if total == 40]
    assert creating == sorted(creating), seen  # never backwards within the phase
    assert len({n for n in creating if 0 < n < 40}) >= 3, f"fewer than 3 live updates seen: {seen}"
    assert any(re.search(r"\b\d+ of 40\b", text) for text in texts), texts[:3]
    assert len(creates(slow_sim)) == 40


def test_a_second_run_is_refused_and_a_reloaded_or_reopened_page_shows_the_run(
        launch, slow_sim, context, write_xlsx, tmp_path):
    first = write_xlsx(rows(60, "A"), name="first.xlsx")
    second = write_xlsx(rows(3, "B"), name="second.xlsx")
    console = launch(sim=slow_sim)
    page = context.new_page()
    open_console(page, console)
    check(page, first)
    run_path = path_of(run(page))
    wait_progress(page, 1)

    other = context.new_page()
    open_console(other, console)
    assert links_to(other, run_path) >= 1, "/ does not link the run going on"
    check(other, second)
    refused = submit_run(other)
    assert refused.status == 409
    expect(other.get_by_text(BUSY)).to_be_visible()
    assert links_to(other, run_path) >= 1

    before = wait_progress(page, 1)
    page.reload()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", re.compile(r"\d"))
    after = progress(page)
    assert after is not None and after[0] >= before, (before, after)
    assert page.get_by_role("link", name="Download result sheet").count() == 0, "the run ended too soon to test"

    page.close()  # closing the page does not stop the run
    reopened = context.new_page()
    reopened.goto(console.url(run_path))
    wait_done(reopened)
    result = read_xlsx(download(reopened, "Download result sheet", tmp_path))
    assert [r["import_status"] for r in result] == ["created"] * 60
    assert len(creates(slow_sim)) == 60  # the refused run sent nothing
    assert not any(c["body"]["meetingInfo"]["topic"].startswith("B ") for c in creates(slow_sim))


def test_the_form_token_is_required(launch, sim, page, write_xlsx):
    sheet = write_xlsx(rows(2))
    console = launch(sim=sim)
    open_console(page, console)
    hidden = page.locator("input[name=form_token]")
    expect(hidden).to_have_count(1)
    assert hidden.get_attribute("value") not in ("", console.token)

    payload = {"name": sheet.name, "mimeType": "application/octet-stream", "buffer": sheet.read_bytes()}
    for fields in ({"schedule": payload}, {"schedule": payload, "form_token": "wrong"}):
        answer = page.request.post(console.url("/check"), multipart=fields, max_redirects=0)
        assert answer.status == 403, fields.keys()
        assert FORM_REFUSED in answer.text()

    check(page, sheet)
    page.locator("input[name=form_token]").evaluate_all("inputs => inputs.forEach(i => i.remove())")
    refused = submit_run(page)
    assert refused.status == 403
    expect(page.get_by_text(FORM_REFUSED)).to_be_visible()
    assert creates(sim) == []


def test_an_upload_over_20_mb_and_a_junk_file_get_their_reason_and_the_server_stays_up(
        launch, sim, page, tmp_path):
    console = launch(sim=sim)
    open_console(page, console)
    big = tmp_path / "big.xlsx"  # a file, not a buffer: Playwright would pass 20 MB through its pipe
    with big.open("wb") as handle:
        handle.truncate(20 * MiB + 1)
    response = submit_check(page, big)
    assert response.status == 413
    expect(page.get_by_text("the file is over 20 MB")).to_be_visible()
    open_console(page, console)

    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(InputError) as reason:  # what the CLI says about this file (exit 2)
        validate_file(junk, tmp_path / "junk.result.xlsx")
    response = submit_check(page, junk)
    assert response.status == 400
    expect(page.get_by_text(str(reason.value).split(": ", 1)[-1])).to_be_visible()
    open_console(page, console)
    assert console.process.poll() is None


def test_keyboard_alone_uploads_checks_runs_and_downloads(launch, sim, page, write_xlsx, tmp_path):
    sheet = write_xlsx(rows(3))
    console = launch(sim=sim)
    open_console(page, console)

    # Listening from the start: Playwright intercepts the file chooser only once it listens, and
    # a listener added just before the key press can miss it.
    page.on("filechooser", lambda chooser: chooser.set_files(sheet))
    schedule = page.get_by_label("Schedule")
    tab_to(page, schedule)
    page.keyboard.press("Space")
    page.wait_for_function("input => input.files.length === 1", arg=schedule.element_handle())
    tab_to(page, page.get_by_role("button", name="Check"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sheets/[^/?#]+$"))
    tab_to(page, page.get_by_role("button", name="Run"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/runs/[^/?#]+$"))
    wait_done(page)
    tab_to(page, page.get_by_role("link", name="Download result sheet"))
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    result = tmp_path / "keyboard.xlsx"
    info.value.save_as(result)
    assert [r["import_status"] for r in read_xlsx(result)] == ["created"] * 3


def tab_to(page: Any, target: Any, presses: int = 300) -> None:
    """Press Tab until `target` has the focus, and check that the focus is visible there."""
    expect(target).to_have_count(1)
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            style = target.evaluate(
                "el => { const s = getComputedStyle(el);"
                " return [el.matches(':focus-visible'), s.outlineStyle, s.outlineWidth, s.boxShadow]; }")
            visible, outline, width, shadow = style
            assert visible and ((outline != "none" and width != "0px") or shadow != "none"), style
            return
    raise AssertionError(f"Tab never reached {target}")


def test_undo_shows_the_plan_asks_and_takes_the_run_back(launch, sim, page, write_xlsx, tmp_path):
    sheet = write_xlsx(rows(3))
    console = launch(sim=sim)
    open_console(page, console)
    check(page, sheet)
    run_path = path_of(run(page))
    wait_done(page)
    assert len(sim.state.snapshot()["associations"]) == 3

    page.get_by_role("link", name="Undo this run\u2026").click()
    page.wait_for_url(re.compile(r"/runs/\d+/undo$"))
    expect(page.get_by_role("heading", name=f"Undo the run of {sheet.name}")).to_be_visible()
    expect(page.get_by_text("3 association(s) to remove from their courses (bulkDisassociate), "
                            "0 meeting(s) to delete in Zoom")).to_be_visible()
    # No Zoom REST API configured: no box to tick, a sentence saying what deleting needs.
    expect(page.get_by_role("checkbox", name="Delete the meetings in Zoom too")).to_have_count(0)
    expect(page.get_by_text("needs Zoom's REST API")).to_be_visible()
    expect(page.get_by_role("link", name="Cancel")).to_have_attribute("href", run_path)
    snapshot = sim.state.snapshot()  # showing the plan sent nothing
    assert len(snapshot["associations"]) == 3
    assert not any(r["endpoint"] == "bulkDisassociate" for r in snapshot["requests"])
    assert_no_secret(page, console)

    page.get_by_role("button", name="Take this run back").click()
    page.wait_for_url(re.compile(r"/runs/\d+/undo/outcome$"))
    expect(page.get_by_role("link", name="Download undo sheet")).to_be_visible(timeout=RUN_DONE_S)
    expect(page.locator("#progress-counts")).to_have_text("\u2713 removed 3")
    expect(page.get_by_role("progressbar", name="Undo progress")).to_have_attribute("aria-valuenow", "3")
    expect(page.get_by_text("None: every row with a meeting was taken back.")).to_be_visible()
    assert sim.state.snapshot()["associations"] == []
    undone = read_xlsx(download(page, "Download undo sheet", tmp_path))
    assert [r["import_status"] for r in undone] == ["removed"] * 3
    assert_no_secret(page, console)

    page.get_by_role("link", name="Back to the run").click()
    expect(page.get_by_role("link", name="see what undo did")).to_be_visible()


def test_simulate_checks_the_demo_sheet(launch, page, tmp_path):
    demo = tmp_path / "demo"
    subprocess.run([sys.executable, str(ROOT / "samples" / "make_samples.py"), "--demo", str(demo)], check=True,
                   capture_output=True)
    console = launch(simulate=True)
    open_console(page, console)
    check(page, demo / "term.xlsx")
    expect(rows_table(page)).to_contain_text("expected a whole number")
    expect(page.get_by_role("button", name="Run")).to_be_visible()
    html = page.content()
    assert "demo-lti-secret" not in html and console.token not in html


def test_a_host_that_is_not_loopback_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LTI_", "CANVAS_", "IMPORTER_"))}
    command = [sys.executable, "-m", "importer", "serve", "--host", "0.0.0.0", "--port", "0", "--simulate"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("importer: "), done.stderr
