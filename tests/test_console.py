"""The web console (importer/console/) at the server level: its app served on loopback by uvicorn in a
thread and driven by httpx, against the real simulator; and the `serve` command as a process. No
browser: the browser tests are in tests/browser/. (starlette's TestClient is not used: this starlette
deprecates it over httpx.)"""

from __future__ import annotations

import html
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from starlette.types import ASGIApp

from importer import InputError, validate_file
from importer.console import runs as console_runs
from importer.console.app import (
    DELETE_NEEDS_ZOOM,
    FORM_OUT_OF_DATE,
    NEEDS_LINK,
    NOT_CONFIRMED,
    PLAN_CHANGED,
    RUN_GOING,
    SECURITY_HEADERS,
    UNDO_GOING,
    UNDO_OF_THIS_RUN_GOING,
    create_app,
)
from importer.console.command import serve
from importer.console.runs import Runs
from importer.console.upload import UPLOAD_LIMIT
from importer.journal import Journal
from importer.options import Connection, Zoom
from importer.simulator import DEMO_ZOOM_CLIENT_SECRET, SimConfig, SimulatorServer
from importer.target import Target
from importer.undo import plan_undo, undo_file

from support import KEY, SECRET, creates, read_xlsx, row

TOKEN = "access-token-for-the-tests-0123456789"
FORM = "form-token-for-the-tests-9876543210"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Served:
    """An app on a loopback port, served by uvicorn from a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.cookie = f"importer_console_{sock.getsockname()[1]}"  # one cookie per port
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                                                    lifespan="off", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the console did not start"
            time.sleep(0.01)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Console:
    client: httpx.Client
    runs: Runs
    served: Served
    pages: list[str]  # every body read through get(), to look for secrets

    def get(self, url: str, status: int = 200) -> httpx.Response:
        response = self.client.get(url)
        assert response.status_code == status, response.text
        self.pages.append(response.text)
        return response

    def check(self, path: Path, form_token: str = FORM) -> httpx.Response:
        return self.client.post("/check", data={"form_token": form_token},
                                files={"schedule": (path.name, path.read_bytes(), XLSX)})

    def checked(self, path: Path) -> str:
        """Upload and check a sheet: its page's URL."""
        response = self.check(path)
        assert response.status_code == 303, response.text
        return response.headers["location"]

    def run(self, sheet_url: str) -> httpx.Response:
        return self.client.post(f"{sheet_url}/run", data={"form_token": FORM})

    def ran(self, sheet_url: str) -> tuple[str, list[tuple[str, dict]]]:
        """Run a checked sheet to its end: the run's URL and its events."""
        response = self.run(sheet_url)
        assert response.status_code == 303, response.text
        run_url = response.headers["location"]
        return run_url, events(self.client.get(f"{run_url}/events"))


