"""Deleting a case, erasing a person, what one person's access request gets, and the
retention period: the store forgets, the bot's posts go from Slack.

The bot can delete only its own posts: a deleted case's header stays as a tombstone above
the staff replies, which Slack's own retention settings must remove.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bridge import texts
from bridge.domain.numbers import mask
from bridge.domain.privacy import DELETED, ERASED, RETENTION, Erased
from bridge.domain.work import DeleteCasePosts, RetentionSweep
from bridge.routing.cases import existing_case
from bridge.routing.ports import Unit, Units

log = logging.getLogger(__name__)

# Cases erased by one retention job: short transactions, never a long lock on the store.
RETENTION_BATCH = 20
RETENTION_EVERY = timedelta(days=1)
T = TypeVar("T")


async def delete_case(
    unit: Unit, case_id: int, *, by: str, now: datetime, cause: str = DELETED
) -> Erased:
    """Purge the case from the store, queue the deletion of the bot's posts in its thread,
    and keep an audit row naming who, when and which case, no content."""
    case = await existing_case(unit, case_id)
    await unit.lock_conversation(case.contact_number, case.our_number)
    erased = await unit.erasure.purge_case(case.id)
    if case.thread_ts is not None:
        tombstone = texts.TOMBSTONE.format(ref=case.id, day=f"{now:%Y-%m-%d}")
        await unit.jobs.add(DeleteCasePosts(case.id, case.channel, case.thread_ts, tombstone))
    await unit.erasure.record(case.id, by=by, cause=cause, at=now)
    return erased


async def erase_person(unit: Unit, number: str, *, by: str, now: datetime) -> Erased | None:
    """Every case of the contact holding `number`, then the contact, its numbers, parts and
    receipts; its opt-outs stay as keyed hashes. None when no contact holds the number."""
    found = await unit.erasure.holder_of(number)
    if found is None:
        return None
    contact_id, numbers = found
    erased = Erased()
    for held in numbers:
        for case in await unit.cases.of_number(held):
            erased += await delete_case(unit, case.id, by=by, now=now, cause=ERASED)
    erased += await unit.erasure.purge_contact(contact_id)
    log.info("erased the contact holding %s: %s", mask(number), erased.line())
    return erased


async def export_person(units: Units, number: str) -> dict[str, Any] | None:
    """Everything stored about the contact holding `number`; None when none does."""
    async with units.reading() as unit:
        found = await unit.erasure.holder_of(number)
        return None if found is None else await unit.erasure.about(found[0])


class _DryRun(Exception):
    """Raised inside a unit to roll back what it did."""


async def dry_run(units: Units, change: Callable[[Unit], Awaitable[T]]) -> T:
    """What `change` would do, done in a transaction that is then rolled back: the counts
    are those the change itself finds, and nothing stays."""
    result: T
    try:
        async with units.unit() as unit:
            result = await change(unit)
            raise _DryRun
    except _DryRun:
        return result


async def sweep_expired(unit: Unit, *, days: int, now: datetime) -> tuple[Erased, bool]:
    """Erase up to a batch of closed cases whose last activity is older than `days`;
    (what went, whether more may be left)."""
    expired = await unit.erasure.expired(before=now - timedelta(days=days), limit=RETENTION_BATCH)
    erased = Erased()
    for case_id in expired:
        erased += await delete_case(unit, case_id, by=RETENTION, now=now, cause=RETENTION)
    return erased, len(expired) == RETENTION_BATCH


async def keep_sweeping(unit: Unit, *, now: datetime) -> None:
    """Queue the retention sweep at start unless one is on its way already."""
    sweep = RetentionSweep()
    await unit.lock(sweep.queue)
    if not await unit.jobs.live(sweep.kind, queue=sweep.queue):
        await unit.jobs.add(sweep, run_after=now)
