"""Header matching and row checks: the exact JSON a valid row sends, and the exact
(row, column, code) problems an invalid one gets."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.columns import COLUMNS as TABLE
from importer.columns import ColumnMap, Group, canonical_name
from importer.errors import InputError
from importer.models import PriorResult, SourceRow
from importer.reader import read_sheet
from importer.schema import check_row, check_rows

from sheets import COLUMNS, HEADERS, NOW, VALID, check, source_row, triples, write_xlsx

CONTEXT = VALID["Context ID"]
NEW_YORK = "America/New_York"


def info(**changes: Any) -> dict[str, Any]:
    """meetingInfo of the VALID row, with changes."""
    base: dict[str, Any] = {"topic": "BIO 101 Lecture", "type": 2, "start_time": "2026-10-08T10:00:00",
                            "duration": 50, "timezone": NEW_YORK}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def sent(**changes: Any) -> dict[str, Any]:
    """The meetingInfo a row would send; fails if the row has any error."""
    result = check(**changes)
    assert triples(result.errors) == []
    assert result.request is not None
    return result.request.meeting_info


def problems(**changes: Any) -> list[tuple[int, str, str]]:
    return triples(check(**changes).problems)


# --- columns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Start Time", "start_time"),
        ("start_time", "start_time"),
        ("START-TIME", "start_time"),
        (" start time ", "start_time"),
        ("Start\u00a0Time", "start_time"),
        ("Context ID", "contextId"),
        ("context_id", "contextId"),
        ("CONTEXTID", "contextId"),
        ("User ID", "userId"),
        ("Host Email", "userId"),
        ("Course ID", "courseId"),
        ("Canvas Course ID", "courseId"),
        ("Row ID", "row_id"),
        ("TZ", "timezone"),
        ("Settings.Waiting Room", "settings.waiting_room"),
        ("settings.waiting_room", "settings.waiting_room"),
        ("Waiting Room", "settings.waiting_room"),
        ("Settings.JBH Time", "settings.jbh_time"),
        ("Recurrence Type", "recurrence_type"),
        ("Monthly Week Day", "monthly_week_day"),
        ("End Date/Time", None),
        ("Import Status", "import_status"),
        ("Meeting ID", "meeting_id"),
        ("Notes", None),
        ("Settings.Bogus", None),
        ("", None),
    ],
)
def test_header_matching(header: str, name: str | None) -> None:
    assert canonical_name(header) == name


def test_column_map_knows_where_each_field_is() -> None:
    columns = ColumnMap.build(("Notes", "User ID", "Context ID", "Domain", "Topic", "Type", "Start Time",
                               "Waiting Room", "import_status"), "term.xlsx")

    assert columns.index == {"userId": 1, "contextId": 2, "domain": 3, "topic": 4, "type": 5,
                             "start_time": 6, "settings.waiting_room": 7, "import_status": 8}
    assert columns.header("start_time") == "Start Time"
    assert columns.header("duration") == "duration"
    assert columns.output_positions == (0, 1, 2, 3, 4, 5, 6, 7)
    assert columns.text_positions == frozenset({1, 2, 3})


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(InputError) as caught:
        ColumnMap.build(("User ID", "Topic", "Notes", ""), "term.csv")

    assert str(caught.value) == (
        "term.csv: missing required column(s) contextId, domain, type, start_time "
        "(headers found: User ID, Topic, Notes); no header is close to them: add them, or start from "
        "`importer template`"
    )


def test_two_headers_meaning_one_field_are_refused() -> None:
    headers = ("User ID", "Context ID", "Domain", "Topic", "Type", "Start Time", "start_time")

    with pytest.raises(InputError) as caught:
        ColumnMap.build(headers, "term.xlsx")

    assert str(caught.value) == (
        "term.xlsx: columns 'Start Time' and 'start_time' both mean start_time; delete or rename one"
    )


def test_setting_with_and_without_prefix_collide() -> None:
    headers = ("User ID", "Context ID", "Domain", "Topic", "Type", "Start Time", "Waiting Room",
               "Settings.Waiting Room")

    with pytest.raises(InputError, match=r"both mean settings\.waiting_room"):
        ColumnMap.build(headers, "term.xlsx")


# --- a valid row ----------------------------------------------------------------------------


def test_valid_type_2_row_sends_exact_json() -> None:
    result = check()

    assert result.problems == ()
    assert result.request is not None
    assert result.request.row_number == 2
    assert json.dumps(result.request.body()) == json.dumps({
        "userId": "host@x.edu",
        "contextId": CONTEXT,
        "domain": "canvas.x.edu",
        "courseId": "396",
        "meetingInfo": {"topic": "BIO 101 Lecture", "type": 2, "start_time": "2026-10-08T10:00:00",
                        "duration": 50, "timezone": NEW_YORK},
    })


def test_sheet_to_body_end_to_end(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "term.xlsx", [
        ["USER_ID", "context-id", "Domain", "Course ID", "Topic", "Type", "Start Time", "Duration",
         "Timezone", "Notes"],
        ["host@x.edu", "00123", "https://Canvas.X.edu/", 396.0, " Intro ", "scheduled",
         datetime(2026, 9, 8, 10, 0), 50, "america/new_york", "=keep me"],
    ])
    sheet = read_sheet(path)
    columns = ColumnMap.build(sheet.headers, str(path))

    result = check_row(columns, sheet.rows[0], now=NOW)

    assert result.problems == ()
    assert result.request is not None
    assert result.request.body() == {
        "userId": "host@x.edu", "contextId": "00123", "domain": "canvas.x.edu", "courseId": "396",
        "meetingInfo": {"topic": "Intro", "type": 2, "start_time": "2026-09-08T10:00:00", "duration": 50,
                        "timezone": NEW_YORK},
    }


def test_course_id_is_optional() -> None:
    result = check(courseId=None)

    assert result.request is not None
    assert "courseId" not in result.request.body()


def test_row_id_and_prior_results_are_recognised_not_sent() -> None:
    result = check(row_id=17, import_status=" Not_Associated ", meeting_id=91978833358.0, error_code=406,
                   error_message="create meeting success but associate failed")

    assert result.request is not None
    assert result.request.row_id == "17"
    assert result.prior == PriorResult("not_associated", "91978833358", "406",
                                       "create meeting success but associate failed")
    assert set(result.request.body()) == {"userId", "contextId", "domain", "courseId", "meetingInfo"}


# --- identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "course_id"),
    [(396, "396"), (396.0, "396"), (12345678901234, "12345678901234"), ("00123", "00123"),
     ("396", "396"), (-5, "-5")],
)
def test_course_id_is_sent_as_text(cell: Any, course_id: str) -> None:
    result = check(courseId=cell)

    assert result.request is not None
    assert result.request.body()["courseId"] == course_id


@pytest.mark.parametrize(
    ("cell", "code"),
    [("3.96E+02", "scientific-notation"), ("1.23457E+13", "scientific-notation"), (3.5, "type-error"),
     (1e17, "type-error"), (True, "type-error"), (math.nan, "type-error"), (math.inf, "type-error")],
)
def test_course_id_that_is_not_an_id(cell: Any, code: str) -> None:
    assert problems(courseId=cell) == [(2, "Course ID", code)]


def test_scientific_notation_message_says_how_to_fix() -> None:
    (problem,) = check(courseId="3.96E+02").problems

    assert problem.value == "3.96E+02"
    assert problem.describe() == (
        "column 'Course ID': '3.96E+02' is an id that Excel turned into scientific notation; "
        "format the column as Text and retype the id"
    )


def test_host_email_must_be_an_address() -> None:
    assert problems(userId="host@x") == [(2, "User ID", "format-error")]
    assert sent(userId="12dd589465Z") == info()


@pytest.mark.parametrize("cell", ["canvas.x.edu", "CANVAS.X.EDU", "https://canvas.x.edu/", "http://canvas.x.edu"])
def test_domain_is_normalised(cell: str) -> None:
    result = check(domain=cell)

    assert result.request is not None
    assert result.request.course.domain == "canvas.x.edu"


@pytest.mark.parametrize("cell", ["canvas", "canvas.x.edu/courses/396", "canvas x.edu"])
def test_domain_that_is_not_a_domain(cell: str) -> None:
    assert problems(domain=cell) == [(2, "Domain", "format-error")]


def test_missing_required_values_name_the_header_as_written() -> None:
    result = check(userId=None, contextId=None, domain=None, topic=None, type=None)

    assert triples(result.problems) == [
        (2, "User ID", "missing-value"),
        (2, "Context ID", "missing-value"),
        (2, "Domain", "missing-value"),
        (2, "Topic", "missing-value"),
        (2, "Type", "missing-value"),
    ]
    assert result.request is None
    assert result.problems[0].describe() == "column 'User ID': userId is required; fill in this cell"


def test_type_2_without_start_time() -> None:
    result = check(7, start_time=None)

    assert triples(result.problems) == [(7, "Start Time", "missing-value")]
    assert result.problems[0].message == (
        "a type 2 meeting needs a start_time (without it Zoom makes an instant meeting)"
    )


# --- start times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "start"),
    [
        (datetime(2026, 10, 8, 10, 0), "2026-10-08T10:00:00"),
        (datetime(2026, 10, 8, 9, 59, 59, 999000), "2026-10-08T10:00:00"),
        (46303.4375, "2026-10-08T10:30:00"),  # an Excel serial whose cell lost its date format
        (46303 + 10 / 24, "2026-10-08T10:00:00"),
        ("2026-10-08T10:00:00", "2026-10-08T10:00:00"),
        ("2026-10-08T14:00:00Z", "2026-10-08T14:00:00Z"),
        ("2026-10-08T16:00:00+02:00", "2026-10-08T14:00:00Z"),
        ("2026-10-08 10:00", "2026-10-08T10:00:00"),
        ("2026-9-8 9:05", "2026-09-08T09:05:00"),
        ("13/04/2027 10:00", "2027-04-13T10:00:00"),
        ("04/13/2027 10:00", "2027-04-13T10:00:00"),
        ("4/4/2027 2:30 PM", "2027-04-04T14:30:00"),
        ("13.04.2027 12:00 am", "2027-04-13T00:00:00"),
    ],
)
def test_start_time_forms(cell: Any, start: str) -> None:
    assert sent(start_time=cell)["start_time"] == start


def test_start_time_2026_09_08_gives_whole_meeting_info() -> None:
    assert sent(start_time="2026-09-08 10:00") == info(start_time="2026-09-08T10:00:00")


def test_ambiguous_day_month_is_a_problem_not_a_guess() -> None:
    result = check(start_time="03/04/2027 10:00")

    assert triples(result.problems) == [(2, "Start Time", "ambiguous-date")]
    assert result.problems[0].message == (
        "'03/04/2027 10:00' could be 3/4 or 4/3 (day/month); write it as YYYY-MM-DD "
        "or run with --date-order DMY or MDY"
    )


@pytest.mark.parametrize(("order", "start"), [("DMY", "2027-04-03T10:00:00"), ("MDY", "2027-03-04T10:00:00")])
def test_date_order_settles_ambiguous_dates(order: Any, start: str) -> None:
    result = check(start_time="03/04/2027 10:00", date_order=order)

    assert result.problems == ()
    assert result.request is not None
    assert result.request.meeting_info["start_time"] == start


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("2026-10-08", "format-error"),  # a date with no time of day
        ("next Tuesday", "format-error"),
        ("2026-02-30 10:00", "format-error"),
        ("31/31/2027 10:00", "format-error"),
        ("2026-10-08T10:00:00+99:99", "format-error"),
        ("13:00 PM 2026-10-08", "format-error"),
        (time(10, 0), "format-error"),
        (5, "type-error"),
        (True, "type-error"),
        ("0001-01-01 00:00", "out-of-range"),
        (datetime(9999, 12, 31, 23, 0), "out-of-range"),
    ],
)
def test_start_time_that_cannot_be_read(cell: Any, code: str) -> None:
    assert problems(start_time=cell) == [(2, "Start Time", code)]


def test_spring_forward_gap_is_an_error() -> None:
    result = check(start_time="2027-03-14 02:30")

    assert triples(result.problems) == [(2, "Start Time", "nonexistent-time")]
    assert result.request is None
    assert result.problems[0].message == (
        "2027-03-14 02:30 does not exist in America/New_York (clocks jump forward); pick another time"
    )


def test_autumn_repeat_is_a_warning_and_still_sent() -> None:
    result = check(start_time="2027-11-07 01:30")

    assert triples(result.problems) == [(2, "Start Time", "ambiguous-time")]
    assert [p.warning for p in result.problems] == [True]
    assert result.request is not None
    assert result.request.meeting_info["start_time"] == "2027-11-07T01:30:00"


def test_start_in_the_past_is_a_warning() -> None:
    now = datetime(2026, 10, 8, 14, 0, 1, tzinfo=UTC)  # 10:00 New York + 1 second

    past = check(now=now)
    future = check(now=now - timedelta(seconds=2))

    assert triples(past.problems) == [(2, "Start Time", "in-the-past")]
    assert past.warnings == past.problems and past.request is not None
    assert past.problems[0].message == (
        "start_time 2026-10-08T10:00:00 is in the past; Zoom accepts it, but check the year"
    )
    assert future.problems == ()


def test_utc_start_in_the_past() -> None:
    assert problems(start_time="2026-01-01T10:00:00Z") == [(2, "Start Time", "in-the-past")]


def test_no_timezone_is_a_warning() -> None:
    result = check(timezone=None)

    assert triples(result.problems) == [(2, "Timezone", "missing-value")]
    assert result.request is not None
    assert result.request.meeting_info == info(timezone=None)


@pytest.mark.parametrize(("cell", "zone"), [("utc", "UTC"), ("GMT", "UTC"), ("europe/london", "Europe/London"),
                                            ("America/New York", NEW_YORK)])
def test_timezone_spellings(cell: str, zone: str) -> None:
    assert sent(timezone=cell)["timezone"] == zone


def test_unknown_timezone() -> None:
    result = check(timezone="Mars/Olympus")

    # One problem: not also "no timezone", which would send the coordinator looking for an empty cell.
    assert triples(result.problems) == [(2, "Timezone", "unknown-timezone")]
    assert result.problems[0].message == (
        "'Mars/Olympus' is not a timezone id; use a name like America/New_York or Europe/London"
    )


# --- other meeting fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "meeting_type"),
    [(2, 2), (2.0, 2), ("2", 2), ("Scheduled", 2), ("instant", 1), ("Recurring (no fixed time)", 3)],
)
def test_type_spellings(cell: Any, meeting_type: int) -> None:
    result = check(type=cell)

    assert result.request is not None
    assert result.request.meeting_info["type"] == meeting_type


@pytest.mark.parametrize("cell", ["fifty", 5, 0, 2.5, True])
def test_type_out_of_range(cell: Any) -> None:
    assert problems(type=cell) == [(2, "Type", "out-of-range")]


def test_type_message_lists_the_types() -> None:
    (problem,) = check(type=5).problems

    assert problem.message == ("5 is not one of 1, 2, 3, 8; type is 1 instant, 2 scheduled, "
                               "3 recurring (no fixed time), 8 recurring (fixed time)")


def test_type_1_and_3_warn_that_start_time_is_ignored() -> None:
    result = check(type=3)

    assert triples(result.problems) == [(2, "Start Time", "ignored-value")]
    assert result.request is not None
    assert result.request.meeting_info == {"topic": "BIO 101 Lecture", "type": 3, "duration": 50,
                                           "timezone": NEW_YORK}


@pytest.mark.parametrize(("cell", "code"), [("fifty", "type-error"), (50.5, "type-error"), (0, "out-of-range"),
                                            (-10, "out-of-range"), (True, "type-error")])
def test_duration_problems(cell: Any, code: str) -> None:
    assert problems(duration=cell) == [(2, "Duration", code)]


@pytest.mark.parametrize(("cell", "duration"), [(50, 50), (50.0, 50), ("50", 50), (" 90 ", 90), ("75.0", 75)])
def test_duration_forms(cell: Any, duration: int) -> None:
    assert sent(duration=cell)["duration"] == duration


def test_missing_duration_warns_of_zooms_default() -> None:
    result = check(duration=None)

    assert triples(result.problems) == [(2, "Duration", "missing-value")]
    assert result.request is not None and "duration" not in result.request.meeting_info


def test_topic_length() -> None:
    assert sent(topic="x" * 200)["topic"] == "x" * 200
    result = check(topic="x" * 201)
    assert triples(result.problems) == [(2, "Topic", "too-long")]
    assert result.problems[0].message == "topic has 201 characters; Zoom allows at most 200"


def test_agenda_length() -> None:
    assert sent(agenda="a" * 2000)["agenda"] == "a" * 2000
    assert problems(agenda="a" * 2001) == [(2, "Agenda", "too-long")]


@pytest.mark.parametrize(("cell", "password"),
                         [("Ab1@-_*", "Ab1@-_*"), (123456, "123456"), ("abcdefghij", "abcdefghij")])
def test_password_accepted(cell: Any, password: str) -> None:
    assert sent(password=cell)["password"] == password


@pytest.mark.parametrize("cell", ["abcdefghijk", "pass word", "pässwort", "a#b"])
def test_password_format(cell: str) -> None:
    assert problems(password=cell) == [(2, "Password", "format-error")]


# --- recurrence -----------------------------------------------------------------------------


def test_weekly_recurrence_with_end_date_sends_exact_info() -> None:
    meeting_info = sent(type=8, recurrence_type=2, repeat_interval=1, weekly_days="6, 2,4,2",
                        end_date_time="2026-12-11")

    assert meeting_info == info(type=8, recurrence={"type": 2, "repeat_interval": 1, "weekly_days": "2,4,6",
                                                    "end_date_time": "2026-12-12T04:59:00Z"})


@pytest.mark.parametrize(
    ("cell", "zone", "end"),
    [
        ("2026-12-11", NEW_YORK, "2026-12-12T04:59:00Z"),
        (datetime(2026, 12, 11), NEW_YORK, "2026-12-12T04:59:00Z"),
        (date(2026, 12, 11), NEW_YORK, "2026-12-12T04:59:00Z"),
        ("2026-12-11 18:00", NEW_YORK, "2026-12-11T23:00:00Z"),
        ("2026-12-11T23:59:00Z", NEW_YORK, "2026-12-11T23:59:00Z"),
        ("2026-12-11", "UTC", "2026-12-11T23:59:00Z"),
        ("2026-07-01", "Europe/London", "2026-07-01T22:59:00Z"),
    ],
)
def test_end_date_time_is_sent_in_utc(cell: Any, zone: str, end: str) -> None:
    meeting_info = sent(type=8, recurrence_type=1, end_date_time=cell, timezone=zone)

    assert meeting_info["recurrence"] == {"type": 1, "end_date_time": end}


def test_monthly_by_week_day() -> None:
    meeting_info = sent(type=8, recurrence_type=3, monthly_week=-1, monthly_week_day=6, end_times=4)

    assert meeting_info["recurrence"] == {"type": 3, "monthly_week": -1, "monthly_week_day": 6, "end_times": 4}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"type": 8}, [(2, "Recurrence Type", "missing-value")]),
        ({"type": 8, "recurrence_type": 4}, [(2, "Recurrence Type", "out-of-range")]),
        ({"type": 8, "recurrence_type": 2}, [(2, "Weekly Days", "missing-value")]),
        ({"type": 8, "recurrence_type": 2, "weekly_days": "2,9"}, [(2, "Weekly Days", "out-of-range")]),
        ({"type": 8, "recurrence_type": 2, "weekly_days": ","}, [(2, "Weekly Days", "out-of-range")]),
        ({"type": 8, "recurrence_type": 2, "weekly_days": "²"}, [(2, "Weekly Days", "out-of-range")]),
        ({"type": 8, "recurrence_type": 1, "weekly_days": "2"}, [(2, "Weekly Days", "not-applicable")]),
        ({"type": 8, "recurrence_type": 1, "end_times": 10, "end_date_time": "2026-12-11"},
         [(2, "End Times", "conflict")]),
        ({"type": 8, "recurrence_type": 1, "end_times": 51}, [(2, "End Times", "out-of-range")]),
        ({"type": 8, "recurrence_type": 1, "end_times": 0}, [(2, "End Times", "out-of-range")]),
        ({"type": 8, "recurrence_type": 2, "weekly_days": "2", "repeat_interval": 13},
         [(2, "Repeat Interval", "out-of-range")]),
        ({"type": 8, "recurrence_type": 1, "repeat_interval": 91}, [(2, "Repeat Interval", "out-of-range")]),
        ({"type": 8, "recurrence_type": 3, "monthly_day": 1, "repeat_interval": 4},
         [(2, "Repeat Interval", "out-of-range")]),
        ({"type": 8, "recurrence_type": 3}, [(2, "Monthly Day", "missing-value")]),
        ({"type": 8, "recurrence_type": 3, "monthly_day": 32}, [(2, "Monthly Day", "out-of-range")]),
        ({"type": 8, "recurrence_type": 3, "monthly_day": 5, "monthly_week": 1},
         [(2, "Monthly Day", "conflict")]),
        ({"type": 8, "recurrence_type": 3, "monthly_week": 1}, [(2, "Monthly Week Day", "missing-value")]),
        ({"type": 8, "recurrence_type": 3, "monthly_week_day": 1}, [(2, "Monthly Week", "missing-value")]),
        ({"type": 8, "recurrence_type": 3, "monthly_week": 1, "monthly_week_day": 9},
         [(2, "Monthly Week Day", "out-of-range")]),
        ({"type": 8, "recurrence_type": 3, "monthly_week": 5, "monthly_week_day": 2},
         [(2, "Monthly Week", "out-of-range")]),
        ({"type": 8, "recurrence_type": 1, "monthly_day": 5}, [(2, "Monthly Day", "not-applicable")]),
        ({"recurrence_type": 1}, [(2, "Recurrence Type", "not-applicable")]),
        ({"end_times": 3}, [(2, "End Times", "not-applicable")]),
    ],
)
def test_recurrence_problems(changes: dict[str, Any], expected: list[tuple[int, str, str]]) -> None:
    assert problems(**changes) == expected


def test_repeat_interval_limits_are_inclusive() -> None:
    assert sent(type=8, recurrence_type=2, weekly_days=2, repeat_interval=12)["recurrence"] == {
        "type": 2, "repeat_interval": 12, "weekly_days": "2"}
    assert sent(type=8, recurrence_type=1, repeat_interval=90, end_times=50)["recurrence"] == {
        "type": 1, "repeat_interval": 90, "end_times": 50}


def test_recurrence_on_a_type_2_row_names_the_first_recurrence_column() -> None:
    result = check(recurrence_type=2, weekly_days="2,4")

    assert triples(result.problems) == [(2, "Recurrence Type", "not-applicable")]
    assert result.problems[0].message == "recurrence columns apply only to type 8 meetings; this row is type 2"


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [("TRUE", True), ("FALSE", False), ("yes", True), ("no", False), ("1", True), ("0", False), (1, True),
     (0, False), (1.0, True), (True, True), (False, False), ("Y", True), ("off", False)],
)
def test_boolean_setting(cell: Any, value: bool) -> None:
    assert sent(waiting_room=cell)["settings"] == {"waiting_room": value}


@pytest.mark.parametrize("cell", ["maybe", 2, "2", datetime(2026, 1, 1)])
def test_boolean_setting_that_is_not_a_boolean(cell: Any) -> None:
    assert problems(waiting_room=cell) == [(2, "Settings.Waiting Room", "type-error")]


def test_choice_and_list_settings() -> None:
    meeting_info = sent(jbh_time="5", auto_recording="Cloud", alternative_hosts="a@x.edu; b@x.edu,c@x.edu")

    assert meeting_info["settings"] == {"jbh_time": 5, "auto_recording": "cloud",
                                        "alternative_hosts": "a@x.edu;b@x.edu;c@x.edu"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"jbh_time": 7}, [(2, "Settings.JBH Time", "out-of-range")]),
        ({"auto_recording": "tape"}, [(2, "Settings.Auto Recording", "out-of-range")]),
        ({"alternative_hosts": "a@x.edu;bob"}, [(2, "Settings.Alternative Hosts", "format-error")]),
        ({"waiting_room": True, "join_before_host": True}, [(2, "Settings.Join Before Host", "ignored-value")]),
    ],
)
def test_setting_problems(changes: dict[str, Any], expected: list[tuple[int, str, str]]) -> None:
    assert problems(**changes) == expected


def test_several_problems_in_one_row_are_all_reported() -> None:
    result = check(9, courseId="3.96E+02", type="fifty", duration="fifty", timezone="Mars/Olympus",
                   waiting_room="maybe")

    assert triples(result.problems) == [
        (9, "Course ID", "scientific-notation"),
        (9, "Type", "out-of-range"),
        (9, "Timezone", "unknown-timezone"),
        (9, "Duration", "type-error"),
        (9, "Settings.Waiting Room", "type-error"),
    ]
    assert result.request is None


# --- properties -----------------------------------------------------------------------------

TRICKY_TEXT = st.sampled_from([
    "03/04/2027 10:00", "13/04/2027 10:00", "2027-03-14 02:30", "2027-11-07 01:30", "2026-09-08T10:00:00Z",
    "2026-09-08T10:00:00+25:00", "0000-01-01 00:00", "9999-12-31 23:59", "12/31/9999 11:59 PM",
    "3.96E+02", "1e400", "9" * 400, "TRUE", "no", "America/New_York", "Asia/Tokyo", "utc", "8", "2",
    "Recurring (fixed time)", "2,4,6", "²", "٣", ",", "-1", "host@x.edu", "a@", "https://canvas.x.edu/",
    "'=cmd", "\x00", "\r\n", "\u00a0", "NaN", "inf",
])
CELLS = st.one_of(
    st.none(),
    st.text(max_size=30),
    TRICKY_TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, 3, 5, 8, 12, 13, 50, 51, 90, 91, 20001, 46303, 79999]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(CELLS, min_size=len(HEADERS), max_size=len(HEADERS)),
       date_order=st.sampled_from([None, "DMY", "MDY"]), row_number=st.integers(2, 10**6))
def test_check_row_never_raises(cells: list[Any], date_order: Any, row_number: int) -> None:
    result = check_row(COLUMNS, SourceRow(row_number, tuple(cells)), date_order=date_order, now=NOW)

    assert {p.row_number for p in result.problems} <= {row_number}
    assert {p.column for p in result.problems} <= set(HEADERS) | {"settings.join_before_host"}
    assert (result.request is None) == bool(result.errors)
    if result.request is not None:
        json.dumps(result.request.body(), allow_nan=False)  # never NaN or a date object on the wire


@settings(max_examples=200, deadline=None)
@given(cells=st.fixed_dictionaries({"Type": st.sampled_from([2, 8, "8"]), "Recurrence Type": st.sampled_from([1, 2, 3]),
                                    "Start Time": CELLS, "Weekly Days": CELLS, "Monthly Day": CELLS,
                                    "Monthly Week": CELLS, "Monthly Week Day": CELLS, "End Times": CELLS,
                                    "End Date Time": CELLS, "Repeat Interval": CELLS, "Timezone": CELLS}))
def test_recurring_rows_never_raise(cells: dict[str, Any]) -> None:
    values = {**VALID, **cells}

    result = check_row(COLUMNS, source_row(values), now=NOW)

    assert (result.request is None) == bool(result.errors)


NAMES = [column.name for column in TABLE if column.group is not Group.SETTING]
SETTINGS = [column.name.removeprefix("settings.") for column in TABLE if column.group is Group.SETTING]


@st.composite
def spelling(draw: st.DrawFn, name: str) -> str:
    """`name` with random case, and random spaces/underscores/dashes between its characters."""
    out = [draw(st.sampled_from(["", " ", "  "]))]
    for char in name:
        if char == "_":
            out.append(draw(st.sampled_from(["", " ", "_", "-", "\u00a0"])))
            continue
        out.append(char.upper() if draw(st.booleans()) else char.lower())
        out.append(draw(st.sampled_from(["", "", "", " ", "_", "-"])))
    out.append(draw(st.sampled_from(["", " ", "\t"])))
    return "".join(out)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), name=st.sampled_from(NAMES))
def test_any_spelling_of_a_field_maps_back(data: st.DataObject, name: str) -> None:
    header = data.draw(spelling(name))

    assert canonical_name(header) == name


@settings(max_examples=100, deadline=None)
@given(data=st.data(), setting=st.sampled_from(SETTINGS), prefix=st.sampled_from(["settings.", "Settings.",
                                                                                   "SETTINGS.", ""]))
def test_any_spelling_of_a_setting_maps_back(data: st.DataObject, setting: str, prefix: str) -> None:
    header = prefix + data.draw(spelling(setting))

    assert canonical_name(header) == f"settings.{setting}"


# --- a whole sheet: check_rows gives check_row's verdicts -------------------------------------

#: For each column, values of a plain valid row and values that are not (problems and warnings).
SHEET_VALUES: dict[str, list[Any]] = {
    "Row ID": [None, None, "L1", 17, "1.5E+03"],
    "User ID": ["host@x.edu", "host@x.edu", "HOST@X.EDU", "host-17", 12345, "a@", None, True, 12.5],
    "Context ID": [CONTEXT, "ctx-2", 396, 396.0, "3.96E+02", None, " ", 396.5, False],
    "Domain": ["canvas.x.edu", "canvas.x.edu", "https://CANVAS.x.edu/", "canvas", None, 5],
    "Course ID": [396, 396, "00123", None, 396.0, "1e5", 1.5],
    "Topic": ["BIO 101 Lecture", "BIO 102", " padded ", "x" * 200, "x" * 201, None, 5, 2.0,
              datetime(2026, 10, 8)],
    "Type": [2, 2, 2, "2", "Scheduled", 1, 3, 8, True, 2.0, "nine", None],
    "Start Time": [datetime(2026, 10, 8, 10, 0), datetime(2026, 10, 8, 10, 0), "2026-10-08 10:00",
                   "2026-10-08T10:00:00Z", "2026-10-08 10:00+02:00", datetime(2026, 10, 8, 14, tzinfo=UTC),
                   datetime(2026, 10, 8, 10, 0, 0, 999_999), datetime(2020, 1, 1, 10, 0), "2027-03-14 02:30",
                   "2026-11-01 01:30", "03/04/2027 10:00", "13/04/2027 10:00", date(2026, 10, 8), "2026-10-08",
                   46303.4, 46303, None, True, time(10, 0)],
    "Duration": [50, 50, "50", 0, -5, 50.0, 50.5, True, 1, 1.0, None, "fifty"],
    "Timezone": [NEW_YORK, NEW_YORK, "utc", "asia/tokyo", "Mars/Base", None, 5],
    "Agenda": [None, None, "week 1", "x" * 2001, 7],
    "Password": [None, None, "abc123", "bad pass!", 1234],
    "Recurrence Type": [None] * 6 + [2],
    "Weekly Days": [None] * 6 + ["2,4"],
    "Repeat Interval": [None] * 6 + [1],
    "Monthly Day": [None] * 6 + [3],
    "Monthly Week": [None] * 6 + [1],
    "Monthly Week Day": [None] * 6 + [2],
    "End Times": [None] * 6 + [10],
    "End Date Time": [None] * 6 + [date(2026, 12, 11)],
    "Settings.Waiting Room": [None, None, True, False, "yes", 1, 1.0, "maybe"],
    "Settings.Join Before Host": [None, None, True, False, 0],
    "Settings.JBH Time": [None, None, 5, "10", 7, 5.0, 0, False],
    "Settings.Auto Recording": [None, None, "cloud", "Cloud", "tape"],
    "Settings.Alternative Hosts": [None, None, "a@x.edu;b@x.edu", "nope", ";"],
    "Notes": [None, "anything"],
    "import_status": [None] * 5 + ["created", "not_associated"],
    "meeting_id": [None] * 5 + ["91978833358", 91978833358],
    "error_code": [None] * 5 + [406],
    "error_message": [None] * 5 + ["lost"],
}
#: The benchmark's columns; and a sheet with timetable columns.
PLAIN_HEADERS = ("User ID", "Context ID", "Domain", "Course ID", "Topic", "Type", "Start Time", "Duration",
                 "Timezone")
TIMETABLE_HEADERS = (*PLAIN_HEADERS, "days", "time", "first_day", "last_day")
SHEET_VALUES.update({"days": [None, None, "MWF"], "time": [None, None, "10:00-10:50"],
                     "first_day": [None, None, date(2026, 9, 7)], "last_day": [None, None, date(2026, 12, 11)]})


@st.composite
def sheet_rows(draw: st.DrawFn, headers: tuple[str, ...]) -> list[SourceRow]:
    """Rows that share values (as a sheet's rows do), each cell from SHEET_VALUES."""
    count = draw(st.integers(1, 12))
    return [SourceRow(n + 2, tuple(draw(st.sampled_from(SHEET_VALUES[header])) for header in headers))
            for n in range(count)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), headers=st.sampled_from([HEADERS, PLAIN_HEADERS, TIMETABLE_HEADERS]),
       date_order=st.sampled_from([None, "DMY", "MDY"]))
