"""The plan: what each row needs this run (create, follow a cross-listed leader, associate an
existing meeting, or nothing), decided without a journal from the sheet alone."""

from __future__ import annotations

from typing import Any

import pytest

from importer.lifecycle import Action, Plan, build_plan, row_key
from importer.models import Outcome
from importer.schema import RowCheck
from importer.statuses import UNKNOWN_STEP, Status

from sheets import check

MEETING_ID = "91978833358"
OTHER_CONTEXT = "a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0"


def plan_of(*checks: RowCheck, retry_unknown: bool = False) -> Plan:
    return build_plan(list(checks), None, retry_unknown=retry_unknown)


def seen(outcome: Outcome | None) -> tuple[Status, str | None, str | None, str | None]:
    """What the result sheet shows of an outcome: status, meeting_id, error_code, then its message and
    next step as one text ("message -> step", as the journal keeps them)."""
    assert outcome is not None
    return outcome.status, outcome.meeting_id, outcome.error_code, outcome.stored_text


def actions(plan: Plan) -> list[tuple[int, Action]]:
    return [(step.check.row.row_number, step.action) for step in plan.steps]


def key_of(**changes: Any) -> str:
    result = check(**changes)
    assert result.request is not None
    return row_key(result.request)


# --- identity -------------------------------------------------------------------------------


def test_row_key_is_pinned() -> None:
    # Journals written by earlier runs hold these keys: the formula must not drift.
    assert key_of() == "h:2f7a319e353d333919ac09aed6538398"
    assert key_of(row_id="BIO101-L1") == "id:BIO101-L1"
    assert key_of(row_id=17) == "id:17"


def test_row_key_ignores_the_course_and_the_host_case() -> None:
    assert {
        key_of(),
        key_of(contextId=OTHER_CONTEXT),
        key_of(courseId=397),
        key_of(courseId=None),
        key_of(domain="canvas.other.edu"),
        key_of(userId="HOST@X.EDU"),
        key_of(start_time="2026-10-08 10:00"),  # same meeting, written as text
    } == {"h:2f7a319e353d333919ac09aed6538398"}


@pytest.mark.parametrize(
    "changes",
    [{"userId": "other@x.edu"}, {"topic": "BIO 101 Lab"}, {"start_time": "2026-10-08 10:30"}, {"duration": 51},
     {"timezone": "America/Chicago"}, {"waiting_room": True}, {"agenda": "week 1"}],
)
def test_row_key_changes_with_host_or_meeting(changes: dict[str, Any]) -> None:
    assert key_of(**changes) != key_of()


# --- cross-listing and duplicates -------------------------------------------------------------


def test_same_meeting_in_two_courses_is_one_create_and_one_follow() -> None:
    plan = plan_of(check(2), check(3, contextId=OTHER_CONTEXT, courseId=397))

    assert actions(plan) == [(2, Action.CREATE), (3, Action.FOLLOW)]
    leader, follower = plan.steps
    assert follower.leader == leader.index == 0
    assert follower.row_key == leader.row_key
    assert follower.notes == ("cross-listed: the same meeting as row 2",)
    assert follower.outcome is None


def test_three_courses_follow_the_first_row() -> None:
    plan = plan_of(check(2), check(3, contextId="ctx-b"), check(4, domain="canvas.other.edu"))

    assert actions(plan) == [(2, Action.CREATE), (3, Action.FOLLOW), (4, Action.FOLLOW)]
    assert [step.leader for step in plan.steps] == [None, 0, 0]


def test_same_meeting_same_course_is_a_duplicate_row() -> None:
    plan = plan_of(check(2), check(5, courseId=397, domain="https://CANVAS.x.edu/"))

    assert actions(plan) == [(2, Action.CREATE), (5, Action.SETTLED)]
    assert seen(plan.steps[1].outcome) == (
        Status.INVALID, None, "duplicate-row",
        "duplicate of row 2 (same meeting, same course); it is not sent twice: "
        "delete this row, or give it a different row_id",
    )


