"""A broadcast's jobs: handing its texts to the outbox step by step, and its post's figures."""

from __future__ import annotations

from datetime import timedelta

from bridge.domain.broadcasts import BroadcastStatus, BroadcastView
from bridge.domain.work import DrawBroadcast, PaceBroadcast
from bridge.jobs.base import JobHandler
from bridge.jobs.slack_posts import CLOCK_MARGIN
from bridge.routing.broadcasts import pace_broadcast

# Figures are kept current while receipts can still come in, for at most this long.
_WATCHED_FOR = timedelta(hours=1)


class PaceBroadcastTexts(JobHandler[PaceBroadcast]):
    """One step of a broadcast (routing/broadcasts.py): its next texts, its next step."""

    async def run(self, work: PaceBroadcast) -> None:
        ctx = self.ctx
        async with ctx.units.unit() as unit:
            await pace_broadcast(
                unit, work.broadcast_id, rules=ctx.broadcasting, now=ctx.clock.now()
            )


class DrawBroadcastPost(JobHandler[DrawBroadcast]):
    """Posts a broadcast's figures in its number's channel, then redraws them while they
    change (a redraw waiting meanwhile stands for every change since)."""

    async def run(self, work: DrawBroadcast) -> None:
        await self._draw(work, look_first=False)

    async def run_again(self, work: DrawBroadcast) -> None:
        """An earlier run may have posted without recording it: look for its post first."""
        await self._draw(work, look_first=True)

    async def _draw(self, work: DrawBroadcast, *, look_first: bool) -> None:
        ctx = self.ctx
        async with ctx.units.reading() as unit:
            broadcast = await unit.broadcasts.get(work.broadcast_id)
            if broadcast is None:
                return
            counts = await unit.broadcasts.counts(broadcast.id)
        view = BroadcastView(broadcast, counts)
        channel = broadcast.channel or ctx.inbox.channel(broadcast.our_number)
        ts = broadcast.ts
        if ts is None and look_first:
            since = broadcast.created_at - CLOCK_MARGIN
            ts = await ctx.poster.find_broadcast(channel, broadcast.id, since=since)
        if ts is None:
            posted = await ctx.poster.post_broadcast(channel, view)
            channel, ts = posted.channel, posted.ts
        else:
            await ctx.poster.update_broadcast(channel, ts, view)
        if broadcast.ts is None:
            async with ctx.units.unit() as unit:
                await unit.broadcasts.set_post(broadcast.id, channel, ts)
        now = ctx.clock.now()
        awaiting = counts.queued or counts.sent > counts.delivered + counts.failed
        active = broadcast.status == BroadcastStatus.SENDING or awaiting
        if active and now < broadcast.start_at + _WATCHED_FOR:
            async with ctx.units.unit() as unit:
                if not await unit.jobs.pending(work.kind, queue=work.queue):
                    await unit.jobs.add(work, run_after=now + ctx.broadcasting.redraw_every)
