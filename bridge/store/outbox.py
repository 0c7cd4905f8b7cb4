"""The outbox: durable jobs, claimed one at a time per queue, settled, listed, put back.

bridge/store/dispatcher.py runs them and decides when to try again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bridge.clock import Clock, SystemClock
from bridge.domain.work import DEAD, DONE
from bridge.store.db import Database
from bridge.store.jobs import PENDING, RUNNING
from bridge.store.models import OutboxJob


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    queue: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JobLine:
    """A job as `smschat-bridge jobs list` shows it: what it is, never what it carries."""

    id: int
    kind: str
    case_id: int | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime


class Outbox:
    """Claims, settles and counts jobs in the store."""

    def __init__(
        self,
        db: Database,
        *,
        lease: timedelta = timedelta(seconds=60),
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.lease = lease
        self.clock = clock or SystemClock()
        self._listeners: list[Callable[[int], None]] = []
        self._claim: Any = None

    def on_revived(self, listener: Callable[[int], None]) -> None:
        """`listener(n)` is called after n given-up jobs were put back to run."""
        self._listeners.append(listener)

    def _claim_statement(self) -> Any:
        """One statement claims the oldest runnable job whose queue has nothing older waiting.

        So a job in backoff holds its conversation back, and two workers (or instances)
        never run jobs of one queue at the same time. Built once (every claim would build
        it anew: a good part of a worker's CPU), with the moment as parameters, on the
        table rather than the ORM class: no ORM bookkeeping for a statement that loads no
        objects.
        """
        if self._claim is not None:
            return self._claim
        now, lease_until = bindparam("now"), bindparam("lease_until")
        job = aliased(OutboxJob)
        blocked = _blocked(job)
        runnable = or_(
            and_(job.status == PENDING, job.run_after <= now),
            and_(job.status == RUNNING, job.lease_until < now),
        )
        candidate = select(job.id).where(runnable, ~blocked).order_by(job.id).limit(1)
        if self.db.dialect == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        jobs = OutboxJob.__table__.c
        self._claim = (
            update(OutboxJob.__table__)
            .where(jobs.id == candidate.scalar_subquery())
            .values(status=RUNNING, attempts=jobs.attempts + 1, lease_until=lease_until)
            .returning(jobs.id, jobs.kind, jobs.queue, jobs.payload, jobs.attempts, jobs.created_at)
        )
        return self._claim

    async def claim(self) -> ClaimedJob | None:
        async with self.db.transaction() as session:
            return await self._claim_in(session)

    async def _claim_in(self, session: AsyncSession) -> ClaimedJob | None:
        now = self.clock.now()
        claim = self._claim_statement()
        row = (await session.execute(claim, {"now": now, "lease_until": now + self.lease})).first()
        if row is None:
            return None
        return ClaimedJob(row.id, row.kind, row.queue, row.payload, row.attempts, row.created_at)

    async def renew(self, job: ClaimedJob) -> bool:
        """Extend the lease of a job still being run; False if it is no longer this claim's.

        The attempt count fences the claim: a job re-claimed elsewhere has a higher one.
        """
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxJob)
                .where(
                    OutboxJob.id == job.id,
                    OutboxJob.status == RUNNING,
                    OutboxJob.attempts == job.attempts,
                )
                .values(lease_until=self.clock.now() + self.lease)
            )
        return bool(result.rowcount)

    async def complete(self, job_id: int, *, claim_next: bool = False) -> ClaimedJob | None:
        """Settle a job done; with `claim_next`, claim the next runnable job in the same
        transaction (a worker that ends a job claims again at once: a transaction spared)."""
        async with self.db.transaction() as session:
            await session.execute(_SETTLE_DONE, {"job_id": job_id, "now": self.clock.now()})
            return await self._claim_in(session) if claim_next else None

    async def retry(self, job_id: int, *, delay: float, error: str) -> None:
        await self._settle(
            job_id,
            status=PENDING,
            run_after=self.clock.now() + timedelta(seconds=delay),
            lease_until=None,
            last_error=error,
        )

    async def bury(self, job_id: int, *, error: str) -> None:
        await self._settle(
            job_id, status=DEAD, finished_at=self.clock.now(), lease_until=None, last_error=error
        )

    async def _settle(self, job_id: int, **values: Any) -> None:
        jobs = OutboxJob.__table__
        async with self.db.transaction() as session:
            await session.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    async def release_orphans(self) -> int:
        """Jobs a dead process left running: make them runnable now (single instance only)."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxJob)
                .where(OutboxJob.status == RUNNING)
                .values(status=PENDING, lease_until=None, run_after=self.clock.now())
            )
        return result.rowcount or 0

    async def lines(self, *, dead_only: bool, limit: int = 200) -> list[JobLine]:
        """Jobs waiting, running or given up (or only the given up), oldest first."""
        wanted = [DEAD] if dead_only else [PENDING, RUNNING, DEAD]
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(OutboxJob)
                .where(OutboxJob.status.in_(wanted))
                .order_by(OutboxJob.id)
                .limit(limit)
            )
            return [
                JobLine(
                    id=job.id,
                    kind=job.kind,
                    case_id=_case_of(job),
                    status=job.status,
                    attempts=job.attempts,
                    last_error=job.last_error,
                    created_at=job.created_at,
                )
                for job in rows
            ]

    async def revive(self, job_ids: list[int] | None = None) -> int:
        """Put given-up jobs (these, or all) back to run now; how many.

        Each keeps its id, so within its queue it runs before the jobs made after it. Its
        attempts restart at one: the next run is a second one, which first looks for what
        an earlier attempt may have done.
        """
        where = [OutboxJob.status == DEAD]
        if job_ids is not None:
            where.append(OutboxJob.id.in_(job_ids))
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxJob)
                .where(*where)
                .values(
                    status=PENDING,
                    attempts=1,
                    run_after=self.clock.now(),
                    lease_until=None,
                    finished_at=None,
                )
            )
        revived = result.rowcount or 0
        if revived:
            for listener in self._listeners:
                listener(revived)
        return revived

    async def depth(self) -> int:
        async with self.db.reading() as session:
            count = await session.scalar(
                select(func.count()).where(OutboxJob.status.in_([PENDING, RUNNING]))
            )
        return int(count or 0)

    async def dead_count(self) -> int:
        async with self.db.reading() as session:
            count = await session.scalar(select(func.count()).where(OutboxJob.status == DEAD))
        return int(count or 0)

    async def next_due(self) -> datetime | None:
        """When the earliest waiting job (or lease) comes due, to sleep exactly that long.

        Only the first job of each queue counts: one behind a running job is due when that
        one ends, and the worker that ends it claims next. Counting it would wake idle
        workers every few milliseconds for as long as a job runs (a post waits for Slack's
        budget), each time for nothing.
        """
        async with self.db.reading() as session:
            pending = await session.scalar(_FIRST_DUE)
            leased = await session.scalar(_FIRST_LEASE_END)
        times = [t for t in (pending, leased) if t is not None]
        return min(times) if times else None


