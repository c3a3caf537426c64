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

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from starlette.types import ASGIApp

from importer import InputError, validate_file
from importer.console.app import FORM_OUT_OF_DATE, NEEDS_LINK, RUN_GOING, SECURITY_HEADERS, create_app
from importer.console.command import serve
from importer.console.runs import Runs
from importer.console.upload import UPLOAD_LIMIT
from importer.options import Connection
from importer.simulator import SimConfig, SimulatorServer
from importer.target import Target

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

    def make(server: SimulatorServer) -> Console:
        target = Target(Connection(server.base_url, KEY, SECRET), tmp_path / "journal.sqlite3")
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
