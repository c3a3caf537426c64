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

Sending again is the step that could make a second meeting, so "none" is read widely: a
meeting with the row's topic created since the row was sent, whatever its start and duration
say (Zoom's list may write a start another way than the row did), is not "none". One such
meeting is the row's; several keep the row unknown.

"None" is trusted only where Zoom would list the meeting if it existed: Zoom lists scheduled
meetings that have not ended, so a row whose meeting has ended, or whose type is not
scheduled, stays unknown rather than risk a second meeting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .lifecycle import Lookup
from .models import CreateRequest, Outcome
from .statuses import UNKNOWN_STEP, Status
from .zoom import ZoomClient, ZoomError, ZoomMeeting

#: Zoom's created_at and this machine's clock may disagree by this much (API.md: allow for skew).
CLOCK_SKEW = timedelta(minutes=2)
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


class Resolver:
    """Looks rows up in Zoom, reading each host's list once per `round()`."""

    def __init__(self, client: ZoomClient, known_ids: Iterable[str] = (), now: datetime | None = None) -> None:
        self.client = client
        #: Meeting ids the journal knows as some row's (and those claimed in this run): never another row's.
        self.taken: set[str] = set(known_ids)
        self._now = now
        self._lists: dict[str, list[ZoomMeeting] | ZoomError] = {}

    def round(self, known_ids: Iterable[str] = ()) -> None:
        """Forget the lists read (rows sent again since may have made meetings), and add the meeting
        ids now known to be rows' (this run's creates)."""
        self._lists.clear()
        self.taken.update(known_ids)

    async def look_up(self, requests: Sequence[tuple[CreateRequest, float | None]]) -> list[Lookup]:
        """Each (row, when it was first sent) looked up; in order."""
        hosts = sorted({request.user_id.lower() for request, _ in requests} - set(self._lists))
        gate = asyncio.Semaphore(HOSTS_AT_ONCE)

        async def read(host: str) -> None:
            async with gate:
                try:
                    self._lists[host] = await self.client.list_meetings(host)
                except ZoomError as exc:
                    self._lists[host] = exc

        await asyncio.gather(*(read(host) for host in hosts))
        return [self._decide(request, sent_at) for request, sent_at in requests]

    def _decide(self, request: CreateRequest, sent_at: float | None) -> Lookup:
        listed = self._lists[request.user_id.lower()]
        if isinstance(listed, ZoomError):
            return Lookup(outcome=Outcome(Status.UNKNOWN, None, "lookup-failed",
                                          f"its answer was lost, and Zoom's list of {request.user_id}'s meetings "
                                          f"could not be read to find it: {listed}", UNKNOWN_STEP))
        since = _since(sent_at)
        free = [meeting for meeting in listed if meeting.id not in self.taken]
        found = [meeting for meeting in free if matches(request, meeting, since)]
        if not found and since is not None:  # the same topic, made since the row was sent: it is not "none"
            found = [meeting for meeting in free if same_topic(request, meeting) and meeting.created_at is not None
                     and meeting.created_at >= since]
        if len(found) == 1:
            meeting = found[0]
            self.taken.add(meeting.id)
            created = f", created {meeting.created_at:%Y-%m-%d %H:%M} UTC" if meeting.created_at else ""
            return Lookup(meeting.id, detail=f"its answer was lost; found in Zoom (meeting {meeting.id}{created}): "
                                             "linked to the course, not created again")
        if found:
            ids = ", ".join(meeting.id for meeting in found)
            return Lookup(outcome=Outcome(
                Status.UNKNOWN, None, "several-found",
                f"its answer was lost, and {len(found)} meetings in Zoom match this row: {ids}", SEVERAL_STEP))
        reason = unlisted_reason(request, self._now or datetime.now(UTC))
        if reason:
            return Lookup(outcome=Outcome(Status.UNKNOWN, None, "not-listed",
                                          f"its answer was lost, and Zoom's list does not show it; but {reason}, "
                                          "so it may exist all the same", UNKNOWN_STEP))
        return Lookup(absent=True, detail=f"its answer was lost; Zoom has no such meeting ({len(listed)} scheduled "
                                          f"meeting(s) of {request.user_id} read): sent again")


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
