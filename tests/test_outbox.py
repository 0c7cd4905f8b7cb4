"""The outbox on a real store: order per queue, leases, retries, dead letters, two claimers."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bridge.domain.work import ThreadNote
from bridge.errors import SendError, StoreUnavailable
from bridge.store.db import Database
from bridge.store.dispatcher import Dispatcher, RetryPolicy
from bridge.store.models import OutboxJob, utcnow
from bridge.store.outbox import Outbox
from bridge.store.unit import Store


async def enqueue(db: Database, *jobs: tuple[str, str]) -> None:
    async with db.transaction() as session:
        for kind, queue in jobs:
            now = utcnow()
            session.add(
                OutboxJob(
                    kind=kind,
                    queue=queue,
                    payload={"n": len(kind)},
                    status="pending",
                    run_after=now,
                    created_at=now,
                )
            )


async def test_one_queue_runs_in_order_and_a_waiting_job_holds_only_its_queue(
    db: Database,
) -> None:
    outbox = Outbox(db)
    await enqueue(db, ("a1", "q:a"), ("a2", "q:a"), ("b1", "q:b"))
    first = await outbox.claim()
    assert first is not None and first.kind == "a1"
    # a2 waits behind a1, which is running; q:b is free.
    second = await outbox.claim()
    assert second is not None and second.kind == "b1"
    assert await outbox.claim() is None

    await outbox.retry(first.id, delay=60, error="try later")
    assert await outbox.claim() is None, "a1 in backoff must hold a2 back"

    await outbox.complete(second.id)
    async with db.transaction() as session:
        await session.execute(
            update(OutboxJob).where(OutboxJob.id == first.id).values(run_after=utcnow())
        )
    again = await outbox.claim()
    assert again is not None and again.kind == "a1" and again.attempts == 2
    await outbox.complete(again.id)
    last = await outbox.claim()
    assert last is not None and last.kind == "a2"


async def test_a_job_held_back_by_a_running_one_is_not_due_before_that_ones_lease(
    db: Database,
) -> None:
    """Idle workers sleep until `next_due`: a job queued behind a running one would have
    woken them every few milliseconds, for nothing, for as long as that one ran."""
    outbox = Outbox(db, lease=timedelta(seconds=60))
    await enqueue(db, ("a1", "q:a"), ("a2", "q:a"))
    running = await outbox.claim()
    assert running is not None and running.kind == "a1"
    due = await outbox.next_due()
    assert due is not None and due > utcnow() + timedelta(seconds=50), "a2 is not due yet"

    await enqueue(db, ("b1", "q:b"))
    due = await outbox.next_due()
    assert due is not None and due <= utcnow(), "b1, first of its queue, is due now"


async def test_an_expired_lease_makes_the_job_claimable_again(db: Database) -> None:
    outbox = Outbox(db, lease=timedelta(seconds=30))
    await enqueue(db, ("job", "q"))
    claimed = await outbox.claim()
    assert claimed is not None
    assert await outbox.claim() is None
    async with db.transaction() as session:
        await session.execute(update(OutboxJob).values(lease_until=utcnow() - timedelta(seconds=1)))
    reclaimed = await outbox.claim()
    assert reclaimed is not None and reclaimed.id == claimed.id and reclaimed.attempts == 2


async def test_orphans_of_a_dead_process_run_again_at_once(db: Database) -> None:
    outbox = Outbox(db)
    await enqueue(db, ("job", "q"))
    assert await outbox.claim() is not None
    assert await outbox.release_orphans() == 1
    assert await outbox.claim() is not None


async def test_two_instances_never_claim_the_same_job_or_queue_at_once(database_url: str) -> None:
    first_db, second_db = Database(database_url), Database(database_url)
    try:
        await enqueue(first_db, *[(f"k{i}", f"q{i % 5}") for i in range(40)])
        outboxes = [Outbox(first_db), Outbox(second_db)]
        claimed = await asyncio.gather(*(outboxes[i % 2].claim() for i in range(12)))
        got = [job for job in claimed if job is not None]
        assert len({job.id for job in got}) == len(got)
        assert sorted(job.queue for job in got) == [f"q{i}" for i in range(5)]
        # Each queue hands out its oldest job first.
        assert {job.queue: job.kind for job in got} == {f"q{i}": f"k{i}" for i in range(5)}
    finally:
        await first_db.close()
        await second_db.close()


class Recorder:
    """A job handler that fails as told and records what happened."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.runs: list[dict[str, Any]] = []
        self.given_up: list[str] = []
        self.done = asyncio.Event()

    async def run(self, payload: dict[str, Any]) -> None:
        self.runs.append(payload)
        if self.failures:
            raise self.failures.pop(0)
        self.done.set()

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        self.given_up.append(error.reason)
        self.done.set()