def events(response: httpx.Response) -> list[tuple[str, dict]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    found = re.findall(r"event: (\w+)\ndata: (.*)\n\n", response.text)
    return [(name, json.loads(data)) for name, data in found]


def make_console(target: Target, folder: Path) -> Console:
    folder.mkdir(mode=0o700, exist_ok=True)
    runs = Runs(target, folder)
    served = Served(create_app(runs, TOKEN, FORM))
    client = served.client()
    assert client.get(f"/?token={TOKEN}", follow_redirects=True).status_code == 200  # the link sets the cookie
    return Console(client, runs, served, [])


def close(console: Console) -> None:
    console.client.close()
    console.runs.close()
    console.served.stop()


@pytest.fixture
def console_for(tmp_path: Path) -> Iterator[Callable[[SimulatorServer], Console]]:
    made: list[Console] = []

    def make(server: SimulatorServer, zoom: bool = False) -> Console:
        """A console sending to `server`; with `zoom`, its fake Zoom REST API too (as --simulate has)."""
        config = server.config
        target = Target(Connection(server.base_url, KEY, SECRET), tmp_path / "journal.sqlite3",
                        zoom=Zoom(config.zoom_account_id, config.zoom_client_id, config.zoom_client_secret,
                                  api_url=server.zoom_api_url, oauth_url=server.zoom_oauth_url) if zoom else None)
        made.append(make_console(target, tmp_path / "private"))
        return made[-1]

    yield make
    for console in made:
        close(console)


@pytest.fixture
def console(console_for: Callable[[SimulatorServer], Console], sim: SimulatorServer) -> Console:
    return console_for(sim)


def table_rows(page: str) -> int:
    """The rows the page's table of sheet rows shows."""
    return page.split('<table class="rows">')[1].count('<th scope="row">')


def term(count: int) -> list[list[object]]:
    return [row(f"BIO {100 + n} Lecture", context=f"ctx-{n}", start=datetime(2027, 10, 8 + n % 20, 10, 0))
            for n in range(count)]


# --- the access token, the form token, the headers -------------------------------------------------


def test_the_printed_link_sets_the_cookie_and_redirects_without_the_token(console: Console) -> None:
    with console.served.client() as client:
        response = client.get(f"/sheets/abc?status=valid&token={TOKEN}")
        assert response.status_code == 303
        assert response.headers["location"] == "/sheets/abc?status=valid"
        assert response.headers["set-cookie"] == f"{console.served.cookie}={TOKEN}; HttpOnly; SameSite=Strict; Path=/"
        assert client.get("/").status_code == 200  # the cookie now
        # One leading slash, whatever the path: "//elsewhere" would leave the console.
        assert client.get(f"{console.served.url}//elsewhere.example/?token={TOKEN}").headers["location"] == \
            "/elsewhere.example/"


@pytest.mark.parametrize("url, cookie", [("/", None), (f"/?token={TOKEN}x", None), ("/", "wrong"),
                                         ("/static/console.js", None), ("/template.xlsx", "wrong"),
                                         ("/?token=wrong", TOKEN)])
def test_a_request_without_the_token_is_refused(console: Console, url: str, cookie: str | None) -> None:
    with console.served.client() as client:
        if cookie is not None:
            client.cookies.set(console.served.cookie, cookie)
        response = client.get(url)
        assert response.status_code == 403
        assert NEEDS_LINK in html.unescape(response.text)
        assert "set-cookie" not in response.headers
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]


def test_a_post_without_the_form_token_is_refused(console: Console, write_xlsx) -> None:
    sheet = write_xlsx(term(1))
    for token in ("", "not-the-form-token", TOKEN):  # the access token is not the form token either
        response = console.check(sheet, form_token=token)
        assert response.status_code == 403
        assert FORM_OUT_OF_DATE in html.unescape(response.text)
    response = console.client.post("/check", files={"schedule": (sheet.name, sheet.read_bytes(), XLSX)})
    assert response.status_code == 403
    sheet_url = console.checked(sheet)
    assert console.client.post(f"{sheet_url}/run", data={}).status_code == 403
    assert console.client.post(f"{sheet_url}/run", data={"form_token": "stale"}).status_code == 403
    assert console.runs.live == {}  # nothing was started
    assert list((console.runs.folder / "sheets").iterdir()) == [console.runs.folder / "sheets" / sheet_url[8:]]


def test_every_response_has_the_security_headers(console: Console, write_xlsx) -> None:
    sheet_url = console.checked(write_xlsx(term(1)))
    for url in ("/", sheet_url, "/static/console.css", "/static/console.js", "/template.xlsx", "/nowhere"):
        response = console.client.get(url)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (url, name)
        if not url.startswith("/static/"):
            assert response.headers["cache-control"] == "no-store"
    page = console.get("/").text
    assert "<script>" not in page and "style=" not in page and "<style" not in page  # the CSP forbids them


# --- checking -------------------------------------------------------------------------------------------


