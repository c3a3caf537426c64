"""Decide, for every checked row, what this run must do: create, associate, or nothing.

A row's identity (`row_key`) is its row_id when given, else a hash of the host and the
normalised meetingInfo (never the course). What the journal and a fed-back result sheet
know decides the rest: a meeting that exists is associated, never created again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson

from .journal import Journal, MeetingEntry
from .models import Course, CreateRequest, Outcome, Problem, Status
from .outcomes import UNKNOWN_STEP, with_step
from .schema import RowCheck

DAILY_CREATES_PER_HOST = 100


class Action(StrEnum):
    CREATE = "create"  # send createAndAssociate
    FOLLOW = "follow"  # cross-listed: associate with the meeting its leader row creates
    ASSOCIATE = "associate"  # the meeting exists: bulkImport it into this row's course
    SETTLED = "settled"  # nothing to send: the outcome is already known


@dataclass(slots=True)  # one per row
class Step:
    index: int
    check: RowCheck
    action: Action
    row_key: str | None = None
    content_key: str | None = None
    outcome: Outcome | None = None
    meeting_id: str | None = None
    leader: int | None = None
    notes: tuple[str, ...] = ()  # most rows have none: they share the empty tuple

    @property
    def request(self) -> CreateRequest:
        assert self.check.request is not None
        return self.check.request


@dataclass
class Plan:
    steps: list[Step]

    def of(self, action: Action) -> list[Step]:
        return [step for step in self.steps if step.action is action]

    def creates_per_host(self) -> dict[str, list[int]]:
        hosts: dict[str, list[int]] = {}
        spelt: dict[str, list[int]] = {}  # userId as written -> its host's rows: lowered once per spelling
        create = Action.CREATE
        for step in self.steps:
            if step.action is create:
                request = step.check.request
                user_id = request.user_id  # type: ignore[union-attr]
                rows = spelt.get(user_id)
                if rows is None:
                    rows = spelt[user_id] = hosts.setdefault(user_id.lower(), [])
                rows.append(request.row_number)  # type: ignore[union-attr]
        return hosts

    def over_quota(self, limit: int = DAILY_CREATES_PER_HOST) -> dict[str, list[int]]:
        return {host: rows for host, rows in self.creates_per_host().items() if len(rows) > limit}


def row_key(request: CreateRequest, content: str | None = None) -> str:
    """A row's identity: its row_id when given, else its content key (pass it if already known)."""
    if request.row_id:
        return f"id:{request.row_id}"
    return content or content_key(request)


