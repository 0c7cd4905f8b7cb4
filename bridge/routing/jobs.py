"""The outbox jobs: each performs one decision against the chat or the carrier.

Every job is safe to run twice: it checks in the store whether its effect already happened.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from bridge import texts
from bridge.clock import Clock
from bridge.errors import SendError
from bridge.routing import conversations as conv
from bridge.routing.cases import NOTIFY_ASSIGNEE
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.forwarding import FORWARD_DM, ForwardDirectMessage
from bridge.routing.home import PUBLISH_HOME, home_view
from bridge.routing.long_texts import FLUSH_PARTS, flush_parts
from bridge.routing.model import (
    ChannelId,
    Direction,
    MessageStatus,
    PhoneNumber,
    SlackTs,
    UserId,
)
from bridge.routing.ports import CaseList, ChatPoster, HomeView, ReplyRenderer, SmsSender
from bridge.routing.rules import ChatRules
from bridge.routing.segments import SmsMeasure, measure, normalize_typography
from bridge.store.repo import Repository, Store

log = logging.getLogger(__name__)


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
    def inbox(self) -> conv.Inbox:
        return self.book.inbox


class _Job:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        case_id = payload.get("case_id")
        if case_id is not None:
            await _note_in_thread(self.ctx, case_id, texts.POST_GAVE_UP.format(reason=error.reason))


class PostCaseHeader(_Job):
    async def run(self, payload: dict[str, Any]) -> None:
        async with self.ctx.store.reading() as repo:
            case = await repo.case(payload["case_id"])
            if case is None or case.thread_ts is not None:
                return
            previous = await repo.case(case.previous_case_id) if case.previous_case_id else None
            view = await conv.case_view(repo, case, inbox=self.ctx.inbox)
        if previous is not None and previous.thread_ts is not None:
            link = await self.ctx.poster.permalink(
                ChannelId(previous.channel), SlackTs(previous.thread_ts)
            )
            view = dataclasses.replace(view, previous_case_link=link)
        posted = await self.ctx.poster.post_header(ChannelId(case.channel), view)
        async with self.ctx.store.unit() as repo:
            await repo.set_thread(case.id, posted.ts)

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("case #%s has no thread: %s", payload["case_id"], error.reason)


class PostMessage(_Job):
    """Shows a text in a case's thread: a contact's words, or what the bridge sent itself."""

    async def run(self, payload: dict[str, Any]) -> None:
        case_id, message_id = payload["case_id"], payload["message_id"]
        async with self.ctx.store.reading() as repo:
            case = await repo.case(case_id)
            message = await repo.message(message_id)
            if case is None or message is None:
                return
            if case.thread_ts is None:
                raise SendError(f"case #{case_id} has no thread yet", retryable=True)
            if await _already_posted(repo, case_id, message_id):
                return
        if message.direction == Direction.AUTOMATED:
            text, from_contact = texts.AUTOMATED.format(text=message.text), False
        elif message.direction == Direction.OUTBOUND:
            shown = message.text or message.source_text or ""
            text, from_contact = texts.STARTED.format(user=message.author, text=shown), False
        else:
            text, from_contact = message.text or texts.EMPTY_INBOUND, True
        posted = await self.ctx.poster.post_in_thread(
            ChannelId(case.channel), SlackTs(case.thread_ts), text, from_contact=from_contact
        )
        async with self.ctx.store.unit() as repo:
            await repo.set_posted(case_id, message_id, posted.ts)


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
    """Sends a staff reply (rendered as SMS text, measured, checked) or an automated text."""

    async def run(self, payload: dict[str, Any]) -> None:
        ctx = self.ctx
        async with ctx.store.reading() as repo:
            message = await repo.message(payload["message_id"])
            if message is None or message.status != MessageStatus.QUEUED:
                return
            # The bridge's own texts (auto-responses, forwards) go as written, unchecked.
            automated = message.direction in (Direction.AUTOMATED, Direction.FORWARDED)
            source, to, sender = (
                message.source_text or message.text,
                message.contact_number,
                message.our_number,
            )
        text = source if automated else await self._render(source, payload.get("case_id"))
        size = measure(text)
        async with ctx.store.unit() as repo:
            message = await repo.message(payload["message_id"])
            assert message is not None
            message.text, message.segments, message.encoding = text, size.segments, size.encoding
            refusal = None if automated else await self._refusal(repo, message, size)
            if refusal:
                message.status, message.error = MessageStatus.NOT_SENT, refusal
                await _tell_author(repo, message, refusal)
                return
        sent = await ctx.sender.send(to=PhoneNumber(to), sender=PhoneNumber(sender), text=text)
        async with ctx.store.unit() as repo:
            message = await repo.message(payload["message_id"])
            assert message is not None
            await repo.record_sent(message, sent.provider_message_ids)
            for receipt in await repo.take_early_receipts(sent.provider_message_ids):
                await conv.accept_receipt(repo, receipt, rules=ctx.rules)
            if message.direction == Direction.AUTOMATED and ctx.rules.automated_in_threads == "all":
                for case in await repo.cases_of_message(message.id):
                    await repo.enqueue(
                        conv.POST_MESSAGE,
                        queue=conv.slack_queue(case.id),
                        case_id=case.id,
                        message_id=message.id,
                    )
        log.info("text %s submitted in %s segment(s)", payload["message_id"], size.segments)

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
                contact=conv.format_number(message.contact_number),
                number=conv.format_number(message.our_number),
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
        async with self.ctx.store.reading() as repo:
            case = await repo.case(payload["case_id"])
            if case is None or case.thread_ts is None:
                return
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


class React(_Job):
    async def run(self, payload: dict[str, Any]) -> None:
        await self.ctx.poster.react(
            ChannelId(payload["channel"]), SlackTs(payload["ts"]), payload["name"]
        )

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not add reaction %s: %s", payload["name"], error.reason)


class ThreadNote(_Job):
    async def run(self, payload: dict[str, Any]) -> None:
        async with self.ctx.store.reading() as repo:
            case = await repo.case(payload["case_id"])
        if case is None or case.thread_ts is None:
            return
        await self.ctx.poster.post_in_thread(
            ChannelId(case.channel), SlackTs(case.thread_ts), payload["text"], from_contact=False
        )

    async def give_up(self, payload: dict[str, Any], error: SendError) -> None:
        log.error("could not write a note in case #%s: %s", payload["case_id"], error.reason)


class TellUser(_Job):
    async def run(self, payload: dict[str, Any]) -> None:
        await self.ctx.poster.tell_user(
            ChannelId(payload["channel"]),
            UserId(payload["user"]),
            payload["text"],
            thread_ts=payload.get("thread_ts"),
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
                home = await home_view(repo, user, rules=self.ctx.rules, inbox=self.ctx.inbox)
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
        conv.THREAD_NOTE: ThreadNote(ctx),
        conv.TELL_USER: TellUser(ctx),
        PUBLISH_HOME: PublishHome(ctx),
        FORWARD_DM: ForwardDirectMessage(ctx),
    }
