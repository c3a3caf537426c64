"""Injected failures: rate limits, lost responses, dropped connections.

These are the failures that make a naive importer create duplicate meetings (a create
whose answer never arrives) or give up early (429 with an odd Retry-After), so the
simulator must produce them on demand and reproducibly (one seeded random.Random).
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .config import SimConfig

if TYPE_CHECKING:
    from .state import SimState

RATE_LIMIT_BODY = {"code": 429, "message": "You have reached the maximum per-second rate limit"}
TOO_MANY_BODY = {"code": 429, "message": "Too many requests. Please try again later."}
UNAVAILABLE_BODY = {"code": 503, "message": "Service temporarily unavailable"}
SERVER_ERROR_BODY = {"code": 500, "message": "Internal server error"}


class SimulatedDrop(Exception):
    """Raised inside the ASGI app to make uvicorn close the connection mid-response."""


class DroppedResponse(Response):
    """Starts a response, promises a body, then dies: the client sees a transport error.

    Raising before ``http.response.start`` would make uvicorn answer 500 instead, which
    is a different (and easier) failure than a lost answer.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"64"), (b"content-type", b"application/json")],
            }
        )
        raise SimulatedDrop("simulated connection drop")


def roll(rng: random.Random, probability: float) -> bool:
    """One fault decision. Zero probabilities draw nothing, so enabling one fault does not
    shift the random sequence of the others' absence."""
    return probability > 0 and rng.random() < probability


def before_fault(config: SimConfig, rng: random.Random) -> str | None:
    """Which failure, if any, hits this call before it is processed."""
    if roll(rng, config.p_429):
        return "429"
    if roll(rng, config.p_503_before):
        return "503"
    if roll(rng, config.p_drop_before):
        return "drop-before"
    return None


def after_fault(config: SimConfig, rng: random.Random) -> str | None:
    """Which failure, if any, hits this call after its effect is recorded."""
    if roll(rng, config.p_500_after):
        return "500-after"
    if roll(rng, config.p_drop_after):
        return "drop-after"
    if roll(rng, config.p_stall_after):
        return "stall-after"
    return None


def _iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_retry_after(rng: random.Random, now: float) -> str | None:
    """Retry-After in each shape API.md says may occur, or missing, about 1 s ahead."""
    ahead = math.ceil(now) + 1
    choice = rng.randrange(4)
    if choice == 0:
        return "1"
    if choice == 1:
        return formatdate(ahead, usegmt=True)
    if choice == 2:
        return _iso_utc(ahead)
    return None


def utc_day_bounds(now: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the UTC day containing ``now``: the daily cap's window."""
    day = datetime.fromtimestamp(now, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return day.timestamp(), (day + timedelta(days=1)).timestamp()


def next_utc_midnight_iso(now: float) -> str:
    """The daily cap's Retry-After: "YYYY-MM-DDT00:00:00Z" of the next UTC day."""
    return _iso_utc(utc_day_bounds(now)[1])


def daily_cap_refusal(config: SimConfig, state: SimState, user_id: str, now: float,
                      what: str = "Create meeting") -> tuple[dict[str, Any], dict[str, str]] | None:
    """The body and headers of a 429 for a host past its daily cap of creates and updates (both
    count), or None while it may go on."""
    cap = config.daily_cap_per_host
    if cap <= 0:
        return None
    start, end = utc_day_bounds(now)
    if state.daily_changes(user_id, start, end) < cap:
        return None
    message = (f"You have exceeded the daily rate limit ({cap}) of {what} API requests permitted for this "
               "particular user. You may resume these requests at GMT 00:00:00.")
    body = {"code": 429, "message": message}
    return body, {"Retry-After": next_utc_midnight_iso(now)}


class RateWindow:
    """Fixed 1-second windows of real (monotonic) time.

    Real time, not the configured clock: a frozen test clock must not turn a per-second
    limit into a permanent one.
    """

    def __init__(self, limit_per_s: float) -> None:
        self.limit = limit_per_s
        self._window_start = -math.inf
        self._count = 0

    def allow(self) -> bool:
        if self.limit <= 0:
            return True
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._count = 0
        self._count += 1
        return self._count <= self.limit