def _blocked(job: Any) -> Any:
    """Whether an earlier job of `job`'s queue is still to run: it holds `job` back."""
    earlier = aliased(OutboxJob)
    return (
        select(earlier.id)
        .where(
            earlier.queue == job.queue,
            earlier.id < job.id,
            earlier.status.in_([PENDING, RUNNING]),
        )
        .exists()
    )


def _first_due() -> Any:
    job = aliased(OutboxJob)
    return select(func.min(job.run_after)).where(job.status == PENDING, ~_blocked(job))


# Built once: building them anew was a tenth of an idle worker's CPU between two jobs.
_FIRST_DUE = _first_due()
_FIRST_LEASE_END = select(func.min(OutboxJob.lease_until)).where(OutboxJob.status == RUNNING)
_SETTLE_DONE = (
    update(OutboxJob.__table__)
    .where(OutboxJob.__table__.c.id == bindparam("job_id"))
    .values(status=DONE, finished_at=bindparam("now"), lease_until=None)
)


def _case_of(job: OutboxJob) -> int | None:
    case_id = (job.payload or {}).get("case_id")
    if isinstance(case_id, int):
        return case_id
    case_ids = (job.payload or {}).get("case_ids")
    return case_ids[0] if isinstance(case_ids, list) and case_ids else None
