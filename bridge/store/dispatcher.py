"""The outbox's dispatcher: runs claimed jobs with a few workers, and decides their retries.

This is the one place where retry policy lives. A job's handler raises `SendError` to say
whether trying again can help; anything else it raises is a bug, logged and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bridge.domain.work import DEAD, DONE, RETRY, WAITING
from bridge.errors import SendError, StoreUnavailable
from bridge.store.db import unavailable_as_such
from bridge.store.outbox import ClaimedJob, Outbox

log = logging.getLogger(__name__)


class JobHandler(Protocol):
    """Performs one kind of job; `give_up` leaves a trace when the job is buried."""

    async def run(self, payload: dict[str, Any]) -> None: ...

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None: ...


@runtime_checkable
class RerunAware(Protocol):
    """A handler that runs a job claimed before through `run_again`.

    An earlier attempt may have reached the outside world without its result being
    recorded: its instance died mid-call and the lease ran out, or the call got no answer.
    """

    async def run_again(self, payload: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 300.0
    # A refusal a person can fix (an invitation, a new token) is tried again this often,
    # for this long after the job was made, before the job is given up.
    fixable_delay: float = 60.0
    fixable_patience: float = 86_400.0

    def delay(self, attempts: int, asked: float | None) -> float:
        """Exponential backoff with jitter, never shorter than what the remote side asked."""
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        jittered = backoff * random.uniform(0.5, 1.0)
        return max(jittered, asked or 0.0)


class Dispatcher:
    """Runs outbox jobs with a few concurrent workers; wakes on `notify()` or when due."""

    def __init__(
        self,
        outbox: Outbox,
        handlers: Mapping[str, JobHandler],
        *,
        policy: RetryPolicy | None = None,
        workers: int = 8,
        on_settled: Callable[[ClaimedJob, str, SendError | None], Awaitable[None] | None]
        | None = None,
        # Without Redis nothing tells this instance of jobs another process committed or
        # put back (`jobs retry`): it looks for due work at least this often.
        max_idle: float = 5.0,
        # Awaited before each claim: gives way to a storm of webhooks (`Foreground`).
        give_way: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.handlers = handlers
        self.policy = policy or RetryPolicy()
        self.workers = workers
        self.on_settled = on_settled
        self.max_idle = max_idle
        self.give_way = give_way
        # One token wakes one sleeping worker; never more tokens than workers, so a burst
        # of commits does not make every worker query the store for the same job.
        self._wake: asyncio.Queue[None] = asyncio.Queue(maxsize=workers)
        self._stopping = False
        # One alarm for the earliest job waiting for its time: it wakes one worker, and
        # each worker it wakes that finds a job wakes the next (`_chasing`), until one
        # finds none. Every idle worker sleeping until that time would wake together,
        # all but one to claim nothing: a case's header redraw waits its turn that way.
        self._alarm: asyncio.TimerHandle | None = None
        self._chasing = False

    def notify(self, jobs: int = 1) -> None:
        """`jobs` new jobs were committed: wake as many sleeping workers (at most all)."""
        for _ in range(min(jobs, self.workers)):
            with contextlib.suppress(asyncio.QueueFull):
                self._wake.put_nowait(None)

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))

    def stop(self) -> None:
        """Let each worker finish the job in hand, then end `run()`."""
        self._stopping = True
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None
        self.notify(self.workers)

    async def _worker(self) -> None:
        failures = 0
        job: ClaimedJob | None = None  # claimed as the last one was settled: run it still
        while job is not None or not self._stopping:
            try:
                with unavailable_as_such():
                    if self.give_way is not None:
                        await self.give_way()
                    if job is None:
                        job = await self.outbox.claim()
                        if self._chasing:
                            self._chase(found=job is not None)
                    if job is not None:
                        job = await self.run_job(job)
                        failures = 0
                        continue
                    if not self._stopping:
                        await self._sleep_until_due()
            except Exception as exc:
                # The store itself failed (connection lost, disk full): back off and go on,
                # the jobs are safe in the store and their leases bring them back. An outage
                # is one line in the log; anything else, a trace.
                job = None
                failures += 1
                if isinstance(exc, StoreUnavailable):
                    log.warning("outbox worker waiting for the store: %s", exc)
                else:
                    log.exception("outbox worker could not reach the store")
                await asyncio.sleep(self.policy.delay(failures, None))

    def due_at(self, moment: datetime) -> None:
        """A job was committed to run at `moment`: wake a worker then (none before)."""
        self._alarm_at(max(0.0, (moment - self.outbox.clock.now()).total_seconds()) + 0.01)

    async def _sleep_until_due(self) -> None:
        due = await self.outbox.next_due()
        if due is not None:
            self.due_at(due)
        try:
            await asyncio.wait_for(self._wake.get(), self.max_idle)
        except TimeoutError:
            pass

    def _alarm_at(self, delay: float) -> None:
        """Wake a worker in `delay` seconds, unless the alarm rings sooner already."""
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        if self._alarm is not None:
            if self._alarm.when() <= when:
                return
            self._alarm.cancel()
        self._alarm = loop.call_at(when, self._ring)

    def _ring(self) -> None:
        self._alarm = None
        self._chasing = True
        self.notify()

    def _chase(self, *, found: bool) -> None:
        """After the alarm: a worker that found a job wakes another, as more may be due."""
        if found:
            self.notify()
        else:
            self._chasing = False

    async def run_job(self, job: ClaimedJob) -> ClaimedJob | None:
        """Run one job and settle it; the next job, when one was claimed as this one was
        settled done."""
        handler = self.handlers.get(job.kind)
        if handler is None:
            await self._bury(job, None, SendError(f"no handler for {job.kind}", retryable=False))
            return None
        run = handler.run_again if job.attempts > 1 and isinstance(handler, RerunAware) else None
        try:
            async with self._leased(job):
                await (run or handler.run)(job.payload)
        except SendError as error:
            await self._failed(job, handler, error)
        except StoreUnavailable as away:  # an outage, not a bug: no trace in the log
            await self._failed(job, handler, SendError(str(away), retryable=True))
        except Exception as exc:
            log.exception("outbox job %s (%s) crashed", job.id, job.kind)
            await self._failed(job, handler, SendError(f"internal error: {exc}", retryable=True))
        else:
            after = await self.outbox.complete(job.id, claim_next=not self._stopping)
            await self._settled(job, DONE)
            return after
        return None

    @contextlib.asynccontextmanager
    async def _leased(self, job: ClaimedJob) -> AsyncIterator[None]:
        """Renew the job's lease while its handler runs (a wait for Slack's budget can
        outlast it), so that only a dead instance's jobs ever pass to another."""

        async def keep() -> None:
            every = self.outbox.lease.total_seconds() / 3
            while True:
                await asyncio.sleep(every)
                try:
                    if not await self.outbox.renew(job):
                        log.warning("outbox job %s was claimed elsewhere while running", job.id)
                        return
                except Exception:
                    log.exception("could not renew the lease of outbox job %s", job.id)

        # Awaited below, so it needs no TaskKeeper: it never outlives the job.
        keeper = asyncio.create_task(keep(), name=f"lease-{job.id}")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _failed(self, job: ClaimedJob, handler: JobHandler, error: SendError) -> None:
        policy = self.policy
        if error.retryable and job.attempts < policy.max_attempts:
            delay = policy.delay(job.attempts, error.retry_after)
            outcome = RETRY
        elif error.fixable and self._age(job) < policy.fixable_patience:
            delay = min(policy.fixable_delay, policy.delay(job.attempts, error.retry_after))
            outcome = WAITING
        else:
            await self._bury(job, handler, error)
            return
        log.warning(
            "outbox job %s (%s) attempt %s failed, retrying in %.1fs: %s",
            job.id,
            job.kind,
            job.attempts,
            delay,
            error.reason,
        )
        await self.outbox.retry(job.id, delay=delay, error=error.reason)
        await self._settled(job, outcome, error)

    def _age(self, job: ClaimedJob) -> float:
        return (self.outbox.clock.now() - job.created_at).total_seconds()

    async def _bury(self, job: ClaimedJob, handler: JobHandler | None, error: SendError) -> None:
        log.error("outbox job %s (%s) gave up: %s", job.id, job.kind, error.reason)
        await self.outbox.bury(job.id, error=error.reason)
        if handler is not None:
            try:
                await handler.give_up(job.payload, error)
            except Exception:
                log.exception("could not report the failure of outbox job %s", job.id)
        await self._settled(job, DEAD, error)

    async def _settled(self, job: ClaimedJob, outcome: str, error: SendError | None = None) -> None:
        if self.on_settled is not None:
            result = self.on_settled(job, outcome, error)
            if result is not None:
                await result
