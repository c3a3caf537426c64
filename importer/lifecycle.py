"""A row's lifecycle: every decision about a row's status, in one place.

    planned (`Action`, from the sheet and the journal)
        CREATE     nothing is known of the meeting: createAndAssociate
        FOLLOW     cross-listed: linked to the meeting its group's CREATE row makes
        ASSOCIATE  the meeting exists: bulkImport it into this row's course
        RESOLVE    its answer was lost: look for the meeting in Zoom (REST), then link or create it
        SETTLED    nothing to send: the outcome is known already
    and, beside any of these, a `Change` when the meeting exists and the row's fields differ
    from those that made it (`meeting_change`): PATCHed through Zoom's REST API, or reported.
    settled (`Outcome`)
        after a create       `created_outcome` (and `not_sent_outcome`, `lost_outcome` for what stops one)
        after its leader     `settle_followers`
        after bulkImport     `linked_outcome`
        after a lookup       `resolved`
        after a change       `final_outcome` says `updated`, or `change-not-applied`
        when the run stops   `settle_stragglers`

A row's identity (`row_key`) is its row_id when given, else a hash of the host and the
normalised meetingInfo (never the course). What the journal and a fed-back result sheet
know of an identity decides the plan (`PLANNING`, a decision table): a meeting that
exists is linked, never created again; one whose answer was lost is not sent again
unless asked. The statuses, codes and next steps are `statuses.py`'s.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .journal import Journal, LinkedBy, MeetingEntry, MeetingState
from .limits import DAILY_CREATES_PER_HOST
from .models import Answer, Course, CreateRequest, Outcome, Problem
from .schema import RowCheck
from .statuses import DONE_STATUSES, NOT_ASSOCIATED_STEP, UNKNOWN_STEP, Status, code_step, split_step

DONE_BEFORE = "done by an earlier run; nothing was sent"
STOPPED_BEFORE_SENDING = "the run was stopped before this row was sent"
INTERRUPTED_IN_FLIGHT = "the run was interrupted while this request was in flight"


class Action(StrEnum):
    CREATE = "create"
    FOLLOW = "follow"
    ASSOCIATE = "associate"
    RESOLVE = "resolve"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class Change:
    """How a row's meeting fields differ from those that made its meeting (the journal's)."""

    meeting_id: str
    fields: tuple[str, ...]  # what changed, as the sheet names it: topic, start_time, settings.waiting_room
    patch: dict[str, Any]  # the PATCH /meetings/{id} body: the changed fields' new values
    sent_fields: str  # JSON of the row's whole meetingInfo: what made the meeting once it is applied
    cleared: tuple[str, ...] = ()  # emptied in the sheet: Zoom keeps its value (a PATCH cannot unset it)

    def describe(self) -> str:
        text = ", ".join(self.fields)
        if self.cleared:
            text += f" ({', '.join(self.cleared)} emptied in the sheet: Zoom keeps its value)"
        return text


@dataclass(slots=True)
class Step:
    """One row's way through a run."""

    index: int  # its position in the plan
    check: RowCheck
    action: Action
    row_key: str | None = None
    content_key: str | None = None
    outcome: Outcome | None = None
    meeting_id: str | None = None  # the meeting an ASSOCIATE row links
    leader: int | None = None  # the CREATE (or RESOLVE) row a FOLLOW row waits for
    notes: tuple[str, ...] = ()  # warnings and cross-listing, said beside the outcome
    change: Change | None = None  # the meeting exists and the row's fields differ from what made it
    changed: Outcome | None = None  # after the PATCH: its status UPDATED, or the code that says why not
    found: str | None = None  # how a lookup in Zoom found this row's meeting (said in its message)

    @property
    def request(self) -> CreateRequest:
        assert self.check.request is not None, f"row {self.check.row.row_number} is invalid"
        return self.check.request

    @property
    def row_number(self) -> int:
        return self.check.row.row_number


