"""Look a lost answer up in Zoom: does the meeting a row asked for exist? (DESIGN.md "Correct,
resolve and undo with the Zoom REST API".)

A create whose answer was lost may or may not have made its meeting. Zoom's list of the host's
scheduled meetings (`GET /users/{userId}/meetings`, API.md) settles it: the meetings with the
row's topic, type, start time and duration, created since the row was first sent (less a
margin for the two clocks), and not already known to the journal as another row's.

    one match                      the row's meeting: linked through bulkImport, not created
    none, the whole list read      no meeting was made: the row is sent again
    several                        the row stays unknown, naming them (a request went twice)
    the list could not be read     the row stays unknown, saying why

Sending again is the step that could make a second meeting, so "none" is read narrowly: a
meeting with the row's topic made about when it was sent (an hour either way) or with its start
keeps the row unknown (`near-match`), as does a row changed since it was sent (it is looked up
by the fields that were sent, as the journal keeps them; without them, "none" is not trusted).
A meeting two lost rows match alike is neither's. Rows are looked up once their latest send is
old enough that no request can still be running (sending.py).

"None" is trusted only where Zoom would list the meeting if it existed: Zoom lists scheduled
meetings that have not ended, so a row whose meeting has ended, or whose type is not
scheduled, stays unknown rather than risk a second meeting.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .lifecycle import Lookup
from .models import CreateRequest, Outcome
from .statuses import UNKNOWN_STEP, Status
from .zoom import ZoomClient, ZoomError, ZoomMeeting

#: Zoom's created_at and this machine's clock may disagree by this much (API.md: allow for skew).
CLOCK_SKEW = timedelta(minutes=2)
#: A meeting with the row's topic made this long before its send may still be its meeting (a fast clock).
NEAR_WINDOW = timedelta(hours=1)
#: "None found" is trusted only for a meeting that is still this far from its end: Zoom lists
#: scheduled meetings until they end.
STILL_LISTED_MARGIN = timedelta(minutes=15)
#: A start time without an offset or timezone is in the host's zone: at most this far from UTC.
WIDEST_OFFSET = timedelta(hours=14)
#: Meeting types Zoom's "scheduled" list shows: 2 (scheduled) and 8 (recurring, fixed time).
LISTED_TYPES = (2, 8)
#: Hosts whose lists are read at once (each list is one or a few Medium-rate calls).
HOSTS_AT_ONCE = 4

SEVERAL_STEP = ("keep one: put its id in this row's meeting_id and delete the others in Zoom, "
                "then run the sheet again")


@dataclass(frozen=True)
class Lost:
    """A row to look up: the create that was sent (its host and fields, as the journal kept them),
    when it was first sent, and whether "none found" may be trusted: only when what was sent is
    known (a row edited since, looked up by its new fields, could miss its meeting)."""

    request: CreateRequest
    sent_at: float | None
    sent_known: bool


class Resolver:
    """Looks rows up in Zoom, reading each host's list once per `round()`."""

    def __init__(self, client: ZoomClient, known_ids: Iterable[str] = (), now: datetime | None = None) -> None:
        self.client = client
        #: Meeting ids the journal or the sheet knows as some row's (and those found in this run): never
        #: another row's.
        self.taken: set[str] = set(known_ids)
        self._now = now
        self._lists: dict[str, list[ZoomMeeting] | ZoomError] = {}

    def round(self, known_ids: Iterable[str] = ()) -> None:
        """Forget the lists read (rows sent again since may have made meetings), and add the meeting
        ids now known to be rows' (this run's creates)."""
        self._lists.clear()
        self.taken.update(known_ids)

    async def look_up(self, rows: Sequence[Lost]) -> list[Lookup]:
        """Each row looked up; in order. A meeting two rows could claim is neither's: both stay unknown."""
        hosts: dict[str, str] = {}  # in lower case -> as the first row spells it (a Zoom user id is case-sensitive)
        for row in rows:
            hosts.setdefault(row.request.user_id.lower(), row.request.user_id)
        gate = asyncio.Semaphore(HOSTS_AT_ONCE)

        async def read(host: str, spelled: str) -> None:
            async with gate:
                try:
                    self._lists[host] = await self.client.list_meetings(spelled)
                except ZoomError as exc:
                    self._lists[host] = exc

        await asyncio.gather(*(read(host, spelled) for host, spelled in hosts.items() if host not in self._lists))
        candidates = [self._candidates(row) for row in rows]
        claims = Counter(meeting.id for found in candidates if isinstance(found, list) for meeting in found)
        decided = [self._decide(row, found, claims) for row, found in zip(rows, candidates, strict=True)]
        self.taken.update(lookup.meeting_id for lookup in decided if lookup.meeting_id)
        return decided

    def _listed(self, row: Lost) -> list[ZoomMeeting] | ZoomError:
        listed = self._lists[row.request.user_id.lower()]
        return listed if isinstance(listed, ZoomError) else [m for m in listed if m.id not in self.taken]

    def _candidates(self, row: Lost) -> list[ZoomMeeting] | ZoomError:
        listed = self._listed(row)
        if isinstance(listed, ZoomError):
            return listed
        since = _since(row.sent_at)
        return [meeting for meeting in listed if matches(row.request, meeting, since)]

    def _decide(self, row: Lost, found: list[ZoomMeeting] | ZoomError, claims: Counter[str]) -> Lookup:
        request = row.request
        if isinstance(found, ZoomError):
            return _unknown("lookup-failed", f"its answer was lost, and Zoom's list of {request.user_id}'s meetings "
                                             f"could not be read to find it: {found}")
        if len(found) == 1 and claims[found[0].id] == 1:
            meeting = found[0]
            created = f", created {meeting.created_at:%Y-%m-%d %H:%M} UTC" if meeting.created_at else ""
            return Lookup(meeting.id, detail=f"its answer was lost; found in Zoom (meeting {meeting.id}{created}): "
                                             "linked to the course, not created again")
        if found:
            ids = ", ".join(meeting.id for meeting in found)
            if len(found) == 1:
                return _unknown("several-found", f"its answer was lost, and meeting {ids} in Zoom matches this row "
                                                 "and another lost row alike", SEVERAL_STEP)
            return _unknown("several-found", f"its answer was lost, and {len(found)} meetings in Zoom match this "
                                             f"row: {ids}", SEVERAL_STEP)
        listed = self._listed(row)
        assert not isinstance(listed, ZoomError)
        near = [meeting for meeting in listed if nearly(request, meeting, _since(row.sent_at))]
        if near:  # not this row's for sure, but sending again could make a second one
            ids = ", ".join(meeting.id for meeting in near)
            return _unknown("near-match", f"its answer was lost, and Zoom holds a meeting with its topic that differs "
                                          f"in start, duration or when it was made: {ids}",
                            "check it in Zoom: if it is this row's, put its id in meeting_id and run again; if not, "
                            "run again with --retry-unknown")
        if not row.sent_known:
            return _unknown("not-found", "its answer was lost, and Zoom holds no meeting like this row; but the row "
                                         "was changed since it was sent (or the journal here does not know what was "
                                         "sent), so its meeting may exist under the fields it was sent with")
        reason = unlisted_reason(request, self._now or datetime.now(UTC))
        if reason:
            return _unknown("not-listed", f"its answer was lost, and Zoom's list does not show it; but {reason}, "
                                          "so it may exist all the same")
        return Lookup(absent=True, detail=f"its answer was lost; Zoom has no such meeting ({len(listed)} scheduled "
                                          f"meeting(s) of {request.user_id} read): sent again")


