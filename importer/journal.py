"""The journal: a SQLite record of every create and association, so nothing is done twice.

One row per meeting identity (`row_key`) and one per (meeting, course) association,
scoped by base URL + LTI key (stored hashed: the key never lands on disk in clear).
A create is recorded `sending` *before* each attempt and its outcome committed the
moment it arrives; a row still `sending` when a run starts belonged to a process that
died mid-request, so it becomes `unknown`, never silently re-sent.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO, TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]  # a module or None: lock() checks which

from platformdirs import user_data_dir

from .errors import JournalError
from .models import CanvasCourse, course_ref

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    scope TEXT NOT NULL,
    row_key TEXT NOT NULL,
    state TEXT NOT NULL,            -- sending | created | not_associated | failed | unknown | deleted
    meeting_id TEXT,
    error_code TEXT,
    error_message TEXT,
    row_number INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    content_key TEXT,               -- the hash identity, also when row_key is a row_id
    sent_fields TEXT,               -- JSON: the meetingInfo that made the meeting (or last changed it)
    first_sent_at REAL,             -- when this meeting was first sent (Zoom's created_at is not before)
    last_sent_at REAL,              -- when its latest create was sent (a lost one may still be running)
    user_id TEXT,                   -- the host it was sent for (whose Zoom list holds it)
    PRIMARY KEY (scope, row_key)
);
CREATE TABLE IF NOT EXISTS associations (
    scope TEXT NOT NULL,
    meeting_id TEXT NOT NULL,
    context_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    course_id TEXT,
    state TEXT NOT NULL,            -- associated | not_associated | removed
    via TEXT NOT NULL DEFAULT 'bulkImport',  -- create | bulkImport
    error_code TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, meeting_id, context_id, domain)
);
CREATE TABLE IF NOT EXISTS events (         -- what Zoom's REST API and `undo` found and did, one row each
    scope TEXT NOT NULL,
    row_key TEXT,                            -- the meeting identity, when known
    meeting_id TEXT,
    event TEXT NOT NULL,                     -- found | absent | several | unresolved | updated | removed | deleted
    detail TEXT,                             -- candidate ids, changed fields, or why
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS canvas_courses (  -- Canvas courses with an lti_context_id (it never changes)
    canvas TEXT NOT NULL,                    -- the Canvas site's host
    ref TEXT NOT NULL,                       -- how a sheet names it: id, sis_course_id:..., lti_context_id:...
    course_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sis_course_id TEXT,
    lti_context_id TEXT NOT NULL,
    term_id TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (canvas, ref)
);
CREATE TABLE IF NOT EXISTS header_maps (     -- a --map, remembered for sheets with the same headers
    headers_key TEXT PRIMARY KEY,            -- columns.headers_key: not scoped, a layout is no server's
    mapping TEXT NOT NULL,                   -- JSON object: header -> column
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS console_runs (    -- `importer serve`'s runs, listed as its earlier runs
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,                        -- NULL while it runs (or when its console was killed)
    file_name TEXT NOT NULL,                 -- the uploaded file's name
    counts TEXT NOT NULL DEFAULT '{}',       -- JSON object: status -> rows
    error TEXT,                              -- what stopped it, when something did
    result_sheet BLOB                        -- the result sheet (.xlsx), as `run -o` writes it
);
"""

class MeetingState(StrEnum):
    """Where a meeting identity stands. Stored as these words: journals of every version read alike."""

    SENDING = "sending"  # a create is in flight (or its process died while it was)
    CREATED = "created"  # created and linked to its course by the create itself
    NOT_ASSOCIATED = "not_associated"  # created, but the create could not link it
    FAILED = "failed"  # refused, or not sent: no meeting exists
    UNKNOWN = "unknown"  # sent, and the answer was lost: the meeting may exist
    DELETED = "deleted"  # `undo --delete` deleted it: no meeting exists; a run creates it anew


class LinkState(StrEnum):
    """Whether a (meeting, course) association is known to exist."""

    ASSOCIATED = "associated"
    NOT_ASSOCIATED = "not_associated"
    REMOVED = "removed"  # `undo` removed it (bulkDisassociate): a run links it again


