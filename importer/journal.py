"""The journal: a SQLite record of every create and association, so nothing is done twice.

One row per meeting identity (`row_key`) and one per (meeting, course) association,
scoped by base URL + LTI key (stored hashed: the key never lands on disk in clear).
A create is recorded `sending` *before* each attempt and its outcome committed the
moment it arrives; a row still `sending` when a run starts belonged to a process that
died mid-request, so it becomes `unknown`, never silently re-sent.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import JournalError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    scope TEXT NOT NULL,
    row_key TEXT NOT NULL,
    state TEXT NOT NULL,            -- sending | created | not_associated | failed | unknown
    meeting_id TEXT,
    error_code TEXT,
    error_message TEXT,
    row_number INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, row_key)
);
CREATE TABLE IF NOT EXISTS associations (
    scope TEXT NOT NULL,
    meeting_id TEXT NOT NULL,
    context_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    course_id TEXT,
    state TEXT NOT NULL,            -- associated | not_associated
    via TEXT NOT NULL DEFAULT 'bulkImport',  -- create | bulkImport
    error_code TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, meeting_id, context_id, domain)
);
"""

SENDING = "sending"
MEETING_STATES = ("sending", "created", "not_associated", "failed", "unknown")


@dataclass(frozen=True, slots=True)
class MeetingEntry:
    row_key: str
    state: str
    meeting_id: str | None
    error_code: str | None
    error_message: str | None


def scope_of(base_url: str, key: str) -> str:
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{key}".encode()).hexdigest()[:24]


class Journal:
    """SQLite in WAL mode; one short transaction per state change."""

    def __init__(self, path: Path | str, scope: str) -> None:
        self.path = str(path)
        self.scope = scope
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (only a power cut may lose the last commit).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"journal {self.path} cannot be opened: {exc}; pass --journal PATH") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes of one outcome into one transaction (all or none survive a kill)."""
        if self._db.in_transaction:
            yield
            return
        self._write("BEGIN IMMEDIATE", ())
        try:
            yield
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._write("COMMIT", ())

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path} cannot be written: {exc}") from exc

    # --- meetings -------------------------------------------------------------------------

    def recover(self) -> int:
        """Rows left `sending` by a process that died mid-request become `unknown`."""
        cursor = self._db.execute(
            "UPDATE meetings SET state='unknown', error_code='lost', "
            "error_message='the previous run stopped while this request was in flight', updated_at=? "
            "WHERE scope=? AND state='sending'", (time.time(), self.scope))
        return cursor.rowcount

    def meeting(self, row_key: str) -> MeetingEntry | None:
        found = self._db.execute(
            "SELECT row_key, state, meeting_id, error_code, error_message FROM meetings "
            "WHERE scope=? AND row_key=?", (self.scope, row_key)).fetchone()
        return MeetingEntry(*found) if found else None

    def meetings(self) -> dict[str, MeetingEntry]:
        cursor = self._db.execute(
            "SELECT row_key, state, meeting_id, error_code, error_message FROM meetings WHERE scope=?",
            (self.scope,))
        return {row[0]: MeetingEntry(*row) for row in cursor}

    def mark_sending(self, row_key: str, row_number: int) -> None:
        self._write(
            "INSERT INTO meetings (scope, row_key, state, row_number, attempts, updated_at) "
            "VALUES (?, ?, 'sending', ?, 1, ?) ON CONFLICT (scope, row_key) DO UPDATE SET "
            "state='sending', row_number=excluded.row_number, attempts=attempts+1, "
            "updated_at=excluded.updated_at, error_code=NULL, error_message=NULL",
            (self.scope, row_key, row_number, time.time()))

    def record_meeting(self, row_key: str, state: str, meeting_id: str | None = None,
                       error_code: str | None = None, error_message: str | None = None) -> None:
        assert state in MEETING_STATES
        self._write(
            "UPDATE meetings SET state=?, meeting_id=COALESCE(?, meeting_id), error_code=?, "
            "error_message=?, updated_at=? WHERE scope=? AND row_key=?",
            (state, meeting_id, error_code, error_message, time.time(), self.scope, row_key))

    def adopt_meeting(self, row_key: str, meeting_id: str, state: str) -> None:
        """Record a meeting known from elsewhere (a result sheet's meeting_id)."""
        self._write(
            "INSERT INTO meetings (scope, row_key, state, meeting_id, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, row_key) DO NOTHING",
            (self.scope, row_key, state, meeting_id, time.time()))

    # --- associations ----------------------------------------------------------------------

    def association(self, meeting_id: str, context_id: str, domain: str) -> str | None:
        """How the meeting was linked to this course ('create' or 'bulkImport'), or None."""
        found = self._db.execute(
            "SELECT via FROM associations WHERE scope=? AND meeting_id=? AND context_id=? AND domain=? "
            "AND state='associated'", (self.scope, meeting_id, context_id, domain)).fetchone()
        return found[0] if found else None

    def record_association(self, meeting_id: str, context_id: str, domain: str, course_id: str | None,
                           state: str, error_code: str | None = None,
                           error_message: str | None = None, via: str = "bulkImport") -> None:
        self._write(
            "INSERT INTO associations (scope, meeting_id, context_id, domain, course_id, state, via, "
            "error_code, error_message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, meeting_id, context_id, domain) DO UPDATE SET course_id=excluded.course_id, "
            "state=excluded.state, via=excluded.via, error_code=excluded.error_code, "
            "error_message=excluded.error_message, updated_at=excluded.updated_at",
            (self.scope, meeting_id, context_id, domain, course_id, state, via, error_code, error_message,
             time.time()))
