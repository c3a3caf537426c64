"""`importer doctor`: check the configuration without creating anything.

With CANVAS_URL and CANVAS_TOKEN set it checks Canvas too: the token is accepted (GET
/api/v1/users/self) and one course answers the importer's own lookup with its
lti_context_id (the account's first course; nothing is launched, so nothing is made). The
token is sent in the Authorization header only and never appears in a line.

With ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET set it checks the Zoom app too:
Zoom issues it a token (its lifetime is shown, or why Zoom refused the credentials), and the
token's scopes allow reading and changing meetings (classic `meeting:read:admin` and
`meeting:write:admin`, or granular `meeting:read:...` with `meeting:write:...` or both
`meeting:update:...` and `meeting:delete:...`). Only the token is asked for: no meeting is read
or changed. Only some of the three set is a failed line. Neither the secret nor the token
appears in a line.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .canvas import CanvasClient, CanvasRefused
from .client import LtiClient
from .errors import ImporterError
from .journal import Journal, scope_of
from .options import Canvas, Zoom
from .settings import Settings, canvas_of, check_base_url, credentials, default_journal, zoom_of
from .signing import key_hint
from .zoom import TokenInfo, ZoomClient

CLOCK_TOLERANCE_S = 300.0  # a signature lives 60 minutes; a few minutes of drift is harmless
#: The account whose first course answers the Canvas lookup check (Canvas's root account).
CANVAS_ACCOUNT = "1"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings, base_url: str | None = None, journal: Path | None = None,
               timeout: float = 15.0) -> list[Check]:
    checks: list[Check] = []
    try:
        key, secret = credentials(settings)
        checks.append(Check("credentials", True, f"LTI_KEY {key_hint(key)} and LTI_SECRET are set"))
    except ImporterError as exc:
        checks.append(Check("credentials", False, str(exc)))
        key = secret = ""
    try:
        url = check_base_url(base_url or settings.lti_base_url)
        checks.append(Check("base URL", True, url))
    except ImporterError as exc:
        checks.append(Check("base URL", False, str(exc)))
        url = ""
    if url and key and secret:
        checks.extend(asyncio.run(_probe(url, key, secret, timeout)))
    checks.extend(_canvas_checks(settings, timeout))
    checks.extend(_zoom_checks(settings, timeout))
    checks.append(_journal_check(journal or default_journal(settings), url, key))
    return checks


def _canvas_checks(settings: Settings, timeout: float) -> list[Check]:
    """Canvas's lines, when CANVAS_URL or CANVAS_TOKEN is set; none otherwise."""
    try:
        canvas = canvas_of(settings)
    except ImporterError as exc:
        return [Check("Canvas token", False, str(exc))]
    if canvas is None:
        return []
    try:
        return asyncio.run(_probe_canvas(canvas, timeout))
    except CanvasRefused as exc:
        return [Check("Canvas lookup", False, str(exc))]


async def _probe_canvas(canvas: Canvas, timeout: float) -> list[Check]:
    """The token accepted (the user it belongs to), then one course looked up as a row's would be."""
    async with CanvasClient(canvas.url, canvas.token, timeout=timeout, max_attempts=2,
                            backoff=canvas.backoff) as client:
        try:
            user = await client.whoami()
        except CanvasRefused as exc:
            return [Check("Canvas token", False, str(exc))]
        checks = [Check("Canvas token", True, f"accepted by {canvas.url} (user {user.get('name') or '?'}, "
                                              f"id {user.get('id', '?')})")]
        try:
            first = await client.first_course(CANVAS_ACCOUNT)
            course = await client.course(first.id) if first is not None else None
        except CanvasRefused as exc:
            return [*checks, Check("Canvas lookup", False, str(exc))]
    if course is None:
        return [*checks, Check("Canvas lookup", False,
                               f"no course answered in account {CANVAS_ACCOUNT}: lookups need a token whose user may "
                               "read the courses (a Canvas admin's)")]
    named = f"course '{course.name}' (id {course.id})"
    if course.lti_context_id:
        return [*checks, Check("Canvas lookup", True, f"{named} answers with lti_context_id {course.lti_context_id}")]
    return [*checks, Check("Canvas lookup", True, f"{named} answers; it has no lti_context_id yet (the importer "
                                                  "makes one when a row names the course)")]


