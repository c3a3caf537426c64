"""Generate samples/fall-2026.xlsx, samples/fall-2026.csv and samples/fall-2026-canvas.xlsx:
a realistic Fall 2026 term.

State University's Canvas (canvas.state.example.edu): 60 meetings, 7 hosts, 14 courses.
Weekly lectures are recurring meetings (Type 8); exam reviews and office hours are
one-off meetings (Type 2). A few rows are deliberately special, so that a
`run --simulate` demo shows every interesting outcome:

* STAT 250 (contextId 4f1e0c2b...): the simulator cannot associate it -> not_associated.
* MUS 130 (contextId a9e8d7c6...): its first association fails and is retried through
  bulkImport -> associated.
* HIST 240 guest seminar hosted by former.lecturer@...: unknown to Zoom -> failed.
* PSY 100 office hours with Duration "fifty" -> invalid.
* HIST 240 / POLS 240 joint lecture: two rows with identical host and meeting details,
  no Row ID, different courses -> one meeting, cross-listed in both courses.
* Notes "=see syllabus" (formula safety) and an Agenda with a comma and a quoted phrase.

samples/fall-2026-canvas.xlsx holds the same 60 meetings naming each course only by its SIS
id ("SIS Course ID", e.g. 2026FA-BIO-101-001; HIST 240's has a space and a slash): no
Context ID, Domain or Course ID column. With Canvas configured, the importer looks each course
up and fills them in; `importer run samples/fall-2026-canvas.xlsx --simulate` looks them up in
the simulator's Canvas fake, whose demo courses (importer/simulator/canvas.py) are these.

Everything is fixed data, and the xlsx is written with fixed zip timestamps, so running
this again reproduces every file byte for byte.

`make demo` imports the same 60 meetings moved to the next term that starts at least a
week from today (`--demo DIR`, see `demo_first_day`), so the demo never shows dates in the
past. The move is by whole weeks: every class keeps its weekday and time of day, and the
courses, hosts and contextIds stay the same, so the simulator's special courses and hosts
(importer/simulator/config.py, `demo_config`) still give every outcome.

Run: .venv/bin/python samples/make_samples.py                  (the committed samples)
     .venv/bin/python samples/make_samples.py --demo out/demo  (out/demo/term.xlsx)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
XLSX_PATH = HERE / "fall-2026.xlsx"
CSV_PATH = HERE / "fall-2026.csv"
CANVAS_XLSX_PATH = HERE / "fall-2026-canvas.xlsx"
SHEET_NAME = "Fall 2026"

HEADERS = (
    "Row ID",
    "User ID",
    "Context ID",
    "Domain",
    "Course ID",
    "Topic",
    "Type",
    "Start Time",
    "Duration",
    "Timezone",
    "Recurrence Type",
    "Repeat Interval",
    "Weekly Days",
    "End Date Time",
    "Settings.Waiting Room",
    "Settings.Mute Upon Entry",
    "Agenda",
    "Notes",
)

#: The Canvas sample's columns: the course named by its SIS id alone, where the ids were.
SIS_HEADER = "SIS Course ID"
LOOKED_UP_HEADERS = ("Context ID", "Domain", "Course ID")
CANVAS_HEADERS = (
    *HEADERS[:HEADERS.index("Context ID")],
    SIS_HEADER,
    *(header for header in HEADERS[HEADERS.index("Context ID"):] if header not in LOOKED_UP_HEADERS),
)
#: State University's SIS term code for Fall 2026, and the one course whose SIS id is spelled
#: with a space and a slash (as the simulator's Canvas fake has them: canvas.py, demo_sis_id).
SIS_TERM = "2026FA"
ODD_SIS_CODE = "HIST 240"

DOMAIN = "canvas.state.example.edu"
NEW_YORK = "America/New_York"
CHICAGO = "America/Chicago"
FIRST_DAY = date(2026, 9, 8)  # classes begin the Tuesday after Labor Day
LAST_DAY = "2026-12-11T23:59:00Z"  # last day of classes, end of recurrence
UTC_TEXT = "%Y-%m-%dT%H:%M:%SZ"
FIXED_ZIP_TIME = (2026, 8, 1, 0, 0, 0)
FIXED_DOC_TIME = datetime(2026, 8, 1)

NOT_ASSOCIATED_CONTEXT = "4f1e0c2b9a7d3e5f6a8b0c1d2e3f4a5b6c7d8e9f"
RETRIED_CONTEXT = "a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0"
FORMER_HOST = "former.lecturer@state.example.edu"

# Zoom numbers weekdays 1=Sunday .. 7=Saturday.
MWF, TTH, MW, TUE, WED, THU = "2,4,6", "3,5", "2,4", "3", "4", "5"


def email(name: str) -> str:
    return f"{name}@state.example.edu"


OKAFOR = email("m.okafor")
LINDQVIST = email("j.lindqvist")
RAMIREZ = email("a.ramirez")
CHEN = email("s.chen")
NAIR = email("p.nair")
KOWALSKI = email("d.kowalski")
HADDAD = email("t.haddad")


@dataclass(frozen=True)
class Course:
    code: str  # "BIO 101"
    title: str
    canvas_id: int
    host: str
    timezone: str
    context_override: str | None = None

    @property
    def context_id(self) -> str:
        """40 hex characters like a real LTI context id, stable across runs."""
        if self.context_override:
            return self.context_override
        return hashlib.sha1(f"state-university/fall-2026/{self.code}".encode()).hexdigest()

    @property
    def slug(self) -> str:
        return self.code.replace(" ", "")

    @property
    def sis_id(self) -> str:
        """ "2026FA-BIO-101-001"; HIST 240's is "2026FA/HIST 240-001" (a space and a slash)."""
        if self.code == ODD_SIS_CODE:
            return f"{SIS_TERM}/{self.code}-001"
        return f"{SIS_TERM}-{self.code.replace(' ', '-')}-001"