def content_key(request: CreateRequest) -> str:
    """A hash of the host and the normalised meetingInfo (never the course).

    The hashed text is `json.dumps(..., sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)` in UTF-8: journals hold these keys, so the text must never drift.
    orjson writes exactly those bytes ~4x faster (tests/test_plan.py compares the two);
    what it refuses (an integer beyond 64 bits) goes through json itself.
    """
    identity = {"userId": request.user_id.lower(), "meetingInfo": request.meeting_info}
    try:
        payload = _dumps(identity, option=_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        payload = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return "h:" + _sha256(payload).digest()[:16].hex()  # hexdigest()[:32], without hexing the rest


_dumps, _SORT_KEYS, _sha256 = orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.sha256  # once per row: no lookups


def invalid_outcome(problems: Sequence[Problem]) -> Outcome:
    errors = [p for p in problems if not p.warning]
    first = errors[0]
    return Outcome(Status.INVALID, None, first.code, "; ".join(p.describe() for p in errors))


def build_plan(checks: Sequence[RowCheck], journal: Journal | None, *, retry_unknown: bool = False) -> Plan:
    steps: list[Step] = []
    #: Each identity's first row; and where later rows share it (not as duplicates), all its rows.
    firsts: dict[str, Step] = {}
    shared: dict[str, list[Step]] = {}
    create = Action.CREATE
    for index, check in enumerate(checks):
        request = check.request
        if request is None:
            steps.append(Step(index, check, Action.SETTLED, outcome=invalid_outcome(check.problems),
                              notes=_warning_notes(check)))
            continue
        content = content_key(request)
        key = row_key(request, content)
        step = Step(index, check, create, key, content)
        if check.problems:
            step.notes = _warning_notes(check)
        steps.append(step)
        first = firsts.get(key)
        if first is None:
            firsts[key] = step
            continue
        members = shared.get(key) or [first]
        original = _same_course(members, request.course)
        if original is not None:
            step.action = Action.SETTLED
            step.outcome = Outcome(
                Status.INVALID, None, "duplicate-row",
                f"duplicate of row {original.check.row.row_number} (same meeting, same course); "
                "it is not sent twice: delete this row, or give it a different row_id")
            continue
        members.append(step)
        shared[key] = members
    known = journal.meetings() if journal is not None else {}
    # A row_id added to a sheet after a run still finds the meeting its content made.
    by_content = {entry.content_key: entry for entry in known.values() if entry.content_key}
    for key, first in firsts.items():
        entry = (known.get(key) or by_content.get(first.content_key or "")) if known else None
        members = shared.get(key)
        if entry is None and members is None:
            prior = first.check.prior
            if prior.status is None and prior.meeting_id is None:
                continue  # the usual row, a meeting nothing knows of: `_decide_group` would leave it a CREATE
        _decide_group(members or [first], entry, journal, retry_unknown)
    return Plan(steps)


def _warning_notes(check: RowCheck) -> tuple[str, ...]:
    return tuple(f"warning: {p.describe()}" for p in check.warnings)


def _same_course(members: list[Step], course: Course) -> Step | None:
    for member in members:
        other = member.request.course
        if (other.context_id, other.domain) == (course.context_id, course.domain):
            return member
    return None


def _decide_group(members: list[Step], entry: MeetingEntry | None, journal: Journal | None,
                  retry_unknown: bool) -> None:
    group_meeting = entry.meeting_id if entry and entry.meeting_id else None
    if group_meeting is None:
        group_meeting = next((m.check.prior.meeting_id for m in members if m.check.prior.meeting_id), None)
    # A fed-back sheet's statuses speak for the whole group, as the journal's entry does: a row added
    # beside a created or unknown one is the same meeting, and creating it could make a second one.
    made = next((m for m in members if m.check.prior.status in (Status.CREATED, Status.ASSOCIATED)), None)
    maybe = next((m for m in members if m.check.prior.status == Status.UNKNOWN), None)
    leader: Step | None = None
    for step in members:
        prior = step.check.prior
        meeting_id = prior.meeting_id or group_meeting
        if meeting_id is not None:
            _decide_existing(step, meeting_id, journal, known=bool(entry and entry.meeting_id == meeting_id))
        elif (entry and entry.state == "created") or prior.status in (Status.CREATED, Status.ASSOCIATED):
            step.action = Action.SETTLED
            step.outcome = Outcome(Status(prior.status) if prior.status in (Status.CREATED, Status.ASSOCIATED)
                                   else Status.CREATED, None, None,
                                   "created by an earlier run (no meeting id was returned)")
        elif made is not None:
            step.action = Action.SETTLED
            row = made.check.row.row_number
            step.outcome = Outcome(Status.UNKNOWN, None, None, with_step(
                f"the same meeting as row {row}, which an earlier run created without returning its id",
                f"find the meeting in Zoom, put its id in row {row}'s meeting_id, then run again"))
        elif not retry_unknown and ((entry and entry.state == "unknown") or maybe is not None):
            step.action = Action.SETTLED
            if entry and entry.state == "unknown":
                reason, code = entry.error_message, entry.error_code
            elif prior.status == Status.UNKNOWN:
                reason, code = prior.error_message, prior.error_code
            else:
                assert maybe is not None
                reason, code = f"the same meeting as row {maybe.check.row.row_number}, whose answer was lost", None
            step.outcome = Outcome(Status.UNKNOWN, None, code,
                                   with_step(_strip_step(reason) or "an earlier run lost this request's answer",
                                             UNKNOWN_STEP))
        elif leader is None:
            leader = step
            step.action = Action.CREATE
        else:
            step.action = Action.FOLLOW
            step.leader = leader.index
            step.notes += (f"cross-listed: the same meeting as row {leader.check.row.row_number}",)


def _decide_existing(step: Step, meeting_id: str, journal: Journal | None, known: bool) -> None:
    """The meeting exists: link it to this row's course unless that link is known to exist.

    The journal, when it knows the meeting, says which courses it is linked to (a course
    changed in a fed-back sheet is then linked). Without it, a row the sheet says is done
    is trusted: nothing else on this machine can say otherwise.
    """
    course = step.request.course
    prior = step.check.prior
    via = journal.association(meeting_id, course.context_id, course.domain) if journal else None
    step.meeting_id = meeting_id
    if via is not None:
        step.action = Action.SETTLED
        status = Status.CREATED if via == "create" else Status.ASSOCIATED
        step.outcome = Outcome(status, meeting_id, None, "done by an earlier run; nothing was sent")
    elif not known and prior.status in (Status.CREATED, Status.ASSOCIATED) and prior.meeting_id == meeting_id:
        step.action = Action.SETTLED
        step.outcome = Outcome(Status(prior.status), meeting_id, None, "done by an earlier run; nothing was sent")
    else:
        step.action = Action.ASSOCIATE


def _strip_step(message: str | None) -> str | None:
    """An earlier run's message without its appended next step (so steps don't pile up)."""
    if message is None:
        return None
    return message.split(" -> ", 1)[0]
