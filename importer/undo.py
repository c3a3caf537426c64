"""`importer undo`: take a run back (DESIGN.md "Correct, resolve and undo with the Zoom REST API").

    read the result sheet -> plan (what each row holds) -> confirm -> bulkDisassociate the
    associations (at most 400 a call, a refused batch split in halves, as bulkImport's are)
    -> with --delete, delete each meeting whose associations are all removed -> journal -> sheet

Every row the sheet gives a meeting is taken back: its association removed (status `removed`),
and with --delete its meeting deleted too (`deleted`). A row whose meeting was never linked
(`not_associated`) has no association to remove. Rows without a meeting are left as they were.
The journal learns each removal and deletion, so a later run of the sheet links removed
meetings again (their ids kept) and creates deleted ones anew.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .client import LtiClient
from .columns import ColumnMap
from .errors import ConfigError, InputError, JournalError
from .journal import Journal, LinkState, scope_of
from .lifecycle import Action, Link, Plan, Step
from .models import Answer, Course, Outcome
from .options import Connection, Progress, ReadOptions, Zoom
from .reader import read_sheet
from .reassociate import WHOLE_REQUEST_REFUSALS
from .report import Report
from .run import Memory, check_output, check_sheet_rows, write_report
from .statuses import Status, code_step


def default_undo_output(path: Path) -> Path:
    return path.with_name(f"{path.stem}.undo.xlsx")


@dataclass
class UndoPlan:
    """What `undo` would do: the associations to remove and the meetings to delete."""

    plan: Plan  # every row, SETTLED as it is left, or waiting (outcome None) for what undo does
    links: list[Link]  # the associations to remove, one per (meeting, course)
    meetings: list[str]  # the meetings to delete, with --delete (in sheet order)
    delete: bool

    @property
    def rows(self) -> int:
        """Rows with a meeting: those undo takes back."""
        return sum(1 for step in self.plan.steps if step.meeting_id or step.check.prior.status == Status.DELETED)

    def describe(self) -> str:
        text = (f"{len(self.links)} association(s) to remove from their courses (bulkDisassociate), "
                f"{len(self.meetings) if self.delete else 0} meeting(s) to delete in Zoom")
        left = len(self.plan.steps) - self.rows
        return text + (f"; {left} row(s) without a meeting left as they are" if left else "")


Key = tuple[str, str, str]  # (meeting id, contextId, domain): one association


@dataclass(frozen=True)
class _Journaled:
    """What the journal knows of the associations and meetings a sheet names."""

    linked: dict[Key, str | None]  # associations known to exist -> their courseId
    removed: frozenset[Key]  # associations an earlier undo removed
    deleted: frozenset[str]  # meetings an earlier `undo --delete` deleted

    @classmethod
    def read(cls, sent: tuple[Path, str] | None) -> _Journaled:
        if sent is None or not sent[0].exists():
            return cls({}, frozenset(), frozenset())
        try:
            with Journal(sent[0], sent[1]) as journal:
                return cls(journal.associations(), frozenset(journal.associations(LinkState.REMOVED)),
                           journal.deleted_meeting_ids())
        except JournalError:
            return cls({}, frozenset(), frozenset())


def plan_undo(path: Path, read: ReadOptions | None = None, *, delete: bool = False,
              journal: Path | None = None, now: datetime | None = None,
              sent: tuple[Path, str] | None = None) -> tuple[UndoPlan, ColumnMap]:
    """Read a result sheet and say what undo would take back. Returns the plan and the sheet's
    columns (for writing the result). Nothing is sent. `journal` is where a --map is remembered;
    `sent` (the journal's path and scope) says what happened since the sheet was written: every
    association of its meetings that exists (a course changed and run again, a not_associated row
    linked later) is removed too; what an earlier undo removed or deleted is not asked again."""
    read = read or ReadOptions()
    memory = Memory(journal)
    try:
        columns, checks = check_sheet_rows(read_sheet(path, read.sheet), read, now, memory)
    finally:
        memory.close()
    known = _Journaled.read(sent)
    steps: list[Step] = []
    links: dict[Key, Link] = {}
    for index, check in enumerate(checks):
        prior = check.prior
        step = Step(index, check, Action.SETTLED)
        steps.append(step)
        if not prior.meeting_id or prior.status == Status.DELETED:
            step.outcome = _as_it_was(step)
            continue
        step.meeting_id = prior.meeting_id
        if prior.meeting_id in known.deleted:
            step.outcome = Outcome(Status.DELETED, prior.meeting_id, None, "deleted by an earlier undo")
        elif check.request is None:
            problems = "; ".join(p.describe() for p in check.problems if not p.warning)
            step.outcome = Outcome(Status(prior.status) if prior.status in set(Status) else Status.INVALID,
                                   prior.meeting_id, "undo-failed",
                                   f"its course cannot be read, so it cannot be removed: {problems}",
                                   "fix the cell named in error_message, then run `importer undo` again")
        else:
            step.action = Action.ASSOCIATE  # waiting: its association comes out, or it was never in
            course = check.request.course
            key = (prior.meeting_id, course.context_id, course.domain)
            # A not_associated row may be linked all the same (a link whose answer was lost): it is asked
            # for too, and a refusal of it alone means nothing was there to remove.
            never_in = prior.status == Status.REMOVED or key in known.removed
            if key not in links and (key in known.linked or not never_in):
                links[key] = Link(index, prior.meeting_id, course)
    if not any(step.meeting_id or step.check.prior.status == Status.DELETED for step in steps):
        raise InputError(f"{path}: no row has a meeting_id: `importer undo` takes the result sheet of a run")
    taken_back = {step.meeting_id: step.index for step in reversed(steps)
                  if step.action is Action.ASSOCIATE and step.meeting_id is not None}
    for key, course_id in known.linked.items():  # the meetings' other courses, as the journal knows them
        if key[0] in taken_back and key not in links:
            links[key] = Link(taken_back[key[0]], key[0], Course(key[1], key[2], course_id))
    # A meeting is deleted only when every row that holds it is taken back.
    meetings = [meeting for meeting in taken_back if all(
        step.action is Action.ASSOCIATE for step in steps if step.meeting_id == meeting)]
    return UndoPlan(Plan(steps), list(links.values()), meetings, delete), columns


def _as_it_was(step: Step) -> Outcome:
    prior = step.check.prior
    status = Status(prior.status) if prior.status in set(Status) else (
        Status.INVALID if step.check.request is None else Status.NOT_SENT)
    return Outcome(status, prior.meeting_id, prior.error_code, prior.message, prior.next_step)


def undo_file(path: Path, output: Path | None, connection: Connection, journal_path: Path,
              read: ReadOptions | None = None, *, delete: bool = False, zoom: Zoom | None = None,
              confirm: Callable[[UndoPlan], bool] = lambda plan: True, progress: Progress | None = None,
              batch_size: int | None = None, max_attempts: int = 5, remember_in: Path | None = None,
              now: datetime | None = None) -> Report | None:
    """Take back what a result sheet lists. `confirm` sees the plan first: when it says no,
    nothing is sent and None is returned."""
    if delete and zoom is None:
        raise ConfigError("--delete deletes meetings through Zoom's REST API: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID "
                          "and ZOOM_CLIENT_SECRET (a Server-to-Server OAuth app's)")
    output = output or default_undo_output(path)
    check_output(output)
    scope = scope_of(connection.base_url, connection.key)
    progress = progress or Progress()
    with Journal(journal_path, scope) as journal:
        journal.lock()  # before the plan: a run finishing now would link what the plan misses
        undo, columns = plan_undo(path, read, delete=delete, journal=remember_in or journal_path, now=now,
                                  sent=(journal_path, scope))
        if delete and zoom is not None and undo.meetings:
            asyncio.run(_zoom_token(zoom))  # credentials Zoom refuses stop here, before anything is removed
        if not confirm(undo):
            return None
        interrupted = False
        try:
            asyncio.run(_take_back(undo, journal, connection, zoom, progress, batch_size, max_attempts))
        except KeyboardInterrupt:  # the sheet is still written; the journal already holds what was done
            interrupted = True
            for step in undo.plan.steps:
                if step.outcome is None:
                    step.outcome = Outcome(_kept_status(step), step.meeting_id, "undo-failed",
                                           "the undo was interrupted before this row was taken back",
                                           code_step("undo-failed"))
    judged = frozenset(step.row_number for step in undo.plan.steps if step.meeting_id)
    # A meeting an earlier undo deleted is taken back further than asked: done either way.
    return write_report(columns, undo.plan, output,
                        done=frozenset({Status.DELETED} if delete else {Status.REMOVED, Status.DELETED}),
                        judged=judged, interrupted=interrupted)


async def _take_back(undo: UndoPlan, journal: Journal, connection: Connection, zoom: Zoom | None,
                     progress: Progress, batch_size: int | None, max_attempts: int) -> None:
    from .reassociate import Batches

    answers: dict[Key, Answer] = {}  # each association's answer
    async with LtiClient(connection.base_url, connection.key, connection.secret,
                         calendar_user=connection.calendar_user, timeout=connection.timeout,
                         clock=connection.clock) as client:
        if undo.links:
            progress.start("removing meetings from courses", len(undo.links))

            def settle(link: Link, answer: Answer) -> None:
                answers[_key(link)] = answer
                if answer.kind == "ok":
                    journal.remove_association(link.meeting_id, link.course.context_id, link.course.domain)
                progress.advance(Status.REMOVED if answer.kind == "ok" else Status.FAILED)

            try:
                await Batches(client.bulk_disassociate, batch_size or 400, max_attempts).run(undo.links, settle)
            finally:
                progress.finish()
    for step in undo.plan.steps:
        if step.outcome is None and step.meeting_id is not None:
            step.outcome = _taken_back(step, [link for link in undo.links if link.index == step.index], answers)
    if undo.delete and zoom is not None:
        await _delete(undo, journal, zoom, progress)


def _key(link: Link) -> Key:
    return (link.meeting_id, link.course.context_id, link.course.domain)


def _taken_back(step: Step, links: list[Link], answers: dict[Key, Answer]) -> Outcome:
    """A row after bulkDisassociate: its association (and those of its meeting's other courses the
    journal knew, which `links` holds for the meeting's first row) removed, or why not."""
    assert step.meeting_id is not None and step.check.request is not None
    course = step.check.request.course
    own = answers.get((step.meeting_id, course.context_id, course.domain))
    others = [link for link in links if link.course.context_id != course.context_id
              or link.course.domain != course.domain]
    kept = [(link, answers.get(_key(link))) for link in others]
    kept = [(link, answer) for link, answer in kept if answer is None or answer.kind != "ok"]
    maybe = step.check.prior.status == Status.NOT_ASSOCIATED
    if own is not None and own.kind == "refused" and maybe and own.error_code not in WHOLE_REQUEST_REFUSALS:
        own = None  # refused alone, for a row whose link was never confirmed: nothing was there to remove
    elif own is not None and own.kind != "ok":
        return Outcome(_kept_status(step), step.meeting_id, "undo-failed",
                       f"not removed from its course: {_reason(own)}", code_step("undo-failed"))
    if kept:
        link, answer = kept[0]
        return Outcome(_kept_status(step), step.meeting_id, "undo-failed",
                       f"still in course {link.course.context_id} ({link.course.domain}), where a later run linked "
                       f"it: {_reason(answer) if answer else 'not sent'}", code_step("undo-failed"))
    also = f"; also from {len(others)} other course(s) a later run linked it to" if others else ""
    if own is not None:
        return Outcome(Status.REMOVED, step.meeting_id, None, f"removed from its course (bulkDisassociate){also}")
    if maybe:
        return Outcome(Status.REMOVED, step.meeting_id, None, f"it was not in its course: nothing to remove{also}")
    return Outcome(Status.REMOVED, step.meeting_id, None, f"removed from its course by an earlier undo{also}")


def _reason(answer: Answer) -> str:
    return answer.error_message or f"bulkDisassociate answered {answer.error_code}"


async def _delete(undo: UndoPlan, journal: Journal, zoom: Zoom, progress: Progress) -> None:
    """Delete each meeting whose associations are all removed; every row of it says so."""
    from .zoom import ZoomClient, ZoomError, ZoomNotFound

    doomed = [meeting for meeting in undo.meetings if all(
        step.outcome is not None and step.outcome.status is Status.REMOVED and step.outcome.error_code is None
        for step in undo.plan.steps if step.meeting_id == meeting)]
    results: dict[str, tuple[Status, str | None, str]] = {}  # meeting -> (status, code, what happened)
    if not doomed:
        return
    progress.start("deleting meetings in Zoom", len(doomed))
    try:
        async with ZoomClient(zoom) as client:
            for meeting in doomed:
                try:
                    await client.delete_meeting(meeting)
                    results[meeting] = (Status.DELETED, None, "then deleted in Zoom")
                except ZoomNotFound:  # deleted already: by an earlier try whose answer was lost, or by hand
                    results[meeting] = (Status.DELETED, None, "the meeting no longer exists in Zoom")
                except ZoomError as exc:
                    results[meeting] = (Status.REMOVED, "undo-failed", f"but not deleted: {exc}")
                if results[meeting][0] is Status.DELETED:
                    journal.mark_deleted(meeting)
                progress.advance(results[meeting][0])
    finally:
        progress.finish()
    for step in undo.plan.steps:
        if step.meeting_id in results and step.outcome is not None and step.outcome.status is Status.REMOVED:
            status, code, text = results[step.meeting_id]
            step.outcome = Outcome(status, step.meeting_id, code, f"{step.outcome.message}; {text}",
                                   code_step(code) if code else None)


async def _zoom_token(zoom: Zoom) -> None:
    from .zoom import ZoomClient

    async with ZoomClient(zoom) as client:
        await client.token_info()


def _kept_status(step: Step) -> Status:
    prior = step.check.prior.status
    return Status(prior) if prior in set(Status) else Status.CREATED
