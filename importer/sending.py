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
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import replace
from typing import TYPE_CHECKING

from .client import LtiClient
from .journal import Journal, MeetingEntry
from .lifecycle import (
    Action,
    Lookup,
    Plan,
    Step,
    content_key,
    fields_text,
    links,
    lookup_steps,
    meeting_change,
    refuse_conflicting_changes,
    settle_changes,
    settle_creates,
    settle_followers,
    settle_lookup,
    stopped_change,
)
from .models import CreateRequest, Outcome
from .options import Connection, ImportOptions, Progress, StopRequest, Zoom
from .pool import CreateJob, CreatePool, PoolOptions
from .reassociate import Reassociator
from .statuses import Status

if TYPE_CHECKING:
    from .resolve import Lost

#: Rounds of "look up this run's lost answers, send again what was never made": each round's
#: sends may lose answers too (rarely); what is still lost after the last stays unknown.
LOOKUP_ROUNDS = 3
#: Seconds after a create was sent before "Zoom has no such meeting" is trusted: a request whose
#: answer was lost (a gateway's 504, a timeout) may still be running at Zoom's end, and a meeting
#: made after the list was read would be made twice. At least twice the request timeout (so 60 s
#: with the default 30 s). A meeting found is found at once; only "none" waits.
ABSENT_AFTER_S = 30.0


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
    rest = _Rest(zoom, journal, progress, pool.stop, connection.timeout) if zoom is not None else None

    async def cancellable(phase: Awaitable[None]) -> None:
        """A REST phase a second Ctrl-C abandons: its rows stay as they were (unknown, unchanged)."""
        nonlocal abandon
        task = asyncio.ensure_future(phase)
        abandon = task.cancel
        try:
            await task
        except asyncio.CancelledError:
            if not pool.stop.is_set():
                raise
        finally:
            abandon = pool.abandon

    try:
        if rest is not None:
            await cancellable(rest.look_up(plan, lookup_steps(plan)))
        await _create(plan, pool, progress)
        for _ in range(LOOKUP_ROUNDS if rest is not None else 0):
            lost = lookup_steps(plan, unknown_now=True)
            if not lost or pool.stop.is_set():
                break
            await cancellable(rest.look_up(plan, lost))  # type: ignore[union-attr]  # the loop runs only with rest
            await _create(plan, pool, progress, again=True)
        if rest is not None:
            if pool.stop.is_set():
                settle_changes(plan, {step.change.meeting_id: stopped_change(step) for step in plan.updates()
                                      if step.change is not None})
            else:
                refuse_conflicting_changes(plan.steps)  # lookups may have given rows of one meeting their changes
                await cancellable(rest.apply_changes(plan, options.concurrency))
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


def _lost(step: Step, entry: MeetingEntry | None) -> Lost:
    """What to look a row up by: the create the journal says was sent (its host and fields), else the
    row as it is now, and then "none found" is not trusted (the row may have changed since)."""
    from .resolve import Lost

    if entry is not None and entry.sent_fields and entry.user_id:
        with suppress(ValueError):
            sent = json.loads(entry.sent_fields)
            if isinstance(sent, dict):
                request = replace(step.request, user_id=entry.user_id, meeting_info=sent)
                return Lost(request, entry.first_sent_at, sent_known=True)
    return Lost(step.request, entry.first_sent_at if entry is not None else None, sent_known=False)


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

    def __init__(self, zoom: Zoom, journal: Journal, progress: Progress, stop: asyncio.Event, timeout: float) -> None:
        from .resolve import Resolver  # here: a run without Zoom loads none of it
        from .zoom import ZoomClient

        self.client = ZoomClient(zoom)
        self.journal = journal
        self.progress = progress
        self.stop = stop
        self.absent_after = max(ABSENT_AFTER_S, 2 * timeout)
        self.resolver = Resolver(self.client)

    async def look_up(self, plan: Plan, steps: list[Step]) -> None:
        """Each row's meeting looked up in Zoom by what was sent, and settled; the journal records
        what was found. "None found" for a row sent moments ago is trusted only once no request of
        its can still be running (`absent_after`): it is looked up again then. A stop while waiting
        leaves those rows as they are."""
        while steps:
            entries = self.journal.meetings()
            # Every meeting the journal or the sheet knows is some row's (this run's creates too): never another's.
            self.resolver.round([entry.meeting_id for entry in entries.values() if entry.meeting_id]
                                + [step.check.prior.meeting_id for step in plan.steps if step.check.prior.meeting_id])
            rows = [_lost(step, entries.get(step.row_key or "")) for step in steps]
            self.progress.start("looking lost answers up in Zoom", len(steps))
            try:
                found = await self.resolver.look_up(rows)
                young: list[tuple[Step, float]] = []
                for step, row, lookup in zip(steps, rows, found, strict=True):
                    entry = entries.get(step.row_key or "")
                    ready = (entry.last_sent_at or 0.0) + self.absent_after if entry is not None else 0.0
                    if lookup.absent and ready > time.time():
                        young.append((step, ready))
                        continue
                    self._settle(plan, step, row, lookup)
            finally:
                self.progress.finish()
            if not young:
                return
            wait = max(ready for _, ready in young) - time.time()
            self.progress.start(f"waiting {wait:.0f} s to be sure {len(young)} lost request(s) are not still "
                                "running at Zoom", len(young))
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=max(0.0, wait))
            self.progress.finish()
            if self.stop.is_set():
                return
            steps = [step for step, _ in young]

    def _settle(self, plan: Plan, step: Step, row: Lost, lookup: Lookup) -> None:
        self._record(step, row.request, lookup)
        settle_lookup(plan, step, lookup)
        if lookup.meeting_id is not None:
            # Found as it was sent: a row of it (this one, or one planned to follow it) changed since
            # gets the change applied (or refused, when the rows disagree: see refuse_conflicting_changes).
            for other in plan.steps:
                if (other.meeting_id == lookup.meeting_id and other.change is None and other.check.request is not None
                        and other.request.meeting_info != row.request.meeting_info):
                    other.change = meeting_change(lookup.meeting_id, row.request.meeting_info,
                                                  other.request.meeting_info)
        self.progress.advance(lookup.outcome.status if lookup.outcome else
                              Status.ASSOCIATED if lookup.meeting_id else Status.NOT_SENT)

    def _record(self, step: Step, sent: CreateRequest, lookup: Lookup) -> None:
        key = step.row_key or ""
        if lookup.meeting_id is not None:
            self.journal.record_found(key, lookup.meeting_id, content_key(sent), fields_text(sent), lookup.detail)
        elif lookup.absent:
            self.journal.record_absent(key, lookup.detail)
        else:
            assert lookup.outcome is not None
            self.journal.record_event(lookup.outcome.error_code or "unresolved", lookup.outcome.message, row_key=key)

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
            for step in steps:  # abandoned (a second Ctrl-C) before its PATCH was answered
                if step.change is not None and step.change.meeting_id not in applied:
                    applied[step.change.meeting_id] = stopped_change(step)
            settle_changes(plan, applied)
