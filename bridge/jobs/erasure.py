"""The outbox's part in erasing: the bot's posts of a deleted case go from Slack, and the
retention sweep erases closed cases past the retention period, a batch at a time."""

from __future__ import annotations

import logging

from bridge.domain.values import ChannelId, SlackTs
from bridge.domain.work import DeleteCasePosts, RetentionSweep
from bridge.jobs.base import JobHandler
from bridge.routing.erasure import RETENTION_EVERY, sweep_expired

log = logging.getLogger(__name__)


class DeleteThreadPosts(JobHandler[DeleteCasePosts]):
    """Safe to run again: what was deleted is no longer found, the tombstone is redrawn."""

    async def run(self, work: DeleteCasePosts) -> None:
        channel, thread_ts = ChannelId(work.channel), SlackTs(work.thread_ts)
        for ts in await self.ctx.eraser.own_replies(channel, thread_ts):
            await self.ctx.eraser.delete(channel, ts)
        await self.ctx.eraser.tombstone(channel, thread_ts, work.tombstone)


class SweepExpiredCases(JobHandler[RetentionSweep]):
    async def run(self, work: RetentionSweep) -> None:
        days = self.ctx.retention_days
        if days is None:
            return  # RETENTION_DAYS was unset since: the sweep ends
        now = self.ctx.clock.now()
        async with self.ctx.units.unit() as unit:
            erased, more = await sweep_expired(unit, days=days, now=now)
            # The next batch at once, or tomorrow's sweep: one job always on its way.
            await unit.jobs.add(RetentionSweep(), run_after=now if more else now + RETENTION_EVERY)
        if erased.cases:
            log.info("retention: erased %s", erased.line())