def _zoom_checks(settings: Settings, timeout: float) -> list[Check]:
    """Zoom's lines, when any ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID or ZOOM_CLIENT_SECRET is set; none otherwise."""
    try:
        zoom = zoom_of(settings)
    except ImporterError as exc:
        return [Check("Zoom token", False, str(exc))]
    if zoom is None:
        return []
    zoom = replace(zoom, timeout=timeout, max_attempts=2)
    try:
        info = asyncio.run(_probe_zoom(zoom))
    except ImporterError as exc:  # ZoomError; or ConfigError for a URL httpx cannot send to
        return [Check("Zoom token", False, str(exc))]
    minutes = info.expires_in / 60
    lifetime = f"{minutes:.0f} min" if minutes >= 1 else f"{info.expires_in:.0f} s"
    return [Check("Zoom token", True, f"issued to client {zoom.client_id} of account {zoom.account_id}, "
                                      f"valid for {lifetime}"),
            _zoom_scopes_check(info.scopes)]


async def _probe_zoom(zoom: Zoom) -> TokenInfo:
    async with ZoomClient(zoom) as client:
        return await client.token_info()


#: What the importer does with Zoom's REST API, and the scope prefixes that allow each (API.md).
_MEETING_SCOPES = (("meeting:read:", "read meetings"), ("meeting:write:", "change meetings"),
                   ("meeting:update:", "update meetings"), ("meeting:delete:", "delete meetings"))


def _zoom_scopes_check(scopes: tuple[str, ...]) -> Check:
    """Reading and writing meetings: classic meeting:read:admin and meeting:write:admin, or granular
    scopes (meeting:read:..., and meeting:write:... or both meeting:update:... and meeting:delete:...)."""
    if not scopes:
        return Check("Zoom scopes", False, "Zoom's token names no scopes: add meeting:read:admin and "
                                           "meeting:write:admin to the app (Zoom App Marketplace > your app > Scopes)")
    held = {prefix: [scope for scope in scopes if scope.startswith(prefix)] for prefix, _ in _MEETING_SCOPES}
    missing = [] if held["meeting:read:"] else ["meeting:read:admin or a granular meeting:read:... (to read meetings)"]
    if not held["meeting:write:"]:
        gaps = [f"{prefix}... (to {what})" for prefix, what in _MEETING_SCOPES[2:] if not held[prefix]]
        if len(gaps) == 2:
            missing.append("meeting:write:admin or granular meeting:update:... and meeting:delete:... (to change "
                           "and delete meetings)")
        else:
            missing.extend(gaps)
    if missing:
        return Check("Zoom scopes", False, f"the app's token lacks {', '.join(missing)}; it has "
                                           f"{_listed(scopes)}: add the missing scopes to the app in the Zoom App "
                                           "Marketplace (your app > Scopes) and activate it again")
    allowing = [scope for scope in scopes if scope.startswith(tuple(held))]
    return Check("Zoom scopes", True, f"meetings can be read and changed ({_listed(allowing)})")


def _listed(scopes: list[str] | tuple[str, ...], most: int = 6) -> str:
    shown = ", ".join(scopes[:most])
    return shown + (f" and {len(scopes) - most} more" if len(scopes) > most else "")


async def _probe(url: str, key: str, secret: str, timeout: float) -> list[Check]:
    async with LtiClient(url, key, secret, timeout=timeout, max_connections=1) as client:
        before = time.time()
        answer, server_time = await client.probe()
        local = (before + time.time()) / 2
    if answer.kind in ("retry", "unknown") and answer.http_status is None:
        return [Check("server reachable", False,
                      f"{answer.error_message}; check the network, a proxy, or LTI_BASE_URL")]
    checks = [Check("server reachable", True, f"answered HTTP {answer.http_status}")]
    if answer.error_code == "401" or "2203" in (answer.error_message or ""):
        checks.append(Check("signature", False,
                            "the server refused the signature: check LTI_KEY and LTI_SECRET "
                            "(LTI Pro's configuration page) and this computer's clock"))
    elif answer.http_status and answer.http_status >= 400:
        checks.append(Check("signature", False, f"unexpected answer: HTTP {answer.http_status} "
                                                f"{answer.error_message or ''}".strip()))
    else:
        checks.append(Check("signature", True, "accepted (a signed request that changes nothing)"))
    if server_time is None:
        checks.append(Check("clock", True, "the server sent no Date header; not compared"))
    else:
        drift = local - server_time
        ok = abs(drift) <= CLOCK_TOLERANCE_S
        checks.append(Check("clock", ok, f"{drift:+.0f} s against the server"
                                         + ("" if ok else "; set this computer's clock (signatures are timed)")))
    return checks


def _journal_check(path: Path, url: str, key: str) -> Check:
    try:
        with Journal(path, scope_of(url, key)) as journal:
            journal.meetings()
    except (ImporterError, sqlite3.Error, OSError) as exc:
        return Check("journal", False, f"{path}: {exc}; pass --journal PATH or set IMPORTER_JOURNAL")
    return Check("journal", True, f"{path} is writable")