BIO = Course("BIO 101", "Principles of Biology", 48213, OKAFOR, NEW_YORK)
CHEM = Course("CHEM 110", "General Chemistry I", 48227, LINDQVIST, NEW_YORK)
MATH = Course("MATH 221", "Calculus II", 48240, RAMIREZ, CHICAGO)
HIST = Course("HIST 240", "The American Century", 48256, CHEN, NEW_YORK)
POLS = Course("POLS 240", "The American Century", 48257, CHEN, NEW_YORK)
CS = Course("CS 150", "Introduction to Programming", 48269, NAIR, NEW_YORK)
PSY = Course("PSY 100", "Introduction to Psychology", 48281, KOWALSKI, NEW_YORK)
ECON = Course("ECON 201", "Principles of Microeconomics", 48294, KOWALSKI, NEW_YORK)
ENGL = Course("ENGL 105", "College Writing", 48302, HADDAD, NEW_YORK)
PHYS = Course("PHYS 151", "Physics for Scientists I", 48315, RAMIREZ, CHICAGO)
SOC = Course("SOC 110", "Introduction to Sociology", 48329, HADDAD, NEW_YORK)
STAT = Course("STAT 250", "Applied Statistics", 48336, NAIR, CHICAGO, NOT_ASSOCIATED_CONTEXT)
ART = Course("ART 120", "Drawing I", 48347, CHEN, NEW_YORK)
MUS = Course("MUS 130", "Music Appreciation", 48352, HADDAD, NEW_YORK, RETRIED_CONTEXT)