def test_duplicate_of_a_cross_listed_row_names_the_row_with_that_course() -> None:
    plan = plan_of(check(2), check(3, contextId="ctx-b"), check(4, contextId="ctx-b"))

    assert actions(plan) == [(2, Action.CREATE), (3, Action.FOLLOW), (4, Action.SETTLED)]
    outcome = plan.steps[2].outcome
    assert outcome is not None and outcome.stored_text is not None
    assert outcome.stored_text.startswith("duplicate of row 3 ")


def test_same_row_id_in_two_courses_is_cross_listed() -> None:
    plan = plan_of(check(2, row_id="L1"), check(3, row_id="L1", contextId=OTHER_CONTEXT, topic="BIO 101 (cross-list)"))

    assert actions(plan) == [(2, Action.CREATE), (3, Action.FOLLOW)]
    assert [step.row_key for step in plan.steps] == ["id:L1", "id:L1"]


def test_same_row_id_same_course_is_a_duplicate_even_if_details_differ() -> None:
    plan = plan_of(check(2, row_id="L1"), check(3, row_id="L1", topic="renamed"))

    assert actions(plan) == [(2, Action.CREATE), (3, Action.SETTLED)]
    assert plan.steps[1].outcome is not None and plan.steps[1].outcome.error_code == "duplicate-row"


def test_different_row_ids_make_identical_rows_two_meetings() -> None:
    plan = plan_of(check(2, row_id="A"), check(3, row_id="B"))

    assert actions(plan) == [(2, Action.CREATE), (3, Action.CREATE)]


# --- invalid rows -----------------------------------------------------------------------------


def test_invalid_row_is_settled_with_its_problems_and_never_joins_a_group() -> None:
    plan = plan_of(check(2, duration="fifty", waiting_room="maybe"), check(3), check(4, start_time="2020-01-01 10:00"))

    assert actions(plan) == [(2, Action.SETTLED), (3, Action.CREATE), (4, Action.CREATE)]
    assert seen(plan.steps[0].outcome) == (
        Status.INVALID, None, "type-error",
        "column 'Duration': expected a whole number, found 'fifty'; "
        "column 'Settings.Waiting Room': expected TRUE or FALSE (yes/no, 1/0), found 'maybe'",
    )
    assert plan.steps[0].row_key is None
    assert plan.steps[2].notes == (
        "column 'Start Time': start_time 2020-01-01T10:00:00 is in the past; Zoom accepts it, "
        "but check the year",
    )


# --- a result sheet fed back in -----------------------------------------------------------------


def test_not_associated_row_is_associated_with_its_meeting() -> None:
    plan = plan_of(check(2, import_status="not_associated", meeting_id=MEETING_ID, error_code="406"))

    assert actions(plan) == [(2, Action.ASSOCIATE)]
    assert plan.steps[0].meeting_id == MEETING_ID
    assert plan.steps[0].outcome is None
    assert plan.creates_per_host() == {}


def test_meeting_id_read_as_an_excel_number_is_the_same_id() -> None:
    plan = plan_of(check(2, import_status="not_associated", meeting_id=91978833358))

    assert plan.steps[0].meeting_id == MEETING_ID


def test_created_row_is_settled_not_sent_again() -> None:
    plan = plan_of(check(2, import_status="created", meeting_id=MEETING_ID))

    assert actions(plan) == [(2, Action.SETTLED)]
    assert seen(plan.steps[0].outcome) == (Status.CREATED, MEETING_ID, None,
                                            "done by an earlier run; nothing was sent")


def test_associated_row_is_settled_as_associated() -> None:
    plan = plan_of(check(2, import_status="associated", meeting_id=MEETING_ID))

    assert seen(plan.steps[0].outcome) == (Status.ASSOCIATED, MEETING_ID, None,
                                            "done by an earlier run; nothing was sent")


def test_created_without_a_meeting_id_is_still_never_created_again() -> None:
    plan = plan_of(check(2, import_status="created"))

    assert actions(plan) == [(2, Action.SETTLED)]
    assert seen(plan.steps[0].outcome) == (Status.CREATED, None, None,
                                            "created by an earlier run (no meeting id was returned)")


def test_new_course_added_beside_a_created_row_is_associated_with_its_meeting() -> None:
    plan = plan_of(check(2, import_status="created", meeting_id=MEETING_ID), check(3, contextId=OTHER_CONTEXT))

    assert actions(plan) == [(2, Action.SETTLED), (3, Action.ASSOCIATE)]
    assert plan.steps[1].meeting_id == MEETING_ID


