"""The simulator's ledger: what the fake LTI Pro side believes exists (and the fake Canvas's and
the fake Zoom REST API's calls, and what Zoom REST changed: updates, deletions).

Tests judge the importer by this ledger (how many meetings were really created, which
courses they ended up in, which requests were sent), not by what the importer reports.
The server runs in its own thread, so every access goes through one lock.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any

#: First meeting id handed out: 11 digits like real Zoom ids ("91970000001").
FIRST_MEETING_ID = 91970000000
#: Zoom's "recurring, fixed time" meeting type: the only one with a recurrence.
RECURRING_TYPE = 8


def _course_key(item: dict[str, Any]) -> tuple[str, str, str]:
    """A meeting belongs to a course once: courseId is an attribute, not identity."""
    return (str(item["meetingId"]), str(item["contextId"]), str(item["domain"]))


def _host_key(user_id: str) -> str:
    """Zoom matches a host's e-mail case-insensitively."""
    return user_id.casefold()


def merged_meeting_info(info: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """meetingInfo after a Zoom PATCH of ``fields``: top-level keys are replaced, except
    "settings", merged key by key; a meeting no longer of type 8 drops its recurrence unless
    the PATCH sends one (and validation then refuses it)."""
    merged = copy.deepcopy(info)
    for name, value in fields.items():
        if name == "settings" and isinstance(value, dict) and isinstance(merged.get("settings"), dict):
            merged["settings"].update(copy.deepcopy(value))
        else:
            merged[name] = copy.deepcopy(value)
    if merged.get("type") != RECURRING_TYPE and "recurrence" not in fields:
        merged.pop("recurrence", None)
    return merged


@dataclass
class _ZoomToken:
    """An issued Zoom token, known by its hash alone."""

    expires_at: float
    uses: int = 0


class SimState:
    """Thread-safe record of meetings, associations and requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Ids are never reused, even across reset(): a stale id held by a client
        # must not silently name a different meeting.
        self._ids = itertools.count(FIRST_MEETING_ID + 1)
        self.meetings: list[dict[str, Any]] = []
        self.associations: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.bulk_calls: list[int] = []
        self.flaky_attempts: dict[str, int] = {}
        self._clear_canvas()
        self._clear_zoom()
        self._clear_indexes()

    def _clear_canvas(self) -> None:
        """The fake Canvas's side: its calls (never a token) and the lti_context_ids launches made."""
        self.canvas_requests: list[dict[str, Any]] = []
        self.canvas_generated: list[dict[str, Any]] = []
        self._canvas_calls = 0
        #: course id -> made lti_context_id, and back.
        self._canvas_made: dict[int, str] = {}
        self._canvas_made_for: dict[str, int] = {}

    def _clear_zoom(self) -> None:
        """The fake Zoom REST API's side: its calls, the updates and deletions they made, and
        the tokens it issued, kept as SHA-256 hashes only (never a token, a client secret or
        an Authorization header)."""
        self.zoom_requests: list[dict[str, Any]] = []
        #: Each successful PATCH: {"id", "fields" (the body), "at" (clock)}.
        self.zoom_updates: list[dict[str, Any]] = []
        #: Meetings DELETEd through Zoom REST, as they were, plus "deleted_at".
        self.deleted_meetings: list[dict[str, Any]] = []
        self.zoom_tokens_issued = 0
        self._zoom_calls = 0
        #: sha256 hex of a token -> its expiry (clock seconds) and the REST calls it made.
        self._zoom_tokens: dict[str, _ZoomToken] = {}
        self._update_counts: dict[str, int] = {}
        #: userId -> the clock of each successful update of that host's meetings (daily cap).
        self._updated_at: dict[str, list[float]] = {}

    def _clear_indexes(self) -> None:
        """Indexes over the lists above, so each request costs O(1), not O(ledger).

        They hold nothing the lists don't: snapshot() and the tests see only the lists.
        """
        #: _course_key of every association.
        self._present: set[tuple[str, str, str]] = set()
        #: Ids of every meeting, and a frozen copy handed out until the next create.
        self._meeting_ids: set[str] = set()
        self._meeting_ids_view: frozenset[str] | None = frozenset()
        #: userId -> created_at of each of that host's meetings (deleted ones too: they were made).
        self._created_at: dict[str, list[float]] = {}
        #: id -> the meeting in self.meetings, and casefolded userId -> {id: meeting}.
        self._meetings_by_id: dict[str, dict[str, Any]] = {}
        self._host_meetings: dict[str, dict[str, dict[str, Any]]] = {}

    # -- writes (called from the server thread) ---------------------------------

    def create_meeting(
        self,
        user_id: str,
        meeting_info: dict[str, Any],
        context_id: str,
        domain: str,
        course_id: str | None,
        created_at: float,
    ) -> str:
        """Record a new meeting and return its id (a string, as in the JSON answers)."""
        with self._lock:
            meeting_id = str(next(self._ids))
            meeting = {
                "id": meeting_id,
                "userId": user_id,
                "meetingInfo": copy.deepcopy(meeting_info),
                "contextId": context_id,
                "domain": domain,
                "courseId": course_id,
                "created_at": created_at,
            }
            self.meetings.append(meeting)
            self._meetings_by_id[meeting_id] = meeting
            self._host_meetings.setdefault(_host_key(user_id), {})[meeting_id] = meeting
            self._meeting_ids.add(meeting_id)
            self._meeting_ids_view = None
            self._created_at.setdefault(user_id, []).append(created_at)
            return meeting_id

    def associate(self, items: list[dict[str, Any]], via: str) -> int:
        """Record associations; already-present ones are skipped. Returns how many were new."""
        with self._lock:
            present = self._present
            added = 0
            for item in items:
                key = _course_key(item)
                if key in present:
                    continue
                present.add(key)
                self.associations.append(
                    {
                        "meetingId": key[0],
                        "contextId": key[1],
                        "domain": key[2],
                        "courseId": item.get("courseId"),
                        "via": via,
                    }
                )
                added += 1
            return added

    def disassociate(self, items: list[dict[str, Any]]) -> int:
        """Remove associations; returns how many existed."""
        with self._lock:
            doomed = {_course_key(item) for item in items}
            if not doomed & self._present:
                return 0
            kept = [a for a in self.associations if _course_key(a) not in doomed]
            removed = len(self.associations) - len(kept)
            self.associations = kept
            self._present -= doomed
            return removed

    def update_meeting(self, meeting_id: str, fields: dict[str, Any], at: float) -> bool:
        """A Zoom PATCH: merge ``fields`` into the meeting's meetingInfo (merged_meeting_info),
        record it and count it toward the host's daily cap. False for no such meeting."""
        with self._lock:
            meeting = self._meetings_by_id.get(meeting_id)
            if meeting is None:
                return False
            meeting["meetingInfo"] = merged_meeting_info(meeting["meetingInfo"], fields)
            self.zoom_updates.append({"id": meeting_id, "fields": copy.deepcopy(fields), "at": at})
            self._update_counts[meeting_id] = self._update_counts.get(meeting_id, 0) + 1
            self._updated_at.setdefault(meeting["userId"], []).append(at)
            return True

    def delete_meeting(self, meeting_id: str, at: float | None = None) -> bool:
        """A Zoom DELETE: the meeting leaves ``meetings`` for ``deleted_meetings``. Its
        associations stay as they are (LTI Pro's business). False for no such meeting."""
        with self._lock:
            meeting = self._meetings_by_id.pop(meeting_id, None)
            if meeting is None:
                return False
            self.meetings = [m for m in self.meetings if m is not meeting]
            host = self._host_meetings.get(_host_key(meeting["userId"]), {})
            host.pop(meeting_id, None)
            self._meeting_ids.discard(meeting_id)
            self._meeting_ids_view = None
            self.deleted_meetings.append({**meeting, "deleted_at": at})
            return True

    def flaky_attempt(self, context_id: str) -> int:
        """Count one association attempt to a flaky course; returns its 1-based number."""
        with self._lock:
            attempt = self.flaky_attempts.get(context_id, 0) + 1
            self.flaky_attempts[context_id] = attempt
            return attempt

    def record_request(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(copy.deepcopy(record))

    def record_bulk_call(self, item_count: int) -> None:
        with self._lock:
            self.bulk_calls.append(item_count)

    def next_canvas_call(self) -> int:
        """The 1-based number of this Canvas call since the last reset()."""
        with self._lock:
            self._canvas_calls += 1
            return self._canvas_calls

    def record_canvas_request(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.canvas_requests.append(copy.deepcopy(record))

    def next_zoom_call(self) -> int:
        """The 1-based number of this Zoom REST call (not token call) since the last reset()."""
        with self._lock:
            self._zoom_calls += 1
            return self._zoom_calls

    def record_zoom_request(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.zoom_requests.append(copy.deepcopy(record))

    def issue_zoom_token(self, token_hash: str, expires_at: float) -> None:
        """Remember a token by its hash only."""
        with self._lock:
            self._zoom_tokens[token_hash] = _ZoomToken(expires_at)
            self.zoom_tokens_issued += 1

    def use_zoom_token(self, token_hash: str, now: float, max_uses: int) -> str:
        """Spend one REST call of a token: "ok", or why it is refused ("unknown", "expired",
        "used-up"; refused calls spend nothing). ``max_uses`` 0 = unlimited."""
        with self._lock:
            token = self._zoom_tokens.get(token_hash)
            if token is None:
                return "unknown"
            if now >= token.expires_at:
                return "expired"
            if max_uses > 0 and token.uses >= max_uses:
                return "used-up"
            token.uses += 1
            return "ok"

    def expire_zoom_tokens(self) -> int:
        """Make every issued token invalid; returns how many there were."""
        with self._lock:
            count = len(self._zoom_tokens)
            self._zoom_tokens = {}
            return count

    def make_canvas_context_id(self, course_id: int, context_id: str) -> bool:
        """A launch made a course's lti_context_id; False if the course already had one made."""
        with self._lock:
            if course_id in self._canvas_made:
                return False
            self._canvas_made[course_id] = context_id
            self._canvas_made_for[context_id] = course_id
            self.canvas_generated.append({"course_id": course_id, "lti_context_id": context_id})
            return True

    # -- reads ---------------------------------------------------------------------

    def meeting_ids(self) -> frozenset[str]:
        """Every meeting id (a frozen copy, rebuilt only after a create)."""
        with self._lock:
            if self._meeting_ids_view is None:
                self._meeting_ids_view = frozenset(self._meeting_ids)
            return self._meeting_ids_view

    def has_meeting(self, meeting_id: str) -> bool:
        with self._lock:
            return meeting_id in self._meeting_ids

    def meeting(self, meeting_id: str) -> dict[str, Any] | None:
        """One meeting (a deep copy), or None if there is none (or it was deleted)."""
        with self._lock:
            meeting = self._meetings_by_id.get(meeting_id)
            return copy.deepcopy(meeting) if meeting is not None else None

    def host_meetings(self, user_id: str) -> list[dict[str, Any]]:
        """A host's meetings (deep copies; the userId matched case-insensitively), by
        created_at, then id."""
        with self._lock:
            meetings = copy.deepcopy(list(self._host_meetings.get(_host_key(user_id), {}).values()))
        return sorted(meetings, key=lambda m: (m["created_at"], int(m["id"])))

    def update_count(self, meeting_id: str) -> int:
        """How many Zoom PATCHes were applied to this meeting since the last reset()."""
        with self._lock:
            return self._update_counts.get(meeting_id, 0)

    def canvas_context_id(self, course_id: int) -> str | None:
        """The lti_context_id a launch made for this course, if any."""
        with self._lock:
            return self._canvas_made.get(course_id)

    def canvas_course_for_context(self, context_id: str) -> int | None:
        with self._lock:
            return self._canvas_made_for.get(context_id)

    def creates_between(self, user_id: str, start: float, end: float) -> int:
        """Meetings created by one host in [start, end): the daily cap counts these."""
        with self._lock:
            return sum(1 for t in self._created_at.get(user_id, ()) if start <= t < end)

    def updates_between(self, user_id: str, start: float, end: float) -> int:
        """Zoom PATCHes of one host's meetings in [start, end)."""
        with self._lock:
            return sum(1 for t in self._updated_at.get(user_id, ()) if start <= t < end)

    def daily_changes(self, user_id: str, start: float, end: float) -> int:
        """Creates and updates of one host in [start, end): what Zoom's daily cap counts."""
        return self.creates_between(user_id, start, end) + self.updates_between(user_id, start, end)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy, safe to inspect while the server keeps running."""
        with self._lock:
            return copy.deepcopy(
                {
                    "meetings": self.meetings,
                    "associations": self.associations,
                    "requests": self.requests,
                    "bulk_calls": self.bulk_calls,
                    "flaky_attempts": self.flaky_attempts,
                    "canvas_requests": self.canvas_requests,
                    "canvas_generated": self.canvas_generated,
                    "zoom_requests": self.zoom_requests,
                    "zoom_updates": self.zoom_updates,
                    "deleted_meetings": self.deleted_meetings,
                    "zoom_tokens_issued": self.zoom_tokens_issued,
                }
            )

    def duplicate_meetings(self) -> list[list[dict[str, Any]]]:
        """Groups of meetings with the same host and meetingInfo: what retries must not make."""
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for meeting in self.snapshot()["meetings"]:
            info = json.dumps(meeting["meetingInfo"], sort_keys=True)
            groups.setdefault((meeting["userId"], info), []).append(meeting)
        return [group for group in groups.values() if len(group) > 1]

    def reset(self) -> None:
        """Forget everything except the id counter (see __init__)."""
        with self._lock:
            self.meetings = []
            self.associations = []
            self.requests = []
            self.bulk_calls = []
            self.flaky_attempts = {}
            self._clear_canvas()
            self._clear_zoom()
            self._clear_indexes()
