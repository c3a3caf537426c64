"""`make demo`'s sheet (samples/make_samples.py --demo): the sample term moved to the next term
after the day it is made, so the demo never warns "in the past"; the committed samples unchanged.

Every date here is passed in: nothing reads the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from importer.options import ReadOptions
from importer.run import check_sheet

from support import load_make_samples

SAMPLES = Path(__file__).resolve().parent.parent / "samples"




ms = load_make_samples()

#: The day issue 13 was written: the committed Fall 2026 sample is half in the past.
ISSUE_DAY = date(2026, 12, 4)
#: Days around the term boundaries (a week before Spring/Fall starts, and the day after) and
#: ordinary days, over several years.
DAYS = [ISSUE_DAY, date(2026, 1, 1), date(2026, 9, 1), date(2026, 9, 2), date(2027, 1, 5),
        date(2027, 1, 6), date(2027, 8, 31), date(2027, 9, 1), date(2028, 2, 29), date(2030, 12, 31)]


def past_warnings(path: Path, sheet: str, now: datetime) -> list[int]:
    _, checks = check_sheet(path, ReadOptions(sheet=sheet), now=now)
    return [p.row_number for c in checks for p in c.problems if p.code == "in-the-past"]


def test_the_committed_samples_are_reproduced_byte_for_byte(tmp_path: Path) -> None:
    for path in ms.write_samples(tmp_path):
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), path.name


def test_the_sample_moved_by_no_week_is_the_committed_sample() -> None:
    assert ms.term_sample(ms.FIRST_DAY) == ms.meetings()
    assert ms.demo_first_day(ms.FIRST_DAY - ms.DEMO_LEAD) == ms.FIRST_DAY


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_the_demo_sheet_validates_with_nothing_in_the_past(tmp_path: Path, today: date) -> None:
    path = ms.write_demo(tmp_path, today)
    sheet = ms.term_name(ms.demo_first_day(today))
    # The day it is made, and still a week later (DEMO_LEAD): a kept demo sheet stays clean.
    for now in (datetime.combine(today, time(12), UTC), datetime.combine(today + ms.DEMO_LEAD, time(0), UTC)):
        assert past_warnings(path, sheet, now) == [], now
    _, checks = check_sheet(path, ReadOptions(sheet=sheet), now=datetime.combine(today, time(12), UTC))
    errors = [(p.row_number, p.code) for c in checks for p in c.errors]
    assert errors == [(32, "type-error")]  # only the deliberate "fifty": the demo's one invalid row


def test_the_check_finds_the_past_in_the_committed_sample() -> None:
    """The check above can fail: made for the issue's day, the committed sample does."""
    rows = past_warnings(SAMPLES / "fall-2026.xlsx", ms.SHEET_NAME, datetime.combine(ISSUE_DAY, time(12), UTC))
    assert len(rows) == 32


def test_every_day_gets_the_next_term_at_least_a_week_ahead() -> None:
    starts = sorted(day for year in range(2025, 2033) for day in ms.term_starts(year))
    today = date(2026, 1, 1)
    while today < date(2031, 1, 1):
        first_day = ms.demo_first_day(today)
        assert first_day.weekday() == ms.FIRST_DAY.weekday() == 1, today  # a Tuesday, like Fall 2026
        assert first_day >= today + ms.DEMO_LEAD, today
        assert first_day == min(s for s in starts if s >= today + ms.DEMO_LEAD), today  # the next one
        assert first_day - today <= timedelta(days=250), today
        today += timedelta(days=1)
    assert ms.demo_first_day(ISSUE_DAY) == date(2027, 1, 12)
    assert ms.term_name(date(2027, 1, 12)) == "Spring 2027"
    assert ms.term_name(date(2027, 9, 7)) == "Fall 2027"


@pytest.mark.parametrize("first_day", [date(2027, 1, 12), date(2027, 9, 7), date(2026, 12, 10), date(2031, 3, 1)],
                         ids=str)
def test_the_moved_term_keeps_weekdays_times_courses_and_hosts(first_day: date) -> None:
    committed, moved = ms.meetings(), ms.term_sample(first_day)
    assert len(moved) == len(committed) == 60
    shift = moved[0].start - committed[0].start
    assert shift.days % 7 == 0 and shift.seconds == 0 and shift > timedelta(0)
    start = ms.FIRST_DAY + shift
    assert first_day <= start < first_day + timedelta(weeks=1)
    for old, new in zip(committed, moved, strict=True):
        assert new.start == old.start + shift
        assert (new.start.weekday(), new.start.time()) == (old.start.weekday(), old.start.time())
        assert new.start.date() >= start
        old_cells, new_cells = old.cells(), new.cells()
        for header in ("User ID", "Context ID", "Domain", "Course ID", "Topic", "Type", "Duration", "Timezone",
                       "Weekly Days", "Agenda", "Notes"):
            i = ms.HEADERS.index(header)
            assert new_cells[i] == old_cells[i], header
        if new.days:
            assert ms.zoom_weekday(new.start.date()) in {int(d) for d in new.days.split(",")}
            end = datetime.strptime(new.last_day, ms.UTC_TEXT)
            assert end == datetime.strptime(old.last_day, ms.UTC_TEXT) + shift
        if old.row_id:
            assert new.row_id.split("-", 1)[1] == old.row_id.split("-", 1)[1]
    ms.check(moved, start)