async def run_until(dispatcher: Dispatcher, event: asyncio.Event) -> None:
    task = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(10):
            await event.wait()
    finally:
        dispatcher.stop()
        await task


FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


async def test_retryable_failures_are_retried_until_done(db: Database) -> None:
    handler = Recorder([SendError("busy", retryable=True), SendError("busy", retryable=True)])
    await enqueue(db, ("work", "q"))
    await run_until(Dispatcher(Outbox(db), {"work": handler}, policy=FAST, workers=2), handler.done)
    assert len(handler.runs) == 3 and handler.given_up == []
    async with db.reading() as session:
        job = await session.scalar(select(OutboxJob))
    assert job is not None and job.status == "done" and job.attempts == 3


async def test_a_permanent_failure_is_buried_at_once_and_reported(db: Database) -> None:
    handler = Recorder([SendError("number barred", retryable=False)])
    await enqueue(db, ("work", "q"))
    await run_until(Dispatcher(Outbox(db), {"work": handler}, policy=FAST), handler.done)
    assert len(handler.runs) == 1 and handler.given_up == ["number barred"]
    assert await Outbox(db).dead_count() == 1


async def test_retries_end_in_a_dead_letter(db: Database) -> None:
    handler = Recorder([SendError("down", retryable=True)] * 5)
    await enqueue(db, ("work", "q"))
    await run_until(Dispatcher(Outbox(db), {"work": handler}, policy=FAST), handler.done)
    assert len(handler.runs) == FAST.max_attempts and handler.given_up == ["down"]


async def test_a_job_that_finds_the_store_away_is_retried_with_no_trace_in_the_log(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder([StoreUnavailable("the store is unavailable: database is locked")])
    await enqueue(db, ("work", "q"))
    with caplog.at_level(logging.WARNING):
        await run_until(Dispatcher(Outbox(db), {"work": handler}, policy=FAST), handler.done)
    assert len(handler.runs) == 2 and handler.given_up == []
    assert any("database is locked" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info], "an outage is no bug"


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=2, max_delay=300)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (12, 300)]:
        delays = {policy.delay(attempt, None) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1, "jitter spreads retries"
    assert policy.delay(1, 30.0) == 30.0


async def test_jobs_committed_for_later_run_at_their_time_with_no_worker_polling(
    db: Database,
) -> None:
    """Idle workers wait for a wake-up, not for the time of a job due later: a unit that
    commits jobs for later sets one alarm, which wakes a worker, which wakes the next."""
    store = Store(db)
    handler = Recorder([])
    dispatcher = Dispatcher(Outbox(db), {ThreadNote.kind: handler}, workers=4, max_idle=60)
    store.on_scheduled(dispatcher.due_at)
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.sleep(0.1)  # every worker asleep, none due for a minute
        async with store.unit() as unit:
            for case_id in (1, 2, 3):
                later = utcnow() + timedelta(seconds=0.3)
                await unit.jobs.add(ThreadNote(case_id, "later"), run_after=later)
        async with asyncio.timeout(5):
            while len(handler.runs) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        dispatcher.stop()
        await running
    assert sorted(run["case_id"] for run in handler.runs) == [1, 2, 3]