@dataclass(frozen=True)
class Meeting:
    """One schedule row. `days` set = weekly recurring (Type 8), else one-off (Type 2)."""

    row_id: str | None
    course: Course
    topic: str
    start: datetime
    duration: int | str
    days: str | None = None
    agenda: str | None = None
    notes: str | None = None
    host: str | None = None
    waiting_room: bool = False
    mute: bool = True
    last_day: str = LAST_DAY  # End Date Time of a weekly series

    def cells(self) -> list[Any]:
        """Typed cells in HEADERS order, as a coordinator's Excel sheet would hold them."""
        weekly = self.days is not None
        return [
            self.row_id,
            self.host or self.course.host,
            self.course.context_id,
            DOMAIN,
            self.course.canvas_id,
            self.topic,
            8 if weekly else 2,
            self.start,
            self.duration,
            self.course.timezone,
            2 if weekly else None,
            1 if weekly else None,
            self.days,
            self.last_day if weekly else None,
            self.waiting_room,
            self.mute,
            self.agenda,
            self.notes,
        ]

    def canvas_cells(self) -> list[Any]:
        """Typed cells in CANVAS_HEADERS order: the course by its SIS id alone."""
        cells = {**dict(zip(HEADERS, self.cells(), strict=True)), SIS_HEADER: self.course.sis_id}
        return [cells[header] for header in CANVAS_HEADERS]


def zoom_weekday(day: date) -> int:
    """Python's Monday=0 to Zoom's Sunday=1 .. Saturday=7."""
    return (day.weekday() + 1) % 7 + 1


def first_class(days: str, hour: int, minute: int = 0) -> datetime:
    """The first day of term on one of `days`: a series starts on a day it recurs."""
    wanted = {int(d) for d in days.split(",")}
    day = FIRST_DAY
    while zoom_weekday(day) not in wanted:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute)


def lecture(course: Course, days: str, hour: int, minute: int, duration: int,
            notes: str | None = None) -> Meeting:
    return Meeting(
        f"F26-{course.slug}-LEC", course, f"{course.code} {course.title}: Lecture",
        first_class(days, hour, minute), duration, days,
        agenda=f"{course.code} weekly lecture", notes=notes,
    )


def section(course: Course, suffix: str, kind: str, days: str, hour: int, minute: int,
            duration: int) -> Meeting:
    return Meeting(
        f"F26-{course.slug}-{suffix}", course, f"{course.code} {course.title}: {kind}",
        first_class(days, hour, minute), duration, days,
        agenda=f"{course.code} weekly {kind.lower()}",
    )


def review(course: Course, suffix: str, what: str, start: datetime, duration: int,
           agenda: str | None = None, notes: str | None = None) -> Meeting:
    return Meeting(
        f"F26-{course.slug}-{suffix}", course, f"{course.code} {what}", start, duration,
        agenda=agenda or f"Questions and worked problems before the {what.lower()}",
        notes=notes,
    )


def office_hours(course: Course, suffix: str, start: datetime, duration: int | str = 60,
                 notes: str | None = None) -> Meeting:
    return Meeting(
        f"F26-{course.slug}-{suffix}", course, f"{course.code} office hours", start, duration,
        agenda="Drop in with questions; you will be admitted one at a time",
        notes=notes, waiting_room=True, mute=False,
    )


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute)


JOINT = {
    "topic": "HIST 240 / POLS 240 joint lecture: The American Century",
    "start": first_class(TTH, 14, 0),
    "duration": 75,
    "days": TTH,
    "agenda": "Joint lecture for HIST 240 and POLS 240",
    "notes": "cross-listed: one meeting in both courses",
}


