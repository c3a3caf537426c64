"""Where a run sends, as `importer run`, `importer undo` and the console decide it: the LTI Pro
endpoint and credentials, the journal, the Canvas to look courses up in, and Zoom's REST API
(the simulator serves all three)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .options import Canvas, Connection, Zoom
from .settings import Settings, canvas_of, check_base_url, credentials, default_journal, zoom_of


@dataclass(frozen=True)
class Target:
    connection: Connection
    journal: Path  # meetings and associations (and the console's runs)
    canvas: Canvas | None = None
    #: Where a --map is remembered when not in `journal`: --simulate's journal is temporary, and what
    #: the coordinator told it is kept in the real one.
    remember_in: Path | None = None
    simulated: bool = False
    zoom: Zoom | None = None  # Zoom's REST API (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)


@contextmanager
def open_target(settings: Settings, *, simulate: bool, journal: Path | None, base_url: str | None = None,
                calendar_user: str | None = None, timeout: float = Connection.timeout) -> Iterator[Target]:
    """The target for the settings, or with `simulate` the built-in simulator on a free loopback
    port with its demo credentials, Canvas and Zoom REST fakes, for as long as the block runs (its journal,
    unless one is named, lasts as long: so do its meetings)."""
    if simulate:
        from .simulator import SimulatorServer, demo_config

        config = demo_config()
        with SimulatorServer(config) as server, tempfile.TemporaryDirectory(prefix="importer-sim-") as scratch:
            # Rows with a contextId are not checked against the fake Canvas: it knows only the demo's courses.
            canvas = (Canvas(server.canvas_url, config.canvas_token, check_typed=False) if config.canvas_courses
                      else None)
            zoom = Zoom(config.zoom_account_id, config.zoom_client_id, config.zoom_client_secret,
                        api_url=server.zoom_api_url, oauth_url=server.zoom_oauth_url)
            yield Target(Connection(server.base_url, config.key, config.secret, calendar_user, timeout),
                         journal or Path(scratch) / "journal.sqlite3", canvas,
                         remember_in=None if journal else default_journal(settings), simulated=True, zoom=zoom)
        return
    key, secret = credentials(settings)
    yield Target(Connection(check_base_url(base_url or settings.lti_base_url), key, secret, calendar_user, timeout),
                 journal or default_journal(settings), canvas_of(settings), zoom=zoom_of(settings))