@dataclass
class Plan:
    steps: list[Step]
    zoom: bool = False  # Zoom's REST API is at hand: lost answers are looked up, changes applied

    def of(self, action: Action) -> list[Step]:
        return [step for step in self.steps if step.action is action]

    def updates(self) -> list[Step]:
        """The rows whose meeting this run changes through Zoom's REST API, one per meeting."""
        if not self.zoom:
            return []
        seen: set[str] = set()
        found = []
        for step in self.steps:
            if step.change is not None and step.changed is None and step.change.meeting_id not in seen:
                seen.add(step.change.meeting_id)
                found.append(step)
        return found

    def creates_per_host(self) -> dict[str, list[int]]:
        """The rows each host (its userId in lower case) would create or update, by row number: Zoom
        counts both toward a host's daily limit. A lost answer looked up may be created again."""
        hosts: dict[str, list[int]] = {}
        for step in [*self.of(Action.CREATE), *self.of(Action.RESOLVE), *self.updates()]:
            hosts.setdefault(step.request.user_id.lower(), []).append(step.row_number)
        return hosts

    def over_quota(self, limit: int = DAILY_CREATES_PER_HOST) -> dict[str, list[int]]:
        return {host: rows for host, rows in self.creates_per_host().items() if len(rows) > limit}


def quota_message(over: dict[str, list[int]], option_hint: str = "pass --allow-over-quota") -> str:
    parts = []
    for host, rows in over.items():
        shown = ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
        parts.append(f"{host} needs {len(rows)} creates (rows {shown})")  # an update counts as one
    return (f"Zoom allows {DAILY_CREATES_PER_HOST} meeting creates per host per day: " + "; ".join(parts)
            + f". Split the sheet across days, or {option_hint} to send anyway "
              "(the rows past the limit will end not_sent)")


# --- identity ------------------------------------------------------------------------------------


def row_key(request: CreateRequest, content: str | None = None) -> str:
    """A row's identity: its row_id when given, else its content key (pass it if already known)."""
    if request.row_id:
        return f"id:{request.row_id}"
    return content or content_key(request)


def content_key(request: CreateRequest) -> str:
    """A hash of the host and the normalised meetingInfo (never the course).

    The hashed text is the identity as sorted, compact JSON in UTF-8: journals hold these
    keys, so the text must never drift (tests/test_lifecycle.py pins one).
    """
    identity = {"userId": request.user_id.lower(), "meetingInfo": request.meeting_info}
    payload = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


# --- planning: what this run does with each row ----------------------------------------------------


def build_plan(checks: Sequence[RowCheck], journal: Journal | None, *, retry_unknown: bool = False,
               zoom: bool = False) -> Plan:
    """Each row's action: rows are grouped by identity, duplicates settled, and every group
    planned from what the journal and the sheet know of its meeting. With `zoom` (its REST API
    at hand) lost answers are looked up rather than left unknown."""
    steps: list[Step] = []
    groups: dict[str, list[Step]] = {}
    for index, check in enumerate(checks):
        notes = tuple(p.describe() for p in check.warnings)
        if check.request is None:
            steps.append(Step(index, check, Action.SETTLED, outcome=invalid_outcome(check.problems), notes=notes))
            continue
        content = content_key(check.request)
        step = Step(index, check, Action.CREATE, row_key(check.request, content), content, notes=notes)
        steps.append(step)
        group = groups.setdefault(step.row_key or "", [])
        original = next((member for member in group if _same_course(member.request.course, check.request.course)),
                        None)
        if original is None:
            group.append(step)
        else:
            step.action = Action.SETTLED
            step.outcome = Outcome(
                Status.INVALID, None, "duplicate-row",
                f"duplicate of row {original.row_number} (same meeting, same course); "
                "it is not sent twice: delete this row, or give it a different row_id")
    known = {key: entry for key, entry in journal.meetings().items()
             if entry.state is not MeetingState.DELETED} if journal is not None else {}
    memory = _Known(known, journal.deleted_meeting_ids() if journal is not None else frozenset())
    for key, members in groups.items():
        entry = known.get(key) or memory.by_content.get(members[0].content_key or "")
        _plan_group(_Group(members, entry, journal, retry_unknown, zoom, memory))
    refuse_conflicting_changes(steps)
    return Plan(steps, zoom)


