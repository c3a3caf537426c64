"""Configuration of the fake LTI Pro server.

Every behaviour the importer must survive (bad signatures, unknown hosts, courses that
cannot be associated, transient association failures, rate limits, daily caps, lost
responses) is a knob here, so a test can switch on exactly the failure it exercises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .canvas import DEMO_CANVAS_COURSES, DEMO_CANVAS_TERMS, DEMO_CANVAS_TOKEN, CanvasCourse, CanvasTerm

DEMO_KEY = "demo-lti-key-0001"
DEMO_SECRET = "demo-lti-secret-not-for-production"
#: The fake Zoom REST API's Server-to-Server OAuth app (zoom.py): published demo values.
DEMO_ZOOM_ACCOUNT_ID = "demo-zoom-account"
DEMO_ZOOM_CLIENT_ID = "demo-zoom-client"
DEMO_ZOOM_CLIENT_SECRET = "demo-zoom-secret-not-for-production"

#: How far in the future a timestamp may be: client clocks drift a little ahead.
FUTURE_SKEW_S = 300.0


@dataclass
class SimConfig:
    """What the simulator accepts and which failures it injects.

    Probabilities are per LTI call and drawn from one ``random.Random(seed)``, so a
    seeded run injects the same faults in the same order for the same request order.
    """

    key: str = DEMO_KEY
    secret: str = DEMO_SECRET
    #: A signature is valid for 60 minutes (API.md); older timestamps are refused.
    timestamp_window_s: float = 3600.0
    #: Epoch seconds. Tests substitute a fake clock to test expiry and daily resets.
    clock: Callable[[], float] = time.time

    #: Hosts that do not exist: createAndAssociate answers errorCode "1001".
    unknown_users: frozenset[str] = frozenset()
    #: Courses that can never be associated: creates answer 406, batches with them fail.
    reject_contexts: frozenset[str] = frozenset()
    #: Courses whose first ``flaky_failures`` association attempts fail, then succeed.
    flaky_contexts: frozenset[str] = frozenset()
    flaky_failures: int = 1

    latency_s: float = 0.0
    latency_jitter_s: float = 0.0

    p_429: float = 0.0
    p_503_before: float = 0.0
    p_drop_before: float = 0.0
    p_500_after: float = 0.0
    p_drop_after: float = 0.0
    p_stall_after: float = 0.0
    #: How long a stalled answer is held back: longer than the client's timeout.
    stall_s: float = 30.0

    seed: int | None = None

    #: Requests per 1-second window before HTTP 429 (0 = unlimited).
    rate_limit_per_s: float = 0
    #: Meetings one host may create per UTC day before HTTP 429 (0 = unlimited). Zoom REST
    #: updates (PATCH) count too, and are refused over it.
    daily_cap_per_host: int = 0

    # -- the fake Canvas (canvas.py), same app and port, under /api/v1 ----------------------
    #: The Bearer token Canvas accepts; any other (or none) is 401.
    canvas_token: str = DEMO_CANVAS_TOKEN
    #: A token Canvas knows but that may not read courses: 403 "user not authorized".
    canvas_forbidden_token: str = "forbidden-canvas-token"
    canvas_courses: tuple[CanvasCourse, ...] = ()
    canvas_terms: tuple[CanvasTerm, ...] = ()
    canvas_account_id: int = 1
    #: Probability a Canvas call is throttled (the seeded dice above).
    canvas_p_throttle: float = 0.0
    #: The 1-based numbers of the Canvas calls that are throttled (counted since reset()).
    canvas_throttle_calls: frozenset[int] = frozenset()
    #: A throttled call's status: 403 (body "403 Forbidden (Rate Limit Exceeded)") or 429.
    canvas_throttle_status: int = 403
    #: False: no Zoom tool is installed anywhere, so no lti_context_id can be made.
    canvas_zoom_tool: bool = True

    # -- the fake Zoom REST API (zoom.py), same app and port, under /v2 and /oauth/token ------
    #: The Server-to-Server OAuth app: account_id in the query, client id and secret as HTTP Basic.
    zoom_account_id: str = DEMO_ZOOM_ACCOUNT_ID
    zoom_client_id: str = DEMO_ZOOM_CLIENT_ID
    zoom_client_secret: str = DEMO_ZOOM_CLIENT_SECRET
    #: A token's expires_in; its expiry is judged by ``clock``, so a fake clock can expire it.
    zoom_token_ttl_s: float = 3600.0
    #: REST calls one token may make before it is refused with 401 (0 = unlimited): a token
    #: that expires in the middle of a run, deterministically.
    zoom_token_max_uses: int = 0
    zoom_scope: str = "meeting:read:admin meeting:write:admin"
    #: REST calls (not token calls) per 1-second window before HTTP 429 (0 = unlimited).
    zoom_rate_limit_per_s: float = 0
    #: Probabilities per REST call of a 429 (Retry-After: 1) or a 500, before any effect
    #: (the seeded dice above).
    zoom_p_429: float = 0.0
    zoom_p_500: float = 0.0
    #: The 1-based numbers of the REST calls answered 429 (counted since reset()).
    zoom_throttle_calls: frozenset[int] = frozenset()


def demo_config() -> SimConfig:
    """The configuration ``importer simulate`` and the demo sheet are written against.

    The demo sheet names one departed lecturer, one mistyped course and one course whose
    first association attempt fails, so a demo run shows every recovery path once. Its
    Canvas holds the sample's 14 courses in Fall 2026 (two of them without an lti_context_id
    until the Zoom tool is launched) and again in Spring 2027 (canvas.py).
    """
    return SimConfig(
        unknown_users=frozenset({"former.lecturer@state.example.edu"}),
        reject_contexts=frozenset({"4f1e0c2b9a7d3e5f6a8b0c1d2e3f4a5b6c7d8e9f"}),
        flaky_contexts=frozenset({"a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0"}),
        flaky_failures=1,
        canvas_courses=DEMO_CANVAS_COURSES,
        canvas_terms=DEMO_CANVAS_TERMS,
    )
