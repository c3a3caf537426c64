"""The `importer` command: a thin adapter from options to the library calls in `run.py`.

The CLI owns the process: it prints, chooses exit codes, and wires Ctrl-C (SIGINT) to
the run's `StopRequest` while a run sends. The library changes none of that.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .console.command import serve
from .errors import ImporterError
from .limits import BULK_MAX, DAILY_CREATES_PER_HOST
from .run import Canvas, Connection, ImportOptions, ReadOptions, StopRequest, import_file, validate_file

if TYPE_CHECKING:
    from rich.console import Console

    from .cells import DateOrder

F = TypeVar("F", bound=Callable[..., Any])


def _console() -> Console:
    from rich.console import Console

    # soft_wrap: a long message stays one line in logs and pipes instead of breaking at 80 columns.
    console = Console(stderr=False, highlight=False, soft_wrap=True, no_color="NO_COLOR" in os.environ or None)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # logs and pipes have no width: keep tables readable
    return console


def one_line_errors(func: F) -> F:
    """An ImporterError becomes one line and exit code 2: never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ImporterError as exc:
            click.echo(f"importer: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("importer: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _parse_map(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """--map "HEADER=column", repeatable -> {header: column}."""
    mapping: dict[str, str] = {}
    for value in values:
        header, equals, column = value.rpartition("=")
        if not equals or not header.strip() or not column.strip():
            raise click.BadParameter(f'"{value}" is not HEADER=column, e.g. --map "Zoom Host User ID=userId"')
        if header.strip().casefold() in {known.casefold() for known in mapping}:
            raise click.BadParameter(f"the header '{header.strip()}' is mapped twice")
        mapping[header.strip()] = column.strip()
    return mapping


def reading_options(func: F) -> F:
    func = click.option("--map", "column_map", metavar='"HEADER=column"', multiple=True, callback=_parse_map,
                        help="Read the sheet's HEADER as the importer's column (repeatable). Remembered in the "
                             "journal for sheets with the same headers.")(func)
    func = click.option("--date-order", type=click.Choice(["DMY", "MDY"], case_sensitive=False),
                        help="How to read dates like 03/04/2027 (day/month or month/day).")(func)
    func = click.option("--sheet", metavar="NAME", help="The worksheet to read (.xlsx; default: the first).")(func)
    func = click.option("-o", "--output", type=click.Path(path_type=Path),
                        help="Result sheet (.xlsx or .csv, by extension). Default: <input>.result.xlsx.")(func)
    return func


def sending_options(func: F) -> F:
    options = [
        click.option("--journal", type=click.Path(path_type=Path),
                     help="SQLite journal of what was sent (default: $IMPORTER_JOURNAL, else the user data folder)."),
        click.option("--concurrency", type=click.IntRange(1, 256), default=ImportOptions.concurrency, show_default=True,
                     help="Requests in flight at once."),
        click.option("--rate", type=click.FloatRange(0), default=ImportOptions.rate, show_default=True,
                     help="Requests per second across all workers (0 = unlimited)."),
        click.option("--timeout", type=click.FloatRange(0.1), default=Connection.timeout, show_default=True,
                     help="Seconds to wait for one answer."),
        click.option("--max-attempts", type=click.IntRange(1, 50), default=ImportOptions.max_attempts,
                     show_default=True, help="Tries per request, for answers that are safe to retry."),
        click.option("--base-url", help="LTI Pro API base URL (default: $LTI_BASE_URL, else production)."),
        click.option("--calendar-user", metavar="ID", help="User who owns the LMS calendar events (signed as userId)."),
        click.option("--retry-unknown", is_flag=True, help="Send rows whose earlier answer was lost again."),
        click.option("--batch-size", type=click.IntRange(1, BULK_MAX), default=ImportOptions.batch_size,
                     show_default=True, help="Meetings per bulkImport call."),
        click.option("--allow-over-quota", is_flag=True,
                     help=f"Send even when a host needs over {DAILY_CREATES_PER_HOST} creates today."),
        click.option("--quiet", is_flag=True, help="Print only the final summary."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object."),
        click.option("--simulate", is_flag=True,
                     help="Run against the built-in LTI Pro simulator with demo credentials (no account needed)."),
    ]
    for option in reversed(options):
        func = option(func)
    return reading_options(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="importer")
def cli() -> None:
    """Put a term's schedule of Zoom class meetings into LMS courses through Zoom LTI Pro.

    \b
    importer template term.xlsx         an empty schedule to fill in
    importer validate term.xlsx         check every row, send nothing
    importer run term.xlsx              create and associate the meetings
    importer reassociate term.result.xlsx   link meetings that exist but are not in their course
    importer undo term.result.xlsx      take a run back (with --delete, its meetings too)

    Credentials come from LTI_KEY and LTI_SECRET (environment or .env); Zoom's REST API, for lost
    answers, changes and deleting, from ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET.
    """


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@reading_options
@click.option("--journal", type=click.Path(path_type=Path),
              help="Where a --map is remembered (default: $IMPORTER_JOURNAL, else the user data folder).")
@one_line_errors
def validate(file: Path, output: Path | None, sheet: str | None, date_order: str | None,
             column_map: dict[str, str], journal: Path | None) -> None:
    """Check every row of FILE and write the annotated sheet; nothing is sent."""
    from .display import print_problems, print_summary

    report = validate_file(file, output, ReadOptions(sheet, _order(date_order), column_map),
                           journal=journal or _default_journal, canvas=_canvas_if_configured())
    console = _console()
    print_problems(console, report)
    print_summary(console, report, as_json=False)
    sys.exit(report.exit_code)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@sending_options
@one_line_errors
def run(file: Path, **options: Any) -> None:
    """Validate FILE, create and associate every valid row, write the result sheet."""
    _import(file, options, associate_only=False)


@cli.command()
@click.argument("result", type=click.Path(path_type=Path))
@sending_options
@one_line_errors
def reassociate(result: Path, **options: Any) -> None:
    """Link the not_associated rows of a RESULT sheet to their (current) courses; creates nothing."""
    _import(result, options, associate_only=True)


def _import(file: Path, options: dict[str, Any], associate_only: bool) -> None:
    # Imported here: `validate` needs neither pydantic-settings nor the display's progress bar.
    from .display import make_progress, print_summary
    from .settings import load_settings
    from .signing import key_hint
    from .target import open_target

    console = _console()
    quiet = options["quiet"] or options["as_json"]
    with open_target(load_settings(), simulate=options["simulate"], journal=options["journal"],
                     base_url=options["base_url"], calendar_user=options["calendar_user"],
                     timeout=options["timeout"]) as target:
        connection = target.connection
        if not quiet and target.simulated:
            click.echo(f"Using the built-in LTI Pro simulator at {connection.base_url} (demo credentials)")
        elif not quiet:
            click.echo(f"Sending to {connection.base_url} with LTI key {key_hint(connection.key)}")
            if target.canvas is not None:
                click.echo(f"Looking courses up in Canvas at {target.canvas.url}")
            if target.zoom is not None and not associate_only:
                click.echo(f"Looking lost answers up and applying changes through Zoom's REST API at "
                           f"{target.zoom.api_url}")
        import_options = ImportOptions(
            journal_path=target.journal, concurrency=options["concurrency"], rate=options["rate"],
            max_attempts=options["max_attempts"], batch_size=options["batch_size"],
            retry_unknown=options["retry_unknown"], allow_over_quota=options["allow_over_quota"],
            associate_only=associate_only, remember_in=target.remember_in)
        stop = StopRequest()
        with _ctrl_c_stops(stop):
            report = import_file(
                file, options["output"], connection, import_options,
                ReadOptions(options["sheet"], _order(options["date_order"]), options["column_map"]),
                progress=make_progress(console, quiet),
                announce=(lambda text: None) if quiet else (lambda text: console.print(text, markup=False)),
                stop=stop, canvas=target.canvas, zoom=target.zoom)
        print_summary(console, report, as_json=options["as_json"])
    sys.exit(report.exit_code)


@cli.command()
@click.argument("result", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="What undo did, row by row (.xlsx or .csv). Default: <RESULT>.undo.xlsx.")
@click.option("--delete", is_flag=True,
              help="Delete the meetings too, through Zoom's REST API (needs ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, "
                   "ZOOM_CLIENT_SECRET).")
@click.option("--yes", is_flag=True, help="Do not ask: take the run back at once.")
@click.option("--journal", type=click.Path(path_type=Path),
              help="SQLite journal of what was sent (default: $IMPORTER_JOURNAL, else the user data folder).")
@click.option("--base-url", help="LTI Pro API base URL (default: $LTI_BASE_URL, else production).")
@click.option("--calendar-user", metavar="ID", help="User who owns the LMS calendar events (signed as userId).")
@click.option("--timeout", type=click.FloatRange(0.1), default=Connection.timeout, show_default=True,
              help="Seconds to wait for one answer.")
@click.option("--max-attempts", type=click.IntRange(1, 50), default=ImportOptions.max_attempts, show_default=True,
              help="Tries per request.")
@click.option("--batch-size", type=click.IntRange(1, BULK_MAX), default=ImportOptions.batch_size, show_default=True,
              help="Associations per bulkDisassociate call.")
@click.option("--map", "column_map", metavar='"HEADER=column"', multiple=True, callback=_parse_map,
              help="Read the sheet's HEADER as the importer's column (repeatable).")
@click.option("--sheet", metavar="NAME", help="The worksheet to read (.xlsx; default: the first).")
@click.option("--date-order", type=click.Choice(["DMY", "MDY"], case_sensitive=False),
              help="How to read dates like 03/04/2027 (day/month or month/day).")
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@one_line_errors
def undo(result: Path, **options: Any) -> None:
    """Take a run back: remove the associations a RESULT sheet lists from their courses, and with
    --delete delete the meetings. Shows what it will do and asks first, unless --yes."""
    from .display import make_progress, print_summary
    from .settings import load_settings
    from .target import open_target
    from .undo import UndoPlan, undo_file

    console = _console()
    quiet = options["quiet"] or options["as_json"]

    def confirm(plan: UndoPlan) -> bool:
        click.echo(f"importer undo {result}: {plan.describe()}.", err=quiet)
        if options["yes"]:
            return True
        return click.confirm("Take these back?", default=False, err=quiet)

    with open_target(load_settings(), simulate=False, journal=options["journal"], base_url=options["base_url"],
                     calendar_user=options["calendar_user"], timeout=options["timeout"]) as target:
        try:
            report = undo_file(result, options["output"], target.connection, target.journal,
                               ReadOptions(options["sheet"], _order(options["date_order"]), options["column_map"]),
                               delete=options["delete"], zoom=target.zoom, confirm=confirm,
                               progress=make_progress(console, quiet), batch_size=options["batch_size"],
                               max_attempts=options["max_attempts"])
        except click.Abort:  # no answer to the question (end of input): nothing was changed
            report = None
        if report is None:
            click.echo("importer: nothing was changed", err=True)
            sys.exit(1)
        print_summary(console, report, as_json=options["as_json"])
    sys.exit(report.exit_code)


@contextmanager
def _ctrl_c_stops(stop: StopRequest) -> Iterator[None]:
    """Ctrl-C during a run: before it sends, it stops at once (nothing is written); once it
    sends, it asks the run to stop (twice: to abandon what is in flight), and the run writes
    its result sheet, even when Ctrl-C comes while that is written, then exits 130."""

    def on_ctrl_c(signum: int, frame: FrameType | None) -> None:
        if not stop.request():
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_ctrl_c)
    except ValueError:  # not the main thread: Ctrl-C is not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _default_journal() -> Path:
    """validate's journal, as run's (--journal, else $IMPORTER_JOURNAL, else the user data folder):
    pydantic-settings is loaded only when a .env file here may set it."""
    from .journal import named_journal, user_journal

    named = named_journal(os.environ.get("IMPORTER_JOURNAL"))
    if named is not None:
        return named
    if not Path(".env").is_file():
        return user_journal()
    from .settings import default_journal, load_settings

    return default_journal(load_settings())


def _canvas_if_configured() -> Canvas | None:
    """validate's Canvas: read from the settings only when CANVAS_* may be set (the environment or a
    .env file here), so a plain validate does not load pydantic-settings."""
    if not any(name in os.environ for name in ("CANVAS_URL", "CANVAS_TOKEN")) and not Path(".env").is_file():
        return None
    from .settings import canvas_of, load_settings

    return canvas_of(load_settings())


def _order(value: str | None) -> DateOrder | None:
    """--date-order (click checked it is DMY or MDY, in any case) as the library takes it."""
    if value is None:
        return None
    return "DMY" if value.upper() == "DMY" else "MDY"


@cli.command()
@click.option("--base-url", help="LTI Pro API base URL (default: $LTI_BASE_URL, else production).")
@click.option("--journal", type=click.Path(path_type=Path), help="The journal to check.")
@click.option("--timeout", type=click.FloatRange(0.1), default=15.0, show_default=True)
@one_line_errors
def doctor(base_url: str | None, journal: Path | None, timeout: float) -> None:
    """Check credentials, server, clock and journal without creating anything."""
    from .doctor import run_checks
    from .settings import load_settings

    console = _console()
    checks = run_checks(load_settings(), base_url, journal, timeout)
    for check in checks:
        mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
        console.print(f"{mark} {check.name}: ", end="")
        console.print(check.detail, markup=False, highlight=False)
    sys.exit(0 if all(c.ok for c in checks) else 1)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--canvas-term", metavar="TERM",
              help="Pre-fill one row per course of this Canvas term (its name or id); needs CANVAS_URL and "
                   "CANVAS_TOKEN. first_day/last_day are the term's start and end dates in UTC.")
@click.option("--canvas-account", metavar="ID", help="The Canvas account whose term it is (default: 1).")
@one_line_errors
def template(path: Path, canvas_term: str | None, canvas_account: str | None) -> None:
    """Write an empty schedule template to PATH (.xlsx or .csv), or one pre-filled from a Canvas term."""
    from .template import DEFAULT_CANVAS_ACCOUNT, check_template_path, write_template

    if path.exists():
        raise ImporterError(f"{path} exists; the template would replace it: delete it first or pick another name")
    if canvas_term is None:
        if canvas_account is not None:
            raise ImporterError("--canvas-account goes with --canvas-term TERM")
        write_template(path)
        click.echo(f"Template written: {path}")
        return
    from .settings import canvas_of, load_settings
    from .template import canvas_term_rows

    check_template_path(path)  # before asking Canvas anything
    canvas = canvas_of(load_settings())
    if canvas is None:
        raise ImporterError("--canvas-term reads the term's courses from Canvas: set CANVAS_URL and CANVAS_TOKEN "
                            "(in the environment or a .env file here)")
    term, rows = canvas_term_rows(canvas, canvas_term, canvas_account or DEFAULT_CANVAS_ACCOUNT)
    write_template(path, rows)
    dates = " and its dates (UTC) as first_day/last_day" if term.start_at or term.end_at else ""
    click.echo(f"Template written: {path}: {len(rows)} course(s) of {term.name} (id {term.id}) from Canvas at "
               f"{canvas.url}{dates}; fill in userId, days, time and timezone, then `importer validate {path}`")


_PROBABILITY = click.FloatRange(0, 1)


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address only.")
@click.option("--latency", type=float, default=0.0, help="Seconds added to every answer.")
@click.option("--jitter", type=float, default=0.0, help="Random extra seconds (0..jitter) per answer.")
@click.option("--p-429", type=_PROBABILITY, default=0.0, help="Probability of HTTP 429 before processing.")
@click.option("--p-503", type=_PROBABILITY, default=0.0, help="Probability of HTTP 503 before processing.")
@click.option("--p-drop-before", type=_PROBABILITY, default=0.0,
              help="Probability of a dropped connection before processing.")
@click.option("--p-500-after", type=_PROBABILITY, default=0.0, help="Probability of HTTP 500 after creating.")
@click.option("--p-drop-after", type=_PROBABILITY, default=0.0,
              help="Probability of a dropped connection after creating.")
@click.option("--p-stall-after", type=_PROBABILITY, default=0.0, help="Probability of stalling after creating.")
@click.option("--rate-limit", type=click.FloatRange(0), default=0.0, help="Requests per second before 429 (0 = none).")
@click.option("--daily-cap", type=int, default=0, help="Creates per host per UTC day (0 = none).")
@click.option("--seed", type=int, default=None, help="Seed for the fault dice.")
@one_line_errors
def simulate(port: int, host: str, latency: float, jitter: float, p_429: float, p_503: float,
             p_drop_before: float, p_500_after: float, p_drop_after: float, p_stall_after: float,
             rate_limit: float, daily_cap: int, seed: int | None) -> None:
    """Serve the local fake LTI Pro API on loopback, with the demo credentials."""
    from dataclasses import replace

    from .simulator import demo_config
    from .simulator.server import serve_forever

    config = replace(demo_config(), latency_s=latency, latency_jitter_s=jitter, p_429=p_429,
                     p_503_before=p_503, p_drop_before=p_drop_before, p_500_after=p_500_after,
                     p_drop_after=p_drop_after, p_stall_after=p_stall_after,
                     rate_limit_per_s=rate_limit, daily_cap_per_host=daily_cap, seed=seed)
    try:
        serve_forever(config, host, port)
    except ValueError as exc:
        raise ImporterError(str(exc)) from None


cli.add_command(serve)  # the web console (importer/console/command.py)


def main() -> None:
    """The console script and `python -m importer`."""
    try:
        cli(prog_name="importer")
    finally:
        _flush_output()


def _flush_output() -> None:
    """Output that cannot be written (a full disk under `--json > out.json`) is exit code 120,
    as Python's own exit makes it, with one line that says why instead of a traceback."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        sys.stderr.write(f"importer: could not write the output: {exc}\n")
        # What is left unwritten goes nowhere, so that Python's own flush at exit fails no more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(120) from None