def refuse_conflicting_changes(steps: list[Step]) -> None:
    """Rows of one meeting that give it different fields: no change is applied (a PATCH for one would
    be undone by the other's on the next run), and each changed row says why. Called at planning,
    and again once lookups have found meetings."""
    by_meeting: dict[str, list[Step]] = {}
    for step in steps:
        if step.meeting_id is not None and step.check.request is not None:
            by_meeting.setdefault(step.meeting_id, []).append(step)
    for meeting_id, rows in by_meeting.items():
        if not any(step.change for step in rows) or len({fields_text(step.request) for step in rows}) < 2:
            continue
        numbers = ", ".join(str(step.row_number) for step in rows)
        for step in rows:
            if step.change is not None:
                step.changed = Outcome(Status.FAILED, meeting_id, "change-conflict",
                                       f"rows {numbers} hold meeting {meeting_id} and give it different fields")


def invalid_outcome(problems: Sequence[Problem]) -> Outcome:
    errors = [p for p in problems if not p.warning]
    return Outcome(Status.INVALID, None, errors[0].code, "; ".join(p.describe() for p in errors))


def _same_course(one: Course, other: Course) -> bool:
    return (one.context_id, one.domain) == (other.context_id, other.domain)


@dataclass
class _Known:
    """What the journal knows of meetings, beyond one identity's entry."""

    entries: dict[str, MeetingEntry]  # by row_key; deleted meetings left out
    deleted: frozenset[str]  # meeting ids `undo --delete` deleted: a sheet that still names one creates anew
    by_content: dict[str, MeetingEntry] = field(init=False)
    by_meeting: dict[str, MeetingEntry] = field(init=False)

    def __post_init__(self) -> None:
        # A row_id added to a sheet after a run still finds the meeting its content made.
        self.by_content = {entry.content_key: entry for entry in self.entries.values() if entry.content_key}
        # A fed-back sheet's meeting_id finds what made the meeting, whatever its row's key is now.
        self.by_meeting = {entry.meeting_id: entry for entry in self.entries.values() if entry.meeting_id}


@dataclass
class _Group:
    """The rows of one meeting identity, and what the journal and the sheet know of it."""

    members: list[Step]
    entry: MeetingEntry | None  # the journal's record of the identity
    journal: Journal | None
    retry_unknown: bool
    zoom: bool  # Zoom's REST API is at hand
    known: _Known
    leader: Step | None = None  # the row that creates (or looks up) the meeting, once planned
    meeting_id: str | None = field(init=False)  # the meeting the journal or the sheet knows
    made: Step | None = field(init=False)  # a row the sheet says is done
    lost: Step | None = field(init=False)  # a row the sheet says is unknown

    def __post_init__(self) -> None:
        self.meeting_id = self.entry.meeting_id if self.entry and self.entry.meeting_id else next(
            (m.check.prior.meeting_id for m in self.members if _sheet_meeting(m, self.known)), None)
        # A fed-back sheet's statuses speak for the whole group, as the journal's entry does: a row
        # added beside a created or unknown one is the same meeting, and creating it could make a second.
        self.made = next((m for m in self.members if _sheet_done(m, self.known)), None)
        self.lost = next((m for m in self.members if m.check.prior.status == Status.UNKNOWN), None)

    def journal_says(self, state: MeetingState) -> bool:
        return self.entry is not None and self.entry.state is state


def _prior_done(step: Step) -> bool:
    return step.check.prior.status in DONE_STATUSES


def _sheet_done(step: Step, known: _Known) -> bool:
    """The sheet says the row is done, and `undo --delete` did not delete its meeting since."""
    return _prior_done(step) and step.check.prior.meeting_id not in known.deleted


def _sheet_meeting(step: Step, known: _Known) -> str | None:
    """The meeting id the sheet gives the row, unless `undo --delete` deleted that meeting."""
    prior = step.check.prior
    if prior.meeting_id is None or prior.status == Status.DELETED or prior.meeting_id in known.deleted:
        return None
    return prior.meeting_id


