"""The rest of a long text never came: the outbox takes what did, marked as incomplete."""

from __future__ import annotations

from datetime import timedelta

from bridge.domain.events import text_conversation
from bridge.domain.values import PhoneNumber
from bridge.domain.work import FlushParts
from bridge.jobs.base import JobHandler
from bridge.routing.inbound import record_inbound
from bridge.routing.long_texts import flush_parts

# How long a flush waits, at a time, for the contact's texts the inbox kept but has not yet
# routed: during a backlog the missing part may be one of them.
BACKLOG_RECHECK = timedelta(seconds=1)


class FlushWaitingParts(JobHandler[FlushParts]):
    async def run(self, work: FlushParts) -> None:
        ctx = self.ctx
        async with ctx.units.unit() as unit:
            await unit.lock_conversation(work.sender, work.recipient)
            if await unit.arrivals.waiting_in(text_conversation(work.sender, work.recipient)):
                await unit.jobs.add(work, run_after=ctx.clock.now() + BACKLOG_RECHECK)
                return
            whole = await flush_parts(
                unit,
                sender=PhoneNumber(work.sender),
                recipient=PhoneNumber(work.recipient),
                ref=work.ref,
            )
            if whole is not None:
                await record_inbound(
                    unit, whole, inbox=ctx.inbox, rules=ctx.rules, now=ctx.clock.now()
                )
