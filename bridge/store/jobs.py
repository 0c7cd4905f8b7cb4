"""Work for the outbox, as the rules queue it (bridge/store/outbox.py runs it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import DeadJobs
from bridge.domain.work import DEAD, DONE, Work
from bridge.store.models import OutboxJob

# A job's status: waiting to run, running, or (its outcome) done or dead.
PENDING, RUNNING = "pending", "running"


class SqlJobs:
    """`Jobs` over one transaction; notes the queues it added to, to wake the dispatchers
    after: a queue runs one job at a time, so one worker per queue is all that can start."""

    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now
        self.queues: set[str] = set()

    async def add(self, work: Work, *, run_after: datetime | None = None) -> None:
        now = self.now()
        self.session.add(
            OutboxJob(
                kind=work.kind,
                queue=work.queue,
                payload=work.payload(),
                status=PENDING,
                run_after=run_after or now,
                created_at=now,
            )
        )
        self.queues.add(work.queue)

    async def _exists(self, kind: str, queue: str, statuses: list[str]) -> bool:
        found = await self.session.scalar(
            select(OutboxJob.id)
            .where(OutboxJob.kind == kind, OutboxJob.queue == queue, OutboxJob.status.in_(statuses))
            .limit(1)
        )
        return found is not None

    async def pending(self, kind: str, *, queue: str) -> bool:
        return await self._exists(kind, queue, [PENDING])

    async def live(self, kind: str, *, queue: str) -> bool:
        return await self._exists(kind, queue, [PENDING, RUNNING])

    async def last_done(self, kind: str, *, queue: str) -> datetime | None:
        return await self.session.scalar(
            select(func.max(OutboxJob.finished_at)).where(
                OutboxJob.kind == kind, OutboxJob.queue == queue, OutboxJob.status == DONE
            )
        )

    async def dead(self) -> DeadJobs | None:
        dead = OutboxJob.status == DEAD
        count = int(await self.session.scalar(select(func.count()).where(dead)) or 0)
        newest = await self.session.scalar(
            select(OutboxJob).where(dead).order_by(OutboxJob.finished_at.desc()).limit(1)
        )
        if newest is None:
            return None
        case_id = (newest.payload or {}).get("case_id")
        return DeadJobs(
            count=count,
            kind=newest.kind,
            case_id=case_id if isinstance(case_id, int) else None,
            reason=(newest.last_error or "no reason given")[:200],
        )