def _plan_group(group: _Group) -> None:
    for step in group.members:
        for _, applies, decide in PLANNING:
            if applies(step, group):
                decide(step, group)
                break


def _link_existing(step: Step, group: _Group) -> None:
    """The meeting exists: link it to this row's course unless that link is known to exist.

    The journal, when it knows the meeting, says which courses it is linked to (a course
    changed in a fed-back sheet is then linked). Without it, a row the sheet says is done
    is trusted: nothing else on this machine can say otherwise.
    """
    prior = step.check.prior
    meeting_id = _sheet_meeting(step, group.known) or group.meeting_id
    assert meeting_id is not None
    step.change = _change_of(step, meeting_id, group)
    course = step.request.course
    linked_by = group.journal.association(meeting_id, course.context_id, course.domain) if group.journal else None
    journal_knows = group.entry is not None and group.entry.meeting_id == meeting_id
    step.meeting_id = meeting_id
    if linked_by is not None:
        status = Status.CREATED if linked_by is LinkedBy.CREATE else Status.ASSOCIATED
        _settle(step, Outcome(status, meeting_id, None, DONE_BEFORE))
    elif (not journal_knows and prior.status is not None and _prior_done(step) and prior.meeting_id == meeting_id
          and not (group.journal and group.journal.was_removed(meeting_id, course.context_id, course.domain))):
        _settle(step, Outcome(Status(prior.status), meeting_id, None, DONE_BEFORE))
    else:
        step.action = Action.ASSOCIATE


def _created_without_id(step: Step, group: _Group) -> None:
    prior = step.check.prior.status
    status = Status(prior) if prior is not None and _prior_done(step) else Status.CREATED
    _settle(step, Outcome(status, None, None, "created by an earlier run (no meeting id was returned)"))


def _same_as_made(step: Step, group: _Group) -> None:
    assert group.made is not None
    row = group.made.row_number
    _settle(step, Outcome(
        Status.UNKNOWN, None, None,
        f"the same meeting as row {row}, which an earlier run created without returning its id",
        f"find the meeting in Zoom, put its id in row {row}'s meeting_id, then run again"))


def _still_lost(step: Step, group: _Group) -> None:
    prior = step.check.prior
    if group.entry is not None and group.journal_says(MeetingState.UNKNOWN):
        reason, code = group.entry.error_message, group.entry.error_code
    elif prior.status == Status.UNKNOWN:
        reason, code = prior.message, prior.error_code
    else:
        assert group.lost is not None
        reason, code = f"the same meeting as row {group.lost.row_number}, whose answer was lost", None
    # An earlier run's message without its next step, so that steps do not pile up.
    message = split_step(reason)[0] or "an earlier run lost this request's answer"
    _settle(step, Outcome(Status.UNKNOWN, None, code, message, UNKNOWN_STEP))


def _was_lost(group: _Group) -> bool:
    return group.journal_says(MeetingState.UNKNOWN) or group.lost is not None


def _look_up(step: Step, group: _Group) -> None:
    step.action = Action.RESOLVE
    group.leader = step


def _change_of(step: Step, meeting_id: str, group: _Group) -> Change | None:
    """The row's change to its meeting, when the journal knows the fields that made it."""
    entry = group.entry if group.entry is not None and group.entry.meeting_id == meeting_id else (
        group.known.by_meeting.get(meeting_id))
    if entry is None or not entry.sent_fields:
        return None  # made on another machine, or by a version that kept no fields: nothing to compare
    try:
        sent = json.loads(entry.sent_fields)
    except ValueError:
        return None
    return meeting_change(meeting_id, sent, step.request.meeting_info) if isinstance(sent, dict) else None


#: Fields a PATCH can empty: the others keep Zoom's value when a sheet empties them.
_EMPTIABLE = {"agenda": ""}


