"""Running the simulator: in a background thread (tests, --simulate) or in the foreground.

The socket is bound here rather than by uvicorn so that port 0 yields a free port the
caller can read back before the first request. Only loopback addresses are accepted:
the simulator takes any request signed with a published demo secret, and must never be
reachable from another machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from types import FrameType, TracebackType

import uvicorn

from .app import PREFIX, Simulator, create_app
from .canvas import DEMO_CANVAS_TOKEN
from .config import DEMO_ZOOM_CLIENT_SECRET, SimConfig
from .faults import SimulatedDrop
from .state import SimState
from .zoom import API as ZOOM_API
from .zoom import OAUTH_PATH as ZOOM_OAUTH_PATH

DEFAULT_PORT = 8765
START_TIMEOUT_S = 10.0
#: Backstop for shutdown; stalled answers normally end at once via Simulator.stopping.
#: Whole seconds: uvicorn.Config takes an int (it hands it to asyncio.timeout).
GRACEFUL_SHUTDOWN_S = 2


def check_loopback(host: str) -> None:
    """Refuse anything that is not 127.0.0.0/8, ::1 or localhost."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"simulator only binds loopback addresses, not {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"simulator only binds loopback addresses, not {host!r}")


def _bind(host: str, port: int) -> socket.socket:
    address = "127.0.0.1" if host == "localhost" else host
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
        # Listening from here, not once uvicorn starts: a client told the port (the lines `importer
        # simulate` prints) may connect at once, and a bound socket that does not listen refuses it.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _is_drop(exc: BaseException | None) -> bool:
    if isinstance(exc, SimulatedDrop):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_is_drop(inner) for inner in exc.exceptions)
    return False


class _QuietDrops(logging.Filter):
    """Deliberate drops are raised through uvicorn, which logs them as app crashes;
    they are the simulator working, so their tracebacks are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_drop(record.exc_info[1]))


def _quiet_deliberate_drops() -> None:
    error_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in error_logger.filters):
        error_logger.addFilter(_QuietDrops())


class _Uvicorn(uvicorn.Server):
    """uvicorn.Server that also releases stalled answers when asked to exit (Ctrl-C)."""

    def __init__(self, config: uvicorn.Config, sim: Simulator) -> None:
        super().__init__(config)
        self.sim = sim

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.sim.stopping.set()
        super().handle_exit(sig, frame)


def _make_server(config: SimConfig, state: SimState, log_level: str) -> _Uvicorn:
    app = create_app(config, state)
    uv_config = uvicorn.Config(
        app,
        log_level=log_level,
        log_config=None,  # leave the host process's logging setup alone
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    _quiet_deliberate_drops()
    return _Uvicorn(uv_config, app.state.sim)


def _root_url(host: str, port: int) -> str:
    address = "127.0.0.1" if host == "localhost" else host
    shown = f"[{address}]" if ":" in address else address
    return f"http://{shown}:{port}"


class SimulatorServer:
    """The simulator on a loopback port, served from a daemon thread.

    Use as a context manager; ``state`` is the live ledger to assert against.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        state: SimState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        check_loopback(host)
        self.config = config if config is not None else SimConfig()
        self.state = state if state is not None else SimState()
        self.host = host
        self.port = port
        self._log_level = log_level
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        return _root_url(self.host, self.port)

    @property
    def base_url(self) -> str:
        """What the importer is configured with instead of the production base URL."""
        return self.root_url + PREFIX

    @property
    def canvas_url(self) -> str:
        """The fake Canvas site (CANVAS_URL): the same server, its API under /api/v1."""
        return self.root_url

    @property
    def zoom_api_url(self) -> str:
        """The fake Zoom REST API's base (ZOOM_API_URL): the same server, under /v2."""
        return self.root_url + ZOOM_API

    @property
    def zoom_oauth_url(self) -> str:
        """The fake Zoom's Server-to-Server OAuth token endpoint (ZOOM_OAUTH_URL)."""
        return self.root_url + ZOOM_OAUTH_PATH

    def start(self) -> SimulatorServer:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = _make_server(self.config, self.state, self._log_level)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="lti-simulator", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        self._wait_started(server, thread, sock)
        return self

    @staticmethod
    def _wait_started(server: _Uvicorn, thread: threading.Thread, sock: socket.socket) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("simulator failed to start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the thread; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.sim.stopping.set()
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    config: SimConfig | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    state: SimState | None = None,
    log_level: str = "warning",
) -> None:
    """Serve in the foreground until Ctrl-C (``importer simulate``). Never prints the secret,
    nor a Canvas token or a Zoom client secret other than the public demo one.

    Returns normally on Ctrl-C: uvicorn re-raises the captured SIGINT after its graceful
    shutdown, and a traceback there would look like a crash.
    """
    check_loopback(host)
    config = config if config is not None else SimConfig()
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    server = _make_server(config, state if state is not None else SimState(), log_level)
    root = _root_url(host, actual_port)
    print(f"LTI Pro simulator on {root}{PREFIX} (key {config.key}, Ctrl-C to stop)", flush=True)
    token = config.canvas_token if config.canvas_token == DEMO_CANVAS_TOKEN else "as configured"
    print(f"Canvas simulator on {root}/api/v1 (CANVAS_URL={root}, CANVAS_TOKEN={token})", flush=True)
    secret = config.zoom_client_secret if config.zoom_client_secret == DEMO_ZOOM_CLIENT_SECRET else "as configured"
    print(f"Zoom simulator on {root}{ZOOM_API} (ZOOM_API_URL={root}{ZOOM_API}, ZOOM_OAUTH_URL={root}{ZOOM_OAUTH_PATH}, "
          f"ZOOM_ACCOUNT_ID={config.zoom_account_id}, ZOOM_CLIENT_ID={config.zoom_client_id}, "
          f"ZOOM_CLIENT_SECRET={secret})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
