"""`importer doctor`: check the configuration without creating anything."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .client import LtiClient
from .errors import ImporterError
from .journal import Journal, scope_of
from .settings import Settings, check_base_url, credentials, default_journal
from .signing import key_hint

CLOCK_TOLERANCE_S = 300.0  # a signature lives 60 minutes; a few minutes of drift is harmless


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
    checks.append(_journal_check(journal or default_journal(settings), url, key))
    return checks


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
