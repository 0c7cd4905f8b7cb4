"""The outbox jobs: each performs one decision against the chat or the carrier.

Every job is safe to run twice: it checks in the store whether its effect already happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bridge import texts
from bridge.clock import Clock
from bridge.domain.numbers import format_number
from bridge.domain.rules import ChatRules, Inbox
from bridge.domain.segments import SmsMeasure, measure, normalize_typography
from bridge.domain.values import (
    ChannelId,
    Direction,
    MessageStatus,
    Offer,
    PhoneNumber,
    Posting,
    SlackTs,
    UserId,
)
from bridge.domain.views import CaseList, HomeView
from bridge.errors import SendError
from bridge.routing import conversations as conv
from bridge.routing.cases import NOTIFY_ASSIGNEE
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.forwarding import FORWARD_DM, ForwardDirectMessage
from bridge.routing.home import PUBLISH_HOME, home_view
from bridge.routing.long_texts import FLUSH_PARTS, flush_parts
from bridge.routing.notices import ADMIN_NOTICE, NotifyAdmins
from bridge.routing.ports import ChatPoster, ReplyRenderer, SmsSender
from bridge.store.models import Case
from bridge.store.repo import Repository, Store

log = logging.getLogger(__name__)

# How far before its message a post is looked for: instances' and Slack's clocks differ.
CLOCK_MARGIN = timedelta(minutes=5)
# How long after an interrupted send started its receipt is waited for before sending again.
RECEIPT_WAIT = timedelta(seconds=10)
RECEIPT_POLL_SECONDS = 0.2


def new_client_ref(message_id: int) -> str:
    """A reference naming one send of one text (at most 40 characters, as Vonage allows)."""
    return f"smschat-{message_id}-{uuid.uuid4().hex[:12]}"


@dataclass(slots=True)
class JobContext:
    store: Store
    poster: ChatPoster
    sender: SmsSender
    renderer: ReplyRenderer
    book: SettingsBook
    clock: Clock

    @property
    def rules(self) -> ChatRules:
        return self.book.rules

    @property
    def inbox(self) -> Inbox:
        return self.book.inbox


class _Job:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        case_id = payload.get("case_id")
        if case_id is not None:
            await _note_in_thread(self.ctx, case_id, texts.POST_GAVE_UP.format(reason=error.reason))


class PostCaseHeader(_Job):
    """Opens a case's thread; run again after an interruption, it first looks for its header."""

    async def run(self, payload: dict[str, Any]) -> None:
        await self.post(payload["case_id"], look_first=False)

    async def run_again(self, payload: dict[str, Any]) -> None:
        await self.post(payload["case_id"], look_first=True)

    async def post(self, case_id: int, *, look_first: bool) -> None:
        async with self.ctx.store.reading() as repo:
            case = await repo.case(case_id)
            if case is None or case.thread_ts is not None:
                return
            previous = await repo.case(case.previous_case_id) if case.previous_case_id else None
            view = await conv.case_view(repo, case, inbox=self.ctx.inbox)
        if look_first:
            since = case.opened_at - CLOCK_MARGIN
            found = await self.ctx.poster.find_header(ChannelId(case.channel), case.id, since=since)
            if found is not None:
                async with self.ctx.store.unit() as repo:
                    await repo.set_thread(case.id, found)
                return
        if previous is not None and previous.thread_ts is not None:
            link = await self.ctx.poster.permalink(
                ChannelId(previous.channel), SlackTs(previous.thread_ts)
            )
            view = dataclasses.replace(view, previous_case_link=link)
        posted = await self.ctx.poster.post_header(ChannelId(case.channel), view)
        async with self.ctx.store.unit() as repo:
            await repo.set_thread(case.id, posted.ts)

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        # Not the end of the case: the next job of its thread posts the header again.
        log.error("case #%s has no thread yet: %s", payload["case_id"], error.reason)


async def thread_of(ctx: JobContext, case_id: int) -> Case | None:
    """The case with its thread, posting its header first when none is up and no header
    job is still on its way (it gave up: a refusal since fixed, a token since replaced).

    Only jobs of the case's own queue may call this: they run one at a time, so the
    header is never posted twice.
    """
    async with ctx.store.reading() as repo:
        case = await repo.case(case_id)
        if case is None or case.thread_ts is not None:
            return case
        waiting = await repo.has_live_job(conv.POST_HEADER, queue=conv.slack_queue(case_id))
    if waiting:
        raise SendError(f"case #{case_id} has no thread yet", retryable=True)
    await PostCaseHeader(ctx).post(case_id, look_first=True)
    async with ctx.store.reading() as repo:
        return await repo.case(case_id)