def test_a_good_sheet_is_checked_and_shown_with_its_problems(console: Console, write_xlsx) -> None:
    sheet = write_xlsx([row("BIO 101 Lecture"), row("BIO 102 Lab", context="ctx-2", duration="fifty"),
                        row("BIO 103 Seminar", context="ctx-3")], name="fall term.xlsx")
    sheet_url = console.checked(sheet)
    assert re.fullmatch(r"/sheets/[0-9a-f]{16}", sheet_url)
    page = html.unescape(console.get(sheet_url).text)
    assert "<h1>fall term.xlsx</h1>" in page
    assert "\u2713 valid (2)" in page and "\u2717 invalid (1)" in page and "All (3)" in page
    assert f'<a href="{sheet_url}?status=invalid">' in page
    assert '<td class="bad" aria-invalid="true">fifty <span class="problem">expected a whole number' in page
    assert "<caption" in page and "host@x.edu" in page and "Zoom's limit of 100 a day" in page
    assert f'<form method="post" action="{sheet_url}/run">' in page and '<button type="submit">Run</button>' in page
    assert f'name="form_token" value="{FORM}"' in page
    filtered = console.get(f"{sheet_url}?status=invalid").text
    assert table_rows(filtered) == 1 and "BIO 102 Lab" in filtered and "BIO 101" not in filtered


def test_the_check_table_is_paged_at_100_rows(console: Console, write_xlsx) -> None:
    sheet_url = console.checked(write_xlsx(term(150)))
    first = console.get(sheet_url).text
    assert table_rows(first) == 100
    assert f'<a href="{sheet_url}?page=2" rel="next">Next</a>' in first and "Previous" not in first
    second = console.get(f"{sheet_url}?page=2").text
    assert table_rows(second) == 50 and "Rows 101–150 of 150" in second
    assert f'<a href="{sheet_url}" rel="prev">Previous</a>' in second and "rel=\"next\"" not in second


def test_a_file_that_is_not_a_spreadsheet_gets_the_clis_reason(console: Console, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # as `importer validate junk.xlsx` names it
    junk = Path("junk.xlsx")
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputError) as cli_reason:
        validate_file(junk, tmp_path / "out.xlsx")
    assert str(cli_reason.value) == "junk.xlsx: not an Excel workbook; open it in Excel and save it as .xlsx"
    response = console.check(junk)
    assert response.status_code == 400
    assert f'<p class="message" role="alert">{html.escape(str(cli_reason.value))}</p>' in response.text
    assert str(console.runs.folder) not in response.text  # named as the coordinator knows it
    assert console.get("/").status_code == 200  # and the server goes on
    assert list((console.runs.folder / "sheets").iterdir()) == []  # the upload is gone


def test_an_upload_over_20_mb_is_refused(console: Console) -> None:
    too_big = io.BytesIO(b"x" * (UPLOAD_LIMIT + 1))
    response = console.client.post("/check", data={"form_token": FORM},
                                   files={"schedule": ("big.csv", too_big, "text/csv")})
    assert response.status_code == 413
    assert "the file is over 20 MB: " in response.text
    assert list((console.runs.folder / "sheets").iterdir()) == []
    assert console.get("/").status_code == 200


# --- running --------------------------------------------------------------------------------------------


