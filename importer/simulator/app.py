"""The fake LTI Pro API as a Starlette app (API.md, DESIGN.md "The simulator").

Every LTI call goes through the same pipeline, in the order a real gateway would apply
it: rate limit and injected before-faults, then the signature, then the body, then the
effect, then injected after-faults. Keeping that order matters: a 429 must never have
created anything, while a 500 "after" must have.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import faults
from .canvas import canvas_routes
from .config import FUTURE_SKEW_S, SimConfig
from .state import SimState
from .validation import bulk_items, normalize_item, read_json, validate_create_body
from .zoom import zoom_routes

PREFIX = "/api/v1/lti/rich"
MAX_BULK_ITEMS = 400
STALL_POLL_S = 0.05
#: Epoch milliseconds have 13 digits; a cap keeps int() away from absurd inputs.
MAX_TS_DIGITS = 16

BAD_SIGNATURE = {
    "status": False,
    "errorCode": "401",
    "errorMessage": "Verify LTI signature failed(2203).",
}
BULK_INVALID = {
    "status": False,
    "errorCode": "2255",
    "errorMessage": "The Meeting ID, Context ID or Domain is invalid(2255).",
}
BULK_TOO_MANY = {
    "status": False,
    "errorCode": "400",
    "errorMessage": f"At most {MAX_BULK_ITEMS} meetings can be imported at a time.",
}
ASSOCIATE_FAILED = (
    "create meeting success but associate failed:"
    "The Meeting ID, Context ID or Domain is invalid(2255)."
)


@dataclass
class Reply:
    """What a call answers, plus whether it changed the ledger (after-faults need that)."""

    status: int
    body: dict[str, Any]
    outcome: str
    headers: dict[str, str] = field(default_factory=dict)
    changed: bool = False


def expected_signature(secret: str, key: str, timestamp: str, user_id: str | None) -> str:
    """The X-Lti-Signature LTI Pro expects (API.md "Signing"), written here from the spec.

    The simulator does not use the importer's signing code, so a bug there fails the tests
    instead of being agreed with: base string `key=K&timestamp=T[&userId=U]` with raw values,
    HMAC-SHA1 with the secret, base64url without `=` padding.
    """
    base = f"key={key}&timestamp={timestamp}" + (f"&userId={user_id}" if user_id else "")
    digest = hmac.new(secret.encode(), base.encode(), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _refusal(code: str, message: str, outcome: str) -> Reply:
    return Reply(200, {"status": False, "errorCode": code, "errorMessage": message}, outcome)


class Simulator:
    """Per-app runtime: config, ledger, the seeded dice and the rate window."""

    def __init__(self, config: SimConfig, state: SimState) -> None:
        self.config = config
        self.state = state
        self.rng = random.Random(config.seed)
        self.window = faults.RateWindow(config.rate_limit_per_s)
        #: Set by the server on shutdown so stalled answers stop waiting.
        self.stopping = threading.Event()

    # -- checks ---------------------------------------------------------------------

    def signature_ok(self, request: Request) -> bool:
        """Key, timestamp window and HMAC exactly as API.md "Signing" describes."""
        query = request.query_params
        key = query.get("key", "")
        timestamp = query.get("timestamp", "")
        if not hmac.compare_digest(key.encode(), self.config.key.encode()):
            return False
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TS_DIGITS):
            return False
        age_s = self.config.clock() - int(timestamp) / 1000.0
        if age_s > self.config.timestamp_window_s or age_s < -FUTURE_SKEW_S:
            return False
        expected = expected_signature(self.config.secret, key, timestamp, query.get("userId"))
        given = request.headers.get("x-lti-signature", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    def association_fails(self, context_id: str) -> bool:
        """Rejected courses always fail; flaky ones fail their first attempts."""
        if context_id in self.config.reject_contexts:
            return True
        if context_id in self.config.flaky_contexts:
            return self.state.flaky_attempt(context_id) <= self.config.flaky_failures
        return False

    def before_reply(self) -> Reply | str | None:
        """A Reply for a refused call, "drop-before" for a dropped one, else None."""
        if not self.window.allow():
            return Reply(429, faults.RATE_LIMIT_BODY, "429-rate", {"Retry-After": "1"})
        fault = faults.before_fault(self.config, self.rng)
        if fault == "429":
            retry_after = faults.random_retry_after(self.rng, self.config.clock())
            headers = {"Retry-After": retry_after} if retry_after else {}
            return Reply(429, faults.TOO_MANY_BODY, "429", headers)
        if fault == "503":
            return Reply(503, faults.UNAVAILABLE_BODY, "503")
        return fault

    # -- endpoint effects --------------------------------------------------------------

    def create_and_associate(self, body: Any) -> Reply:
        error = validate_create_body(body)
        if error:
            return _refusal("300", error, "invalid")
        user_id = body["userId"]
        if user_id in self.config.unknown_users:
            return _refusal("1001", f"User does not exist: {user_id}.", "1001")
        now = self.config.clock()
        capped = self._daily_cap_reply(user_id, now)
        if capped:
            return capped
        context_id, domain, course_id = body["contextId"], body["domain"], body.get("courseId")
        meeting_id = self.state.create_meeting(
            user_id, body["meetingInfo"], context_id, domain, course_id, now
        )
        if self.association_fails(context_id):
            reply = _refusal("406", ASSOCIATE_FAILED, "406")
            reply.body["result"] = {"id": meeting_id}
            reply.changed = True
            return reply
        item = {"meetingId": meeting_id, "contextId": context_id, "domain": domain}
        self.state.associate([{**item, "courseId": course_id}], via="create")
        return Reply(200, {"status": True, "result": {"id": meeting_id}}, "created", changed=True)

    def _daily_cap_reply(self, user_id: str, now: float) -> Reply | None:
        refusal = faults.daily_cap_refusal(self.config, self.state, user_id, now)
        return Reply(429, refusal[0], "429-daily", refusal[1]) if refusal else None

    def bulk_import(self, body: Any) -> Reply:
        items, refusal = self._bulk_items(body)
        if refusal:
            return refusal
        known = self.state.meeting_ids()
        ok = True
        for item in items:
            if item is None:
                ok = False
                continue
            # Evaluate every item: each flaky item in the batch consumes an attempt.
            fails = self.association_fails(item["contextId"])
            ok = ok and not fails and item["meetingId"] in known
        if not ok:
            return Reply(200, dict(BULK_INVALID), "2255")
        self.state.associate(items, via="bulkImport")
        return Reply(200, {"status": True, "result": {"total": len(items)}}, "imported", changed=True)

    def bulk_disassociate(self, body: Any) -> Reply:
        items, refusal = self._bulk_items(body)
        if refusal:
            return refusal
        if any(item is None for item in items):
            return Reply(200, dict(BULK_INVALID), "2255")
        self.state.disassociate(items)
        return Reply(200, {"status": True}, "disassociated", changed=True)

    def _bulk_items(self, body: Any) -> tuple[list[Any], Reply | None]:
        """Items of a bulk body (None for incomplete ones), or the refusal of the whole body."""
        raw = bulk_items(body)
        if raw is None:
            message = "body: must be a JSON array of items or an object with meetingList"
            return [], _refusal("300", message, "invalid")
        if len(raw) > MAX_BULK_ITEMS:
            return [], Reply(200, dict(BULK_TOO_MANY), "400")
        if not raw:
            return [], _refusal("300", "meetingList: must not be empty", "invalid")
        return [normalize_item(item) for item in raw], None

    # -- timing ---------------------------------------------------------------------------

    async def latency(self) -> None:
        delay = self.config.latency_s
        if self.config.latency_jitter_s > 0:
            delay += self.rng.uniform(0, self.config.latency_jitter_s)
        if delay > 0:
            await asyncio.sleep(delay)

    async def stall(self, request: Request) -> None:
        """Hold the answer back, but stop once the client gave up or the server stops,
        so a stalled call never delays shutdown by ``stall_s``."""
        deadline = time.monotonic() + self.config.stall_s
        while not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or await request.is_disconnected():
                return
            await asyncio.sleep(min(STALL_POLL_S, remaining))


Effect = Callable[[Simulator, Any], Reply]


def _new_record(endpoint: str, request: Request, body: Any) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "method": request.method,
        "query": dict(request.query_params),
        "signature": request.headers.get("x-lti-signature"),
        "body": body,
        "http_status": 0,
        "outcome": "",
    }


def _respond(sim: Simulator, record: dict[str, Any], reply: Reply) -> Response:
    record["http_status"] = reply.status
    record["outcome"] = reply.outcome
    sim.state.record_request(record)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def _drop(sim: Simulator, record: dict[str, Any], outcome: str) -> Response:
    """Record a call whose answer is lost (http_status 0: the client got none)."""
    record["outcome"] = outcome
    sim.state.record_request(record)
    return faults.DroppedResponse()


async def _handle(sim: Simulator, endpoint: str, effect: Effect, request: Request) -> Response:
    body = await read_json(request)
    record = _new_record(endpoint, request, body)
    if endpoint == "bulkImport":
        items = bulk_items(body)
        if items is not None:
            sim.state.record_bulk_call(len(items))
    await sim.latency()
    early = sim.before_reply()
    if isinstance(early, Reply):
        return _respond(sim, record, early)
    if early == "drop-before":
        return _drop(sim, record, "drop-before")
    if not sim.signature_ok(request):
        return _respond(sim, record, Reply(200, dict(BAD_SIGNATURE), "bad-signature"))
    reply = effect(sim, body)
    if not reply.changed:
        return _respond(sim, record, reply)
    return await _after(sim, record, reply, request)


async def _after(sim: Simulator, record: dict[str, Any], reply: Reply, request: Request) -> Response:
    """After-faults only hit calls that changed the ledger: that is what makes them hard."""
    fault = faults.after_fault(sim.config, sim.rng)
    if fault == "500-after":
        return _respond(sim, record, Reply(500, faults.SERVER_ERROR_BODY, "500-after"))
    if fault == "drop-after":
        return _drop(sim, record, "drop-after")
    if fault == "stall-after":
        reply.outcome = "stall-after"
        response = _respond(sim, record, reply)
        await sim.stall(request)
        return response
    return _respond(sim, record, reply)


def _lti_route(sim: Simulator, path: str, method: str, endpoint: str, effect: Effect) -> Route:
    async def handler(request: Request) -> Response:
        return await _handle(sim, endpoint, effect, request)

    return Route(PREFIX + path, handler, methods=[method], name=endpoint)


def _sim_routes(sim: Simulator) -> list[Route]:
    """Out-of-band routes for tests that run the simulator as a subprocess."""

    async def ledger(_request: Request) -> Response:
        return JSONResponse(sim.state.snapshot())

    async def reset(_request: Request) -> Response:
        sim.state.reset()
        return JSONResponse({"status": True})

    return [
        Route("/_sim/ledger", ledger, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
    ]


def create_app(config: SimConfig, state: SimState) -> Starlette:
    """The ASGI app; ``app.state.sim`` holds the runtime (the server uses its stop flag)."""
    sim = Simulator(config, state)
    routes = [
        _lti_route(sim, "/meeting/createAndAssociate", "POST", "createAndAssociate",
                   Simulator.create_and_associate),
        _lti_route(sim, "/meeting/bulkImport", "POST", "bulkImport", Simulator.bulk_import),
        _lti_route(sim, "/meeting/bulkDisassociate", "PUT", "bulkDisassociate",
                   Simulator.bulk_disassociate),
        *canvas_routes(sim),
        *zoom_routes(sim),
        *_sim_routes(sim),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app


__all__ = ["PREFIX", "Simulator", "create_app"]
