"""What a caller tells a run: how to read the sheet, where to send, how to send, who watches,
and when to stop."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .cells import DateOrder
from .limits import BULK_MAX, ZOOM_LIGHT_PER_S, ZOOM_MEDIUM_PER_S
from .statuses import Status

ZOOM_API_URL = "https://api.zoom.us/v2"
ZOOM_OAUTH_URL = "https://zoom.us/oauth/token"


@dataclass(frozen=True)
class ReadOptions:
    sheet: str | None = None  # the worksheet to read (.xlsx); the first by default
    date_order: DateOrder | None = None  # how to read 03/04/2027
    #: --map: header -> column, for headers the importer does not know by name. Remembered in the
    #: journal for sheets with the same headers, when the call has a journal.
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Canvas:
    """A Canvas site to look courses up in (CANVAS_URL, CANVAS_TOKEN): see courses.py."""

    url: str
    token: str = field(repr=False)
    timeout: float = 30.0  # seconds to wait for one answer
    backoff: float = 0.5  # seconds: the first wait after Canvas throttles, doubled each time
    #: Check a typed contextId against its row's course. --simulate does not: its Canvas fake
    #: knows only the demo's courses, and a coordinator's own sheet must run against it as it is.
    check_typed: bool = True


@dataclass(frozen=True)
class Zoom:
    """A Zoom Server-to-Server OAuth app (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET): the
    REST API that resolves lost answers, applies changed rows and deletes meetings (zoom.py)."""

    account_id: str
    client_id: str
    client_secret: str = field(repr=False)
    api_url: str = ZOOM_API_URL
    oauth_url: str = ZOOM_OAUTH_URL
    timeout: float = 30.0  # seconds to wait for one answer
    max_attempts: int = 5  # tries per call, for answers that are safe to retry
    #: Calls per second this importer allows itself, per Zoom rate-limit category (API.md).
    light_rate: float = ZOOM_LIGHT_PER_S
    medium_rate: float = ZOOM_MEDIUM_PER_S


@dataclass(frozen=True)
class Connection:
    base_url: str
    key: str
    secret: str = field(repr=False)
    calendar_user: str | None = None  # who owns the LMS calendar events (signed as userId)
    timeout: float = 30.0  # seconds to wait for one answer
    #: Epoch seconds for signing each request (tests substitute a fake clock).
    clock: Callable[[], float] = field(default=time.time, repr=False)


@dataclass(frozen=True)
class ImportOptions:
    journal_path: Path
    concurrency: int = 8  # requests in flight at once
    rate: float = 10.0  # requests per second across all workers; 0 = unlimited
    max_attempts: int = 5  # tries per request, for answers that are safe to retry
    batch_size: int = BULK_MAX  # meetings per bulkImport call
    retry_unknown: bool = False  # send rows whose earlier answer was lost again
    #: Where a --map and Canvas's courses are remembered, when not in journal_path (--simulate's
    #: journal is temporary; what the coordinator told it is kept in the real one).
    remember_in: Path | None = None
    allow_over_quota: bool = False  # send even when a host needs more creates than Zoom allows a day
    associate_only: bool = False  # `importer reassociate`: never create


class Progress:
    """What a run tells whoever watches it; the CLI passes a live display. Does nothing itself."""

    def start(self, phase: str, total: int) -> None:
        """A phase begins with `total` rows to go."""

    def advance(self, status: Status) -> None:
        """One row of the phase ended with `status`."""

    def finish(self) -> None:
        """The phase ended (done, stopped or failed)."""


class StopRequest:
    """Asks a running import to stop, as Ctrl-C does through the CLI: the first request
    stops taking rows (requests in flight finish and are recorded), a second abandons
    those in flight. Either way the result sheet is written with every outcome known.

    `request` may be called from a signal handler or another thread. It returns whether the
    run has begun sending: before that there is nothing to stop gently (the CLI then stops
    at once), and a run asked to stop before it sends sends nothing.
    """

    def __init__(self) -> None:
        self.count = 0
        self.sending = False  # the run has begun sending: stopping it now is a stop, not an abort
        self._listener: Callable[[int], None] | None = None

    def request(self) -> bool:
        self.count += 1
        if self._listener is not None:
            self._listener(self.count)
        return self.sending

    def listen(self, listener: Callable[[int], None] | None) -> None:
        """Called with the number of requests so far, on each request (None: no one listens)."""
        self._listener = listener
