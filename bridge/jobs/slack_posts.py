"""What the outbox posts in a case's thread: its header, texts, notes, reactions, private words.

Posts carry a mark of what they show (`Posting`), so a job run again after an interruption
first looks for its own post and records that one instead of posting twice.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from bridge import texts
from bridge.domain.records import CaseRecord
from bridge.domain.values import Direction, Posting
from bridge.domain.work import PostHeader, PostMessage, React, TellUser, ThreadNote, UpdateHeader
from bridge.errors import SendError
from bridge.jobs.base import JobHandler
from bridge.jobs.context import JobContext
from bridge.routing.threads import case_view, note

log = logging.getLogger(__name__)

# How far before its message a post is looked for: instances' and Slack's clocks differ.
CLOCK_MARGIN = timedelta(minutes=5)


class PostCaseHeader(JobHandler[PostHeader]):
    """Opens a case's thread; run again after an interruption, it first looks for its header."""

    async def run(self, work: PostHeader) -> None:
        await post_header(self.ctx, work.case_id, look_first=False)

    async def run_again(self, work: PostHeader) -> None:
        await post_header(self.ctx, work.case_id, look_first=True)

    async def give_up(self, work: PostHeader, error: SendError) -> None:
        # Not the end of the case: the next job of its thread posts the header again.
        log.error("case #%s has no thread yet: %s", work.case_id, error.reason)


async def post_header(ctx: JobContext, case_id: int, *, look_first: bool) -> None:
    async with ctx.units.reading() as unit:
        case = await unit.cases.get(case_id)
        if case is None or case.thread_ts is not None:
            return
        previous = await unit.cases.get(case.previous_case_id) if case.previous_case_id else None
        view = await case_view(unit, case, inbox=ctx.inbox)
    if look_first:
        since = case.opened_at - CLOCK_MARGIN
        found = await ctx.poster.find_header(case.channel, case.id, since=since)
        if found is not None:
            async with ctx.units.unit() as unit:
                await unit.cases.set_thread(case.id, found)
            return
    if previous is not None and previous.thread_ts is not None:
        link = await ctx.poster.permalink(previous.channel, previous.thread_ts)
        view = dataclasses.replace(view, previous_case_link=link)
    posted = await ctx.poster.post_header(case.channel, view)
    async with ctx.units.unit() as unit:
        await unit.cases.set_thread(case.id, posted.ts)


async def thread_of(ctx: JobContext, case_id: int) -> CaseRecord | None:
    """The case with its thread, posting its header first when none is up and no header
    job is still on its way (it gave up: a refusal since fixed, a token since replaced).

    Only jobs of the case's own queue may call this: they run one at a time, so the
    header is never posted twice.
    """
    header = PostHeader(case_id)
    async with ctx.units.reading() as unit:
        case = await unit.cases.get(case_id)
        if case is None or case.thread_ts is not None:
            return case
        waiting = await unit.jobs.live(header.kind, queue=header.queue)
    if waiting:
        raise SendError(f"case #{case_id} has no thread yet", retryable=True)
    await post_header(ctx, case_id, look_first=True)
    async with ctx.units.reading() as unit:
        return await unit.cases.get(case_id)


class PostThreadMessage(JobHandler[PostMessage]):
    """Shows a text in a case's thread: a contact's words, or what the bridge or staff sent
    from outside the thread."""

    async def run(self, work: PostMessage) -> None:
        await self._post(work, look_first=False)

    async def run_again(self, work: PostMessage) -> None:
        await self._post(work, look_first=True)

    async def _post(self, work: PostMessage, *, look_first: bool) -> None:
        case = await thread_of(self.ctx, work.case_id)
        async with self.ctx.units.reading() as unit:
            message = await unit.messages.get(work.message_id)
            if case is None or case.thread_ts is None or message is None:
                return
            postings = await unit.messages.postings(message.id)
        if any(posted.id == case.id for posted, _ts in postings):
            return
        if message.direction == Direction.AUTOMATED:
            text, from_contact = texts.AUTOMATED.format(text=message.text), False
        elif message.direction == Direction.OUTBOUND:
            shown = message.text or message.source_text or ""
            text, from_contact = texts.STARTED.format(user=message.author, text=shown), False
        else:
            text, from_contact = message.text or texts.EMPTY_INBOUND, True
        posting = Posting(case_id=case.id, message_id=message.id)
        # The post cannot be older than its message (less a margin for clocks that differ).
        since = message.created_at - CLOCK_MARGIN
        found = None
        if look_first:
            found = await self.ctx.poster.find_posting(
                case.channel, case.thread_ts, posting, since=since
            )
        if found is not None:
            log.info(
                "text %s was already shown in case #%s; recorded that post", message.id, case.id
            )
            ts = found
        else:
            posted = await self.ctx.poster.post_in_thread(
                case.channel,
                case.thread_ts,
                text,
                from_contact=from_contact,
                posting=posting,
                broadcast=work.broadcast,
            )
            ts = posted.ts
        async with self.ctx.units.unit() as unit:
            await unit.messages.set_posted(case.id, message.id, ts)

    async def give_up(self, work: PostMessage, error: SendError) -> None:
        async with self.ctx.units.unit() as unit:
            await note(unit, work.case_id, texts.POST_GAVE_UP.format(reason=error.reason))


class UpdateCaseHeader(JobHandler[UpdateHeader]):
    """Draws the case as it is now; one update covers every change made before it ran."""

    async def run(self, work: UpdateHeader) -> None:
        case = await thread_of(self.ctx, work.case_id)
        if case is None or case.thread_ts is None:
            return
        async with self.ctx.units.reading() as unit:
            view = await case_view(unit, case, inbox=self.ctx.inbox)
        await self.ctx.poster.update_header(case.channel, case.thread_ts, view)


class PostThreadNote(JobHandler[ThreadNote]):
    async def run(self, work: ThreadNote) -> None:
        case = await thread_of(self.ctx, work.case_id)
        if case is None or case.thread_ts is None:
            return
        await self.ctx.poster.post_in_thread(
            case.channel, case.thread_ts, work.text, from_contact=False
        )


class AddReaction(JobHandler[React]):
    async def run(self, work: React) -> None:
        await self.ctx.poster.react(work.channel, work.ts, work.name)


class TellOnePerson(JobHandler[TellUser]):
    async def run(self, work: TellUser) -> None:
        await self.ctx.poster.tell_user(
            work.channel, work.user, work.text, thread_ts=work.thread_ts, offer=work.offer
        )