def test_a_run_sends_each_meeting_once_and_its_result_sheet_feeds_back(console: Console, sim: SimulatorServer,
                                                                       write_xlsx, tmp_path: Path) -> None:
    sheet = write_xlsx(term(4) + [row("Ghost's class", user="ghost@x.edu", context="ctx-9")])
    run_url, stream = console.ran(console.checked(sheet))
    assert run_url == "/runs/1"
    names = [name for name, _ in stream]
    assert names[-1] == "done" and names.count("done") == 1 and "progress" in names
    phases = [data for name, data in stream if name == "progress" and data["phase"] == "creating meetings"]
    assert phases and phases[-1]["total"] == 5 and set(phases[-1]) == {"phase", "done", "total", "counts"}
    assert stream[-1][1] == {"phase": "finished", "done": 5, "total": 5, "counts": {"created": 4, "failed": 1}}

    page = html.unescape(console.get(run_url).text)
    assert 'role="progressbar"' in page and 'aria-valuenow="5"' in page and 'aria-valuemax="5"' in page
    assert "data-events" not in page  # ended: the script has nothing to follow
    assert f'<a href="{run_url}/result.xlsx">Download result sheet</a>' in page
    meetings = sim.state.snapshot()["meetings"]
    assert len(creates(sim)) == 5 and len(meetings) == 4  # each once; the ghost host was refused
    for meeting in meetings:
        assert f"<td>{meeting['id']}</td>" in page

    download = console.client.get(f"{run_url}/result.xlsx")
    assert download.headers["content-type"] == XLSX
    assert 'filename="term.result.xlsx"' in download.headers["content-disposition"]
    result = tmp_path / "term.result.xlsx"
    result.write_bytes(download.content)
    rows = read_xlsx(result)
    assert [r["import_status"] for r in rows] == ["created"] * 4 + ["failed"]
    assert {r["meeting_id"] for r in rows[:4]} == {str(m["id"]) for m in meetings}

    # The result sheet, checked and run again, creates nothing.
    again_url, again = console.ran(console.checked(result))
    assert again_url == "/runs/2"
    assert again[-1][1]["counts"] == {"created": 4, "failed": 1}  # the four done before, the ghost refused again
    assert len(sim.state.snapshot()["meetings"]) == 4
    assert [r["endpoint"] for r in sim.state.snapshot()["requests"]].count("createAndAssociate") == 6  # the ghost
    again_rows = read_xlsx(_download(console, again_url, tmp_path / "again.xlsx"))
    assert [r["meeting_id"] for r in again_rows[:4]] == [r["meeting_id"] for r in rows[:4]]

    index = html.unescape(console.get("/").text)
    assert index.count(">Result sheet</a>") == 2 and "\u2713 created 4 \u00b7 \u2717 failed 1" in index
    assert not (console.runs.folder / "sheets").exists() or list((console.runs.folder / "sheets").iterdir()) == []
    for body in console.pages:  # no secret on any page
        assert SECRET not in body and TOKEN not in body


def _download(console: Console, run_url: str, path: Path) -> Path:
    path.write_bytes(console.client.get(f"{run_url}/result.xlsx").content)
    return path


def test_a_second_run_while_one_goes_is_refused(console_for, write_xlsx) -> None:
    slow = SimConfig(key=KEY, secret=SECRET, latency_s=0.3)
    with SimulatorServer(slow) as server:
        console = console_for(server)
        first = console.checked(write_xlsx(term(3), name="first.xlsx"))
        second = console.checked(write_xlsx(term(2), name="second.xlsx"))
        assert console.run(first).status_code == 303
        refused = console.run(second)
        assert refused.status_code == 409
        assert RUN_GOING in refused.text and '<a href="/runs/1">' in refused.text
        assert '<a href="/runs/1">first.xlsx, ' in console.get("/").text  # the first page links the run going
        assert console.client.get("/runs/1/result.xlsx").status_code == 409  # not written yet
        # No page follows the run: its thread records its end all the same.
        assert console.runs.live[1].ended.wait(30)
        recorded = console.runs.recorded(1)
        assert recorded is not None and recorded.finished_at is not None and recorded.has_result_sheet
        assert recorded.counts == {"created": 3} and len(server.state.snapshot()["meetings"]) == 3
        assert console.run(second).status_code == 303  # once it ended


def test_earlier_runs_survive_a_restart(console: Console, sim: SimulatorServer, write_xlsx, tmp_path: Path) -> None:
    run_url, _ = console.ran(console.checked(write_xlsx(term(2))))
    sheet = console.client.get(f"{run_url}/result.xlsx").content
    close(console)
    restarted = make_console(console.runs.target, tmp_path / "private-2")
    client = restarted.client
    try:
        index = html.unescape(client.get("/").text)
        assert "term.xlsx" in index and "\u2713 created 2" in index
        assert f'<a href="{run_url}/result.xlsx">Result sheet</a>' in index
        assert client.get(f"{run_url}/result.xlsx").content == sheet
        page = html.unescape(client.get(run_url).text)
        assert "Download result sheet" in page and 'aria-valuenow="2"' in page
        assert events(client.get(f"{run_url}/events"))[-1] == (
            "done", {"phase": "finished", "done": 2, "total": 2, "counts": {"created": 2}})
        assert client.get("/runs/99").status_code == 404
    finally:
        close(restarted)


