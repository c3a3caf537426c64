"""The console's pages: starlette routes over `runs.Runs`, rendered by Jinja2 (autoescaped).

Every request needs the access token: given once in the printed link (`?token=`), it becomes
an HttpOnly, SameSite=Strict cookie and the link is redirected without it. Every POST needs the
form token, a value per start that only the console's own pages carry. Every response gets the
security headers; pages are not cached. See /tmp/spec/console.md for the contract.

Undo mirrors `importer undo`'s question: GET /runs/{id}/undo shows the plan and sends nothing;
only a POST with the form token, the confirm button's value and the fingerprint of the plan the
page showed takes the run back (a plan that changed meanwhile is shown again instead).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from datetime import time as clock_time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ImporterError, InputError
from ..journal import ConsoleRun
from ..limits import DAILY_CREATES_PER_HOST
from ..models import Problem, RowResult
from ..report import Report
from ..signing import key_hint
from ..statuses import STATUSES, Status
from .runs import (
    FINISHED,
    CheckedSheet,
    RunGoing,
    Runs,
    RunState,
    SheetSent,
    UndoPreview,
    UndoState,
    counts_text,
    result_sheet_name,
    symbol,
    undo_sheet_name,
)
from .upload import UPLOAD_LIMIT, UploadError, disk_name, receive_upload

COOKIE = "importer_console"
PAGE_ROWS = 100
EVENT_POLL_S = 0.1  # how often the event stream looks at a run's state
FORM_LIMIT = 64 * 1024  # bytes of a plain (not upload) form
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NEEDS_LINK = "This console needs the link it printed when it started (\u2026/?token=\u2026)"
FORM_OUT_OF_DATE = "the form is out of date: reload the page"
RUN_GOING = "A run is already going: wait for it to finish."
UNDO_GOING = "An undo is already going: wait for it to finish."
UNDO_OF_THIS_RUN_GOING = "An undo of this run is already going: wait for it to finish."
NOT_CONFIRMED = "Nothing was changed: to take this run back, press \u201cTake this run back\u201d."
PLAN_CHANGED = ("Nothing was changed: what undo would do changed since the page showed it; read it again, then "
                "press \u201cTake this run back\u201d.")
DELETE_NEEDS_ZOOM = ("deleting the meetings in Zoom needs Zoom's REST API: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and "
                     "ZOOM_CLIENT_SECRET (a Server-to-Server OAuth app's), then start the console again")
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}

_templates = Environment(loader=PackageLoader("importer.console", "templates"), autoescape=True,
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**context), status_code=status_code)


def message_page(status_code: int, text: str, link: tuple[str, str] | None = ("/", "Back to the start")
                 ) -> HTMLResponse:
    """A page of one line: what went wrong and, for the coordinator, what to do."""
    return page("message.html", status_code, text=text, link=link)


# --- tokens and headers ---------------------------------------------------------------------


class Guard:
    """The access token (query once, then the cookie) and the security headers, on every request."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = not scope["path"].startswith("/static/")
        # Browsers keep cookies per host, not per port: one console per port, one cookie each.
        cookie = f"{COOKIE}_{scope['server'][1]}" if scope.get("server") else COOKIE

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        given = [value for name, value in query if name == "token"]
        response: Response | None = None
        if given:
            if self._is_token(given[-1]):
                rest = urlencode([(name, value) for name, value in query if name != "token"])
                # One leading slash: "//host" would send the browser elsewhere.
                path = "/" + quote(scope["path"]).lstrip("/")
                response = RedirectResponse(path + (f"?{rest}" if rest else ""), status_code=303)
                response.headers.append("Set-Cookie", f"{cookie}={self.token.decode()}; HttpOnly; SameSite=Strict; "
                                                      "Path=/")
            else:
                response = message_page(403, NEEDS_LINK, link=None)
        elif not self._is_token(Request(scope).cookies.get(cookie, "")):
            response = message_page(403, NEEDS_LINK, link=None)
        if response is not None:
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _is_token(self, value: str) -> bool:
        return secrets.compare_digest(value.encode("utf-8", "replace"), self.token)