def _unknown(code: str, message: str, step: str = UNKNOWN_STEP) -> Lookup:
    return Lookup(outcome=Outcome(Status.UNKNOWN, None, code, message, step))


def _since(sent_at: float | None) -> datetime | None:
    """The earliest created_at of a meeting the row made: its first send, to the second, less the skew."""
    if sent_at is None:
        return None
    return datetime.fromtimestamp(int(sent_at), UTC) - CLOCK_SKEW


def same_topic(request: CreateRequest, meeting: ZoomMeeting) -> bool:
    """The topics agree, spaces and case aside."""
    return _words(meeting.topic) == _words(str(request.meeting_info.get("topic", "")))


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def nearly(request: CreateRequest, meeting: ZoomMeeting, since: datetime | None) -> bool:
    """The listed meeting has the row's topic and its start, or was made about when the row was sent
    (an hour either way: the clocks may disagree by more than `CLOCK_SKEW`): not "none"."""
    if not same_topic(request, meeting):
        return False
    if meeting.created_at is None or since is None:
        return True
    if meeting.created_at >= since - NEAR_WINDOW:
        return True
    return matches(request, meeting, None)


def matches(request: CreateRequest, meeting: ZoomMeeting, since: datetime | None) -> bool:
    """The listed meeting is what the row would have made."""
    info = request.meeting_info
    if not same_topic(request, meeting):
        return False
    if "type" in info and meeting.type is not None and meeting.type != info["type"]:
        return False
    if "duration" in info and meeting.duration is not None and meeting.duration != info["duration"]:
        return False
    if since is not None and meeting.created_at is not None and meeting.created_at < since:
        return False
    start, zone = row_start(info)
    if start is None or meeting.start_time is None:
        return True
    listed = meeting.start_time.replace(second=0)
    if listed in (start.replace(second=0), _clock_time_as_utc(info)):
        return True
    # A recurring meeting may be listed by a later occurrence: the same local time, a later day.
    local = ZoneInfo(zone) if zone else UTC
    return (info.get("type") == 8 and meeting.start_time > start
            and meeting.start_time.astimezone(local).time() == start.astimezone(local).time())