# --- undo -----------------------------------------------------------------------------------------------


def requests_to(server: SimulatorServer, endpoint: str) -> list[dict]:
    return [r for r in server.state.snapshot()["requests"] if r["endpoint"] == endpoint]


def undo_form(page: str) -> dict[str, str]:
    """The confirmation form's fields, as the browser sends them when Take this run back is pressed."""
    key = re.search(r'name="plan" value="([0-9a-f]+)"', page)
    assert key, "the confirmation page has no plan fingerprint"
    return {"form_token": FORM, "plan": key[1], "confirm": "yes"}


def expected_plan(console: Console, run_url: str, tmp_path: Path, delete: bool = False) -> str:
    """What `importer undo` would say of the run's result sheet (UndoPlan.describe())."""
    sheet = _download(console, run_url, tmp_path / "expected.result.xlsx")
    plan, _ = plan_undo(sheet, delete=delete, journal=console.runs.target.journal)
    return plan.describe()


def ran_term(console: Console, write_xlsx, rows: int = 3) -> str:
    """A run of `rows` rows and one the simulator refuses (no meeting): its URL."""
    run_url, stream = console.ran(console.checked(write_xlsx(term(rows) + [row("Ghost", user="ghost@x.edu")])))
    assert stream[-1][1]["counts"] == {"created": rows, "failed": 1}
    return run_url


def test_the_undo_page_shows_the_plan_and_sends_nothing(console: Console, sim: SimulatorServer, write_xlsx,
                                                       tmp_path: Path) -> None:
    run_url = ran_term(console, write_xlsx)
    run_page = console.get(run_url).text
    assert f'<a href="{run_url}/undo">Undo this run\u2026</a>' in run_page
    before = sim.state.snapshot()

    page = html.unescape(console.get(f"{run_url}/undo").text)
    plan = expected_plan(console, run_url, tmp_path)
    assert plan == ("3 association(s) to remove from their courses (bulkDisassociate), 0 meeting(s) to delete in "
                    "Zoom; 1 row(s) without a meeting left as they are")
    assert f'<p id="plan">{plan}.</p>' in page
    assert f'<form method="post" action="{run_url}/undo">' in page and f'name="form_token" value="{FORM}"' in page
    assert '<button type="submit" name="confirm" value="yes">Take this run back</button>' in page
    assert f'<a href="{run_url}">Cancel</a>' in page
    # No Zoom REST API here: no box to tick, and a sentence saying what deleting needs.
    assert 'type="checkbox"' not in page and "Delete the meetings in Zoom too" not in page
    assert "needs Zoom's REST API: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET" in page

    after = sim.state.snapshot()
    assert after["requests"] == before["requests"] and requests_to(sim, "bulkDisassociate") == []
    assert len(after["associations"]) == 3 and after["associations"] == before["associations"]
    assert list((console.runs.folder / "undo").iterdir()) == []  # the sheet's private copy is gone
    for body in console.pages:
        assert SECRET not in body and TOKEN not in body