def meetings() -> list[Meeting]:
    """The term, course by course."""
    return [
        # BIO 101
        lecture(BIO, MWF, 10, 0, 50, notes="Hybrid: Life Sciences 120 and Zoom"),
        section(BIO, "REC", "Recitation", THU, 13, 0, 50),
        review(BIO, "MIDREV", "Midterm review", at(10, 14, 18), 90,
               agenda='Chapters 4-6, bring your "one-page summary" to share'),
        review(BIO, "FINREV", "Final exam review", at(12, 7, 18), 120),
        office_hours(BIO, "OH1", at(10, 2, 15)),
        office_hours(BIO, "OH2", at(11, 13, 15)),
        # CHEM 110
        lecture(CHEM, TTH, 9, 30, 75),
        section(CHEM, "LAB", "Lab briefing", WED, 14, 0, 50),
        review(CHEM, "MIDREV", "Midterm review", at(10, 20, 19), 90),
        review(CHEM, "FINREV", "Final exam review", at(12, 8, 19), 120),
        office_hours(CHEM, "OH1", at(10, 6, 11)),
        # MATH 221 (Chicago campus)
        lecture(MATH, MWF, 11, 0, 50),
        section(MATH, "REC", "Recitation", TUE, 16, 0, 50),
        review(MATH, "EX1REV", "Exam 1 review", at(10, 1, 17), 90),
        review(MATH, "EX2REV", "Exam 2 review", at(11, 5, 17), 90),
        review(MATH, "FINREV", "Final exam review", at(12, 9, 17), 120),
        # HIST 240 / POLS 240: one cross-listed lecture, no Row ID
        Meeting(None, HIST, **JOINT),
        Meeting(None, POLS, **JOINT),
        review(HIST, "MIDREV", "Midterm review", at(10, 22, 18), 90),
        review(POLS, "MIDREV", "Midterm review", at(10, 23, 12), 90),
        Meeting("F26-HIST240-GUEST", HIST, "HIST 240 guest seminar: Oral histories",
                at(11, 6, 14), 90, agenda="Guest seminar with Q&A",
                notes="host left the university in August", host=FORMER_HOST),
        # CS 150
        lecture(CS, MWF, 13, 0, 50),
        section(CS, "LAB", "Lab", THU, 10, 0, 75),
        review(CS, "PROJREV", "Project 2 design review", at(11, 12, 16), 90,
               agenda="Each team shows its design in five minutes"),
        review(CS, "FINREV", "Final exam review", at(12, 8, 16), 120),
        office_hours(CS, "OH1", at(10, 8, 14)),
        office_hours(CS, "OH2", at(11, 19, 14)),
        # PSY 100
        lecture(PSY, TTH, 11, 0, 75),
        review(PSY, "MIDREV", "Midterm review", at(10, 15, 18), 90),
        review(PSY, "FINREV", "Final exam review", at(12, 10, 18), 120),
        office_hours(PSY, "OH1", at(11, 3, 13), duration="fifty",
                     notes="Duration typed as a word"),
        # ECON 201
        lecture(ECON, MWF, 9, 0, 50),
        review(ECON, "MIDREV", "Midterm review", at(10, 16, 12), 60),
        review(ECON, "PSREV", "Problem set 4 walkthrough", at(11, 20, 12), 60,
               agenda="Worked solutions to problem set 4"),
        review(ECON, "FINREV", "Final exam review", at(12, 9, 12), 120, notes="=see syllabus"),
        office_hours(ECON, "OH1", at(10, 27, 10)),
        # ENGL 105
        lecture(ENGL, TTH, 12, 30, 75),
        review(ENGL, "WKSHP", "Peer review workshop", at(10, 29, 15), 90,
               agenda="Bring two copies of your essay draft"),
        review(ENGL, "CONF", "Portfolio conferences", at(11, 10, 9), 120,
               agenda="Ten-minute one-on-one conferences; sign up in Canvas"),
        review(ENGL, "PORTREV", "Final portfolio review", at(12, 3, 15), 60),
        office_hours(ENGL, "OH1", at(10, 13, 10)),
        # PHYS 151 (Chicago campus)
        lecture(PHYS, MWF, 8, 0, 50),
        section(PHYS, "REC", "Recitation", THU, 15, 0, 50),
        review(PHYS, "MIDREV", "Midterm review", at(10, 21, 18), 90),
        review(PHYS, "FINREV", "Final exam review", at(12, 11, 9), 120),
        office_hours(PHYS, "OH1", at(11, 9, 13)),
        # SOC 110
        lecture(SOC, TTH, 15, 30, 75, notes="TA: L. Brooks"),
        review(SOC, "MIDREV", "Midterm review", at(10, 27, 17), 60),
        review(SOC, "FINREV", "Final exam review", at(12, 10, 17), 90),
        office_hours(SOC, "OH1", at(11, 17, 11)),
        office_hours(SOC, "OH2", at(12, 1, 11)),
        # STAT 250 (Chicago campus): this course cannot be associated in the demo
        lecture(STAT, TTH, 8, 0, 75, notes="new Canvas shell requested"),
        review(STAT, "MIDREV", "Midterm review", at(10, 13, 17), 90),
        review(STAT, "FINREV", "Final exam review", at(12, 8, 17), 120),
        # ART 120
        lecture(ART, MW, 14, 0, 75),
        review(ART, "CRIT", "Midterm critique", at(11, 4, 14), 120,
               agenda="Group critique of the midterm portfolio"),
        office_hours(ART, "OH1", at(10, 14, 11)),
        office_hours(ART, "OH2", at(11, 11, 11)),
        # MUS 130: its first association is retried through bulkImport in the demo
        lecture(MUS, MW, 10, 0, 75),
        review(MUS, "LISTREV", "Listening exam review", at(11, 18, 16), 90),
    ]