def row_start(info: dict[str, object]) -> tuple[datetime | None, str | None]:
    """The row's start in UTC and the zone it was written in; (None, None) when the host's zone,
    unknown here, decides it."""
    text = info.get("start_time")
    if not isinstance(text, str):
        return None, None
    zone = info.get("timezone")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, None
    if moment.tzinfo is not None:
        return moment.astimezone(UTC), zone if isinstance(zone, str) else None
    if not isinstance(zone, str):
        return None, None
    try:
        return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), zone
    except (ZoneInfoNotFoundError, ValueError):
        return None, None


def unlisted_reason(request: CreateRequest, now: datetime) -> str | None:
    """Why Zoom's list might not show the row's meeting even if it exists; None when it would."""
    info = request.meeting_info
    kind = info.get("type", 2)
    if kind not in LISTED_TYPES:
        return f"Zoom lists only scheduled meetings, and this is a type {kind} meeting"
    start, _ = row_start(info)
    if start is None:
        naive = _naive_start(info)
        if naive is None:
            return "its start time is not known here"
        start = naive - WIDEST_OFFSET  # the earliest it can be, whatever the host's zone
    if kind == 8:
        end = _series_end(info)
        if end is not None and end > now + STILL_LISTED_MARGIN:
            return None
        if start > now + STILL_LISTED_MARGIN:
            return None
        return "Zoom lists meetings only until they end, and this series may have ended"
    if start > now + STILL_LISTED_MARGIN:
        return None
    return "Zoom lists meetings only until they end, and this one's start time has passed"


def _clock_time_as_utc(info: dict[str, object]) -> datetime | None:
    """The row's start as written, read as UTC: how a list that echoes the local time with a Z shows it."""
    naive = _naive_start(info)
    return naive.replace(second=0) if naive is not None else None


def _naive_start(info: dict[str, object]) -> datetime | None:
    text = info.get("start_time")
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if isinstance(text, str) else None
    except ValueError:
        return None


def _series_end(info: dict[str, object]) -> datetime | None:
    recurrence = info.get("recurrence")
    text = recurrence.get("end_date_time") if isinstance(recurrence, dict) else None
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
