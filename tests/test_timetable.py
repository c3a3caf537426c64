"""Timetable columns become the weekly series a coordinator means."""

from __future__ import annotations

from datetime import date, time

import pytest

from importer.errors import InputError
from importer.timetable import expand, parse_days, parse_time_range


@pytest.mark.parametrize("text, days", [
    ("Mon Wed Fri", [0, 2, 4]), ("M/W/F", [0, 2, 4]), ("MWF", [0, 2, 4]), ("mwf", [0, 2, 4]),
    ("Tu Th", [1, 3]), ("TTh", [1, 3]), ("TR", [1, 3]), ("Monday, Wednesday", [0, 2]),
    ("THURSDAY", [3]), ("Sa Su", [5, 6]), ("MTWRF", [0, 1, 2, 3, 4]),
])
def test_days_in_the_ways_people_write_them(text, days):
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["", "Funday", "MXF", "S"])
def test_days_that_cannot_be_read(text):
    with pytest.raises(ValueError):
        parse_days(text)


@pytest.mark.parametrize("text, expected", [
    ("10:00", (time(10, 0), None)),
    ("10:00-10:50", (time(10, 0), time(10, 50))),
    ("10am", (time(10, 0), None)),
    ("2:30 PM", (time(14, 30), None)),
    ("9-10:15am", (time(9, 0), time(10, 15))),
    ("11-12:15pm", (time(11, 0), time(12, 15))),
    ("1:00pm - 2:15pm", (time(13, 0), time(14, 15))),
    ("10:00 – 11:15", (time(10, 0), time(11, 15))),
    (time(8, 30), (time(8, 30), None)),
])
def test_times_and_ranges(text, expected):
    assert parse_time_range(text) == expected


@pytest.mark.parametrize("text", ["25:00", "13pm", "ten", "10:00-11:00-12:00"])
def test_times_that_cannot_be_read(text):
    with pytest.raises(ValueError):
        parse_time_range(text)


def test_mwf_term_expands_to_zoom_weekly_series():
    series = expand([0, 2, 4], time(10, 0), time(10, 50), date(2027, 1, 10), date(2027, 3, 26),
                    "America/New_York")
    # 10 Jan 2027 is a Sunday: the first class is Monday the 11th.
    assert series.start.isoformat() == "2027-01-11T10:00:00"
    assert series.duration == 50
    assert series.weekly_days == "2,4,6"
    # 26 Mar 23:59 in New York (EDT, UTC-4) is 27 Mar 03:59 UTC: the last class is covered.
    assert series.end_date_time == "2027-03-27T03:59:00Z"
    assert series.occurrences == 33


def test_sunday_sorts_first_in_zoom_numbering():
    assert expand([6, 1], time(9), None, date(2027, 1, 1), date(2027, 1, 31), "UTC").weekly_days == "1,3"


def test_more_than_50_classes_is_refused_with_the_count():
    with pytest.raises(ValueError, match=r"60 classes .* at most 50"):
        expand([0, 1, 2, 3, 4, 5], time(9), None, date(2027, 1, 4), date(2027, 3, 14), "UTC")


def test_end_before_start_and_reversed_dates_are_refused():
    with pytest.raises(ValueError, match="ends"):
        expand([0], time(10), time(9), date(2027, 1, 4), date(2027, 2, 1), "UTC")
    with pytest.raises(ValueError, match="before first_day"):
        expand([0], time(10), None, date(2027, 2, 4), date(2027, 1, 1), "UTC")


# --- through the schema: timetable columns build the request, or say what disagrees ----------

from datetime import UTC, datetime  # noqa: E402

from importer.columns import ColumnMap  # noqa: E402
from importer.models import SourceRow  # noqa: E402
from importer.schema import check_row  # noqa: E402

TIMETABLE_HEADERS = ("User ID", "Context ID", "Domain", "Course ID", "Topic", "Days", "Time", "First Day",
                     "Last Day", "Timezone", "Type", "Start Time", "Duration", "End Times")
NOW = datetime(2026, 11, 1)


def timetable_row(**cells):
    values = {"User ID": "host@x.edu", "Context ID": "ctx", "Domain": "canvas.x.edu", "Course ID": 396,
              "Topic": "BIO 101", "Days": "Mon Wed Fri", "Time": "10:00-10:50", "First Day": "2027-01-10",
              "Last Day": datetime(2027, 3, 26), "Timezone": "America/New_York"}
    values.update(cells)
    columns = ColumnMap.build(TIMETABLE_HEADERS)
    row = SourceRow(2, tuple(values.get(h) for h in TIMETABLE_HEADERS))
    return check_row(columns, row, now=NOW.replace(tzinfo=UTC))


def test_timetable_row_becomes_a_weekly_type_8_request():
    check = timetable_row()
    assert check.problems == ()
    assert check.request is not None
    assert check.request.meeting_info == {
        "topic": "BIO 101", "type": 8, "start_time": "2027-01-11T10:00:00", "duration": 50,
        "timezone": "America/New_York",
        "recurrence": {"type": 2, "repeat_interval": 1, "weekly_days": "2,4,6",
                       "end_date_time": "2027-03-27T03:59:00Z"},
    }


def test_timetable_columns_alone_satisfy_the_required_columns():
    headers = ("User ID", "Context ID", "Domain", "Topic", "Days", "Time", "First Day", "Last Day", "Timezone")
    columns = ColumnMap.build(headers)
    assert "type" not in columns.index and "start_time" not in columns.index


def test_a_timetable_sheet_without_timezone_or_time_is_missing_them_not_type():
    # Every timetable row needs a timezone: a sheet without the column is refused as a whole.
    with pytest.raises(InputError, match=r"missing required column\(s\) time, timezone "):
        ColumnMap.build(("User ID", "Context ID", "Domain", "Topic", "Days", "First Day", "Last Day"))


def test_explicit_columns_that_agree_are_accepted():
    check = timetable_row(**{"Type": 8, "Start Time": datetime(2027, 1, 11, 10, 0), "Duration": 50})
    assert check.problems == ()


def test_explicit_columns_that_disagree_name_both():
    check = timetable_row(**{"Start Time": "2027-01-12 10:00", "Duration": 60, "Type": 2})
    assert [(p.column, p.code) for p in check.problems] == [
        ("Type", "conflict"), ("Start Time", "conflict"), ("Duration", "conflict")]
    assert "Days, Time, First Day, Last Day" in check.problems[1].message
    assert "2027-01-11 10:00" in check.problems[1].message
    assert check.request is None


def test_too_many_classes_is_invalid_with_the_count():
    check = timetable_row(**{"Days": "MTWRF", "Last Day": "2027-04-30"})
    assert [(p.column, p.code) for p in check.problems] == [("Last Day", "out-of-range")]
    assert check.problems[0].message.startswith("80 classes from 2027-01-10 to 2027-04-30")


def test_partial_timetable_and_missing_timezone_are_named():
    check = timetable_row(Time=None, Timezone=None)
    assert [(p.column, p.code) for p in check.problems] == [
        ("Time", "missing-value"), ("Timezone", "missing-value")]


def test_end_times_conflicts_with_last_day():
    check = timetable_row(**{"End Times": 12})
    assert [(p.column, p.code) for p in check.problems] == [("End Times", "conflict")]
