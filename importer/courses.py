"""Courses named, not spelled: each row's course looked up in Canvas before anything is sent.

With Canvas configured (`options.Canvas`), a row may give its course as `courseId` (the
numeric Canvas id) or `sis_course_id` and leave `contextId` empty. Before the rows are
checked, `look_up_courses`:

* asks Canvas for each course the sheet names, once per course, a few at a time; what is
  known of a course with an `lti_context_id` is kept in the journal (that id never changes),
  so a re-run asks Canvas nothing new;
* makes Canvas generate a missing `lti_context_id` (the Zoom tool's sessionless launch);
* fills the row's empty `contextId`, `courseId` and `domain` cells (the columns are added
  when the sheet lacks them), so the result sheet feeds back without Canvas;
* checks a typed `contextId` against the row's course.

A course Canvas does not know (`unknown-course`), a contextId of another course
(`context-mismatch`) and a course with no id to be had (`no-context-id`) are cell problems of
the row: it is `invalid` and nothing is sent for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from .canvas import CanvasClient, NotPermitted
from .cells import InvalidCell, to_identifier
from .columns import LOOKED_UP, ColumnMap
from .journal import Journal
from .models import CanvasCourse, Cell, Problem, SourceRow, course_ref
from .options import Canvas
from .schema import RowCheck

#: Lookups in flight at once: Canvas throttles a token that asks too much at once.
CONCURRENT_LOOKUPS = 4


@dataclass(frozen=True)
class Lookup:
    """The sheet with its course cells filled, and each row's course problems."""

    columns: ColumnMap
    rows: list[SourceRow]
    problems: dict[int, list[Problem]]  # by spreadsheet row number
    asked: int  # courses asked of Canvas (not found in the journal)


def with_course_problems(check: RowCheck, columns: ColumnMap, problems: Sequence[Problem]) -> RowCheck:
    """A row whose course could not be settled: its course problems, and no request. The checker's
    "required" problems on the cells the lookup would have filled are left out: they say less."""
    unfilled = {columns.header(name) for name in LOOKED_UP}
    kept = tuple(p for p in check.problems if not (p.code == "missing-value" and p.column in unfilled))
    return replace(check, request=None, problems=(*problems, *kept))


def canvas_site(canvas: Canvas) -> str:
    """What the journal's courses are kept under: the whole Canvas address (two Canvases on one host
    are two sites)."""
    return canvas.url.rstrip("/")


def canvas_host(canvas: Canvas) -> str:
    """The host name a filled-in `domain` cell gets."""
    return (urlsplit(canvas.url).hostname or "").lower()


def with_course_columns(columns: ColumnMap, rows: Sequence[SourceRow]) -> tuple[ColumnMap, list[SourceRow]]:
    """The sheet with empty contextId, courseId and domain columns added where it lacks them."""
    added = [name for name in LOOKED_UP if name not in columns.index]
    if not added:
        return columns, list(rows)
    width = len(columns.headers)
    index = {**columns.index, **{name: width + offset for offset, name in enumerate(added)}}
    headers = (*columns.headers, *added)
    padding = (None,) * len(added)
    return (replace(columns, headers=headers, index=index),
            [SourceRow(row.row_number, row.cells + padding) for row in rows])


def look_up_courses(columns: ColumnMap, rows: Sequence[SourceRow], canvas: Canvas, journal: Journal | None
                    ) -> Lookup:
    """Each row's course looked up (see the module docstring)."""
    columns, filled = with_course_columns(columns, rows)
    requests = {row.row_number: _Reference.of(columns, row, canvas.check_typed) for row in filled}
    host = canvas_host(canvas)
    courses: dict[str, Found] = {**journal.canvas_courses(canvas_site(canvas))} if journal is not None else {}
    asked = _fetch(canvas, journal, courses, {ref.ref for ref in requests.values() if ref is not None})
    # A typed contextId that is not its course's: which course is it? (named in the message)
    asked += _fetch(canvas, journal, courses, check_token=not asked, refs={
        course_ref(context_id=ref.context_id) for ref in requests.values()
        if ref is not None and ref.context_id and _mismatch(courses.get(ref.ref), ref.context_id)})
    problems: dict[int, list[Problem]] = {}
    out = []
    for row in filled:
        ref = requests[row.row_number]
        if ref is None:
            out.append(row)
            continue
        cells, trouble = _settle(columns, row, ref, courses, host)
        out.append(SourceRow(row.row_number, cells))
        if trouble:
            problems[row.row_number] = trouble
    return Lookup(columns, out, problems, asked=asked)


