"""Send a run's plan: the creates through the pool, then the links through bulkImport.

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
from .lifecycle import Action, Plan, links, settle_creates, settle_followers
from .options import Connection, ImportOptions, Progress, StopRequest
from .pool import CreateJob, CreatePool, PoolOptions
from .reassociate import Reassociator


def send_plan(plan: Plan, journal: Journal, connection: Connection, options: ImportOptions,
              progress: Progress, stop: StopRequest) -> None:
    """Send what the plan says, settling each row it sends; returns when done or stopped."""
    asyncio.run(_send(plan, journal, connection, options, progress, stop))


async def _send(plan: Plan, journal: Journal, connection: Connection, options: ImportOptions,
                progress: Progress, stop: StopRequest) -> None:
    creates = plan.of(Action.CREATE)
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
    try:
        if creates:
            progress.start("creating meetings", len(creates))
            try:
                await pool.run([CreateJob(step.index, step.row_key or "", step.request, step.content_key or "")
                                for step in creates])
            finally:
                progress.finish()  # a live bar stops (and gives the terminal back) whatever happened
                settle_creates(plan, pool.outcomes)  # however the phase ended: no meeting id is lost
            if pool.failure is not None:
                raise pool.failure
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