def test_an_undo_post_without_its_token_confirm_or_plan_changes_nothing(console: Console, sim: SimulatorServer,
                                                                       write_xlsx) -> None:
    run_url = ran_term(console, write_xlsx)
    fields = undo_form(console.get(f"{run_url}/undo").text)
    for token in (None, "stale", TOKEN):
        response = console.client.post(f"{run_url}/undo", data={**fields, "form_token": token} if token else
                                       {k: v for k, v in fields.items() if k != "form_token"})
        assert response.status_code == 403
        assert FORM_OUT_OF_DATE in html.unescape(response.text)
    for confirm in (None, "no", ""):  # without the button's value: the question again
        data = {k: v for k, v in fields.items() if k != "confirm"}
        response = console.client.post(f"{run_url}/undo",
                                       data=data if confirm is None else {**data, "confirm": confirm})
        assert response.status_code == 400
        page = html.unescape(response.text)
        assert NOT_CONFIRMED in page and '<p id="plan">3 association(s) to remove' in page
        assert "Take this run back</button>" in page
    for plan in (None, "0" * 32, "\u00e9"):  # not the plan the page showed: shown again, not applied
        data = {k: v for k, v in fields.items() if k != "plan"}
        response = console.client.post(f"{run_url}/undo", data=data if plan is None else {**data, "plan": plan})
        assert response.status_code == 409
        assert PLAN_CHANGED in html.unescape(response.text) and fields["plan"] in response.text
    # Deleting without Zoom's REST API: the reason, not a traceback.
    response = console.client.post(f"{run_url}/undo", data={**fields, "delete": "yes"})
    assert response.status_code == 400
    assert f'<p class="message" role="alert">{DELETE_NEEDS_ZOOM}</p>' in html.unescape(response.text)
    assert requests_to(sim, "bulkDisassociate") == [] and len(sim.state.snapshot()["associations"]) == 3
    assert console.runs.undos == {}
    assert console.client.get(f"{run_url}/undo/outcome").status_code == 404
    assert console.client.get(f"{run_url}/undo.xlsx").status_code == 404


def test_a_confirmed_undo_removes_the_runs_associations(console: Console, sim: SimulatorServer, write_xlsx,
                                                       tmp_path: Path) -> None:
    run_url = ran_term(console, write_xlsx)
    made = {str(m["id"]) for m in sim.state.snapshot()["meetings"]}
    response = console.client.post(f"{run_url}/undo", data=undo_form(console.get(f"{run_url}/undo").text))
    assert response.status_code == 303 and response.headers["location"] == f"{run_url}/undo/outcome"
    stream = events(console.client.get(f"{run_url}/undo/events"))
    assert stream[-1] == ("done", {"phase": "finished", "done": 4, "total": 4,
                                   "counts": {"failed": 1, "removed": 3}})

    snapshot = sim.state.snapshot()
    assert snapshot["associations"] == []
    assert len(requests_to(sim, "bulkDisassociate")) == 1  # the three in one call
    assert len(snapshot["meetings"]) == 3 and snapshot["deleted_meetings"] == []  # removed, not deleted

    page = html.unescape(console.get(f"{run_url}/undo/outcome").text)
    assert 'aria-label="Undo progress"' in page and "data-events" not in page
    assert '<p id="progress-counts"' in page and "\u2717 failed 1 \u00b7 \u2713 removed 3" in page
    assert "\u2713 None: every row with a meeting was taken back." in page
    assert f'<a href="{run_url}/undo.xlsx">Download undo sheet</a>' in page
    for meeting in made:
        assert f"<td>{meeting}</td>" in page

    download = console.client.get(f"{run_url}/undo.xlsx")
    assert download.headers["content-type"] == XLSX
    assert 'filename="term.result.undo.xlsx"' in download.headers["content-disposition"]
    sheet = tmp_path / "term.result.undo.xlsx"
    sheet.write_bytes(download.content)
    rows = read_xlsx(sheet)
    assert [r["import_status"] for r in rows] == ["removed"] * 3 + ["failed"]
    assert {r["meeting_id"] for r in rows[:3]} == made

    # The run's page says it was taken back, and the undo's private files are gone.
    assert f'An undo of this run ended: <a href="{run_url}/undo/outcome">' in console.get(run_url).text
    assert list((console.runs.folder / "undo").iterdir()) == []
    for body in console.pages:
        assert SECRET not in body and TOKEN not in body