class PostMessage(_Job):
    """Shows a text in a case's thread: a contact's words, or what the bridge sent itself.

    Each post carries its `Posting`; run again after an interruption, the job first looks in
    the thread for a post of its own and records that one instead of posting twice.
    """

    async def run(self, payload: dict[str, Any]) -> None:
        await self._post(payload, look_first=False)

    async def run_again(self, payload: dict[str, Any]) -> None:
        await self._post(payload, look_first=True)

    async def _post(self, payload: dict[str, Any], *, look_first: bool) -> None:
        case_id, message_id = payload["case_id"], payload["message_id"]
        case = await thread_of(self.ctx, case_id)
        async with self.ctx.store.reading() as repo:
            message = await repo.message(message_id)
            if case is None or message is None:
                return
            if await _already_posted(repo, case_id, message_id):
                return
        if message.direction == Direction.AUTOMATED:
            text, from_contact = texts.AUTOMATED.format(text=message.text), False
        elif message.direction == Direction.OUTBOUND:
            shown = message.text or message.source_text or ""
            text, from_contact = texts.STARTED.format(user=message.author, text=shown), False
        else:
            text, from_contact = message.text or texts.EMPTY_INBOUND, True
        channel, thread_ts = ChannelId(case.channel), SlackTs(case.thread_ts)
        posting = Posting(case_id=case_id, message_id=message_id)
        # The post cannot be older than its message (less a margin for clocks that differ).
        since = message.created_at - CLOCK_MARGIN
        found = None
        if look_first:
            found = await self.ctx.poster.find_posting(channel, thread_ts, posting, since=since)
        if found is not None:
            log.info(
                "text %s was already shown in case #%s; recorded that post", message_id, case_id
            )
            ts = found
        else:
            posted = await self.ctx.poster.post_in_thread(
                channel,
                thread_ts,
                text,
                from_contact=from_contact,
                posting=posting,
                broadcast=bool(payload.get("broadcast")),
            )
            ts = posted.ts
        async with self.ctx.store.unit() as repo:
            await repo.set_posted(case_id, message_id, ts)


class FlushParts(_Job):
    """The rest of a long text never came: post what did, marked as incomplete."""

    async def run(self, payload: dict[str, Any]) -> None:
        ctx = self.ctx
        async with ctx.store.unit() as repo:
            await repo.lock_conversation(payload["sender"], payload["recipient"])
            whole = await flush_parts(
                repo, sender=payload["sender"], recipient=payload["recipient"], ref=payload["ref"]
            )
            if whole is not None:
                await conv.record_inbound(
                    repo, whole, inbox=ctx.inbox, rules=ctx.rules, now=ctx.clock.now()
                )


async def _already_posted(repo: Repository, case_id: int, message_id: int) -> bool:
    return any(case.id == case_id for case, _ts in await repo.postings(message_id))


