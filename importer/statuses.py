"""The registry of what a row's status and error code mean, and what the coordinator does next.

Every status a row can end with is here, once, with the words the terminal, the result
sheet's Summary and `--json` show; every error code with a next step of its own too. A
row's `Outcome` carries its own message and next step apart (the result sheet's
error_message and next_step columns); `with_step` joins them as the journal keeps them
("message -> next step"), and `split_step` takes them apart where the journal, or an older
result sheet with only four result columns, is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    CREATED = "created"
    ASSOCIATED = "associated"
    NOT_ASSOCIATED = "not_associated"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"
    UPDATED = "updated"
    REMOVED = "removed"
    DELETED = "deleted"


Colour = Literal["green", "amber", "red"]
#: The symbol shown beside each colour, so that colour is never the only signal.
SYMBOLS: dict[Colour, str] = {"green": "\u2713", "amber": "!", "red": "\u2717"}


@dataclass(frozen=True)
class StatusInfo:
    next_step: str  # what the coordinator does about a row with this status
    done: bool  # counts as success for `run`'s exit code
    needs_action: bool  # listed among the rows that need the coordinator
    colour: Colour


STATUSES: dict[Status, StatusInfo] = {
    Status.VALID: StatusInfo("nothing to fix: `importer run` on this sheet sends it",
                             done=False, needs_action=False, colour="green"),
    Status.INVALID: StatusInfo("fix the cell named in error_message, then run again",
                               done=False, needs_action=True, colour="red"),
    Status.CREATED: StatusInfo("nothing: the meeting was created and associated",
                               done=True, needs_action=False, colour="green"),
    Status.ASSOCIATED: StatusInfo("nothing: an existing meeting was associated with the course",
                                  done=True, needs_action=False, colour="green"),
    Status.NOT_ASSOCIATED: StatusInfo(
        "fix contextId/domain, run again: the meeting is associated, not re-created",
        done=False, needs_action=True, colour="amber"),
    Status.FAILED: StatusInfo("fix the problem in error_message, run again (no meeting exists)",
                              done=False, needs_action=True, colour="red"),
    Status.UNKNOWN: StatusInfo("check in Zoom whether the meeting exists (with ZOOM_* set, a run looks it up "
                               "itself); --retry-unknown sends it again",
                               done=False, needs_action=True, colour="amber"),
    Status.NOT_SENT: StatusInfo("run the same sheet again (after 00:00 UTC for a daily limit)",
                                done=False, needs_action=True, colour="amber"),
    Status.UPDATED: StatusInfo("nothing: the meeting was changed in Zoom to match the row",
                               done=True, needs_action=False, colour="green"),
    # `importer undo`'s statuses: what it set out to do, done (its own exit code judges them).
    Status.REMOVED: StatusInfo("nothing: the meeting is no longer in the course; running the sheet again links it",
                               done=False, needs_action=False, colour="green"),
    Status.DELETED: StatusInfo("nothing: the meeting was deleted; running the sheet again creates it anew",
                               done=False, needs_action=False, colour="green"),
}

#: Statuses that count as success for `run`'s exit code.
DONE_STATUSES = frozenset(status for status, info in STATUSES.items() if info.done)
#: Statuses that ask the coordinator to do something.
NEEDS_ACTION = frozenset(status for status, info in STATUSES.items() if info.needs_action)

#: Error codes that say the sheet asked for something that was not done, whatever the row's status:
#: the row needs the coordinator, and the command exits 1.
ACTION_CODES = frozenset({"change-not-applied", "change-conflict", "update-failed", "undo-failed"})

#: The next step for an error code a coordinator can meet, said after the server's message.
CODE_STEPS: dict[str, str] = {
    "401": "the LTI key/secret pair was refused or the computer's clock is wrong: check LTI_KEY, "
           "LTI_SECRET (LTI Pro's configuration page) and the system clock",
    "1001": "Zoom does not know this host: check the userId (the host's Zoom e-mail or user id)",
    "3000": "this host may not schedule meetings here: check the host's Zoom licence and role",
    "3161": "this host's account does not allow this meeting setting: check the host's settings",
    "300": "Zoom rejected a meeting field: fix the cell it names, then run again",
    "429": "Zoom's rate limit: run the sheet again later (after 00:00 UTC for a host's daily limit)",
    "503": "Zoom was unavailable: nothing was created; run the sheet again",
    "change-not-applied": "LTI Pro cannot change a meeting: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and "
                          "ZOOM_CLIENT_SECRET (a Server-to-Server OAuth app) and run again to apply it, or change "
                          "the meeting in Zoom",
    "change-conflict": "make the rows that hold this meeting give it the same fields (or give one a row_id of "
                       "its own and clear its meeting_id), then run again",
    "update-failed": "the meeting was not changed: fix what error_message says, then run the sheet again",
    "undo-failed": "run `importer undo` on this sheet again; rows already taken back are skipped",
    "connect": "the LTI Pro server could not be reached: nothing was created; check the network "
               "and LTI_BASE_URL, then run again",
}
#: The next step of a row whose meeting may or may not exist (its answer was lost).
UNKNOWN_STEP = ("the meeting may or may not exist: check the host's meetings in Zoom, or set ZOOM_ACCOUNT_ID, "
                "ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET and run again to have it looked up; "
                "run again with --retry-unknown only if it does not exist")
#: The next step of a row whose meeting exists but is not linked to its course.
NOT_ASSOCIATED_STEP = ("the meeting exists (meeting_id) but is not in the course: check contextId/domain, "
                       "then run the sheet again: it is associated, not re-created")

#: Between a message and its next step in the journal (and older result sheets' error_message).
STEP_SEPARATOR = " -> "


def code_step(code: str | None) -> str | None:
    """The next step for an error code, if it has one of its own."""
    return CODE_STEPS.get(code or "")


def with_step(message: str | None, step: str | None) -> str | None:
    """The error_message text of a message and its next step (either may be missing)."""
    if not step:
        return message
    return f"{message}{STEP_SEPARATOR}{step}" if message else step


def split_step(text: str | None) -> tuple[str | None, str | None]:
    """(message, next step) of an error_message written by `with_step` (an older sheet or journal)."""
    if text is None:
        return None, None
    message, separator, step = text.partition(STEP_SEPARATOR)
    return (message or None, step or None) if separator else (text, None)