def test_an_undo_with_delete_deletes_the_meetings_in_zoom(console_for, sim: SimulatorServer, write_xlsx,
                                                        tmp_path: Path) -> None:
    console = console_for(sim, zoom=True)
    run_url = ran_term(console, write_xlsx, rows=2)
    made = {str(m["id"]) for m in sim.state.snapshot()["meetings"]}
    page = html.unescape(console.get(f"{run_url}/undo").text)
    keep, delete = expected_plan(console, run_url, tmp_path), expected_plan(console, run_url, tmp_path, True)
    assert delete == ("2 association(s) to remove from their courses (bulkDisassociate), 2 meeting(s) to delete in "
                      "Zoom; 1 row(s) without a meeting left as they are")
    assert f'<p id="plan">As it is: {keep}.</p>' in page  # both counts, both ways
    assert f"With \u201cDelete the meetings in Zoom too\u201d ticked: {delete}." in page
    assert '<input type="checkbox" id="delete" name="delete" value="yes"' in page
    assert '<label for="delete">Delete the meetings in Zoom too</label>' in page
    assert "ZOOM_CLIENT_SECRET" not in page and sim.state.snapshot()["zoom_requests"] == []

    response = console.client.post(f"{run_url}/undo", data={**undo_form(page), "delete": "yes"})
    assert response.status_code == 303
    assert events(console.client.get(f"{run_url}/undo/events"))[-1][1]["counts"] == {"failed": 1, "deleted": 2}
    snapshot = sim.state.snapshot()
    assert snapshot["associations"] == [] and snapshot["meetings"] == []
    assert {str(m["id"]) for m in snapshot["deleted_meetings"]} == made

    outcome = html.unescape(console.get(f"{run_url}/undo/outcome").text)
    assert "\u2717 failed 1 \u00b7 \u2713 deleted 2" in outcome and "deleting the meetings in Zoom too" in outcome
    sheet = tmp_path / "undo.xlsx"
    sheet.write_bytes(console.client.get(f"{run_url}/undo.xlsx").content)
    assert [r["import_status"] for r in read_xlsx(sheet)] == ["deleted", "deleted", "failed"]
    for body in console.pages:
        assert SECRET not in body and DEMO_ZOOM_CLIENT_SECRET not in body and TOKEN not in body


def test_an_earlier_run_from_the_journal_can_be_taken_back(console: Console, sim: SimulatorServer, write_xlsx,
                                                          tmp_path: Path) -> None:
    run_url = ran_term(console, write_xlsx, rows=2)
    close(console)
    restarted = make_console(console.runs.target, tmp_path / "private-2")
    try:
        assert f'<a href="{run_url}/undo">Undo this run\u2026</a>' in restarted.get(run_url).text
        page = html.unescape(restarted.get(f"{run_url}/undo").text)
        assert '<p id="plan">2 association(s) to remove' in page
        response = restarted.client.post(f"{run_url}/undo", data=undo_form(page))
        assert response.status_code == 303
        assert events(restarted.client.get(f"{run_url}/undo/events"))[-1][1]["counts"] == {"failed": 1,
                                                                                              "removed": 2}
        assert sim.state.snapshot()["associations"] == []
    finally:
        close(restarted)


def test_a_run_without_a_meeting_offers_no_undo_and_says_why(console: Console, sim: SimulatorServer,
                                                            write_xlsx) -> None:
    run_url, stream = console.ran(console.checked(write_xlsx([row("Ghost", user="ghost@x.edu")])))
    assert stream[-1][1]["counts"] == {"failed": 1}
    assert "Undo this run" not in console.get(run_url).text
    response = console.client.get(f"{run_url}/undo")
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert ('<p class="message" role="alert">term.result.xlsx: no row has a meeting_id: `importer undo` takes the '
            "result sheet of a run</p>") in page
    assert str(console.runs.folder) not in page and "Traceback" not in page
    assert console.client.get("/runs/99/undo").status_code == 404
    assert requests_to(sim, "bulkDisassociate") == []