class SendSms(_Job):
    """Sends a staff reply (rendered as SMS text, measured, checked) or an automated text.

    Each send carries a fresh client-ref, committed before the call. A job that finds a
    send started but never recorded (its instance died mid-call, or the call got no
    answer) waits a while for a receipt naming that ref and records the send from it; only
    if none comes does it send again.
    """

    async def run(self, payload: dict[str, Any]) -> None:
        ctx = self.ctx
        message_id = payload["message_id"]
        async with ctx.store.reading() as repo:
            message = await repo.message(message_id)
            if message is None or message.status != MessageStatus.QUEUED:
                return
            # The bridge's own texts (auto-responses, forwards) go as written, unchecked.
            automated = message.direction in (Direction.AUTOMATED, Direction.FORWARDED)
            source, to, sender = (
                message.source_text or message.text,
                message.contact_number,
                message.our_number,
            )
            started = message.send_ref, message.send_started_at
        ref, started_at = started
        if ref is not None and started_at is not None:
            if await self._recorded_from_receipts(message_id, ref, started_at):
                return
        text = source if automated else await self._render(source, payload.get("case_id"))
        size = measure(text)
        ref = new_client_ref(message_id)
        async with ctx.store.unit() as repo:
            message = await repo.message(message_id)
            assert message is not None
            message.text, message.segments, message.encoding = text, size.segments, size.encoding
            refusal = None if automated else await self._refusal(repo, message, size)
            if refusal:
                message.status, message.error = MessageStatus.NOT_SENT, refusal
                await _tell_author(repo, message, refusal)
                return
            message.send_ref, message.send_started_at = ref, ctx.clock.now()
        try:
            sent = await ctx.sender.send(
                to=PhoneNumber(to), sender=PhoneNumber(sender), text=text, client_ref=ref
            )
        except SendError as error:
            if error.code is not None:
                # The carrier answered with a refusal: nothing went out under this ref.
                async with ctx.store.unit() as repo:
                    message = await repo.message(message_id)
                    assert message is not None
                    message.send_ref = message.send_started_at = None
            raise
        async with ctx.store.unit() as repo:
            await self._record_sent(repo, message_id, sent.provider_message_ids)
        log.info("text %s submitted in %s segment(s)", message_id, size.segments)

    async def _recorded_from_receipts(
        self, message_id: int, ref: str, started_at: datetime
    ) -> bool:
        """Record a send started earlier from its receipts, waiting for one until
        `RECEIPT_WAIT` after it started; False if none came (then it never went out, or
        its receipts are later than the wait)."""
        store, clock = self.ctx.store, self.ctx.clock
        while True:
            async with store.reading() as repo:
                receipted = bool(await repo.early_receipt_ids(ref))
            if receipted:
                async with store.unit() as repo:
                    # Under the send's lock, so that no receipt of it slips in meanwhile.
                    await repo.lock_send(ref)
                    provider_ids = await repo.early_receipt_ids(ref)
                    await self._record_sent(repo, message_id, provider_ids)
                log.info("text %s went out before an interruption; recorded", message_id)
                return True
            if clock.now() >= started_at + RECEIPT_WAIT:
                log.warning(
                    "no receipt for the interrupted send of text %s; sending again", message_id
                )
                return False
            await asyncio.sleep(RECEIPT_POLL_SECONDS)

    async def _record_sent(
        self, repo: Repository, message_id: int, provider_ids: list[str]
    ) -> None:
        message = await repo.message(message_id)
        assert message is not None
        await repo.record_sent(message, provider_ids)
        for receipt in await repo.take_early_receipts(provider_ids):
            await conv.accept_receipt(repo, receipt, rules=self.ctx.rules)
        if (
            message.direction == Direction.AUTOMATED
            and self.ctx.rules.automated_in_threads == "all"
        ):
            for case in await repo.cases_of_message(message.id):
                await repo.enqueue(
                    conv.POST_MESSAGE,
                    queue=conv.slack_queue(case.id),
                    case_id=case.id,
                    message_id=message.id,
                )

    async def _render(self, source: str, case_id: int | None) -> str:
        rules = self.ctx.rules
        text = await self.ctx.renderer.render(source)
        if rules.normalize_typography:
            text = normalize_typography(text)
        if case_id is not None and text.strip():
            text = rules.with_case_ref(text, case_id)
        return text

    async def _refusal(self, repo: Repository, message: Any, size: SmsMeasure) -> str | None:
        """Why a staff reply must not go out, in words for its author; None if it may."""
        rules = self.ctx.rules
        if await repo.is_opted_out(message.contact_number, message.our_number):
            return texts.OPTED_OUT.format(
                contact=format_number(message.contact_number),
                number=format_number(message.our_number),
            )
        if not message.text.strip():
            return texts.EMPTY_REPLY
        if size.segments > rules.max_segments:
            why = (
                texts.TOO_LONG_UCS2.format(chars=" ".join(size.non_gsm_chars))
                if size.non_gsm_chars
                else ""
            )
            return texts.TOO_LONG.format(
                segments=size.segments, encoding=size.encoding, cap=rules.max_segments, why=why
            )
        return None

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        async with self.ctx.store.unit() as repo:
            message = await repo.message(payload["message_id"])
            if message is None:
                return
            message.status, message.error = MessageStatus.FAILED, error.reason
            note = texts.SEND_GAVE_UP if error.retryable else texts.SEND_FAILED
            postings = await repo.postings(message.id)
            for case, ts in postings:
                await repo.enqueue(
                    conv.REACT,
                    queue=conv.slack_queue(case.id),
                    channel=case.channel,
                    ts=ts,
                    name="x",
                )
                await conv.note_failure(repo, case, message, note)
            if not postings:
                await conv.show_failed_automated(repo, message, rules=self.ctx.rules, note=note)


async def _tell_author(repo: Repository, message: Any, text: str) -> None:
    if message.author and message.origin_channel:
        case_rows = await repo.postings(message.id)
        for case, _ts in case_rows:
            await repo.enqueue(
                conv.TELL_USER,
                queue=conv.slack_queue(case.id),
                channel=case.channel,
                user=message.author,
                text=text,
                thread_ts=case.thread_ts,
            )


async def _note_in_thread(ctx: JobContext, case_id: int, text: str) -> None:
    async with ctx.store.unit() as repo:
        await repo.enqueue(
            conv.THREAD_NOTE, queue=conv.slack_queue(case_id), case_id=case_id, text=text
        )