# --- what the tables show -------------------------------------------------------------------


@dataclass(frozen=True)
class CellView:
    text: str
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowView:
    number: int
    status: str
    symbol: str
    colour: str
    cells: tuple[CellView, ...]
    problems: tuple[str, ...] = ()  # the row's own, in no one cell
    warnings: tuple[str, ...] = ()
    meeting_id: str = ""
    message: str = ""
    next_step: str = ""


@dataclass(frozen=True)
class CountLink:
    status: str
    symbol: str
    rows: int
    href: str
    current: bool


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: list[RowView]
    counts: list[CountLink]
    all_href: str
    all_rows: int
    status: str | None
    first: int  # the first row shown, counting from 1 (0 when none is)
    last: int
    shown_of: int  # rows that pass the filter
    previous: str | None
    next: str | None
    outcomes: bool  # a run's table: meeting_id, message and next step too


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, date | clock_time):
        return value.isoformat()
    return str(value)


def _colour(status: str) -> str:
    try:
        return STATUSES[Status(status)].colour
    except ValueError:
        return "amber"


def row_view(report: Report, result: RowResult, problems: list[Problem], outcomes: bool) -> RowView:
    columns = {header: i for i, header in reversed(list(enumerate(report.headers)))}
    in_cell: dict[int, list[Problem]] = {}
    own_problems, own_warnings = [], []
    for problem in problems:
        position = columns.get(problem.column) if problem.column else None
        if position is not None:
            in_cell.setdefault(position, []).append(problem)
        elif problem.warning:
            own_warnings.append(problem.describe())
        else:
            own_problems.append(problem.describe())
    said = {problem.describe() for problem in problems}
    own_warnings += [note for note in result.notes if note not in said]
    cells = tuple(CellView(cell_text(value), tuple(p.message for p in in_cell.get(i, []) if not p.warning),
                           tuple(p.message for p in in_cell.get(i, []) if p.warning))
                  for i, value in enumerate(result.cells))
    status = str(result.outcome.status)
    view = RowView(result.row_number, status, symbol(status), _colour(status), cells, tuple(own_problems),
                   tuple(own_warnings))
    if not outcomes:
        return view
    return replace(view, meeting_id=result.outcome.meeting_id or "", message=result.error_message or "",
                   next_step=result.next_step or "")


