"""What the outbox posts in a case's thread: its header, texts, notes, reactions, private words.

Posts carry a mark of what they show (`Posting`), so a job run again after an interruption
first looks for its own post and records that one instead of posting twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import timedelta

from bridge import texts
from bridge.domain.records import CaseRecord, MessageRecord
from bridge.domain.values import Direction, Posting, SlackTs
from bridge.domain.views import ShownText
from bridge.domain.work import PostHeader, PostMessage, React, TellUser, ThreadNote, UpdateHeader
from bridge.errors import SendError
from bridge.jobs.base import JobHandler
from bridge.jobs.context import JobContext
from bridge.routing.ports import Unit
from bridge.routing.threads import case_view, note

log = logging.getLogger(__name__)

# How far before its message a post is looked for: instances' and Slack's clocks differ.
CLOCK_MARGIN = timedelta(minutes=5)
# Texts of one case in one post at most: Slack allows 50 blocks (two per text) and the
# post stays readable.
MERGE_MOST = 10
MERGE_CHARS = 6000


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
    """Post the case's header with the texts waiting to be shown (one post, not two)."""
    async with ctx.units.reading() as unit:
        case = await unit.cases.get(case_id)
        if case is None or case.thread_ts is not None:
            return
        previous = await unit.cases.get(case.previous_case_id) if case.previous_case_id else None
    if look_first:
        since = case.opened_at - CLOCK_MARGIN
        found = await ctx.poster.find_header(case.channel, case.id, since=since)
        if found is not None:
            async with ctx.units.unit() as unit:
                await unit.cases.set_thread(case.id, found.ts)
                await _record_shown(unit, case.id, found.message_ids, found.ts)
            return
    link = None
    if previous is not None and previous.thread_ts is not None:
        link = await ctx.poster.permalink(previous.channel, previous.thread_ts)
    async with ctx.poster.turn(case.channel):
        # What the header shows is read once its turn has come: texts that arrived while
        # it waited go in it too.
        async with ctx.units.reading() as unit:
            view = await case_view(unit, case, inbox=ctx.inbox, previous_case_link=link)
            waiting = await unit.messages.unposted_inbound(case.id, MERGE_MOST)
        view = dataclasses.replace(view, texts=_fitting(waiting))
        posted = await ctx.poster.post_header(case.channel, view)
    async with ctx.units.unit() as unit:
        await unit.cases.set_thread(case.id, posted.ts)
        await _record_shown(unit, case.id, [t.message_id for t in view.texts], posted.ts)


async def _record_shown(unit: Unit, case_id: int, message_ids: Sequence[int], ts: str) -> None:
    for message_id in message_ids:
        await unit.messages.set_posted(case_id, message_id, ts)


def _fitting(waiting: Sequence[MessageRecord]) -> tuple[ShownText, ...]:
    """The first texts that fit in one post (at least one, when any waits)."""
    fitting: list[MessageRecord] = []
    size = 0
    for message in waiting:
        size += len(message.text or "")
        if fitting and size > MERGE_CHARS:
            break
        fitting.append(message)
    return shown_texts(fitting)


def shown_texts(messages: Sequence[MessageRecord]) -> tuple[ShownText, ...]:
    return tuple(
        ShownText(m.id, m.text or "", m.created_at)
        for m in messages
        if m.direction == Direction.INBOUND
    )


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
        # The case, the text and where it shows, in one read when the thread is up (almost
        # always: a case's header goes before its texts in their queue).
        async with self.ctx.units.reading() as unit:
            case = await unit.cases.get(work.case_id)
            message = await unit.messages.get(work.message_id)
            postings = await unit.messages.postings(work.message_id) if message else []
        if case is not None and case.thread_ts is None:
            # A header this posts shows the contact's texts waiting: the read of the texts
            # waiting, in the channel's turn below, finds this one shown then.
            case = await thread_of(self.ctx, work.case_id)
        if case is None or case.thread_ts is None or message is None:
            return
        if any(posted.id == case.id for posted, _ts in postings):
            return  # shown already: in the header, or in a post with texts before it
        if look_first:
            # The post cannot be older than its message (less a margin for clocks that differ).
            since = message.created_at - CLOCK_MARGIN
            found = await self.ctx.poster.find_posting(
                case.channel, case.thread_ts, case.id, message.id, since=since
            )
            if found is not None:
                log.info("text %s was already shown in case #%s; recorded", message.id, case.id)
                async with self.ctx.units.unit() as unit:
                    await _record_shown(unit, case.id, found.message_ids, found.ts)
                return
        if message.direction == Direction.INBOUND:
            await self._post_waiting_texts(
                case, case.thread_ts, message.id, broadcast=work.broadcast
            )
            return
        if message.direction == Direction.AUTOMATED:
            text = texts.AUTOMATED.format(text=message.text)
        else:
            shown = message.text or message.source_text or ""
            text = texts.STARTED.format(user=message.author, text=shown)
        posted = await self.ctx.poster.post_in_thread(
            case.channel,
            case.thread_ts,
            text,
            from_contact=False,
            posting=Posting(case.id, (message.id,)),
            broadcast=work.broadcast,
        )
        async with self.ctx.units.unit() as unit:
            await unit.messages.set_posted(case.id, message.id, posted.ts)

    async def _post_waiting_texts(
        self, case: CaseRecord, thread_ts: SlackTs, message_id: int, *, broadcast: bool
    ) -> None:
        """This text and those after it still waiting, in one post once the channel's
        budget allows one: in a burst, texts share posts instead of queueing for one each."""
        async with self.ctx.poster.turn(case.channel):
            async with self.ctx.units.reading() as unit:
                waiting = await unit.messages.unposted_inbound(
                    case.id, MERGE_MOST, starting_with=message_id
                )
            shown = _fitting(waiting)
            if not shown:
                return  # shown meanwhile
            posted = await self.ctx.poster.post_texts(
                case.channel, thread_ts, shown, case_id=case.id, broadcast=broadcast
            )
        async with self.ctx.units.unit() as unit:
            await _record_shown(unit, case.id, [t.message_id for t in shown], posted.ts)

    async def give_up(self, work: PostMessage, error: SendError) -> None:
        async with self.ctx.units.unit() as unit:
            await note(unit, work.case_id, texts.POST_GAVE_UP.format(reason=error.reason))


class UpdateCaseHeader(JobHandler[UpdateHeader]):
    """Draws the case as it is now; one update covers every change made before it ran.

    Only a redraw in the thread's own queue may post a missing header (`thread_of`); a
    spaced one, in a queue of its own, waits for a header still on its way instead.
    """

    async def run(self, work: UpdateHeader) -> None:
        case = await self._thread(work)
        if case is None or case.thread_ts is None:
            return
        async with self.ctx.units.reading() as unit:
            view = await case_view(unit, case, inbox=self.ctx.inbox)
            shown = await unit.messages.shown_at(case.id, case.thread_ts)
        view = dataclasses.replace(view, texts=shown_texts(shown))
        await self.ctx.poster.update_header(case.channel, case.thread_ts, view)

    async def _thread(self, work: UpdateHeader) -> CaseRecord | None:
        if not work.spaced:
            return await thread_of(self.ctx, work.case_id)
        header = PostHeader(work.case_id)
        async with self.ctx.units.reading() as unit:
            case = await unit.cases.get(work.case_id)
            if case is not None and case.thread_ts is None:
                if await unit.jobs.live(header.kind, queue=header.queue):
                    raise SendError(f"case #{case.id} has no thread yet", retryable=True)
            return case


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