class LinkedBy(StrEnum):
    """Which call made an association."""

    CREATE = "create"
    BULK_IMPORT = "bulkImport"


_Word = TypeVar("_Word", MeetingState, LinkState, LinkedBy)


@dataclass(frozen=True, slots=True)
class MeetingEntry:
    row_key: str
    state: MeetingState
    meeting_id: str | None
    error_code: str | None
    error_message: str | None
    content_key: str | None = None
    sent_fields: str | None = None  # JSON of the meetingInfo that made (or last changed) the meeting
    first_sent_at: float | None = None
    last_sent_at: float | None = None
    user_id: str | None = None  # the host it was sent for


_ENTRY_COLUMNS = ("row_key, state, meeting_id, error_code, error_message, content_key, sent_fields, first_sent_at, "
                  "last_sent_at, user_id")
#: Columns added to `meetings` since the first journals, with their types: added when missing.
_ADDED_COLUMNS = {"content_key": "TEXT", "sent_fields": "TEXT", "first_sent_at": "REAL", "last_sent_at": "REAL",
                  "user_id": "TEXT"}


@dataclass(frozen=True, slots=True)
class ConsoleRun:
    """One run started from the web console, as the journal keeps it."""

    id: int
    started_at: float
    finished_at: float | None
    file_name: str
    counts: dict[str, int]
    error: str | None
    has_result_sheet: bool


def named_journal(value: str | Path | None) -> Path | None:
    """IMPORTER_JOURNAL as given: empty (or only dots and spaces) means not set."""
    return Path(value) if value is not None and str(value).strip(". ") else None


def user_journal() -> Path:
    """The journal when none is named: in the user's data folder."""
    return Path(user_data_dir("importer", appauthor=False)) / "journal.sqlite3"


def scope_of(base_url: str, key: str) -> str:
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{key}".encode()).hexdigest()[:24]