def meeting_change(meeting_id: str, sent: dict[str, Any], now: dict[str, Any]) -> Change | None:
    """How `now` (a row's meetingInfo) differs from `sent` (what made the meeting), or None."""
    fields: list[str] = []
    cleared: list[str] = []
    patch: dict[str, Any] = {}
    for name in sorted(set(sent) | set(now), key=lambda key: (key == "settings", key)):
        old, new = sent.get(name), now.get(name)
        if old == new:
            continue
        if name == "settings" and isinstance(new, dict):
            before = old if isinstance(old, dict) else {}
            changed = {key: value for key, value in new.items() if before.get(key) != value}
            fields.extend(f"settings.{key}" for key in changed)
            cleared.extend(f"settings.{key}" for key in before if key not in new)
            if changed:
                patch["settings"] = changed
        elif name not in now:
            if name in _EMPTIABLE:
                fields.append(name)
                patch[name] = _EMPTIABLE[name]
            else:
                cleared.append(name)
        else:
            fields.append(name)
            patch[name] = new
    if not patch:
        return None
    if "start_time" in patch or "timezone" in patch:  # a start is read in its zone: send the two together
        patch.update({name: now[name] for name in ("start_time", "timezone") if name in now})
    return Change(meeting_id, tuple(fields), patch, _fields_text(now), tuple(cleared))


def fields_text(request: CreateRequest) -> str:
    """What the journal keeps of the fields a create sends (compared with the row's on later runs)."""
    return _fields_text(request.meeting_info)