def test_an_undo_that_cannot_start_says_why_on_its_page(console: Console, sim: SimulatorServer,
                                                        write_xlsx) -> None:
    run_url = ran_term(console, write_xlsx, rows=2)
    fields = undo_form(console.get(f"{run_url}/undo").text)
    with Journal(console.runs.target.journal, scope="") as other_run:
        other_run.lock()  # as `importer run` from a terminal holds it
        assert console.client.post(f"{run_url}/undo", data=fields).status_code == 303
        assert console.runs.undos[1].ended.wait(30)
    page = html.unescape(console.get(f"{run_url}/undo/outcome").text)
    assert '<p class="notice red" role="alert">\u2717 another importer run is using the journal ' in page
    assert "Traceback" not in page and "Download undo sheet" not in page
    assert requests_to(sim, "bulkDisassociate") == [] and len(sim.state.snapshot()["associations"]) == 2
    assert console.client.get(f"{run_url}/undo.xlsx").status_code == 404
    # The journal free again, the same question is asked again and answered.
    assert console.client.post(f"{run_url}/undo", data=fields).status_code == 303
    assert console.runs.undos[1].ended.wait(30) and console.runs.undos[1].error is None
    assert sim.state.snapshot()["associations"] == []


def test_one_undo_at_a_time_and_no_run_while_it_goes(console: Console, sim: SimulatorServer, write_xlsx,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run_url = ran_term(console, write_xlsx, rows=2)
    fields = undo_form(console.get(f"{run_url}/undo").text)
    release = threading.Event()
    real_undo_file = undo_file

    def held(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(30)
        return real_undo_file(*args, **kwargs)

    monkeypatch.setattr(console_runs, "undo_file", held)
    try:
        assert console.client.post(f"{run_url}/undo", data=fields).status_code == 303
        again = console.client.post(f"{run_url}/undo", data=fields)
        assert again.status_code == 409
        assert UNDO_OF_THIS_RUN_GOING in html.unescape(again.text)
        assert f'<a href="{run_url}/undo/outcome">' in again.text
        going = html.unescape(console.get(f"{run_url}/undo/outcome").text)
        assert f'data-events="{run_url}/undo/events"' in going and "Download undo sheet" not in going
        assert f'An undo is going: <a href="{run_url}/undo/outcome">term.xlsx, ' in console.get("/").text
        assert "Undo this run" not in console.get(run_url).text
        refused = console.run(console.checked(write_xlsx(term(1), name="other.xlsx")))  # both hold the journal
        assert refused.status_code == 409 and UNDO_GOING in html.unescape(refused.text)
        assert console.client.get(f"{run_url}/undo.xlsx").status_code == 409
    finally:
        release.set()
    assert console.runs.undos[1].ended.wait(30)
    assert console.runs.undos[1].error is None
    assert len(requests_to(sim, "bulkDisassociate")) == 1 and sim.state.snapshot()["associations"] == []


# --- the command ----------------------------------------------------------------------------------------


def test_a_host_other_machines_reach_is_refused_without_allow_remote() -> None:
    result = CliRunner().invoke(serve, ["--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert result.output.startswith("importer: --host 0.0.0.0 can be reached from other machines")
    assert result.output.count("\n") == 1


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(serve, ["--port", str(port), "--simulate"])
    assert result.exit_code == 2
    assert result.output.startswith(f"importer: cannot listen on 127.0.0.1:{port} (")
    assert result.output.count("\n") == 1


def test_serve_prints_its_link_serves_and_cleans_up(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "IMPORTER_JOURNAL": str(tmp_path / "journal.sqlite3")}
    process = subprocess.Popen(
        [sys.executable, "-c", "from importer.console.command import serve; serve()", "--port", "0", "--simulate"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"Console: (http://127\.0\.0\.1:\d+)/\?token=([A-Za-z0-9_-]{43})\n", line)
        assert match, line
        private = [p for p in tmp_path.iterdir() if p.name.startswith("importer-console-")]
        assert len(private) == 1 and private[0].stat().st_mode & 0o777 == 0o700
        with httpx.Client(base_url=match[1], follow_redirects=True) as client:
            page = client.get(f"/?token={match[2]}")
            assert page.status_code == 200 and "Import a term schedule" in page.text
            assert "127.0.0.1" in page.text and "demo..." in page.text  # the simulator, by its key's hint
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert out == ""  # the one line, and nothing after it
        assert not private[0].exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