class Journal:
    """SQLite in WAL mode; one short transaction per state change."""

    def __init__(self, path: Path | str, scope: str) -> None:
        self.path = str(path)
        self.scope = scope
        self._lock: TextIO | None = None
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (only a power cut may lose the last commit).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(meetings)")}
            for name, kind in _ADDED_COLUMNS.items():  # a journal written by an earlier version
                if name not in columns:
                    self._db.execute(f"ALTER TABLE meetings ADD COLUMN {name} {kind}")
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"journal {self.path} cannot be opened: {exc}; pass --journal PATH") from exc

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def lock(self) -> None:
        """Hold the journal for this run alone: two runs sharing it would both send the same rows.

        An OS file lock, so a run killed with -9 releases it with its process.
        """
        if self.path == ":memory:" or fcntl is None:
            return
        handle = open(self.path + ".lock", "a")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise JournalError(f"another importer run is using the journal {self.path}; "
                               "wait for it to finish (two runs at once could send the same rows)") from None
        self._lock = handle

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

    def _write(self, sql: str, params: tuple[object, ...]) -> int:
        try:
            return self._db.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path} cannot be written: {exc}") from exc

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path} cannot be read: {exc}") from exc

    def _word(self, kind: type[_Word], word: str) -> _Word:
        """A state the journal holds, as its enum; a word this version does not know stops the run."""
        try:
            return kind(word)
        except ValueError:
            raise JournalError(f"journal {self.path} holds {word!r}, which this version of the importer does not "
                               "know (was it written by a newer one?); pass --journal PATH to use another") from None

    # --- Canvas courses -------------------------------------------------------------------

    def canvas_courses(self, canvas: str) -> dict[str, CanvasCourse | None]:
        """The courses of a Canvas site known from earlier commands, by every ref that names them."""
        rows = self._read("SELECT ref, course_id, name, sis_course_id, lti_context_id, term_id FROM canvas_courses "
                          "WHERE canvas=?", (canvas,))
        return {ref: CanvasCourse(course_id, name, sis, context, term) for ref, course_id, name, sis, context, term
                in rows}

    def remember_canvas_courses(self, canvas: str, courses: dict[str, CanvasCourse]) -> None:
        """Courses with an lti_context_id, under the ref they were asked by and every other that names them."""
        with self.transaction():
            for ref, course in courses.items():
                refs = {ref, course.id, course_ref(context_id=course.lti_context_id)}
                if course.sis_course_id:
                    refs.add(course_ref(sis_course_id=course.sis_course_id))
                for each in refs:
                    self._write("INSERT OR REPLACE INTO canvas_courses (canvas, ref, course_id, name, sis_course_id, "
                                "lti_context_id, term_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                (canvas, each, course.id, course.name, course.sis_course_id, course.lti_context_id,
                                 course.term_id, time.time()))

    # --- remembered --map ------------------------------------------------------------------

    def header_map(self, headers_key: str) -> dict[str, str]:
        """The --map remembered for sheets with these headers (empty when none is)."""
        rows = self._read("SELECT mapping FROM header_maps WHERE headers_key=?", (headers_key,))
        if not rows:
            return {}
        try:
            mapping = json.loads(rows[0][0])
        except ValueError:
            raise JournalError(f"journal {self.path} holds an unreadable --map; give --map again") from None
        return {str(header): str(column) for header, column in mapping.items()}

    def remember_header_map(self, headers_key: str, mapping: dict[str, str]) -> None:
        self._write("INSERT INTO header_maps (headers_key, mapping, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(headers_key) DO UPDATE SET mapping=excluded.mapping, updated_at=excluded.updated_at",
                    (headers_key, json.dumps(mapping, ensure_ascii=False), time.time()))

    # --- the web console's runs -------------------------------------------------------------

    def start_console_run(self, file_name: str, started_at: float) -> int:
        """Record a console run as it starts; its id names it in the console's links."""
        try:
            cursor = self._db.execute("INSERT INTO console_runs (started_at, file_name) VALUES (?, ?)",
                                      (started_at, file_name))
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path} cannot be written: {exc}") from exc
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_console_run(self, run_id: int, finished_at: float, counts: dict[str, int], error: str | None,
                           result_sheet: bytes | None) -> None:
        self._write("UPDATE console_runs SET finished_at=?, counts=?, error=?, result_sheet=? WHERE id=?",
                    (finished_at, json.dumps(counts), error, result_sheet, run_id))

    def console_runs(self, limit: int = 50) -> list[ConsoleRun]:
        """The latest console runs, newest first."""
        rows = self._read("SELECT id, started_at, finished_at, file_name, counts, error, result_sheet IS NOT NULL "
                          "FROM console_runs ORDER BY id DESC LIMIT ?", (limit,))
        return [self._console_run(row) for row in rows]

    def console_run(self, run_id: int) -> ConsoleRun | None:
        rows = self._read("SELECT id, started_at, finished_at, file_name, counts, error, result_sheet IS NOT NULL "
                          "FROM console_runs WHERE id=?", (run_id,))
        return self._console_run(rows[0]) if rows else None

    def console_result_sheet(self, run_id: int) -> bytes | None:
        rows = self._read("SELECT result_sheet FROM console_runs WHERE id=?", (run_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def _console_run(self, row: tuple[Any, ...]) -> ConsoleRun:
        run_id, started_at, finished_at, file_name, counts, error, has_sheet = row
        try:
            loaded = json.loads(counts)
        except ValueError:
            loaded = {}
        return ConsoleRun(run_id, started_at, finished_at, file_name,
                          {str(status): int(rows) for status, rows in loaded.items()}, error, bool(has_sheet))

    # --- meetings -------------------------------------------------------------------------

    def recover(self) -> int:
        """Rows left `sending` by a process that died mid-request become `unknown`."""
        return self._write(
            "UPDATE meetings SET state=?, error_code='lost', "
            "error_message='the previous run stopped while this request was in flight', updated_at=? "
            "WHERE scope=? AND state=?", (MeetingState.UNKNOWN, time.time(), self.scope, MeetingState.SENDING))

    def meetings(self) -> dict[str, MeetingEntry]:
        """Every meeting of this scope, by row_key."""
        rows = self._read(f"SELECT {_ENTRY_COLUMNS} FROM meetings WHERE scope=?", (self.scope,))
        return {key: MeetingEntry(key, self._word(MeetingState, state), *rest) for key, state, *rest in rows}

    def mark_sending(self, row_key: str, content_key: str, row_number: int, sent_fields: str | None = None,
                     user_id: str | None = None) -> bool:
        """Record that a create is about to be sent, with the fields it sends (JSON of its meetingInfo)
        and its host. False when the journal already shows the meeting sent or made (a second guard
        behind the plan): then nothing may be sent. A meeting `undo --delete` deleted is made anew."""
        now = time.time()
        return self._write(
            "INSERT INTO meetings (scope, row_key, state, row_number, attempts, updated_at, content_key, sent_fields, "
            "first_sent_at, last_sent_at, user_id) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, row_key) DO UPDATE SET "
            "state=excluded.state, row_number=excluded.row_number, attempts=attempts+1, "
            "updated_at=excluded.updated_at, error_code=NULL, error_message=NULL, "
            "content_key=excluded.content_key, sent_fields=excluded.sent_fields, user_id=excluded.user_id, "
            "last_sent_at=excluded.last_sent_at, "
            "meeting_id=CASE WHEN meetings.state=? THEN NULL ELSE meetings.meeting_id END, "
            "first_sent_at=CASE WHEN meetings.state=? OR meetings.first_sent_at IS NULL THEN excluded.first_sent_at "
            "ELSE meetings.first_sent_at END WHERE meetings.state IN (?, ?, ?)",
            (self.scope, row_key, MeetingState.SENDING, row_number, now, content_key, sent_fields, now, now, user_id,
             MeetingState.DELETED, MeetingState.DELETED,
             MeetingState.FAILED, MeetingState.UNKNOWN, MeetingState.DELETED)) == 1

    def record_meeting(self, row_key: str, state: MeetingState, meeting_id: str | None = None,
                       error_code: str | None = None, error_message: str | None = None) -> None:
        self._write(
            "UPDATE meetings SET state=?, meeting_id=COALESCE(?, meeting_id), error_code=?, "
            "error_message=?, updated_at=? WHERE scope=? AND row_key=?",
            (state, meeting_id, error_code, error_message, time.time(), self.scope, row_key))

    def record_found(self, row_key: str, meeting_id: str, content_key: str | None, sent_fields: str | None,
                     detail: str) -> None:
        """A lost answer resolved: the meeting was found in Zoom (it is then linked like a 406's)."""
        with self.transaction():
            self._write(
                "INSERT INTO meetings (scope, row_key, state, meeting_id, updated_at, content_key, sent_fields) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, row_key) DO UPDATE SET state=excluded.state, "
                "meeting_id=excluded.meeting_id, error_code=NULL, error_message=NULL, updated_at=excluded.updated_at, "
                "content_key=COALESCE(meetings.content_key, excluded.content_key), "
                "sent_fields=COALESCE(meetings.sent_fields, excluded.sent_fields)",
                (self.scope, row_key, MeetingState.NOT_ASSOCIATED, meeting_id, time.time(), content_key, sent_fields))
            self.record_event("found", detail, row_key=row_key, meeting_id=meeting_id)

    def record_absent(self, row_key: str, detail: str) -> None:
        """A lost answer resolved: no meeting was made, so the row may be sent again."""
        with self.transaction():
            self._write("UPDATE meetings SET state=?, error_code='absent', error_message=?, updated_at=? "
                        "WHERE scope=? AND row_key=? AND state=?",
                        (MeetingState.FAILED, detail, time.time(), self.scope, row_key, MeetingState.UNKNOWN))
            self.record_event("absent", detail, row_key=row_key)

    def record_update(self, meeting_id: str, sent_fields: str, content_key: str, detail: str) -> None:
        """A meeting changed through Zoom's REST API: what made it is now these fields."""
        with self.transaction():
            self._write("UPDATE meetings SET sent_fields=?, content_key=?, updated_at=? WHERE scope=? AND meeting_id=?",
                        (sent_fields, content_key, time.time(), self.scope, meeting_id))
            self.record_event("updated", detail, meeting_id=meeting_id)

    def mark_deleted(self, meeting_id: str) -> None:
        """`undo --delete` deleted the meeting: a later run of its row creates it anew."""
        with self.transaction():
            self._write("UPDATE meetings SET state=?, updated_at=? WHERE scope=? AND meeting_id=?",
                        (MeetingState.DELETED, time.time(), self.scope, meeting_id))
            self.record_event("deleted", None, meeting_id=meeting_id)

    def deleted_meeting_ids(self) -> frozenset[str]:
        rows = self._read("SELECT DISTINCT meeting_id FROM events WHERE scope=? AND event='deleted'", (self.scope,))
        return frozenset(row[0] for row in rows if row[0])

    def record_event(self, event: str, detail: str | None, *, row_key: str | None = None,
                     meeting_id: str | None = None) -> None:
        self._write("INSERT INTO events (scope, row_key, meeting_id, event, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
                    (self.scope, row_key, meeting_id, event, detail, time.time()))

    def events(self) -> list[tuple[str | None, str | None, str, str | None]]:
        """(row_key, meeting_id, event, detail) of this scope, oldest first."""
        rows = self._read("SELECT row_key, meeting_id, event, detail FROM events WHERE scope=? ORDER BY rowid",
                          (self.scope,))
        return [(row_key, meeting_id, event, detail) for row_key, meeting_id, event, detail in rows]

    # --- associations ----------------------------------------------------------------------

    def association(self, meeting_id: str, context_id: str, domain: str) -> LinkedBy | None:
        """How the meeting was linked to this course, or None when it is not known to be."""
        found = self._read(
            "SELECT via FROM associations WHERE scope=? AND meeting_id=? AND context_id=? AND domain=? "
            "AND state=?", (self.scope, meeting_id, context_id, domain, LinkState.ASSOCIATED))
        return self._word(LinkedBy, found[0][0]) if found else None

    def associations(self, state: LinkState = LinkState.ASSOCIATED) -> dict[tuple[str, str, str], str | None]:
        """(meeting_id, context_id, domain) -> course_id of every association of this scope in `state`."""
        rows = self._read("SELECT meeting_id, context_id, domain, course_id FROM associations "
                          "WHERE scope=? AND state=?", (self.scope, state))
        return {(meeting_id, context_id, domain): course_id for meeting_id, context_id, domain, course_id in rows}

    def remove_association(self, meeting_id: str, context_id: str, domain: str) -> None:
        """`undo` removed the meeting from the course (bulkDisassociate)."""
        with self.transaction():
            # Recorded even for an association this journal never saw made (another machine's run): a
            # later run must link it again, whatever the sheet says.
            self._write("INSERT INTO associations (scope, meeting_id, context_id, domain, state, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, meeting_id, context_id, domain) DO UPDATE SET "
                        "state=excluded.state, updated_at=excluded.updated_at",
                        (self.scope, meeting_id, context_id, domain, LinkState.REMOVED, time.time()))
            self.record_event("removed", f"{context_id} {domain}", meeting_id=meeting_id)

    def was_removed(self, meeting_id: str, context_id: str, domain: str) -> bool:
        """`undo` removed the meeting from this course (and nothing linked it again since)."""
        return bool(self._read("SELECT 1 FROM associations WHERE scope=? AND meeting_id=? AND context_id=? AND "
                               "domain=? AND state=?", (self.scope, meeting_id, context_id, domain, LinkState.REMOVED)))

    def record_association(self, meeting_id: str, context_id: str, domain: str, course_id: str | None,
                           state: LinkState, error_code: str | None = None,
                           error_message: str | None = None, via: LinkedBy = LinkedBy.BULK_IMPORT) -> None:
        self._write(
            "INSERT INTO associations (scope, meeting_id, context_id, domain, course_id, state, via, "
            "error_code, error_message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (scope, meeting_id, context_id, domain) DO UPDATE SET course_id=excluded.course_id, "
            "state=excluded.state, via=excluded.via, error_code=excluded.error_code, "
            "error_message=excluded.error_message, updated_at=excluded.updated_at",
            (self.scope, meeting_id, context_id, domain, course_id, state, via, error_code, error_message,
             time.time()))