def test_check_rows_gives_the_verdicts_of_check_row(data: st.DataObject, headers: tuple[str, ...],
                                                    date_order: Any) -> None:
    columns = ColumnMap.build(headers, "term.xlsx")
    rows = data.draw(sheet_rows(headers))

    checked = list(check_rows(columns, rows, date_order=date_order, now=NOW))

    expected = [check_row(columns, row, date_order=date_order, now=NOW) for row in rows]
    assert checked == expected
    # The same JSON, keys in the same order.
    assert [json.dumps(c.request and c.request.body()) for c in checked] == \
        [json.dumps(c.request and c.request.body()) for c in expected]


@pytest.mark.parametrize(
    ("header", "cells"),
    [
        ("Type", [2, 2.0, "2", True, 1]),
        ("Duration", [1, True, 1.0, "1"]),
        ("Settings.Waiting Room", [1, True, 1.0, "1", 0, False, 0.0]),
        ("Settings.JBH Time", [0, False, 0.0, 5, 5.0]),
    ],
)
def test_check_rows_tells_equal_cells_of_other_kinds_apart(header: str, cells: list[Any]) -> None:
    """True == 1 == 1.0, yet each cell converts as itself: a memo must not hand one the other's verdict."""
    headers = PLAIN_HEADERS if header in PLAIN_HEADERS else (*PLAIN_HEADERS, header)
    columns = ColumnMap.build(headers, "term.xlsx")
    rows = [SourceRow(n, tuple(cell if h == header else VALID.get(h) for h in headers))
            for n, cell in enumerate(cells + cells[::-1], start=2)]

    assert list(check_rows(columns, rows, now=NOW)) == [check_row(columns, row, now=NOW) for row in rows]