def check(rows: list[Meeting], first_day: date = FIRST_DAY) -> None:
    """Catch mistakes in the fixed data (or a moved term) before they reach a file."""
    assert len(rows) == 60, len(rows)
    ids = [m.row_id for m in rows if m.row_id]
    assert len(ids) == len(set(ids)), "duplicate Row ID"
    hosts = {m.host or m.course.host for m in rows} - {FORMER_HOST}
    assert len(hosts) == 7, hosts
    for m in rows:
        last_day = datetime.strptime(m.last_day, UTC_TEXT).date()
        if m.days:
            assert zoom_weekday(m.start.date()) in {int(d) for d in m.days.split(",")}, m
            assert first_day <= m.start.date() < first_day + timedelta(weeks=1), m
            assert m.duration in (50, 75), m
        else:
            assert m.start.weekday() < 5 and first_day < m.start.date() <= last_day, m
            assert m.duration == "fifty" or 60 <= int(m.duration) <= 120, m


# --------------------------------------------------------------------------- the demo's term

#: The demo's term starts at least this long after the day it is made, so that a demo sheet
#: made today still has no meeting in the past when it is imported some days later.
DEMO_LEAD = timedelta(weeks=1)


def term_starts(year: int) -> list[date]:
    """State University's two term starts in `year`, both Tuesdays like FIRST_DAY: Spring on
    the second Tuesday of January, Fall on the Tuesday after Labor Day (first Monday of September)."""
    def first(weekday: int, month: int) -> date:
        day = date(year, month, 1)
        return day + timedelta(days=(weekday - day.weekday()) % 7)

    return [first(1, 1) + timedelta(weeks=1), first(0, 9) + timedelta(days=1)]


def demo_first_day(today: date) -> date:
    """The first day of the next term that starts at least DEMO_LEAD after `today`."""
    earliest = today + DEMO_LEAD
    return min(day for year in (earliest.year, earliest.year + 1) for day in term_starts(year)
               if day >= earliest)


def term_name(first_day: date) -> str:
    """"Spring 2027", "Fall 2027": the sheet's name, as a registrar would call it."""
    return f"{'Spring' if first_day.month < 7 else 'Fall'} {first_day.year}"