def test_unknown_row_is_not_resent_without_retry_unknown() -> None:
    row = check(2, import_status="unknown", error_code="timeout",
                error_message=f"the server did not answer in 30 s -> {UNKNOWN_STEP}")

    plan = plan_of(row)

    assert actions(plan) == [(2, Action.SETTLED)]
    # The earlier next step is not repeated: the message carries it once.
    assert seen(plan.steps[0].outcome) == (Status.UNKNOWN, None, "timeout",
                                            f"the server did not answer in 30 s -> {UNKNOWN_STEP}")


def test_unknown_row_without_a_message_says_what_happened() -> None:
    plan = plan_of(check(2, import_status="unknown"))

    assert seen(plan.steps[0].outcome) == (Status.UNKNOWN, None, None,
                                            f"an earlier run lost this request's answer -> {UNKNOWN_STEP}")


def test_retry_unknown_creates_it_again() -> None:
    plan = plan_of(check(2, import_status="unknown"), retry_unknown=True)

    assert actions(plan) == [(2, Action.CREATE)]
    assert plan.steps[0].outcome is None


def test_row_added_beside_an_unknown_one_is_not_created_either() -> None:
    # Creating row 3 would make a second meeting if row 2's lost request did make one.
    plan = plan_of(check(2, import_status="unknown"), check(3, contextId=OTHER_CONTEXT))

    assert actions(plan) == [(2, Action.SETTLED), (3, Action.SETTLED)]
    assert seen(plan.steps[1].outcome) == (Status.UNKNOWN, None, None,
                                            f"the same meeting as row 2, whose answer was lost -> {UNKNOWN_STEP}")
    assert actions(plan_of(check(2, import_status="unknown"), check(3, contextId=OTHER_CONTEXT),
                           retry_unknown=True)) == [(2, Action.CREATE), (3, Action.FOLLOW)]


def test_row_added_beside_one_created_without_an_id_is_not_created_again() -> None:
    plan = plan_of(check(2, import_status="created"), check(3, contextId=OTHER_CONTEXT), retry_unknown=True)

    assert actions(plan) == [(2, Action.SETTLED), (3, Action.SETTLED)]
    assert seen(plan.steps[1].outcome) == (
        Status.UNKNOWN, None, None,
        "the same meeting as row 2, which an earlier run created without returning its id -> "
        "find the meeting in Zoom, put its id in row 2's meeting_id, then run again",
    )


@pytest.mark.parametrize("status", ["failed", "not_sent", "invalid", "valid", None])
def test_rows_where_nothing_was_made_are_created(status: str | None) -> None:
    plan = plan_of(check(2, import_status=status, error_code="1001" if status == "failed" else None))

    assert actions(plan) == [(2, Action.CREATE)]


# --- daily quota --------------------------------------------------------------------------------


def test_over_quota_lists_hosts_with_more_than_100_creates() -> None:
    busy = [check(n, topic=f"Office hours {n}", userId="Busy@X.edu" if n % 2 else "busy@x.edu")
            for n in range(2, 103)]
    calm = [check(200 + n, topic=f"Seminar {n}", userId="calm@x.edu") for n in range(100)]

    plan = plan_of(*busy, *calm)

    assert plan.over_quota() == {"busy@x.edu": list(range(2, 103))}
    assert {host: len(rows) for host, rows in plan.creates_per_host().items()} == {"busy@x.edu": 101,
                                                                                 "calm@x.edu": 100}
    assert set(plan.over_quota(limit=99)) == {"busy@x.edu", "calm@x.edu"}


def test_follows_and_associations_do_not_count_against_the_quota() -> None:
    rows = [check(2, topic="Lecture")]
    rows += [check(n, topic="Lecture", contextId=f"ctx-{n}") for n in range(3, 150)]
    rows += [check(n, topic=f"Old {n}", import_status="not_associated", meeting_id=str(n)) for n in range(150, 300)]

    plan = plan_of(*rows)

    assert plan.creates_per_host() == {"host@x.edu": [2]}
    assert plan.over_quota() == {}
    assert [len(plan.of(action)) for action in Action] == [1, 147, 150, 0, 0]
