"""Work for the outbox, as the rules queue it (bridge/store/outbox.py runs it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import DeadJobs
from bridge.domain.work import DEAD, Work
from bridge.store.models import OutboxJob

# A job's status: waiting to run, running, or (its outcome) done or dead.
PENDING, RUNNING = "pending", "running"


class SqlJobs:
    """`Jobs` over one transaction; notes the queues it added jobs due now to, to wake the
    dispatchers after (a queue runs one job at a time, so one worker per queue is all that
    can start), and when the first job it added for later is due (`later`)."""

    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now
        self.queues: set[str] = set()
        self.later: datetime | None = None

    async def add(self, work: Work, *, run_after: datetime | None = None) -> None:
        now = self.now()
        due = run_after or now
        await self.session.execute(
            _ADD,
            {
                "kind": work.kind,
                "queue": work.queue,
                "payload": work.payload(),
                "run_after": due,
                "created_at": now,
            },
        )
        if due <= now:
            self.queues.add(work.queue)
        elif self.later is None or due < self.later:
            self.later = due

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

    async def add_spaced(self, work: Work, *, every: timedelta, now: datetime) -> None:
        last = (
            await self.session.execute(
                _LATEST_OF_KIND, {"of_kind": work.kind, "in_queue": work.queue}
            )
        ).first()
        if last is not None and last.status == PENDING:
            return
        due = now
        if last is not None:
            # One still running may have read what it shows before this change came.
            due = max(now, (last.finished_at or now) + every)
        await self.add(work, run_after=due)

    async def hasten(self, work: Work) -> bool:
        result = await self.session.execute(
            _HASTEN, {"of_kind": work.kind, "in_queue": work.queue, "now": self.now()}
        )
        if not result.rowcount:
            return False
        self.queues.add(work.queue)
        return True

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


# Built once, on the table (no ORM bookkeeping), as they run for most texts.
_ADD = insert(OutboxJob.__table__).values(status=PENDING, attempts=0)
_LATEST_OF_KIND = (
    select(OutboxJob.status, OutboxJob.finished_at)
    .where(OutboxJob.queue == bindparam("in_queue"), OutboxJob.kind == bindparam("of_kind"))
    .order_by(OutboxJob.id.desc())
    .limit(1)
)
_JOBS = OutboxJob.__table__.c
_HASTEN = (
    update(OutboxJob.__table__)
    .where(
        _JOBS.queue == bindparam("in_queue"),
        _JOBS.kind == bindparam("of_kind"),
        _JOBS.status == PENDING,
        _JOBS.attempts == 0,  # one backing off after a failure keeps its delay
    )
    .values(run_after=bindparam("now"))
)