def _fetch(canvas: Canvas, journal: Journal | None, courses: dict[str, Found], refs: set[str],
           check_token: bool = True) -> int:
    """Ask Canvas for the courses not known yet; remember those with an lti_context_id. How many were asked."""
    wanted = sorted(refs - courses.keys())
    if not wanted:
        return 0
    found = asyncio.run(_ask(canvas, wanted, check_token))
    courses.update(found)
    if journal is not None:
        journal.remember_canvas_courses(canvas_site(canvas), {
            ref: course for ref, course in found.items() if isinstance(course, CanvasCourse) and course.lti_context_id})
    return len(wanted)


def _mismatch(course: Found, context_id: str) -> bool:
    return isinstance(course, CanvasCourse) and (course.lti_context_id or "").lower() != context_id.lower()


@dataclass(frozen=True)
class _Reference:
    """What a row says of its course."""

    ref: str  # the course it names: numeric id, or sis_course_id:...
    column: str  # the column that names it
    value: str
    context_id: str | None  # a typed contextId, to check

    @classmethod
    def of(cls, columns: ColumnMap, row: SourceRow, check_typed: bool) -> _Reference | None:
        def text(name: str) -> str | None:
            cell = row.cells[columns.index[name]] if name in columns.index else None
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                return None
            try:
                return to_identifier(cell) or None
            except InvalidCell:  # the checker says what is wrong with the cell
                return None

        course_id, sis, context_id = text("courseId"), text("sis_course_id"), text("contextId")
        if context_id and not check_typed:
            return None
        if course_id:
            return cls(course_ref(course_id=course_id), "courseId", course_id, context_id)
        if sis:
            return cls(course_ref(sis_course_id=sis), "sis_course_id", sis, context_id)
        return None


#: What Canvas said of a course: the course, None (no such course), or why it would not show it.
Found = CanvasCourse | str | None


async def _ask(canvas: Canvas, refs: Iterable[str], check_token: bool = True) -> dict[str, Found]:
    """The token checked once, then each course asked once, a few at a time; a course without an
    lti_context_id gets one made."""
    gate = asyncio.Semaphore(CONCURRENT_LOOKUPS)
    async with CanvasClient(canvas.url, canvas.token, timeout=canvas.timeout, backoff=canvas.backoff) as client:
        if check_token:  # once a command: a second round (the courses of mismatched contextIds) needs none
            await client.whoami()

        async def one(ref: str) -> tuple[str, Found]:
            async with gate:
                try:
                    course = await client.course(ref)
                except NotPermitted as exc:
                    return ref, str(exc)
                if course is not None and course.lti_context_id is None and not ref.startswith("lti_context_id:"):
                    course = await client.make_context_id(course)
                return ref, course

        return dict(await asyncio.gather(*(one(ref) for ref in refs)))


def _settle(columns: ColumnMap, row: SourceRow, ref: _Reference, courses: dict[str, Found],
            host: str) -> tuple[tuple[Cell, ...], list[Problem]]:
    """The row's cells with its course filled in, or the problem with its course."""
    header = columns.header(ref.column)
    course = courses.get(ref.ref)
    if isinstance(course, str):
        return row.cells, [Problem(row.row_number, header, ref.value, "unknown-course",
                                   f"Canvas does not show course {ref.column} {ref.value} to this token's user "
                                   f"({course}): use the token of a user who can see it (an admin's)")]
    if course is None:
        return row.cells, [Problem(row.row_number, header, ref.value, "unknown-course",
                                   f"Canvas has no course {ref.column} {ref.value}: check the {ref.column} "
                                   "(Canvas shows a course's id in its web address, its SIS id in its settings)")]
    named = f"course '{course.name}' (id {course.id})"
    if ref.context_id:
        if _mismatch(course, ref.context_id):
            other = courses.get(course_ref(context_id=ref.context_id))
            theirs = f"course '{other.name}' (id {other.id})" if isinstance(other, CanvasCourse) else \
                "no course Canvas knows"
            return row.cells, [Problem(
                row.row_number, columns.header("contextId"), ref.context_id, "context-mismatch",
                f"contextId {ref.context_id} is {theirs}, but {ref.column} {ref.value} is {named}: fix the one "
                "that is wrong, or clear contextId to use the course's own")]
    elif course.lti_context_id is None:
        return row.cells, [Problem(
            row.row_number, header, ref.value, "no-context-id",
            f"{named} has no LTI context id yet and Canvas made none: open the course's Zoom page in Canvas "
            "once (that makes it), then run again")]
    cells = list(row.cells)
    cells[columns.index["contextId"]] = course.lti_context_id
    cells[columns.index["courseId"]] = course.id
    domain = columns.index["domain"]
    if cells[domain] is None or cells[domain] == "":
        cells[domain] = host
    return tuple(cells), []
