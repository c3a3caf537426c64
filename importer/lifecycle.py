"""A row's lifecycle: every decision about a row's status, in one place.

    planned (`Action`, from the sheet and the journal)
        CREATE     nothing is known of the meeting: createAndAssociate
        FOLLOW     cross-listed: linked to the meeting its group's CREATE row makes
        ASSOCIATE  the meeting exists: bulkImport it into this row's course
        SETTLED    nothing to send: the outcome is known already
    settled (`Outcome`)
        after a create       `created_outcome` (and `not_sent_outcome`, `lost_outcome` for what stops one)
        after its leader     `settle_followers`
        after bulkImport     `linked_outcome`
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

from .journal import Journal, LinkedBy, MeetingEntry, MeetingState
from .limits import DAILY_CREATES_PER_HOST
from .models import Answer, Course, CreateRequest, Outcome, Problem
from .schema import RowCheck
from .statuses import NOT_ASSOCIATED_STEP, UNKNOWN_STEP, Status, code_step, split_step

DONE_BEFORE = "done by an earlier run; nothing was sent"
STOPPED_BEFORE_SENDING = "the run was stopped before this row was sent"
INTERRUPTED_IN_FLIGHT = "the run was interrupted while this request was in flight"


class Action(StrEnum):
    CREATE = "create"
    FOLLOW = "follow"
    ASSOCIATE = "associate"
    SETTLED = "settled"


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
    leader: int | None = None  # the CREATE row a FOLLOW row waits for
    notes: tuple[str, ...] = ()  # warnings and cross-listing, said beside the outcome

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

    def of(self, action: Action) -> list[Step]:
        return [step for step in self.steps if step.action is action]

    def creates_per_host(self) -> dict[str, list[int]]:
        """The rows each host (its userId in lower case) would create, by row number."""
        hosts: dict[str, list[int]] = {}
        for step in self.of(Action.CREATE):
            hosts.setdefault(step.request.user_id.lower(), []).append(step.row_number)
        return hosts

    def over_quota(self, limit: int = DAILY_CREATES_PER_HOST) -> dict[str, list[int]]:
        return {host: rows for host, rows in self.creates_per_host().items() if len(rows) > limit}


def quota_message(over: dict[str, list[int]], option_hint: str = "pass --allow-over-quota") -> str:
    parts = []
    for host, rows in over.items():
        shown = ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
        parts.append(f"{host} needs {len(rows)} creates (rows {shown})")
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


def build_plan(checks: Sequence[RowCheck], journal: Journal | None, *, retry_unknown: bool = False) -> Plan:
    """Each row's action: rows are grouped by identity, duplicates settled, and every group
    planned from what the journal and the sheet know of its meeting."""
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
    known = journal.meetings() if journal is not None else {}
    # A row_id added to a sheet after a run still finds the meeting its content made.
    by_content = {entry.content_key: entry for entry in known.values() if entry.content_key}
    for key, members in groups.items():
        entry = known.get(key) or by_content.get(members[0].content_key or "")
        _plan_group(_Group(members, entry, journal, retry_unknown))
    return Plan(steps)


def invalid_outcome(problems: Sequence[Problem]) -> Outcome:
    errors = [p for p in problems if not p.warning]
    return Outcome(Status.INVALID, None, errors[0].code, "; ".join(p.describe() for p in errors))


def _same_course(one: Course, other: Course) -> bool:
    return (one.context_id, one.domain) == (other.context_id, other.domain)


@dataclass
class _Group:
    """The rows of one meeting identity, and what the journal and the sheet know of it."""

    members: list[Step]
    entry: MeetingEntry | None  # the journal's record of the identity
    journal: Journal | None
    retry_unknown: bool
    leader: Step | None = None  # the row that creates the meeting, once planned
    meeting_id: str | None = field(init=False)  # the meeting the journal or the sheet knows
    made: Step | None = field(init=False)  # a row the sheet says is done
    lost: Step | None = field(init=False)  # a row the sheet says is unknown

    def __post_init__(self) -> None:
        self.meeting_id = self.entry.meeting_id if self.entry and self.entry.meeting_id else next(
            (m.check.prior.meeting_id for m in self.members if m.check.prior.meeting_id), None)
        # A fed-back sheet's statuses speak for the whole group, as the journal's entry does: a row
        # added beside a created or unknown one is the same meeting, and creating it could make a second.
        self.made = next((m for m in self.members if _prior_done(m)), None)
        self.lost = next((m for m in self.members if m.check.prior.status == Status.UNKNOWN), None)

    def journal_says(self, state: MeetingState) -> bool:
        return self.entry is not None and self.entry.state is state


def _prior_done(step: Step) -> bool:
    return step.check.prior.status in (Status.CREATED, Status.ASSOCIATED)


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
    meeting_id = prior.meeting_id or group.meeting_id
    assert meeting_id is not None
    course = step.request.course
    linked_by = group.journal.association(meeting_id, course.context_id, course.domain) if group.journal else None
    journal_knows = group.entry is not None and group.entry.meeting_id == meeting_id
    step.meeting_id = meeting_id
    if linked_by is not None:
        status = Status.CREATED if linked_by is LinkedBy.CREATE else Status.ASSOCIATED
        _settle(step, Outcome(status, meeting_id, None, DONE_BEFORE))
    elif not journal_knows and prior.status is not None and _prior_done(step) and prior.meeting_id == meeting_id:
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
     lambda step, group: (step.check.prior.meeting_id or group.meeting_id) is not None, _link_existing),
    ("an earlier run created it and returned no id",
     lambda step, group: group.journal_says(MeetingState.CREATED) or _prior_done(step), _created_without_id),
    ("a row of its meeting was created and returned no id",
     lambda step, group: group.made is not None, _same_as_made),
    ("its answer was lost, and lost rows are sent again only with --retry-unknown",
     lambda step, group: not group.retry_unknown and (group.journal_says(MeetingState.UNKNOWN)
                                                      or group.lost is not None), _still_lost),
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
    """`importer reassociate`: rows that would create keep what the sheet said of them."""
    for step in plan.steps:
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
        assert leader is not None
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
        else:
            step.outcome = not_sent_outcome("the run stopped before this row was sent")


def final_outcome(step: Step) -> Outcome:
    """The step's outcome, never without a meeting id the plan or the sheet knew of."""
    assert step.outcome is not None, f"row {step.row_number} has no outcome"
    known = step.outcome.meeting_id or step.meeting_id or step.check.prior.meeting_id
    return step.outcome if known == step.outcome.meeting_id else replace(step.outcome, meeting_id=known)


def plan_problems(plan: Plan) -> list[Problem]:
    """The cell problems and warnings of every row, plus duplicate rows found by the plan."""
    problems: list[Problem] = []
    for step in plan.steps:
        problems.extend(step.check.problems)
        if step.outcome is not None and step.outcome.error_code == "duplicate-row":
            problems.append(Problem(step.row_number, "", None, "duplicate-row",
                                    step.outcome.message or "duplicate row"))
    return problems
