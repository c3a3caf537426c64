"""Send a run's plan: the creates through the pool, then the links through bulkImport; with
Zoom's REST API, lost answers are looked up (before the creates for earlier runs' rows, after
them for this run's, sending again what was never made) and changed meetings PATCHed.

A `StopRequest` (Ctrl-C, wired by the CLI) reaches the event loop through
`call_soon_threadsafe`: the first stops taking rows, the second abandons the requests in
flight (creates end `unknown`, links not made stay `not_associated`). Every outcome known
by then is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .client import LtiClient
from .journal import Journal
from .lifecycle import (
    Action,
    Plan,
    Step,
    content_key,
    fields_text,
    links,
    lookup_steps,
    settle_changes,
    settle_creates,
    settle_followers,
    settle_lookup,
)
from .models import Outcome
from .options import Connection, ImportOptions, Progress, StopRequest, Zoom
from .pool import CreateJob, CreatePool, PoolOptions
from .reassociate import Reassociator
from .statuses import Status

#: Rounds of "look up this run's lost answers, send again what was never made": each round's
#: sends may lose answers too (rarely); what is still lost after the last stays unknown.
LOOKUP_ROUNDS = 3
#: Seconds between a lost answer and looking it up: a request whose answer was lost may still be
#: finishing at Zoom's end, and a meeting made after the list was read would be made twice.
SETTLE_S = 2.0


def send_plan(plan: Plan, journal: Journal, connection: Connection, options: ImportOptions,
              progress: Progress, stop: StopRequest, zoom: Zoom | None = None) -> None:
    """Send what the plan says, settling each row it sends; returns when done or stopped."""
    asyncio.run(_send(plan, journal, connection, options, progress, stop, zoom))


async def _send(plan: Plan, journal: Journal, connection: Connection, options: ImportOptions,
                progress: Progress, stop: StopRequest, zoom: Zoom | None) -> None:
    client = LtiClient(connection.base_url, connection.key, connection.secret,
                       calendar_user=connection.calendar_user, timeout=connection.timeout,
                       max_connections=max(1, options.concurrency), clock=connection.clock)
    pool = CreatePool(client, journal, PoolOptions(options.concurrency, options.rate, options.max_attempts),
                      on_outcome=lambda job, outcome: progress.advance(outcome.status))
    abandon: Callable[[], object] = pool.abandon

    def on_stop(requests: int) -> None:  # in the event loop's thread
        pool.stop.set()
        if requests > 1:
            abandon()

    loop = asyncio.get_running_loop()

    def stop_requested(requests: int) -> None:  # in a signal handler, or another thread
        loop.call_soon_threadsafe(on_stop, requests)

    stop.listen(stop_requested)
    if stop.count:  # asked before anyone listened: nothing is sent (checked after listening, or one is lost)
        on_stop(stop.count)
    rest = _Rest(zoom, journal, progress) if zoom is not None else None
    try:
        if rest is not None:
            await rest.look_up(plan, lookup_steps(plan))
        await _create(plan, pool, progress)
        for _ in range(LOOKUP_ROUNDS if rest is not None else 0):
            lost = lookup_steps(plan, unknown_now=True)
            if not lost or pool.stop.is_set():
                break
            await asyncio.sleep(SETTLE_S)
            await rest.look_up(plan, lost)  # type: ignore[union-attr]  # the loop runs only with rest
            await _create(plan, pool, progress, again=True)
        if rest is not None and not pool.stop.is_set():
            await rest.apply_changes(plan, options.concurrency)
        settle_followers(plan)
        to_link = links(plan)
        if to_link and not pool.stop.is_set():
            progress.start("linking meetings to courses", len(to_link))
            reassociator = Reassociator(client, journal, options.batch_size, options.max_attempts,
                                        on_outcome=lambda link, outcome: progress.advance(outcome.status),
                                        stop=pool.stop)
            linking = asyncio.ensure_future(reassociator.run(to_link))
            abandon = linking.cancel  # a second Ctrl-C stops waiting for bulkImport
            try:
                await linking
            except asyncio.CancelledError:
                pass
            finally:
                progress.finish()
            for step in plan.steps:
                if step.index in reassociator.outcomes:
                    step.outcome = reassociator.outcomes[step.index]
    finally:
        stop.listen(None)
        await client.aclose()
        if rest is not None:
            await rest.client.aclose()


async def _create(plan: Plan, pool: CreatePool, progress: Progress, again: bool = False) -> None:
    """The creates planned and not yet sent (`again`: those a lookup found never made)."""
    creates = [step for step in plan.of(Action.CREATE) if step.outcome is None]
    if not creates:
        return
    progress.start("sending again what was never made" if again else "creating meetings", len(creates))
    for step in creates:  # a lost answer's outcome is not kept for a row sent again
        pool.outcomes.pop(step.index, None)
    try:
        await pool.run([CreateJob(step.index, step.row_key or "", step.request, step.content_key or "")
                        for step in creates])
    finally:
        progress.finish()  # a live bar stops (and gives the terminal back) whatever happened
        settle_creates(plan, pool.outcomes)  # however the phase ended: no meeting id is lost
    if pool.failure is not None:
        raise pool.failure


class _Rest:
    """What a run does through Zoom's REST API: look lost answers up, and apply changed rows."""

    def __init__(self, zoom: Zoom, journal: Journal, progress: Progress) -> None:
        from .resolve import Resolver  # here: a run without Zoom loads none of it
        from .zoom import ZoomClient

        self.client = ZoomClient(zoom)
        self.journal = journal
        self.progress = progress
        self.resolver = Resolver(self.client)

    async def look_up(self, plan: Plan, steps: list[Step]) -> None:
        """Each row's meeting looked up in Zoom and settled; the journal records what was found."""
        if not steps:
            return
        self.progress.start("looking lost answers up in Zoom", len(steps))
        try:
            entries = self.journal.meetings()
            # Every meeting the journal knows is some row's (this run's creates too): never another's.
            self.resolver.round(entry.meeting_id for entry in entries.values() if entry.meeting_id)
            sent_at = [entries[step.row_key].first_sent_at if step.row_key in entries else None for step in steps]
            found = await self.resolver.look_up([(step.request, at) for step, at in zip(steps, sent_at, strict=True)])
            for step, lookup in zip(steps, found, strict=True):
                key = step.row_key or ""
                if lookup.meeting_id is not None:
                    self.journal.record_found(key, lookup.meeting_id, step.content_key, fields_text(step.request),
                                              lookup.detail)
                elif lookup.absent:
                    self.journal.record_absent(key, lookup.detail)
                else:
                    assert lookup.outcome is not None
                    self.journal.record_event(lookup.outcome.error_code or "unresolved", lookup.outcome.message,
                                              row_key=key)
                settle_lookup(plan, step, lookup)
                self.progress.advance(lookup.outcome.status if lookup.outcome else
                                      Status.ASSOCIATED if lookup.meeting_id else Status.NOT_SENT)
        finally:
            self.progress.finish()

    async def apply_changes(self, plan: Plan, concurrency: int) -> None:
        """PATCH each changed meeting once (Zoom counts it toward the host's 100 a day)."""
        from .zoom import ZoomError

        steps = plan.updates()
        if not steps:
            return
        self.progress.start("changing meetings in Zoom", len(steps))
        gate = asyncio.Semaphore(max(1, concurrency))
        applied: dict[str, Outcome] = {}

        async def apply(step: Step) -> None:
            change = step.change
            assert change is not None
            async with gate:
                try:
                    await self.client.update_meeting(change.meeting_id, change.patch)
                except ZoomError as exc:
                    applied[change.meeting_id] = Outcome(Status.FAILED, change.meeting_id, "update-failed", str(exc))
                else:
                    self.journal.record_update(change.meeting_id, change.sent_fields, content_key(step.request),
                                               ", ".join(change.fields))
                    applied[change.meeting_id] = Outcome(Status.UPDATED, change.meeting_id)
            self.progress.advance(applied[change.meeting_id].status)

        try:
            await asyncio.gather(*(apply(step) for step in steps))
        finally:
            self.progress.finish()
            settle_changes(plan, applied)