def term_sample(first_day: date) -> list[Meeting]:
    """The sample term moved by whole weeks to begin on the first Tuesday on or after
    `first_day`: every meeting, one-off or weekly, keeps its weekday and local time of day,
    and the series' End Date Time moves with it. Courses, hosts and contextIds are unchanged;
    Row IDs take the new term's prefix ("S27-BIO101-LEC"). `term_sample(FIRST_DAY)` is the
    committed sample."""
    shift = timedelta(weeks=-((FIRST_DAY - first_day).days // 7))  # whole weeks, rounded up
    rows = meetings()
    if not shift:
        return rows
    start = FIRST_DAY + shift
    prefix = f"{term_name(start)[0]}{start.year % 100:02d}-"
    last_day = (datetime.strptime(LAST_DAY, UTC_TEXT) + shift).strftime(UTC_TEXT)
    return [replace(m, start=m.start + shift, last_day=last_day,
                    row_id=m.row_id and prefix + m.row_id.removeprefix("F26-"))
            for m in rows]


def write_demo(directory: Path, today: date) -> Path:
    """Write DIRECTORY/term.xlsx: the sample for the next term after `today`."""
    first_day = demo_first_day(today)
    rows = term_sample(first_day)
    check(rows, first_day)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "term.xlsx"
    write_xlsx(path, rows, term_name(first_day))
    print(f"wrote {path}: {term_name(first_day)}, {len(rows)} rows, classes "
          f"{first_day:%a %d %b %Y} to {rows[0].last_day[:10]} (made on {today:%d %b %Y})")
    return path


# --------------------------------------------------------------------------- xlsx


def write_xlsx(path: Path, rows: list[Meeting], title: str = SHEET_NAME, canvas: bool = False) -> None:
    """The sheet; with `canvas`, the courses named by SIS id alone (CANVAS_HEADERS)."""
    headers = CANVAS_HEADERS if canvas else HEADERS
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for meeting in rows:
        sheet.append(meeting.canvas_cells() if canvas else meeting.cells())
    start_col = headers.index("Start Time") + 1
    for row in sheet.iter_rows(min_row=2):
        row[start_col - 1].number_format = "yyyy-mm-dd hh:mm"
        for cell in row:
            # openpyxl turns any text starting with '=' into a formula: keep it text.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    for col, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = max(len(header) + 2, 12)
    if canvas:
        sheet.column_dimensions[get_column_letter(headers.index(SIS_HEADER) + 1)].width = 24
    else:
        sheet.column_dimensions[get_column_letter(headers.index("Context ID") + 1)].width = 44
    sheet.column_dimensions[get_column_letter(headers.index("Topic") + 1)].width = 55
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "State University Registrar"
    workbook.properties.created = FIXED_DOC_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(reproducible_zip(buffer.getvalue()))


def reproducible_zip(data: bytes) -> bytes:
    """Rewrite the archive with fixed timestamps, so the committed file only changes
    when its content does (openpyxl stamps the save time into the zip and core.xml)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                stamp = FIXED_DOC_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, content)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME), content,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# --------------------------------------------------------------------------- csv


def as_text(value: Any) -> str:
    """A CSV cell as a coordinator's export would hold it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def write_csv(path: Path, rows: list[Meeting]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows([as_text(v) for v in m.cells()] for m in rows)


def special_rows(rows: list[Meeting]) -> Iterator[int]:
    """Spreadsheet row numbers (header = 1) of the deliberately special rows."""
    for number, m in enumerate(rows, start=2):
        if (m.course in (STAT, MUS) or m.host == FORMER_HOST or m.row_id is None
                or m.duration == "fifty" or (m.notes or "").startswith("=")):
            yield number


def write_samples(directory: Path = HERE) -> list[Path]:
    """Write the committed samples (fall-2026.xlsx, .csv and fall-2026-canvas.xlsx) into `directory`."""
    rows = meetings()
    check(rows)
    paths = [directory / XLSX_PATH.name, directory / CSV_PATH.name]
    write_xlsx(paths[0], rows)
    write_csv(paths[1], rows)
    print(f"wrote {paths[0].name} and {paths[1].name}: {len(rows)} rows "
          f"(special rows {', '.join(map(str, special_rows(rows)))})")
    return [*paths, write_canvas_sample(directory, rows)]


def write_canvas_sample(directory: Path = HERE, rows: list[Meeting] | None = None) -> Path:
    """Write fall-2026-canvas.xlsx: the same meetings, each course named by its SIS id alone."""
    rows = meetings() if rows is None else rows
    check(rows)
    path = directory / CANVAS_XLSX_PATH.name
    write_xlsx(path, rows, canvas=True)
    print(f"wrote {path.name}: {len(rows)} rows, courses by {SIS_HEADER} alone "
          f"({len({m.course.sis_id for m in rows})} courses, for Canvas lookup)")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, metavar="DIR",
                        help="write DIR/term.xlsx, the sample moved to the next term instead")
    parser.add_argument("--today", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="with --demo: the day to make it for (default: today)")
    args = parser.parse_args(argv)
    if args.demo:
        write_demo(args.demo, args.today or date.today())
    elif args.today:
        parser.error("--today goes with --demo")
    else:
        write_samples()


if __name__ == "__main__":
    main()
