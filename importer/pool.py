"""Send creates concurrently: a shared rate limit, retries only where nothing can exist.

Each job goes through: wait for the throttle -> journal `sending` -> signed POST ->
classify -> journal outcome. Retry-safe answers (connect failure, 429, 503) are retried
by tenacity, honouring Retry-After; everything else is final for this run.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, stop_after_delay
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential, wait_random

from .client import LtiClient
from .errors import JournalError
from .journal import Journal, LinkedBy, LinkState, MeetingState
from .lifecycle import (
    INTERRUPTED_IN_FLIGHT,
    abandoned_outcome,
    created_outcome,
    daily_limit_outcome,
    daily_limit_until,
    fields_text,
    journal_state,
    lost_outcome,
    not_sent_outcome,
    unrecorded_outcome,
)
from .models import Answer, CreateRequest, Outcome
from .statuses import Status


@dataclass(frozen=True, slots=True)
class CreateJob:
    index: int  # position in the plan, used to hand the outcome back
    row_key: str
    request: CreateRequest
    content_key: str = ""  # the hash identity, kept beside row_key in the journal


@dataclass(frozen=True)
class PoolOptions:
    concurrency: int
    rate: float  # requests per second across all workers; 0 = unlimited
    max_attempts: int
    row_deadline: float = 600.0  # seconds one row may spend in retries
    max_wait: float = 300.0  # a Retry-After longer than this ends the host's run (daily limit)


class Throttle:
    """The shared request rate: eased off on a 429, restored as answers succeed.

    Two rules, both needed at a server that counts requests per second:
    - pacing (aiolimiter): one request per 1/rate seconds, no start-of-run burst;
    - a window: never more than floor(rate) requests in any floor(rate)/rate seconds (plus a
      small margin for arrival jitter), counted from when each request was let go.
    Pacing alone loses what a busy event loop wakes a worker late (1.5 % of the rate here);
    the pacing bucket lets that be made up (BURST), and the window keeps the making-up from
    ever putting one request too many into a second.
    The first request goes alone and counts in the window from its answer: it opens the
    connection, so the server may see it tens of ms late, and a window counted from its
    release put a 21st request into the server's first second.

    With a rate set, a 429 lowers the rate by a tenth and only the refused request waits its
    Retry-After (pausing every worker for one refusal cost a fifth of the throughput when
    the server's limit equals ours). With no rate set, a 429 is the only signal there is,
    so every worker pauses for the Retry-After.
    """

    #: A pacing bucket of 1.25 requests: a late worker's successor may go a quarter interval early.
    BURST = 1.25
    #: Added to each window: the server sees our requests a little later, and not all equally late.
    MARGIN_S = 0.012
    EASE = 0.9  # the rate after a 429, as a fraction of what it was
    FLOOR = 0.25  # never below this fraction of the rate asked for
    RECOVER_AFTER = 20  # successes before stepping back up
    STEP_UP = 1.1

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.current = rate
        self._limiter: AsyncLimiter | None = None
        self._released: deque[float] = deque()
        self._window_s = 0.0
        self._opener_sent = False
        self._opened = asyncio.Event()
        self._set_rate(rate)
        self._resume_at = 0.0
        self._eased_at = -1.0
        self._successes = 0

    def _set_rate(self, rate: float) -> None:
        self.current = rate
        if rate <= 0:
            return
        self._limiter = AsyncLimiter(self.BURST, self.BURST / rate)
        count = max(1, int(rate))
        self._window_s = count / rate + self.MARGIN_S
        self._released = deque(self._released, maxlen=count)

    async def wait(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._limiter is None:
            return
        if self._opener_sent:
            await self._opened.wait()
        self._opener_sent = True
        await self._limiter.acquire()
        # Take the slot before sleeping for it, so workers waiting together queue in order.
        now = time.monotonic()
        released = self._released
        at = max(now, released[0] + self._window_s) if len(released) == released.maxlen else now
        released.append(at)
        if at > now:
            await asyncio.sleep(at - now)

    def answered(self) -> None:
        """The request let go by the last wait() is over (answered, failed or abandoned)."""
        if self._limiter is None or self._opened.is_set():
            return
        if self._released:
            self._released[-1] = max(self._released[-1], time.monotonic())
        self._opened.set()

    def slow_down(self, retry_after: float | None) -> None:
        self._successes = 0
        now = time.monotonic()
        if self.rate <= 0:
            self._resume_at = max(self._resume_at, now + (retry_after if retry_after else 1.0))
            return
        if now - self._eased_at < 1.0:
            return  # refusals of one burst are one signal: ease once per second, not once per 429
        self._eased_at = now
        self._set_rate(max(self.current * self.EASE, self.rate * self.FLOOR))

    def succeeded(self) -> None:
        if self.rate <= 0 or self.current >= self.rate:
            return
        self._successes += 1
        if self._successes >= self.RECOVER_AFTER:
            self._successes = 0
            self._set_rate(min(self.rate, self.current * self.STEP_UP))


@dataclass
class _HostBlock:
    until: str  # when the host may create again, as the server said
    row_number: int


@dataclass
class CreatePool:
    client: LtiClient
    journal: Journal
    options: PoolOptions
    on_outcome: Callable[[CreateJob, Outcome], None] = lambda job, outcome: None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _throttle: Throttle = field(init=False)
    _blocked_hosts: dict[str, _HostBlock] = field(default_factory=dict)
    #: The JournalError that stopped the run, raised by `run` once every outcome is known.
    failure: JournalError | None = None
    #: Each job's outcome, by plan index: complete once `run` has ended, however it ended.
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    _abandoned: set[int] = field(default_factory=set)
    _workers: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._throttle = Throttle(self.options.rate)

    def abandon(self) -> None:
        """Second Ctrl-C: stop at once. Requests in flight end `unknown`, the rest `not_sent`;
        outcomes already known are kept (run() still returns them)."""
        self.stop.set()
        for worker in self._workers:
            worker.cancel()

    async def run(self, jobs: Sequence[CreateJob]) -> dict[int, Outcome]:
        """Every job's outcome. However the run ends (done, stopped, abandoned, cancelled, or a
        worker's bug), `outcomes` then holds one for every job: requests in flight when it was
        cut short are `unknown`, jobs never taken `not_sent`."""
        queue: asyncio.Queue[CreateJob] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        workers = [asyncio.create_task(self._worker(queue, self.outcomes))
                   for _ in range(max(1, min(self.options.concurrency, len(jobs))))]
        self._workers = workers
        try:
            results = await asyncio.gather(*workers, return_exceptions=True)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for job in jobs:
                if job.index in self._abandoned:
                    self.outcomes.setdefault(job.index, abandoned_outcome())
                self.outcomes.setdefault(job.index, not_sent_outcome())  # whatever was never taken
        for result in results:  # a worker cancelled by abandon() is expected; anything else is a bug
            if isinstance(result, Exception):
                raise result
        return self.outcomes

    async def _worker(self, queue: asyncio.Queue[CreateJob], outcomes: dict[int, Outcome]) -> None:
        while not self.stop.is_set():
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                outcome = await self._process(job)
            except _Unrecorded as exc:
                # The answer is known though the journal could not keep it: the sheet keeps it
                # (a meeting id above all). Without a journal nothing more may be sent.
                self.failure = self.failure or exc.error
                self.stop.set()
                outcome = unrecorded_outcome(exc.outcome, exc.error)
            except JournalError as exc:
                self.failure = self.failure or exc
                self.stop.set()
                outcome = lost_outcome("journal", f"the journal could not record this row: {exc}")
            except Exception as exc:  # a bug must not strand the rows already sent
                outcome = lost_outcome("internal-error", f"{type(exc).__name__}: {exc}")
                with suppress(JournalError):
                    self.journal.record_meeting(job.row_key, MeetingState.UNKNOWN, None, outcome.error_code,
                                                outcome.stored_text)
            outcomes[job.index] = outcome
            self.on_outcome(job, outcome)

    async def _process(self, job: CreateJob) -> Outcome:
        retrying = AsyncRetrying(
            stop=(stop_after_attempt(self.options.max_attempts) | stop_after_delay(self.options.row_deadline)
                  | _StopWhen(self._wait_too_long)),
            wait=self._wait,
            retry=retry_if_result(lambda answer: answer is not None and answer.kind == "retry"),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            sleep=self._sleep,
        )
        try:
            answer: Answer | None = await retrying(self._attempt, job)
        except _AlreadySent:
            return lost_outcome("journal", "the journal shows this meeting already sent by another run; "
                                           "nothing was sent now")
        if answer is None:
            block = self._blocked_hosts.get(job.request.user_id.lower())
            if block is not None:
                return daily_limit_outcome(job.request.user_id, block.until, block.row_number)
            return not_sent_outcome()
        outcome = created_outcome(answer, exhausted=answer.kind == "retry")
        if self._too_long(answer):
            # Nothing was created and the host can create nothing more today: not_sent, like the
            # host's rows behind it (DESIGN.md: "its host's daily limit was reached").
            block = self._blocked_hosts.get(job.request.user_id.lower())
            until = block.until if block is not None else daily_limit_until(answer.retry_after or 0.0)
            outcome = daily_limit_outcome(job.request.user_id, until)
        # One transaction per outcome: a kill between the two writes must not leave a created
        # meeting without its association (the next run would then report it `associated`).
        try:
            with self.journal.transaction():
                self.journal.record_meeting(job.row_key, journal_state(outcome), outcome.meeting_id,
                                            outcome.error_code, outcome.stored_text)
                if outcome.status is Status.CREATED and outcome.meeting_id:
                    course = job.request.course
                    self.journal.record_association(outcome.meeting_id, course.context_id, course.domain,
                                                    course.course_id, LinkState.ASSOCIATED, via=LinkedBy.CREATE)
        except JournalError as exc:
            raise _Unrecorded(outcome, exc) from exc
        return outcome

    async def _attempt(self, job: CreateJob) -> Answer | None:
        """One try. None means: not sent (stopped, or the host is blocked)."""
        if self.stop.is_set() or job.request.user_id.lower() in self._blocked_hosts:
            return None
        await self._throttle.wait()
        try:
            if self.stop.is_set() or job.request.user_id.lower() in self._blocked_hosts:
                return None
            if not self.journal.mark_sending(job.row_key, job.content_key, job.request.row_number,
                                             fields_text(job.request), job.request.user_id):
                raise _AlreadySent
            try:
                answer = await self.client.create_and_associate(job.request.body())
            except asyncio.CancelledError:
                self._abandoned.add(job.index)
                self.journal.record_meeting(job.row_key, MeetingState.UNKNOWN, None, "abandoned",
                                            INTERRUPTED_IN_FLIGHT)
                raise
        finally:
            self._throttle.answered()
        if self._too_long(answer):
            # A host's daily limit: block that host at once (no more requests spent on it), and do
            # not slow the shared throttle by hours: the other hosts go on.
            self._blocked_hosts.setdefault(job.request.user_id.lower(), _HostBlock(
                daily_limit_until(answer.retry_after or 0.0), job.request.row_number))
        elif answer.kind == "retry" and answer.error_code == "429":
            self._throttle.slow_down(answer.retry_after)
        elif answer.kind == "ok":
            self._throttle.succeeded()
        if answer.kind == "retry":
            # Nothing was created: the row is not in flight any more.
            self.journal.record_meeting(job.row_key, MeetingState.FAILED, None, answer.error_code,
                                        answer.error_message)
        return answer

    def _too_long(self, answer: Answer | None) -> bool:
        """A 429 whose Retry-After is longer than a run should sit: the host's daily limit."""
        return bool(answer is not None and answer.kind == "retry" and answer.error_code == "429"
                    and answer.retry_after and answer.retry_after > self.options.max_wait)

    def _wait_too_long(self, state: RetryCallState) -> bool:
        answer = state.outcome.result() if state.outcome and not state.outcome.failed else None
        return self._too_long(answer)

    def _wait(self, state: RetryCallState) -> float:
        return retry_wait(state)

    async def _sleep(self, seconds: float) -> None:
        # A retry wait ends early when the run is stopping: the row is then not_sent.
        with suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)


_BACKOFF = wait_exponential(multiplier=0.5, max=10.0) + wait_random(0, 0.5)


def retry_wait(state: RetryCallState, longest: float | None = None) -> float:
    """Wait what the server's Retry-After says; without one, back off exponentially with jitter."""
    answer: Answer | None = state.outcome.result() if state.outcome and not state.outcome.failed else None
    if answer is not None and answer.retry_after is not None:
        return answer.retry_after if longest is None else min(answer.retry_after, longest)
    return float(_BACKOFF(state))


class _StopWhen(stop_base):
    """A tenacity stop condition from a predicate on the retry state."""

    def __init__(self, predicate: Callable[[RetryCallState], bool]) -> None:
        self.predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.predicate(retry_state)


class _AlreadySent(Exception):
    """The journal refused to mark a row `sending`: it was sent or made already."""


class _Unrecorded(Exception):
    """The server answered (`outcome`) but the journal could not record it (`error`)."""

    def __init__(self, outcome: Outcome, error: JournalError) -> None:
        super().__init__(str(error))
        self.outcome = outcome
        self.error = error
