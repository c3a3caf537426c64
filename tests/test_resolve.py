"""The rules of looking a lost answer up in Zoom (resolve.py) and of a changed row (lifecycle.meeting_change)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from importer.lifecycle import meeting_change
from importer.models import Course, CreateRequest
from importer.resolve import Lost, Resolver, matches, row_start, unlisted_reason
from importer.zoom import ZoomMeeting

NOW = datetime(2027, 9, 1, 12, 0, tzinfo=UTC)
SENT = datetime(2027, 9, 1, 11, 0, tzinfo=UTC)


def request(**info: Any) -> CreateRequest:
    meeting_info = {"topic": "BIO 101", "type": 2, "start_time": "2027-09-08T10:00:00", "duration": 60,
                    "timezone": "America/New_York"} | info
    return CreateRequest(2, "host@x.edu", Course("ctx", "canvas.x.edu", "396"),
                         {key: value for key, value in meeting_info.items() if value is not None})


def listed(**fields: Any) -> ZoomMeeting:
    values: dict[str, Any] = {"id": "91970000001", "topic": "BIO 101", "type": 2,
                              "start_time": datetime(2027, 9, 8, 14, 0, tzinfo=UTC), "duration": 60,
                              "timezone": "America/New_York", "created_at": SENT + timedelta(seconds=1)} | fields
    return ZoomMeeting(**values)


def test_the_row_start_is_read_in_its_timezone_or_as_utc_with_z() -> None:
    assert row_start(request().meeting_info) == (datetime(2027, 9, 8, 14, 0, tzinfo=UTC), "America/New_York")
    assert row_start(request(start_time="2027-09-08T10:00:00Z", timezone=None).meeting_info)[0] == datetime(
        2027, 9, 8, 10, 0, tzinfo=UTC)
    assert row_start(request(timezone=None).meeting_info) == (None, None)  # the host's zone: unknown here


@pytest.mark.parametrize(("meeting", "expected"), [
    (listed(), True),
    (listed(start_time=datetime(2027, 9, 8, 14, 0, 30, tzinfo=UTC)), True),  # Zoom's seconds
    (listed(topic="BIO 101 "), True),
    (listed(topic="BIO 102"), False),
    (listed(type=8), False),
    (listed(duration=90), False),
    (listed(start_time=datetime(2027, 9, 8, 15, 0, tzinfo=UTC)), False),
    (listed(created_at=SENT - timedelta(minutes=5)), False),  # made before the row was ever sent
    (listed(created_at=SENT - timedelta(seconds=90)), True),  # within the clocks' skew
    (listed(created_at=None), True),
])
def test_a_listed_meeting_matches_on_topic_type_start_duration_and_creation(meeting: ZoomMeeting,
                                                                             expected: bool) -> None:
    assert matches(request(), meeting, SENT - timedelta(minutes=2)) is expected


def test_without_a_send_time_any_creation_time_matches() -> None:
    assert matches(request(), listed(created_at=SENT - timedelta(days=30)), None)


def test_a_recurring_meeting_matches_a_later_occurrence_at_the_same_local_time() -> None:
    series = request(type=8, recurrence={"type": 2, "weekly_days": "3", "end_times": 10})
    week_later = datetime(2027, 9, 15, 14, 0, tzinfo=UTC)
    assert matches(series, listed(type=8, start_time=week_later), None)
    assert not matches(series, listed(type=8, start_time=week_later + timedelta(hours=1)), None)
    # After the clocks change, the same 10:00 in New York is 15:00 UTC.
    assert matches(series, listed(type=8, start_time=datetime(2027, 11, 10, 15, 0, tzinfo=UTC)), None)


def test_none_found_is_trusted_only_where_zoom_would_list_the_meeting() -> None:
    assert unlisted_reason(request(), NOW) is None
    soon = (NOW + timedelta(minutes=5)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "start time has passed" in unlisted_reason(request(start_time=soon, timezone=None), NOW)
    assert "type 1" in unlisted_reason(request(type=1), NOW)
    # Without a zone, the row may start up to 14 hours earlier than its clock time read as UTC.
    naive = (NOW + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%S")
    assert unlisted_reason(request(start_time=naive, timezone=None), NOW) is not None
    assert unlisted_reason(request(start_time="2027-09-20T10:00:00", timezone=None), NOW) is None
    ended = request(type=8, start_time="2027-08-01T10:00:00",
                    recurrence={"type": 1, "end_date_time": "2027-08-20T00:00:00Z"})
    assert "may have ended" in unlisted_reason(ended, NOW)
    running = request(type=8, start_time="2027-08-01T10:00:00",
                      recurrence={"type": 1, "end_date_time": "2027-12-20T00:00:00Z"})
    assert unlisted_reason(running, NOW) is None


def test_a_change_names_each_field_and_patches_only_what_changed() -> None:
    sent = {"topic": "BIO 101", "type": 2, "duration": 60, "agenda": "Week 1",
            "settings": {"waiting_room": True, "mute_upon_entry": False}}
    now = {"topic": "BIO 101", "type": 2, "duration": 90, "settings": {"waiting_room": False,
                                                                        "mute_upon_entry": False}}
    change = meeting_change("91970000001", sent, now)
    assert change is not None
    assert change.fields == ("agenda", "duration", "settings.waiting_room")
    assert change.patch == {"agenda": "", "duration": 90, "settings": {"waiting_room": False}}
    assert meeting_change("91970000001", sent, dict(sent)) is None


def test_a_field_a_patch_cannot_empty_is_named_not_silently_dropped() -> None:
    change = meeting_change("1", {"topic": "A", "password": "x1"}, {"topic": "B"})
    assert change is not None and change.patch == {"topic": "B"}
    assert change.describe() == "topic (password emptied in the sheet: Zoom keeps its value)"
    assert meeting_change("1", {"topic": "A", "password": "x1"}, {"topic": "A"}) is None  # nothing to PATCH


def test_a_start_written_another_way_still_matches_and_the_same_topic_since_sending_is_never_none() -> None:
    # A list that echoes the row's clock time with a Z instead of converting it.
    assert matches(request(), listed(start_time=datetime(2027, 9, 8, 10, 0, tzinfo=UTC)), None)
    assert matches(request(), listed(topic="bio  101"), None)  # spaces and case aside


class Listing:
    """A stand-in for ZoomClient.list_meetings: every host has these meetings."""

    def __init__(self, *meetings: ZoomMeeting) -> None:
        self.meetings = list(meetings)

    async def list_meetings(self, user_id: str) -> list[ZoomMeeting]:
        return self.meetings


def look_up(listing: Listing, *taken: str, rows: tuple[CreateRequest, ...] = (), sent_known: bool = True) -> Any:
    """The first row's lookup (the others looked up with it)."""
    resolver = Resolver(listing, now=NOW)  # type: ignore[arg-type]
    resolver.round(taken)
    lost = [Lost(row, SENT.timestamp(), sent_known) for row in (rows or (request(),))]
    return asyncio.run(resolver.look_up(lost))[0]


