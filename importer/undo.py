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
from .journal import Journal, scope_of
from .lifecycle import Action, Link, Plan, Step
from .models import Answer, Outcome
from .options import Connection, Progress, ReadOptions, Zoom
from .reader import read_sheet
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
        return sum(1 for step in self.plan.steps if step.action is not Action.SETTLED)

    def describe(self) -> str:
        text = (f"{len(self.links)} association(s) to remove from their courses (bulkDisassociate), "
                f"{len(self.meetings) if self.delete else 0} meeting(s) to delete in Zoom")
        left = len(self.plan.steps) - self.rows
        return text + (f"; {left} row(s) without a meeting left as they are" if left else "")


def plan_undo(path: Path, read: ReadOptions | None = None, *, delete: bool = False,
              journal: Path | None = None, now: datetime | None = None,
              sent: tuple[Path, str] | None = None) -> tuple[UndoPlan, ColumnMap]:
    """Read a result sheet and say what undo would take back. Returns the plan and the sheet's
    columns (for writing the result). Nothing is sent. `journal` is where a --map is remembered;
    `sent` (the journal's path and scope) says which associations were made since the sheet was
    written (a not_associated row linked by a later run)."""
    read = read or ReadOptions()
    memory = Memory(journal)
    try:
        columns, checks = check_sheet_rows(read_sheet(path, read.sheet), read, now, memory)
    finally:
        memory.close()
    linked_since = _linked(sent)
    steps: list[Step] = []
    links: list[Link] = []
    meetings: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for index, check in enumerate(checks):
        prior = check.prior
        step = Step(index, check, Action.SETTLED)
        steps.append(step)
        if not prior.meeting_id or prior.status == Status.DELETED:
            step.outcome = _as_it_was(step)
            continue
        step.meeting_id = prior.meeting_id
        if prior.meeting_id not in meetings:
            meetings.append(prior.meeting_id)
        if check.request is None:
            problems = "; ".join(p.describe() for p in check.problems if not p.warning)
            step.outcome = Outcome(Status(prior.status) if prior.status in set(Status) else Status.INVALID,
                                   prior.meeting_id, "undo-failed",
                                   f"its course cannot be read, so it cannot be removed: {problems}",
                                   "fix the cell named in error_message, then run `importer undo` again")
            continue
        step.action = Action.ASSOCIATE  # waiting: its association comes out, or it was never in
        course = check.request.course
        key = (prior.meeting_id, course.context_id, course.domain)
        if key in seen or (prior.status in (Status.NOT_ASSOCIATED, Status.REMOVED) and key not in linked_since):
            continue  # nothing linked to remove (or the same association as an earlier row's)
        seen.add(key)
        links.append(Link(index, prior.meeting_id, course))
    if not any(step.meeting_id for step in steps):
        raise InputError(f"{path}: no row has a meeting_id: `importer undo` takes the result sheet of a run")
    # A meeting is deleted only when every row that holds it is taken back.
    meetings = [meeting for meeting in meetings if all(
        step.action is Action.ASSOCIATE for step in steps if step.meeting_id == meeting)]
    return UndoPlan(Plan(steps), links, meetings, delete), columns


def _linked(sent: tuple[Path, str] | None) -> frozenset[tuple[str, str, str]]:
    """(meeting, contextId, domain) of every association the journal knows to exist."""
    if sent is None or not sent[0].exists():
        return frozenset()
    try:
        with Journal(sent[0], sent[1]) as journal:
            return journal.associations()
    except JournalError:
        return frozenset()


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
    undo, columns = plan_undo(path, read, delete=delete, journal=remember_in or journal_path, now=now,
                              sent=(journal_path, scope))
    if not confirm(undo):
        return None
    progress = progress or Progress()
    with Journal(journal_path, scope) as journal:
        journal.lock()
        asyncio.run(_take_back(undo, journal, connection, zoom, progress, batch_size, max_attempts))
    judged = frozenset(step.row_number for step in undo.plan.steps if step.meeting_id)
    return write_report(columns, undo.plan, output, done=frozenset({Status.DELETED if delete else Status.REMOVED}),
                  judged=judged)


