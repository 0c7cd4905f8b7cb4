"""The rest of a long text never came: the outbox takes what did, marked as incomplete."""

from __future__ import annotations

from bridge.domain.values import PhoneNumber
from bridge.domain.work import FlushParts
from bridge.jobs.base import JobHandler
from bridge.routing.inbound import record_inbound
from bridge.routing.long_texts import flush_parts


class FlushWaitingParts(JobHandler[FlushParts]):
    async def run(self, work: FlushParts) -> None:
        ctx = self.ctx
        async with ctx.units.unit() as unit:
            await unit.lock_conversation(work.sender, work.recipient)
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