def test_one_match_is_found_none_is_absent_and_another_rows_meeting_is_never_taken() -> None:
    assert look_up(Listing(listed())).meeting_id == "91970000001"
    assert look_up(Listing()).absent
    assert look_up(Listing(listed()), "91970000001").absent  # the journal knows it as another row's


def test_a_meeting_with_the_topic_but_another_start_is_not_none_and_not_the_rows() -> None:
    other_start = listed(start_time=datetime(2027, 9, 8, 16, 0, tzinfo=UTC))
    near = look_up(Listing(other_start))
    assert near.meeting_id is None and not near.absent and near.outcome.error_code == "near-match"
    # Made long before the row was sent, at another time: another meeting, not this row's.
    older = listed(start_time=other_start.start_time, created_at=SENT - timedelta(days=3))
    assert look_up(Listing(older)).absent
    # The same start, made before the send by more than the skew (a fast clock): not "none" either.
    early = listed(created_at=SENT - timedelta(minutes=4))
    assert look_up(Listing(early)).outcome.error_code == "near-match"


def test_a_meeting_two_lost_rows_match_alike_is_neithers() -> None:
    twin = request(agenda="Section B")  # another identity, the same topic, start and duration
    shared = look_up(Listing(listed()), rows=(request(), twin))
    assert shared.meeting_id is None and shared.outcome.error_code == "several-found"


def test_none_found_is_not_trusted_when_what_was_sent_is_not_known() -> None:
    assert look_up(Listing(), sent_known=False).outcome.error_code == "not-found"
    assert look_up(Listing(listed()), sent_known=False).meeting_id == "91970000001"


def test_a_host_is_asked_for_as_the_row_spells_it() -> None:
    asked: list[str] = []

    class Spelling(Listing):
        async def list_meetings(self, user_id: str) -> list[ZoomMeeting]:
            asked.append(user_id)
            return []

    look_up(Spelling(), rows=(replace(request(), user_id="KdYkJnIm-Zoom-Id"),))
    assert asked == ["KdYkJnIm-Zoom-Id"]
