"""`importer serve`: the web console on a loopback port (see app.py for what it serves).

The command owns the process, as cli.py does for the others: it prints the one line with the
link, serves until SIGINT or SIGTERM, then stops a run going (its result sheet is recorded),
the simulator of --simulate, and removes its private temporary folder.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError, ImporterError

if TYPE_CHECKING:
    from starlette.types import ASGIApp


DEFAULT_PORT = 8765
#: Seconds uvicorn waits for open pages (an event stream stays open) before it closes them.
GRACEFUL_SHUTDOWN_S = 2


class _Stopped(Exception):
    """SIGTERM, once uvicorn has shut down: ends `serve` the way Ctrl-C does."""


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on: this machine only, unless --allow-remote.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="The port (0: a free one, printed).")
@click.option("--simulate", is_flag=True,
              help="Send to the built-in LTI Pro simulator with demo credentials (no account needed).")
@click.option("--allow-remote", is_flag=True,
              help="Listen on an address other machines can reach (whoever has the printed link can send).")
@click.option("--journal", type=click.Path(path_type=Path),
              help="SQLite journal of what was sent and of the console's runs (default: $IMPORTER_JOURNAL, "
                   "else the user data folder; with --simulate a temporary one).")
def serve(host: str, port: int, simulate: bool, allow_remote: bool, journal: Path | None) -> None:
    """Serve the web console: check a schedule and run it from a browser.

    Prints one line with the console's link (a new token each start) and serves until Ctrl-C.
    """
    try:
        _serve(host, port, simulate, allow_remote, journal)
    except ImporterError as exc:
        click.echo(f"importer: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:  # before it serves (once it does, Ctrl-C stops it and it exits 0)
        click.echo("importer: interrupted", err=True)
        sys.exit(130)


def _serve(host: str, port: int, simulate: bool, allow_remote: bool, journal: Path | None) -> None:
    from ..settings import is_loopback, load_settings
    from ..target import open_target

    if not allow_remote and not is_loopback(host):
        raise ConfigError(f"--host {host} can be reached from other machines, and whoever has the link can send "
                          "from this console: serve on 127.0.0.1, or pass --allow-remote")
    folder = Path(tempfile.mkdtemp(prefix="importer-console-"))  # mode 0700
    try:
        with ExitStack() as stack:
            from .app import create_app
            from .runs import Runs

            sock = _bind(host, port)  # first: a port in use is said before anything starts
            stack.callback(sock.close)
            target = stack.enter_context(open_target(load_settings(), simulate=simulate, journal=journal))
            runs = Runs(target, folder)
            stack.callback(runs.close)
            token = secrets.token_urlsafe(32)
            app = create_app(runs, token, secrets.token_urlsafe(32))
            bare = host.strip("[]")
            shown = f"[{bare}]" if ":" in bare else bare
            click.echo(f"Console: http://{shown}:{sock.getsockname()[1]}/?token={token}")
            sys.stdout.flush()
            _run_server(app, sock, runs.stopping.set)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that port 0's real port is known before serving."""
    address = "127.0.0.1" if host == "localhost" else host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
        sock.listen(2048)  # before the link is printed: the first request must find it listening
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pass another --port "
                          "(0 picks a free one)") from None
    return sock


def _run_server(app: ASGIApp, sock: socket.socket, on_exit: Callable[[], None]) -> None:
    """uvicorn on `sock` until SIGINT or SIGTERM. uvicorn raises the signal again once it has
    shut down: Ctrl-C then ends here as KeyboardInterrupt, SIGTERM as _Stopped, and the caller
    cleans up either way."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_exit()  # open event streams end at once
            super().handle_exit(sig, frame)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise _Stopped

    config = uvicorn.Config(app, log_level="warning", log_config=None, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (a test): no signals to handle
        previous = None
    try:
        Server(config).run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