class UpdateCaseHeader(_Job):
    """Renders the case as it is now; one update covers every change made before it ran."""

    async def run(self, payload: dict[str, Any]) -> None:
        case = await thread_of(self.ctx, payload["case_id"])
        if case is None or case.thread_ts is None:
            return
        async with self.ctx.store.reading() as repo:
            view = await conv.case_view(repo, case, inbox=self.ctx.inbox)
        await self.ctx.poster.update_header(ChannelId(case.channel), SlackTs(case.thread_ts), view)

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("header of case #%s not updated: %s", payload["case_id"], error.reason)


class NotifyAssignee(_Job):
    """A direct message to the new assignee with a link to the thread."""

    async def run(self, payload: dict[str, Any]) -> None:
        async with self.ctx.store.reading() as repo:
            case = await repo.case(payload["case_id"])
        link = "(thread not posted yet)"
        if case is not None and case.thread_ts is not None:
            link = (
                await self.ctx.poster.permalink(ChannelId(case.channel), SlackTs(case.thread_ts))
                or link
            )
        text = texts.ASSIGNED_DM.format(user=payload["by"], ref=payload["case_id"], link=link)
        await self.ctx.poster.direct_message(UserId(payload["user"]), text)

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not send a direct message: %s", error.reason)


class NotifyAssigneeOfTexts(_Job):
    """A direct message to a case's assignee: how many texts came, from whom, a link."""

    async def run(self, payload: dict[str, Any]) -> None:
        async with self.ctx.store.reading() as repo:
            case = await repo.case(payload["case_id"])
            if case is None or case.assignee is None:
                return
            count = await repo.inbound_from(case.id, payload["first_message_id"])
            view = await conv.case_view(repo, case, inbox=self.ctx.inbox)
        link = "(thread not posted yet)"
        if case.thread_ts is not None:
            link = (
                await self.ctx.poster.permalink(ChannelId(case.channel), SlackTs(case.thread_ts))
                or link
            )
        text = texts.TEXTS_FOR_ASSIGNEE.format(
            count=max(count, 1), contact=view.contact_label, ref=case.id, link=link
        )
        await self.ctx.poster.direct_message(UserId(case.assignee), text)

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not tell case #%s's assignee of its texts: %s", payload["case_id"], error)


class React(_Job):
    async def run(self, payload: dict[str, Any]) -> None:
        await self.ctx.poster.react(
            ChannelId(payload["channel"]), SlackTs(payload["ts"]), payload["name"]
        )

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not add reaction %s: %s", payload["name"], error.reason)


class ThreadNote(_Job):
    async def run(self, payload: dict[str, Any]) -> None:
        case = await thread_of(self.ctx, payload["case_id"])
        if case is None or case.thread_ts is None:
            return
        await self.ctx.poster.post_in_thread(
            ChannelId(case.channel), SlackTs(case.thread_ts), payload["text"], from_contact=False
        )

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not write a note in case #%s: %s", payload["case_id"], error.reason)


class TellUser(_Job):
    async def run(self, payload: dict[str, Any]) -> None:
        offer = payload.get("offer")
        await self.ctx.poster.tell_user(
            ChannelId(payload["channel"]),
            UserId(payload["user"]),
            payload["text"],
            thread_ts=payload.get("thread_ts"),
            offer=Offer(offer["action"], offer["message_id"]) if offer else None,
        )

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not tell a user: %s", error.reason)


class PublishHome(_Job):
    """Renders one person's App Home as the store has it now."""

    async def run(self, payload: dict[str, Any]) -> None:
        user = UserId(payload["user"])
        if payload.get("refusal"):
            empty = CaseList(cases=[], total=0)
            home = HomeView(user, empty, empty, empty, refusal=payload["refusal"])
        else:
            async with self.ctx.store.reading() as repo:
                home = await home_view(
                    repo,
                    user,
                    rules=self.ctx.rules,
                    inbox=self.ctx.inbox,
                    admin=bool(payload.get("admin")),
                )
        await self.ctx.poster.publish_home(home)

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not publish an App Home: %s", error.reason)


def job_handlers(ctx: JobContext) -> dict[str, _Job]:
    return {
        conv.POST_HEADER: PostCaseHeader(ctx),
        conv.POST_MESSAGE: PostMessage(ctx),
        conv.SEND_SMS: SendSms(ctx),
        FLUSH_PARTS: FlushParts(ctx),
        conv.REACT: React(ctx),
        conv.UPDATE_HEADER: UpdateCaseHeader(ctx),
        NOTIFY_ASSIGNEE: NotifyAssignee(ctx),
        conv.NOTIFY_TEXTS: NotifyAssigneeOfTexts(ctx),
        conv.THREAD_NOTE: ThreadNote(ctx),
        conv.TELL_USER: TellUser(ctx),
        PUBLISH_HOME: PublishHome(ctx),
        FORWARD_DM: ForwardDirectMessage(ctx),
        ADMIN_NOTICE: NotifyAdmins(ctx),
    }
