"""Link existing meetings to courses through bulkImport, never by creating them again.

Batches (`Batches`, which sends bulkDisassociate's for `importer undo` too) hold at most
`limits.BULK_MAX` items (LTI Pro's limit). bulkImport's answers are not documented, so
`status: true` is taken as "the whole batch is linked" and anything else as "the batch
failed": a failed batch is split in halves until the items at fault are isolated, so one
bad contextId cannot leave 399 good rows unlinked. Associating (and removing) is
idempotent, so a lost answer is simply retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt

from .client import LtiClient
from .journal import Journal, LinkState
from .lifecycle import Link, linked_outcome
from .limits import BULK_MAX
from .models import Answer, Outcome
from .pool import retry_wait
from .statuses import Status

#: Refusals of the request itself (signature, shape), not of an item: splitting cannot help.
WHOLE_REQUEST_REFUSALS = frozenset({"401", "300", "400"})


BulkCall = Callable[[list[dict[str, str]]], Awaitable[Answer]]


@dataclass
class Batches:
    """Links sent through a bulk call (bulkImport, or bulkDisassociate), at most `batch_size`
    (and `BULK_MAX`) a call; a refused batch is split in halves until the items at fault are
    isolated. Every call is idempotent, so a lost answer is retried too."""

    call: BulkCall
    batch_size: int = BULK_MAX
    max_attempts: int = 5
    #: Set on Ctrl-C: no further call starts; links not sent get no answer.
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, links: Sequence[Link], settle: Callable[[Link, Answer], None]) -> None:
        """Each link's answer handed to `settle` (the answer on the smallest batch that held it)."""
        size = max(1, min(self.batch_size, BULK_MAX))
        for start in range(0, len(links), size):
            await self._settle(list(links[start:start + size]), settle)

    async def _settle(self, batch: list[Link], settle: Callable[[Link, Answer], None]) -> None:
        if self.stop.is_set():
            return
        answer = await self._send(batch)
        if answer.kind == "refused" and len(batch) > 1 and answer.error_code not in WHOLE_REQUEST_REFUSALS:
            middle = len(batch) // 2
            await self._settle(batch[:middle], settle)
            await self._settle(batch[middle:], settle)
            return
        for link in batch:
            settle(link, answer)

    async def _send(self, batch: list[Link]) -> Answer:
        items = [link.course.as_item(link.meeting_id) for link in batch]
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=lambda state: retry_wait(state, longest=60.0),
            retry=retry_if_result(lambda answer: answer.kind in ("retry", "unknown")),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        answer: Answer = await retrying(self.call, items)
        return answer


@dataclass
class Reassociator:
    client: LtiClient
    journal: Journal
    batch_size: int = BULK_MAX
    max_attempts: int = 5
    on_outcome: Callable[[Link, Outcome], None] = lambda link, outcome: None
    #: Set on Ctrl-C: no further bulkImport call starts; unsent links stay not_associated.
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: Outcomes so far, kept here so that an interrupted run still reports them.
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    async def run(self, links: Sequence[Link]) -> dict[int, Outcome]:
        batches = Batches(self.client.bulk_import, self.batch_size, self.max_attempts, self.stop)
        await batches.run(links, lambda link, answer: self._finish(link, linked_outcome(answer, link.meeting_id)))
        return self.outcomes

    def _finish(self, link: Link, outcome: Outcome) -> None:
        course = link.course
        state = LinkState.ASSOCIATED if outcome.status is Status.ASSOCIATED else LinkState.NOT_ASSOCIATED
        self.journal.record_association(link.meeting_id, course.context_id, course.domain, course.course_id,
                                        state, outcome.error_code, outcome.stored_text)
        self.outcomes[link.index] = outcome
        self.on_outcome(link, outcome)
