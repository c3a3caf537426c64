"""From a server answer to a row outcome, with the coordinator's next step in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Outcome, Status

if TYPE_CHECKING:  # the client (httpx) is loaded only by commands that send
    from .client import Answer

#: Next steps for error codes a coordinator can meet (appended to the server's message).
CODE_NEXT_STEPS = {
    "401": "the LTI key/secret pair was refused or the computer's clock is wrong: check LTI_KEY, "
           "LTI_SECRET (LTI Pro's configuration page) and the system clock",
    "1001": "Zoom does not know this host: check the userId (the host's Zoom e-mail or user id)",
    "3000": "this host may not schedule meetings here: check the host's Zoom licence and role",
    "3161": "this host's account does not allow this meeting setting: check the host's settings",
    "300": "Zoom rejected a meeting field: fix the cell it names, then run again",
    "429": "Zoom's rate limit: run the sheet again later (after 00:00 UTC for a host's daily limit)",
    "503": "Zoom was unavailable: nothing was created; run the sheet again",
    "connect": "the LTI Pro server could not be reached: nothing was created; check the network "
               "and LTI_BASE_URL, then run again",
}
UNKNOWN_STEP = ("the meeting may or may not exist: check the host's meetings in Zoom; "
                "run again with --retry-unknown only if it does not exist")
NOT_ASSOCIATED_STEP = ("the meeting exists (meeting_id) but is not in the course: check contextId/domain, "
                       "then run the sheet again: it is associated, not re-created")


def with_step(message: str | None, step: str | None) -> str | None:
    if not step:
        return message
    return f"{message} -> {step}" if message else step


def create_outcome(answer: Answer, exhausted: bool = False) -> Outcome:
    """The row outcome of a createAndAssociate answer (after retries, when `exhausted`)."""
    if answer.kind == "ok":
        if answer.meeting_id is None:
            return Outcome(Status.CREATED, None, None,
                           "created, but the server returned no meeting id; find it in Zoom")
        return Outcome(Status.CREATED, answer.meeting_id)
    if answer.kind == "refused" and answer.error_code == "406":
        if answer.meeting_id is None:
            return Outcome(Status.UNKNOWN, None, "406",
                           with_step("the server says the meeting was created but sent no id", UNKNOWN_STEP))
        return Outcome(Status.NOT_ASSOCIATED, answer.meeting_id, "406",
                       with_step(answer.error_message, NOT_ASSOCIATED_STEP))
    if answer.kind == "refused" and answer.meeting_id is not None:
        # Refused, yet with a meeting id: the meeting exists. Never tell anyone to create it again.
        return Outcome(Status.NOT_ASSOCIATED, answer.meeting_id, answer.error_code,
                       with_step(answer.error_message, NOT_ASSOCIATED_STEP))
    if answer.kind == "refused":
        return Outcome(Status.FAILED, None, answer.error_code,
                       with_step(answer.error_message, CODE_NEXT_STEPS.get(answer.error_code or "")))
    if answer.kind == "retry":
        attempts = "after every retry " if exhausted else ""
        return Outcome(Status.FAILED, None, answer.error_code,
                       with_step(f"{answer.error_message or 'temporarily refused'} ({attempts}nothing was created)",
                                 CODE_NEXT_STEPS.get(answer.error_code or "")))
    return Outcome(Status.UNKNOWN, None, answer.error_code, with_step(answer.error_message, UNKNOWN_STEP))