def _fields_text(meeting_info: dict[str, Any]) -> str:
    return json.dumps(meeting_info, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _create(step: Step, group: _Group) -> None:
    step.action = Action.CREATE
    group.leader = step


def _follow(step: Step, group: _Group) -> None:
    assert group.leader is not None
    step.action = Action.FOLLOW
    step.leader = group.leader.index
    step.notes += (f"cross-listed: the same meeting as row {group.leader.row_number}",)


def _settle(step: Step, outcome: Outcome) -> None:
    step.action = Action.SETTLED
    step.outcome = outcome


_Rule = tuple[str, Callable[[Step, _Group], bool], Callable[[Step, _Group], None]]

#: How each row of a group is planned: the first rule that applies decides.
PLANNING: tuple[_Rule, ...] = (
    ("the journal or the sheet knows the meeting",
     lambda step, group: (_sheet_meeting(step, group.known) or group.meeting_id) is not None, _link_existing),
    ("an earlier run created it and returned no id",
     lambda step, group: group.journal_says(MeetingState.CREATED) or _sheet_done(step, group.known),
     _created_without_id),
    ("a row of its meeting was created and returned no id",
     lambda step, group: group.made is not None, _same_as_made),
    ("its answer was lost, and Zoom's REST API can say whether the meeting exists: look it up",
     lambda step, group: group.zoom and group.leader is None and _was_lost(group), _look_up),
    ("its answer was lost, and lost rows are sent again only with --retry-unknown",
     lambda step, group: not group.zoom and not group.retry_unknown and _was_lost(group), _still_lost),
    ("nothing is known of the meeting: the group's first such row creates it",
     lambda step, group: group.leader is None, _create),
    ("the group's other rows are linked to the meeting the first one creates",
     lambda step, group: True, _follow),
)


def plan_for_validation(plan: Plan) -> None:
    """What validate says of each row: valid, invalid, or valid and done already (with its id)."""
    for step in plan.steps:
        outcome = step.outcome
        if outcome is not None and outcome.status is Status.INVALID:
            continue
        done = outcome is not None and outcome.status is not Status.UNKNOWN
        step.outcome = Outcome(Status.VALID, step.meeting_id or step.check.prior.meeting_id, None,
                               "done by an earlier run; nothing will be sent" if done else None)


def plan_links_only(plan: Plan) -> None:
    """`importer reassociate`: rows that would create keep what the sheet said of them, and a
    changed row is left for `importer run` (reassociate only links)."""
    for step in plan.steps:
        step.change = None
        if step.action not in (Action.CREATE, Action.FOLLOW):
            continue
        prior = step.check.prior
        if prior.status in set(Status) and prior.status != Status.NOT_SENT:
            _settle(step, Outcome(Status(prior.status), prior.meeting_id, prior.error_code, prior.message,
                                  prior.next_step))
        else:
            _settle(step, Outcome(Status.NOT_SENT, None, None,
                                  "no meeting_id: `importer reassociate` only links existing meetings; "
                                  "use `importer run`"))


# --- settling: what a row becomes after this run touched it --------------------------------------------


def created_outcome(answer: Answer, *, exhausted: bool = False) -> Outcome:
    """The row after a createAndAssociate answer (after every retry, when `exhausted`)."""
    if answer.kind == "ok":
        if answer.meeting_id is None:
            return Outcome(Status.CREATED, None, None,
                           "created, but the server returned no meeting id; find it in Zoom")
        return Outcome(Status.CREATED, answer.meeting_id)
    if answer.kind == "refused" and answer.error_code == "406" and answer.meeting_id is None:
        return Outcome(Status.UNKNOWN, None, "406", "the server says the meeting was created but sent no id",
                       UNKNOWN_STEP)
    if answer.kind == "refused" and answer.meeting_id is not None:
        # 406, or another refusal with a meeting id: the meeting exists. Never tell anyone to create it again.
        return Outcome(Status.NOT_ASSOCIATED, answer.meeting_id, answer.error_code, answer.error_message,
                       NOT_ASSOCIATED_STEP)
    if answer.kind == "refused":
        return Outcome(Status.FAILED, None, answer.error_code, answer.error_message, code_step(answer.error_code))
    if answer.kind == "retry":
        attempts = "after every retry " if exhausted else ""
        return Outcome(Status.FAILED, None, answer.error_code,
                       f"{answer.error_message or 'temporarily refused'} ({attempts}nothing was created)",
                       code_step(answer.error_code))
    return lost_outcome(answer.error_code, answer.error_message)


def lost_outcome(code: str | None, message: str | None) -> Outcome:
    """A create that may have reached the server and whose answer is lost: the meeting may exist."""
    return Outcome(Status.UNKNOWN, None, code, message, UNKNOWN_STEP)


def abandoned_outcome() -> Outcome:
    """A create in flight when the run was abandoned (a second Ctrl-C)."""
    return lost_outcome("abandoned", INTERRUPTED_IN_FLIGHT)


def not_sent_outcome(message: str = STOPPED_BEFORE_SENDING, code: str | None = None) -> Outcome:
    return Outcome(Status.NOT_SENT, None, code, message)


def daily_limit_outcome(user_id: str, until: str, first_row: int | None = None) -> Outcome:
    """Nothing was created: the host's daily limit is reached (at `first_row`, by an earlier row)."""
    if first_row is None:
        message = (f"Zoom's daily limit for host {user_id} is reached; nothing was created; "
                   f"run the sheet again after {until}")
    else:
        message = f"host {user_id} reached Zoom's daily limit at row {first_row}; run the sheet again after {until}"
    return not_sent_outcome(message, "429")


def daily_limit_until(retry_after: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(time.time() + retry_after))


def unrecorded_outcome(outcome: Outcome, error: Exception) -> Outcome:
    """An answer the journal could not record: the result sheet is then its only record."""
    note = f"the journal could not record this answer ({error}): keep this result sheet"
    return replace(outcome, message=f"{outcome.message}; {note}" if outcome.message else note)


def journal_state(outcome: Outcome) -> MeetingState:
    """What the journal keeps of a create's outcome."""
    return {Status.CREATED: MeetingState.CREATED, Status.NOT_ASSOCIATED: MeetingState.NOT_ASSOCIATED,
            Status.UNKNOWN: MeetingState.UNKNOWN}.get(outcome.status, MeetingState.FAILED)


def settle_creates(plan: Plan, outcomes: dict[int, Outcome]) -> None:
    """The create phase's outcomes (a create left without one is settled as a straggler)."""
    for step in plan.of(Action.CREATE):
        step.outcome = outcomes.get(step.index)


def settle_followers(plan: Plan) -> None:
    """Cross-listed rows share their leader's meeting: link it, or share its fate."""
    for step in plan.of(Action.FOLLOW):
        leader_step = plan.steps[step.leader or 0]
        leader, row = leader_step.outcome, leader_step.row_number
        if leader is None:  # its leader was never looked up or sent (the run stopped): a straggler too
            continue
        if leader.meeting_id is not None and leader.status in (Status.CREATED, Status.NOT_ASSOCIATED):
            step.action = Action.ASSOCIATE
            step.meeting_id = leader.meeting_id
        elif leader.status is Status.CREATED:  # created, but the server gave no id to link with
            step.outcome = Outcome(
                Status.UNKNOWN, None, None,
                f"shares its meeting with row {row}, created without a meeting id: it could not be linked here",
                f"find the meeting in Zoom, put its id in row {row}'s meeting_id, then run again")
        else:
            text = f"shares its meeting with row {row}, which ended {leader.status}"
            step.outcome = Outcome(leader.status, None, leader.error_code,
                                   f"{text}: {leader.message}" if leader.message else text, leader.next_step)


@dataclass(frozen=True, slots=True)
class Link:
    """A meeting to link to a row's course through bulkImport."""

    index: int  # the plan position whose outcome it decides
    meeting_id: str
    course: Course


def links(plan: Plan) -> list[Link]:
    """The associations this run makes: existing meetings, and meetings a create could not link."""
    found = []
    for step in plan.steps:
        if step.action is Action.ASSOCIATE and step.meeting_id:
            found.append(Link(step.index, step.meeting_id, step.request.course))
        elif (step.action is Action.CREATE and step.outcome is not None
              and step.outcome.status is Status.NOT_ASSOCIATED and step.outcome.meeting_id):
            found.append(Link(step.index, step.outcome.meeting_id, step.request.course))
    return found


def linked_outcome(answer: Answer, meeting_id: str) -> Outcome:
    """A link after bulkImport's answer on the batch that held it."""
    if answer.kind == "ok":
        return Outcome(Status.ASSOCIATED, meeting_id)
    reason = answer.error_message or f"bulkImport answered {answer.error_code}"
    if answer.kind != "refused":
        reason = f"bulkImport could not be completed: {reason}; run `importer reassociate` on the result sheet"
    return Outcome(Status.NOT_ASSOCIATED, meeting_id, answer.error_code, reason, NOT_ASSOCIATED_STEP)


def settle_stragglers(plan: Plan) -> None:
    """Rows a stopped run left without an outcome: a create in doubt is unknown, a link not made
    keeps its meeting id as not_associated, and nothing else was sent."""
    for step in plan.steps:
        if step.outcome is not None:
            continue
        if step.action is Action.ASSOCIATE and step.meeting_id:
            step.outcome = Outcome(Status.NOT_ASSOCIATED, step.meeting_id, None,
                                   "the meeting exists but was not linked to this course in this run; "
                                   "run the sheet again to link it")
        elif step.action is Action.CREATE:
            step.outcome = Outcome(Status.UNKNOWN, None, "stopped",
                                   "the run stopped on an error while this row may have been sent", UNKNOWN_STEP)
        elif step.action is Action.RESOLVE:
            step.outcome = lost_outcome("stopped", "an earlier run lost this request's answer, and this run stopped "
                                                   "before looking the meeting up in Zoom")
        else:
            step.outcome = not_sent_outcome("the run stopped before this row was sent")


def final_outcome(step: Step) -> Outcome:
    """The step's outcome, never without a meeting id the plan or the sheet knew of; with what a
    lookup in Zoom found, and whether the row's change was applied."""
    assert step.outcome is not None, f"row {step.row_number} has no outcome"
    outcome = step.outcome
    known = outcome.meeting_id or step.meeting_id or step.check.prior.meeting_id
    if known != outcome.meeting_id:
        outcome = replace(outcome, meeting_id=known)
    if step.found:
        outcome = replace(outcome, message=_joined(step.found, outcome.message))
    return _with_change(step, outcome) if step.change is not None else outcome


def _joined(first: str, then: str | None) -> str:
    return f"{first}; {then}" if then and then != DONE_BEFORE else first


def _with_change(step: Step, outcome: Outcome) -> Outcome:
    """A changed row: `updated` once its PATCH is done, else its status with the code that says why not."""
    change = step.change
    assert change is not None
    applied = step.changed is not None and step.changed.status is Status.UPDATED
    if applied:
        text = f"changed in Zoom: {change.describe()}"
        if outcome.status in DONE_STATUSES:
            return Outcome(Status.UPDATED, outcome.meeting_id, None, _joined(text, outcome.message))
        return replace(outcome, message=_joined(text, outcome.message))
    if step.changed is None:
        code = "change-not-applied"
        text = (f"the row differs from what made its meeting ({change.describe()}), but LTI Pro cannot change a "
                "meeting: nothing was changed in Zoom")
    else:
        code = step.changed.error_code or "update-failed"
        text = f"the change ({change.describe()}) was not applied: {step.changed.message}"
    if outcome.error_code is not None:  # the row's own problem (a link not made) keeps its code
        return replace(outcome, message=_joined(text, outcome.message))
    return replace(outcome, error_code=code, message=_joined(text, outcome.message),
                   next_step=code_step(code) or code_step("update-failed"))


def stopped_change(step: Step) -> Outcome:
    """A change the run stopped before sending."""
    return Outcome(Status.FAILED, step.change.meeting_id if step.change else None, "update-failed",
                   "the run stopped before this change was sent to Zoom")


def settle_changes(plan: Plan, applied: dict[str, Outcome]) -> None:
    """Each changed row's PATCH result (by meeting id): every row of that meeting shares it."""
    for step in plan.steps:
        if step.change is not None and step.change.meeting_id in applied:
            step.changed = applied[step.change.meeting_id]


# --- lookups in Zoom: what a lost answer turned out to be ------------------------------------------


@dataclass(frozen=True, slots=True)
class Lookup:
    """What Zoom's list of the host's meetings says of a row whose answer was lost."""

    meeting_id: str | None = None  # exactly one meeting matches: it is the row's
    absent: bool = False  # the host's whole list was read and none matches: no meeting was made
    outcome: Outcome | None = None  # neither: the row stays unknown, and this says why
    detail: str = ""  # how it was decided, for the row's message and the journal


def lookup_steps(plan: Plan, unknown_now: bool = False) -> list[Step]:
    """The rows to look up in Zoom: those planned RESOLVE (lost by earlier runs), or with
    `unknown_now` this run's creates whose answer was lost (not those abandoned by Ctrl-C)."""
    if not unknown_now:
        return plan.of(Action.RESOLVE)
    return [step for step in plan.of(Action.CREATE) if step.outcome is not None
            and step.outcome.status is Status.UNKNOWN and step.outcome.error_code not in ("abandoned", "journal")]


def settle_lookup(plan: Plan, step: Step, lookup: Lookup) -> None:
    """A row looked up in Zoom: found, it is linked (not created); absent, it is created; else unknown.
    Rows of the same meeting planned to follow it go with it."""
    followers = [other for other in plan.of(Action.FOLLOW) if other.leader == step.index]
    if lookup.meeting_id is not None:
        step.action, step.meeting_id, step.outcome = Action.ASSOCIATE, lookup.meeting_id, None
        step.found = lookup.detail
        for other in followers:
            other.action, other.meeting_id, other.found = Action.ASSOCIATE, lookup.meeting_id, lookup.detail
    elif lookup.absent:
        step.action, step.outcome, step.found = Action.CREATE, None, lookup.detail
    else:
        assert lookup.outcome is not None
        step.action, step.outcome = Action.SETTLED, lookup.outcome
        for other in followers:
            other.action = Action.SETTLED
            other.outcome = lost_outcome(None, f"the same meeting as row {step.row_number}, whose answer was lost "
                                               "and which Zoom could not settle")


def plan_problems(plan: Plan) -> list[Problem]:
    """The cell problems and warnings of every row, plus duplicate rows found by the plan."""
    problems: list[Problem] = []
    for step in plan.steps:
        problems.extend(step.check.problems)
        if step.outcome is not None and step.outcome.error_code == "duplicate-row":
            problems.append(Problem(step.row_number, "", None, "duplicate-row",
                                    step.outcome.message or "duplicate row"))
    return problems