async def _take_back(undo: UndoPlan, journal: Journal, connection: Connection, zoom: Zoom | None,
                     progress: Progress, batch_size: int | None, max_attempts: int) -> None:
    from .reassociate import Batches

    refused: dict[str, Answer] = {}  # meeting id -> the answer that kept one of its associations
    async with LtiClient(connection.base_url, connection.key, connection.secret,
                         calendar_user=connection.calendar_user, timeout=connection.timeout,
                         clock=connection.clock) as client:
        if undo.links:
            progress.start("removing meetings from courses", len(undo.links))

            def settle(link: Link, answer: Answer) -> None:
                if answer.kind == "ok":
                    journal.remove_association(link.meeting_id, link.course.context_id, link.course.domain)
                else:
                    refused.setdefault(link.meeting_id, answer)
                progress.advance(Status.REMOVED if answer.kind == "ok" else Status.FAILED)

            try:
                await Batches(client.bulk_disassociate, batch_size or 400, max_attempts).run(undo.links, settle)
            finally:
                progress.finish()
    removed_now = {link.meeting_id for link in undo.links}
    removing = {link.index for link in undo.links}
    for step in undo.plan.steps:
        if step.outcome is not None or step.meeting_id is None:
            continue
        answer = refused.get(step.meeting_id)
        if answer is not None:
            reason = answer.error_message or f"bulkDisassociate answered {answer.error_code}"
            step.outcome = Outcome(_kept_status(step), step.meeting_id, "undo-failed",
                                   f"not removed from its course: {reason}", code_step("undo-failed"))
        elif step.index in removing or (step.meeting_id in removed_now
                                        and step.check.prior.status not in (Status.NOT_ASSOCIATED, Status.REMOVED)):
            step.outcome = Outcome(Status.REMOVED, step.meeting_id, None, "removed from its course (bulkDisassociate)")
        elif step.check.prior.status == Status.REMOVED:
            step.outcome = Outcome(Status.REMOVED, step.meeting_id, None, "removed from its course by an earlier undo")
        else:
            step.outcome = Outcome(Status.REMOVED, step.meeting_id, None,
                                   "it was never linked to its course: nothing to remove")
    if undo.delete and zoom is not None:
        await _delete(undo, journal, zoom, progress, refused)


async def _delete(undo: UndoPlan, journal: Journal, zoom: Zoom, progress: Progress,
                  refused: dict[str, Answer]) -> None:
    """Delete each meeting whose associations are all removed; every row of it says so."""
    from .zoom import ZoomClient, ZoomError, ZoomNotFound

    doomed = [meeting for meeting in undo.meetings if meeting not in refused and all(
        step.outcome is not None and step.outcome.status is Status.REMOVED
        for step in undo.plan.steps if step.meeting_id == meeting)]
    results: dict[str, Outcome] = {}
    progress.start("deleting meetings in Zoom", len(doomed))
    try:
        async with ZoomClient(zoom) as client:
            for meeting in doomed:
                try:
                    await client.delete_meeting(meeting)
                    text = "removed from its course and deleted in Zoom"
                except ZoomNotFound:  # deleted already: by an earlier try whose answer was lost, or by hand
                    text = "removed from its course; the meeting no longer exists in Zoom"
                except ZoomError as exc:
                    results[meeting] = Outcome(Status.REMOVED, meeting, "undo-failed",
                                               f"removed from its course, but not deleted: {exc}",
                                               code_step("undo-failed"))
                    progress.advance(Status.REMOVED)
                    continue
                journal.mark_deleted(meeting)
                results[meeting] = Outcome(Status.DELETED, meeting, None, text)
                progress.advance(Status.DELETED)
    finally:
        progress.finish()
    for step in undo.plan.steps:
        if step.meeting_id in results and step.outcome is not None and step.outcome.status is Status.REMOVED:
            step.outcome = results[step.meeting_id]


def _kept_status(step: Step) -> Status:
    prior = step.check.prior.status
    return Status(prior) if prior in set(Status) else Status.CREATED
