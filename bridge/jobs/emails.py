"""How a staff reply (or an auto-response) goes out by email, read top to bottom.

1. The job reads the message: anything but QUEUED went (or was refused) already.
2. Its Message-ID is chosen and committed before the first attempt, with the address and
   subject it goes to; an attempt after an interruption reuses it, so a mail the server
   took before its answer was lost arrives as the same message (clients keep one per id).
3. The text is Slack mrkdwn made plain, as for SMS (the bridge's own texts go as
   written), with the case's threading headers.
4. Sent: the message is submitted and its post in the thread gets an envelope; an
   auto-response is shown in the thread now, as an automated text is once it went.
"""

from __future__ import annotations

import logging
import uuid

from bridge import texts
from bridge.domain.email import OutgoingEmail, one_line, reply_address, reply_subject
from bridge.domain.values import Direction, MessageStatus
from bridge.domain.work import React, SendEmail, slack_queue
from bridge.errors import SendError
from bridge.jobs.base import JobHandler
from bridge.routing.receipts import gave_up, show_sent_automated

log = logging.getLogger(__name__)

SENT_REACTION = "email"


class SendReplyByEmail(JobHandler[SendEmail]):
    async def run(self, work: SendEmail) -> None:
        ctx = self.ctx
        if ctx.mailer is None or ctx.our_address is None:
            raise SendError(texts.EMAIL_OFF, retryable=False)
        # 1. What is to go.
        async with ctx.units.reading() as unit:
            message = await unit.messages.get(work.message_id)
            thread = await unit.emails.thread(work.case_id)
            chosen = await unit.emails.outgoing(work.message_id)
        if message is None or message.status != MessageStatus.QUEUED:
            return
        if thread is None or thread.address is None:
            raise SendError("the case has no email address to reply to", retryable=False)
        automated = message.direction == Direction.AUTOMATED
        source = message.source_text or message.text
        text = source if automated else await ctx.renderer.render(source)
        if not text.strip():
            async with ctx.units.unit() as unit:
                await unit.messages.refuse(message.id, texts.EMPTY_REPLY)
            return
        subject = reply_subject(thread.subject)
        # 2. The Message-ID, committed before the call.
        if chosen is None:
            chosen = f"{uuid.uuid4().hex}@{ctx.our_address.rpartition('@')[2]}"
            async with ctx.units.unit() as unit:
                await unit.emails.start_send(
                    message.id, rfc_message_id=chosen, address=thread.address, subject=subject
                )
        async with ctx.units.reading() as unit:
            earlier = [m for m in await unit.emails.message_ids(work.case_id) if m != chosen]
        # 3. The email, threaded under what came before it.
        await ctx.mailer.send(
            OutgoingEmail(
                message_id=chosen,
                to=one_line(thread.address, most=320),
                subject=subject,
                text=text,
                reply_to=reply_address(thread.token, ctx.our_address),
                in_reply_to=earlier[-1] if earlier else None,
                references=tuple(earlier[-20:]),  # the newest: headers stay short
                automated=automated,
            )
        )
        # 4. Sent.
        async with ctx.units.unit() as unit:
            await unit.messages.measure(message.id, text=text, segments=0, encoding="email")
            await unit.messages.set_status(message.id, MessageStatus.SUBMITTED)
            for case, ts in await unit.messages.postings(message.id):
                await unit.jobs.add(
                    React(case.channel, ts, SENT_REACTION, lane=slack_queue(case.id))
                )
            await show_sent_automated(unit, message, rules=ctx.rules)
        log.info("reply %s sent by email", message.id)

    async def give_up(self, work: SendEmail, error: SendError) -> None:
        async with self.ctx.units.unit() as unit:
            await gave_up(
                unit,
                work.message_id,
                reason=error.reason,
                retryable=error.retryable,
                rules=self.ctx.rules,
            )