def table(report: Report, path: str, query: dict[str, str], caption: str, outcomes: bool) -> Table:
    """One page of the report's rows, filtered by status (`?status=`), `PAGE_ROWS` a page (`?page=`)."""
    status = query.get("status") if query.get("status") in set(Status) else None
    chosen = [result for result in report.results if status is None or result.outcome.status == status]
    pages = max(1, -(-len(chosen) // PAGE_ROWS))
    number = min(max(int(query["page"]) if _whole(query.get("page", "")) else 1, 1), pages)
    shown = chosen[(number - 1) * PAGE_ROWS:number * PAGE_ROWS]
    problems: dict[int, list[Problem]] = {}
    for problem in report.problems:
        problems.setdefault(problem.row_number, []).append(problem)

    def href(status: str | None, page_number: int = 1) -> str:
        params = [(name, value) for name, value in (("status", status), ("page", str(page_number)))
                  if value and value != "1"]
        return path + (f"?{urlencode(params)}" if params else "")

    first = (number - 1) * PAGE_ROWS + 1 if shown else 0
    return Table(
        caption=caption + (f": {status} rows" if status else ""), headers=report.headers,
        rows=[row_view(report, result, problems.get(result.row_number, []), outcomes) for result in shown],
        counts=[CountLink(str(each), symbol(each), rows, href(each), each == status)
                for each, rows in report.ordered_counts()],
        all_href=href(None), all_rows=len(report.results), status=status, first=first,
        last=first + len(shown) - 1 if shown else 0, shown_of=len(chosen),
        previous=href(status, number - 1) if number > 1 else None,
        next=href(status, number + 1) if number < pages else None, outcomes=outcomes)


def when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S") if timestamp else ""


@dataclass(frozen=True)
class EarlierRun:
    id: int
    started: str
    file_name: str
    counts: str
    state: str  # going, did not finish, stopped: ..., or empty when it ended
    has_result_sheet: bool


def earlier_run(recorded: ConsoleRun, live: RunState | None) -> EarlierRun:
    if live is not None and not live.finished:
        return EarlierRun(recorded.id, when(recorded.started_at), recorded.file_name,
                          counts_text(live.snapshot()["counts"]), f"going: {live.text()}", False)
    if live is not None:
        has_sheet = live.result_sheet is not None
        state = f"stopped: {live.error}" if live.error else ""
        counts = {str(status): rows for status, rows in live.report.ordered_counts()} if live.report else {}
        return EarlierRun(recorded.id, when(recorded.started_at), recorded.file_name, counts_text(counts), state,
                          has_sheet)
    state = ("did not finish: the console stopped while it ran" if recorded.finished_at is None
             else f"stopped: {recorded.error}" if recorded.error else "")
    return EarlierRun(recorded.id, when(recorded.started_at), recorded.file_name, counts_text(recorded.counts),
                      state, recorded.has_result_sheet)


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


# --- the application ------------------------------------------------------------------------


def _whole(text: str) -> bool:
    """Digits int() reads: "²" is a digit to str.isdigit, not to int."""
    return text.isascii() and text.isdigit()


def create_app(runs: Runs, access_token: str, form_token: str) -> ASGIApp:
    """The console over `runs`: `access_token` is the one in the printed link, `form_token` the
    value every form carries (both random per start)."""
    static = {name: (resources.files("importer.console") / "static" / name).read_bytes() for name in STATIC}
    connection = runs.target.connection
    sending_to = f"{connection.base_url} (LTI key {key_hint(connection.key)})"

    def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return page(name, status_code, form_token=form_token, **context)

    def busy(going: RunState) -> HTMLResponse:
        """409: the console does one thing at a time (a run and an undo both hold the journal)."""
        if isinstance(going, UndoState):
            return message_page(409, UNDO_GOING, (going.url, "See the undo going"))
        return message_page(409, RUN_GOING, (going.url, "See the run going"))

    def form_token_ok(value: object) -> bool:
        return isinstance(value, str) and secrets.compare_digest(value.encode("utf-8", "replace"),
                                                                 form_token.encode())

    def index(request: Request) -> Response:
        live = runs.live
        earlier = [earlier_run(recorded, live.get(recorded.id)) for recorded in runs.earlier()]
        return render("index.html", going=runs.current(), earlier=earlier, sending_to=sending_to,
                      upload_limit_mb=UPLOAD_LIMIT // (1024 * 1024))

    async def check(request: Request) -> Response:
        sheet_id, folder = runs.new_upload_folder()
        try:
            upload = await receive_upload(request, folder)
        except UploadError as exc:
            await run_in_threadpool(_remove, folder)
            return message_page(400, str(exc))
        if upload.too_large:
            await run_in_threadpool(_remove, folder)
            return message_page(413, f"the file is over {UPLOAD_LIMIT // (1024 * 1024)} MB: a term's schedule is "
                                     "far smaller; check that it is the schedule, or split it into smaller sheets")
        if not form_token_ok(upload.fields.get("form_token")):
            await run_in_threadpool(_remove, folder)
            return message_page(403, FORM_OUT_OF_DATE)
        if upload.path is None or upload.file_name is None:
            await run_in_threadpool(_remove, folder)
            return message_page(400, "no file was chosen: choose the schedule (.xlsx or .csv), then Check")
        try:
            sheet = await run_in_threadpool(runs.check, sheet_id, upload.file_name, upload.path)
        except InputError as exc:
            return message_page(400, str(exc))
        except ImporterError as exc:
            return message_page(500, str(exc))
        return RedirectResponse(f"/sheets/{sheet.id}", status_code=303)

    def sheet_of(request: Request) -> CheckedSheet:
        sheet = runs.sheets.get(request.path_params["sheet_id"])
        if sheet is None:
            raise HTTPException(404, "this sheet is not known to the console (it keeps checked sheets until it "
                                     "stops): choose the file again on the first page")
        return sheet

    def sheet_page(request: Request) -> Response:
        sheet = sheet_of(request)
        path = f"/sheets/{sheet.id}"
        return render("sheet.html", sheet=sheet, report=sheet.report, hosts=sheet.host_creates(),
                      limit=DAILY_CREATES_PER_HOST, going=runs.current(),
                      table=table(sheet.report, path, dict(request.query_params), "The rows as checked", False))

    async def start_run(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if _whole(declared) and int(declared) > FORM_LIMIT:
            return message_page(413, "the form is too large: reload the page")
        form = await request.form()
        if not form_token_ok(form.get("form_token")):
            return message_page(403, FORM_OUT_OF_DATE)
        sheet = sheet_of(request)
        try:
            run = await run_in_threadpool(runs.start, sheet)
        except RunGoing as exc:
            return busy(exc.run)
        except SheetSent as exc:
            return message_page(409, "this sheet was sent already: to run it again, choose the file (or its "
                                     "result sheet) again on the first page", (f"/runs/{exc.run_id}", "See its run"))
        except ImporterError as exc:
            return message_page(500, str(exc))
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    def run_of(request: Request) -> tuple[RunState | None, ConsoleRun | None]:
        run_id = request.path_params["run_id"]
        live = runs.live.get(run_id)
        recorded = runs.recorded(run_id) if live is None else None
        if live is None and recorded is None:
            raise HTTPException(404, "no such run in this console's journal")
        return live, recorded

    def run_page(request: Request) -> Response:
        live, recorded = run_of(request)
        if live is not None:
            finished = live.finished  # before the report: a run that ends between the two has both
            state = live.snapshot()
            report = live.report
            return render(
                "run.html", id=live.id, file_name=live.file_name, started=when(live.started_at),
                finished=finished, state=state, text=live.text(), counts=counts_text(state["counts"]),
                error=live.error, has_result_sheet=live.result_sheet is not None, lost=False,
                table=table(report, f"/runs/{live.id}", dict(request.query_params), "Each row's outcome", True)
                if report is not None else None, symbols=_symbols(), **undo_links(live.id))
        assert recorded is not None
        state = recorded_state(recorded)
        return render(
            "run.html", id=recorded.id, file_name=recorded.file_name, started=when(recorded.started_at),
            finished=True, state=state, text=f"{FINISHED.capitalize()}: {state['done']} of {state['total']}",
            counts=counts_text(recorded.counts), error=recorded.error, has_result_sheet=recorded.has_result_sheet,
            lost=recorded.finished_at is None, table=None, symbols=_symbols(), **undo_links(recorded.id))

    def undo_links(run_id: int) -> dict[str, Any]:
        """The run page's "Undo this run…" (not while an undo of it goes) and its latest undo."""
        undo = runs.undos.get(run_id)
        going = undo is not None and not undo.finished
        return {"undo": undo, "can_undo": not going and runs.undoable(run_id)}

    async def run_events(request: Request) -> Response:
        live, recorded = await run_in_threadpool(run_of, request)
        if live is None:
            assert recorded is not None
            ended = recorded_state(recorded)

            async def once() -> AsyncIterator[str]:
                yield event("progress", ended)
                yield event("done", ended)

            return StreamingResponse(once(), media_type="text/event-stream")
        return progress_events(live)

    def progress_events(run: RunState) -> Response:
        """A run's (or an undo's) progress events until it ends."""

        async def stream() -> AsyncIterator[str]:
            # The current state first, so that a reloaded page shows the run as it is.
            last: dict[str, Any] | None = None
            while True:
                finished = run.finished  # before the snapshot: the last one is sent before `done`
                state = run.snapshot()
                if state != last:
                    yield event("progress", state)
                    last = state
                if finished:
                    yield event("done", state)
                    return
                if runs.stopping.is_set():
                    return
                await asyncio.sleep(EVENT_POLL_S)

        return StreamingResponse(stream(), media_type="text/event-stream")

    def result_sheet(request: Request) -> Response:
        live, recorded = run_of(request)
        if live is not None and not live.finished:
            return message_page(409, "this run is going: its result sheet is written when it ends",
                                (f"/runs/{live.id}", "See the run going"))
        content = runs.result_sheet(request.path_params["run_id"])
        if content is None:
            raise HTTPException(404, "this run has no result sheet (it stopped before writing one)")
        name = (live.file_name if live is not None else recorded.file_name if recorded is not None else "run")
        return Response(content, media_type=XLSX,
                        headers={"Content-Disposition": _attachment(result_sheet_name(name))})

    # --- undo ---------------------------------------------------------------------------------

    def ended_run(request: Request) -> tuple[int, str, float] | Response:
        """The run's id, its file's name and when it started, or the page that says why it cannot be
        taken back now."""
        live, recorded = run_of(request)
        if live is not None:
            if not live.finished:
                return message_page(409, "this run is going: it can be taken back once it ends",
                                    (live.url, "See the run going"))
            return live.id, live.file_name, live.started_at
        assert recorded is not None
        return recorded.id, recorded.file_name, recorded.started_at

    def confirmation(request: Request, status_code: int = 200, notice: str | None = None,
                     preview: UndoPreview | None = None) -> Response:
        """The question `importer undo` asks: what it would do (both ways, when Zoom can delete), and
        a form that takes the run back. Nothing is sent to show it."""
        known = ended_run(request)
        if isinstance(known, Response):
            return known
        run_id, name, started = known
        try:
            preview = preview or runs.plan_undo(run_id, name)
        except ImporterError as exc:
            return message_page(400, str(exc), (f"/runs/{run_id}", "Back to the run"))
        return render("undo.html", status_code, id=run_id, file_name=name, started=when(started), preview=preview,
                      zoom=runs.target.zoom is not None, notice=notice, going=runs.current(),
                      undo=runs.undos.get(run_id))

    def undo_page(request: Request) -> Response:
        return confirmation(request)

    async def start_undo(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if _whole(declared) and int(declared) > FORM_LIMIT:
            return message_page(413, "the form is too large: reload the page")
        form = await request.form()
        if not form_token_ok(form.get("form_token")):
            return message_page(403, FORM_OUT_OF_DATE)
        known = await run_in_threadpool(ended_run, request)
        if isinstance(known, Response):
            return known
        run_id, name, _ = known
        if form.get("confirm") != "yes":
            return await run_in_threadpool(confirmation, request, 400, NOT_CONFIRMED)
        delete = form.get("delete") == "yes"
        if delete and runs.target.zoom is None:
            return message_page(400, DELETE_NEEDS_ZOOM, (f"/runs/{run_id}/undo", "Back to the question"))
        going = runs.current()
        if going is not None:
            if isinstance(going, UndoState) and going.id == run_id:
                return message_page(409, UNDO_OF_THIS_RUN_GOING, (going.url, "See the undo going"))
            return busy(going)
        try:
            preview = await run_in_threadpool(runs.plan_undo, run_id, name)
        except ImporterError as exc:
            return message_page(400, str(exc), (f"/runs/{run_id}", "Back to the run"))
        shown = form.get("plan")
        if not isinstance(shown, str) or not secrets.compare_digest(shown.encode("utf-8", "replace"),
                                                                    preview.key.encode()):
            return await run_in_threadpool(confirmation, request, 409, PLAN_CHANGED, preview)
        try:
            undo = await run_in_threadpool(runs.start_undo, run_id, name, delete)
        except RunGoing as exc:
            if isinstance(exc.run, UndoState) and exc.run.id == run_id:
                return message_page(409, UNDO_OF_THIS_RUN_GOING, (exc.run.url, "See the undo going"))
            return busy(exc.run)
        except ImporterError as exc:
            return message_page(500, str(exc))
        return RedirectResponse(undo.url, status_code=303)

    def undo_of(request: Request) -> UndoState:
        run_of(request)  # 404 for a run the journal does not know
        undo = runs.undos.get(request.path_params["run_id"])
        if undo is None:
            raise HTTPException(404, "this run was not taken back since the console started (what an undo did is "
                                     "kept until the console stops; the journal keeps each removal)")
        return undo

    def undo_outcome(request: Request) -> Response:
        undo = undo_of(request)
        finished = undo.finished  # before the report: an undo that ends between the two has both
        state = undo.snapshot()
        report = undo.report
        path = f"/runs/{undo.id}/undo/outcome"
        return render(
            "undone.html", id=undo.id, file_name=undo.file_name, started=when(undo.started_at), delete=undo.delete,
            finished=finished, state=state, text=undo.text(), counts=counts_text(state["counts"]), error=undo.error,
            has_undo_sheet=undo.result_sheet is not None, symbols=_symbols(),
            needs_action=[row_view(report, result, [], True) for result in report.needs_action]
            if report is not None else [],
            table=table(report, path, dict(request.query_params), "Each row after the undo", True)
            if report is not None else None)

    async def undo_events(request: Request) -> Response:
        return progress_events(await run_in_threadpool(undo_of, request))

    def undo_sheet(request: Request) -> Response:
        undo = undo_of(request)
        if not undo.finished:
            return message_page(409, "this undo is going: its sheet is written when it ends",
                                (undo.url, "See the undo going"))
        if undo.result_sheet is None:
            raise HTTPException(404, "this undo wrote no sheet (it stopped before it could)")
        return Response(undo.result_sheet, media_type=XLSX,
                        headers={"Content-Disposition": _attachment(undo_sheet_name(undo.file_name))})

    def template(request: Request) -> Response:
        from ..template import template_bytes

        return Response(template_bytes(".xlsx"), media_type=XLSX,
                        headers={"Content-Disposition": 'attachment; filename="term-schedule.xlsx"'})

    def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in static:
            raise HTTPException(404, "no such file")
        return Response(static[name], media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    async def not_found(request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) and exc.status_code == 404 else ""
        return message_page(404, detail if detail and detail != "Not Found" else "there is no such page here")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return message_page(405, "this address does not take that kind of request: use the page's links and buttons")

    async def failed(request: Request, exc: Exception) -> Response:
        return message_page(500, f"the console hit an unexpected error ({type(exc).__name__}); the run, if one "
                                 "is going, goes on: reload the page")

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: not_found, 405: not_allowed, Exception: failed}
    app = Starlette(routes=[
        Route("/", index),
        Route("/check", check, methods=["POST"]),
        Route("/sheets/{sheet_id}", sheet_page),
        Route("/sheets/{sheet_id}/run", start_run, methods=["POST"]),
        Route("/runs/{run_id:int}", run_page),
        Route("/runs/{run_id:int}/events", run_events),
        Route("/runs/{run_id:int}/result.xlsx", result_sheet),
        Route("/runs/{run_id:int}/undo", undo_page),
        Route("/runs/{run_id:int}/undo", start_undo, methods=["POST"]),
        Route("/runs/{run_id:int}/undo/outcome", undo_outcome),
        Route("/runs/{run_id:int}/undo/events", undo_events),
        Route("/runs/{run_id:int}/undo.xlsx", undo_sheet),
        Route("/template.xlsx", template),
        Route("/static/{name}", static_file),
    ], exception_handlers=handlers)
    return Guard(app, access_token)


def recorded_state(recorded: ConsoleRun) -> dict[str, Any]:
    """An ended run's progress event, from what the journal keeps."""
    rows = sum(recorded.counts.values())
    return {"phase": FINISHED, "done": rows, "total": rows, "counts": recorded.counts}


def _symbols() -> str:
    """Each status's symbol, as JSON for console.js (data-symbols)."""
    return json.dumps({str(status): symbol(status) for status in Status}, ensure_ascii=False)


def _attachment(name: str) -> str:
    """A download's Content-Disposition: its name in ASCII and (for the browser) as it was."""
    return f"attachment; filename=\"{disk_name(name)}\"; filename*=UTF-8''{quote(name)}"


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
