"""Which case an inbound text joins, and what a staff reply sets in motion."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge import texts
from bridge.domain.numbers import format_number, mask
from bridge.domain.rules import ChatRules, Inbox, Keyword, keyword, refs_in
from bridge.domain.segments import measure
from bridge.domain.values import (
    AgentReply,
    CaseStatus,
    DeliveryReceipt,
    Direction,
    InboundSms,
    MessageStatus,
    PhoneNumber,
)
from bridge.domain.views import CaseView
from bridge.routing import forwarding
from bridge.routing.auto_replies import auto_reply_for, hold_until
from bridge.routing.long_texts import add_part
from bridge.store.models import Case, Message
from bridge.store.repo import Repository

log = logging.getLogger(__name__)

# Job kinds: the work a decision leaves in the outbox (handlers in bridge/routing/jobs.py).
POST_HEADER = "slack.post_header"
UPDATE_HEADER = "slack.update_header"
POST_MESSAGE = "slack.post_message"
SEND_SMS = "sms.send"
REACT = "slack.react"
THREAD_NOTE = "slack.thread_note"
TELL_USER = "slack.tell_user"
NOTIFY_TEXTS = "slack.notify_assignee_texts"
# What a person may do from a word they were told (the button's action).
REOPEN_AND_SEND = "reopen_and_send"


def slack_queue(case_id: int) -> str:
    """Everything shown in one case's thread runs in order."""
    return f"slack:case:{case_id}"


def sms_queue(our_number: str, contact_number: str) -> str:
    """Everything sent to one phone from one of our numbers runs in order."""
    return f"sms:{our_number}:{contact_number}"


@dataclass(frozen=True, slots=True)
class InboundResult:
    duplicate: bool
    case_ids: tuple[int, ...] = ()


async def accept_inbound(
    repo: Repository, sms: InboundSms, *, inbox: Inbox, rules: ChatRules, now: datetime
) -> InboundResult:
    """Record an inbound text in every open case of its number, opening one if there is none.

    A part of a long text waits in the store until the whole text is here. `now` is when
    the bridge takes the text: the moment rules about hours and days are applied to.
    """
    await repo.lock_conversation(sms.sender, sms.recipient)
    if sms.part is not None:
        whole = await add_part(repo, sms, give_up_after=rules.concat_timeout)
        if whole is None:
            return InboundResult(duplicate=False)
        sms = whole
    return await record_inbound(repo, sms, inbox=inbox, rules=rules, now=now)


async def record_inbound(
    repo: Repository, sms: InboundSms, *, inbox: Inbox, rules: ChatRules, now: datetime
) -> InboundResult:
    """Record a whole inbound text (the conversation's lock is held)."""
    size = measure(sms.text)  # what the contact paid for, for the usage figures
    message_id = await repo.insert_inbound(sms, segments=size.segments, encoding=size.encoding)
    if message_id is None:
        log.info("inbound %s already stored; ignoring the repeat", sms.provider_message_id)
        return InboundResult(duplicate=True)
    if not inbox.owns(sms.recipient):
        log.warning("inbound text to %s, which is not in VONAGE_NUMBERS", mask(sms.recipient))
    cases = list(await repo.open_cases(sms.sender, sms.recipient))
    opened = not cases
    if opened:
        previous = await repo.last_case(sms.sender, sms.recipient)
        cases = [
            await open_case(
                repo,
                sms.sender,
                sms.recipient,
                inbox=inbox,
                previous_case_id=previous.id if previous else None,
            )
        ]
    # A text naming one of the number's open cases (#12) goes to that case alone.
    named = [case for case in cases if case.id in refs_in(sms.text)]
    if named:
        cases = named
    for case in cases:
        # After a long silence a thread's new text is shown in the channel too: thread
        # replies notify only those who follow the thread.
        quiet = case.thread_ts is not None and now - case.last_activity_at >= rules.quiet_thread
        await repo.link(case.id, message_id)
        await repo.touch_case(case, at=sms.received_at, unread_delta=1)
        await repo.enqueue(
            POST_MESSAGE,
            queue=slack_queue(case.id),
            case_id=case.id,
            message_id=message_id,
            **({"broadcast": True} if quiet else {}),
        )
        if case.thread_ts is not None:
            await refresh_header(repo, case)
        if case.assignee is not None:
            await notify_assignee(repo, case, message_id, rules=rules, now=now)
    await forwarding.forward_inbound(repo, message_id=message_id, sms=sms, cases=cases, now=now)
    await _answer_keyword(repo, sms, cases, rules=rules, now=now)
    await _auto_respond(repo, sms, cases, opened=opened, rules=rules, now=now)
    return InboundResult(duplicate=False, case_ids=tuple(case.id for case in cases))


def notice_queue(case_id: int) -> str:
    return f"slack:notice:{case_id}"


async def notify_assignee(
    repo: Repository, case: Case, message_id: int, *, rules: ChatRules, now: datetime
) -> None:
    """Tell a case's assignee of its new texts by direct message: at once, then at most
    once per `assignee_notice_every`, counting the texts from `message_id` on."""
    queue = notice_queue(case.id)
    if await repo.has_pending_job(NOTIFY_TEXTS, queue=queue):
        return  # the notice still to go counts this text too
    last = await repo.last_finished(NOTIFY_TEXTS, queue=queue)
    due = now if last is None else max(now, last + rules.assignee_notice_every)
    await repo.enqueue(
        NOTIFY_TEXTS, queue=queue, run_after=due, case_id=case.id, first_message_id=message_id
    )


async def _answer_keyword(
    repo: Repository, sms: InboundSms, cases: list[Case], *, rules: ChatRules, now: datetime
) -> None:
    """STOP opts out, START opts back in, HELP gets the help text: each answered once."""
    word = keyword(sms.text)
    if word is None:
        return
    shown = sms.text.strip().upper()
    number = format_number(sms.recipient)
    reply: str | None = None
    if word is Keyword.OPT_OUT:
        if await repo.opt_out(sms.sender, sms.recipient, reason=f"texted {shown}"):
            reply, note = texts.OPT_OUT_CONFIRMATION, texts.OPT_OUT_NOTE
            await refresh_number_headers(repo, sms.sender, sms.recipient)
    elif word is Keyword.OPT_IN:
        if await repo.opt_in(sms.sender, sms.recipient):
            reply, note = texts.OPT_IN_CONFIRMATION, texts.OPT_IN_NOTE
            await refresh_number_headers(repo, sms.sender, sms.recipient)
    else:
        reply, note = rules.help_text, None
    if reply is None:
        return
    await send_automated(repo, sms.sender, sms.recipient, reply, cases, now=now)
    for case in cases:
        if note:
            await repo.enqueue(
                THREAD_NOTE,
                queue=slack_queue(case.id),
                case_id=case.id,
                text=note.format(word=shown, number=number),
            )


async def _auto_respond(
    repo: Repository,
    sms: InboundSms,
    cases: list[Case],
    *,
    opened: bool,
    rules: ChatRules,
    now: datetime,
) -> None:
    reply = auto_reply_for(sms.text, opened=opened, rules=rules, now=now)
    if reply is None or await repo.is_opted_out(sms.sender, sms.recipient):
        return
    due = [c for c in cases if not await repo.auto_reply_given(c.id, reply.kind, reply.window)]
    if not due:
        return
    message_id = await send_automated(
        repo,
        sms.sender,
        sms.recipient,
        reply.text,
        due,
        now=now,
        not_before=hold_until(due, rules, now),
    )
    for case in due:
        await repo.record_auto_reply(case.id, reply.kind, reply.window, message_id)


async def send_automated(
    repo: Repository,
    contact_number: str,
    our_number: str,
    text: str,
    cases: list[Case],
    *,
    now: datetime,
    not_before: datetime | None = None,
) -> int:
    """Queue a text the bridge itself sends, shown in the cases' threads when it goes."""
    message_id = await repo.insert_automated(contact_number, our_number, text, at=now)
    for case in cases:
        await repo.link(case.id, message_id)
    await repo.enqueue(
        SEND_SMS,
        queue=sms_queue(our_number, contact_number),
        run_after=not_before,
        message_id=message_id,
    )
    return message_id


async def open_case(
    repo: Repository,
    contact_number: PhoneNumber,
    our_number: PhoneNumber,
    *,
    inbox: Inbox,
    previous_case_id: int | None,
) -> Case:
    """A new open case (its header is posted by the outbox), linked to an earlier one."""
    contact = await repo.contact_for_number(contact_number)
    case = await repo.create_case(
        contact_id=contact.id,
        contact_number=contact_number,
        our_number=our_number,
        channel=inbox.channel(our_number),
        previous_case_id=previous_case_id,
    )
    await repo.enqueue(POST_HEADER, queue=slack_queue(case.id), case_id=case.id)
    return case


@dataclass(frozen=True, slots=True)
class ReplyResult:
    accepted: bool
    reason: str = ""


async def accept_reply(
    repo: Repository, reply: AgentReply, *, rules: ChatRules, now: datetime
) -> ReplyResult:
    """Record a staff message in a case thread and queue it for sending as SMS.

    Notes (the notes prefix) and file-only messages stay in Slack, recorded in the log.
    """
    case = await repo.case_by_thread(reply.channel, reply.thread_ts)
    if case is None:
        return ReplyResult(accepted=False, reason="not a case thread")
    await repo.lock_conversation(case.contact_number, case.our_number)
    message_id = await repo.insert_reply(reply, case, at=now)
    if message_id is None:
        return ReplyResult(accepted=False, reason="already taken")
    await repo.link(case.id, message_id, slack_ts=reply.ts)
    await repo.touch_case(case, at=now)
    case.last_staff_activity_at = now
    await read_case(repo, case, reply.user, at=now)  # replying reads the case
    if rules.is_note(reply.text):
        await repo.keep_internal(message_id)
        await repo.enqueue(
            REACT, queue=slack_queue(case.id), channel=reply.channel, ts=reply.ts, name="lock"
        )
        return ReplyResult(accepted=False, reason="staff note")
    if reply.has_files and not reply.text.strip():
        await repo.refuse(message_id, texts.FILES_NOT_SENT)
        await tell(repo, case, reply.user, texts.FILES_NOT_SENT)
        return ReplyResult(accepted=False, reason="files only")
    if case.status == CaseStatus.CLOSED:
        await repo.refuse(message_id, texts.CLOSED_NOT_SENT, status=MessageStatus.HELD)
        offer = {"action": REOPEN_AND_SEND, "message_id": message_id}
        await tell(repo, case, reply.user, texts.CLOSED_NOT_SENT, offer=offer)
        return ReplyResult(accepted=False, reason="case closed")
    await refresh_header(repo, case)  # its last activity is now
    await repo.enqueue(
        SEND_SMS,
        queue=sms_queue(case.our_number, case.contact_number),
        message_id=message_id,
        case_id=case.id,
    )
    await _count_reply(repo, case, reply.user, rules=rules, now=now)
    return ReplyResult(accepted=True)


async def read_case(repo: Repository, case: Case, user: str, *, at: datetime) -> None:
    """`user` has read the case: its header's unread count (texts nobody read) clears."""
    await repo.mark_read(case, user, at=at)
    if case.unread:
        case.unread = 0
        await refresh_header(repo, case)


async def _count_reply(
    repo: Repository, case: Case, user: str, *, rules: ChatRules, now: datetime
) -> None:
    """The message counter: past the day's threshold, each reply earns its author a warning."""
    if rules.counter_threshold is None:
        return
    local = rules.local(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    sent = await repo.replies_since(user, midnight)
    if sent >= rules.counter_threshold:
        await tell(
            repo,
            case,
            user,
            texts.COUNTER_WARNING.format(count=sent, limit=rules.counter_threshold),
        )


async def tell(
    repo: Repository, case: Case, user: str, text: str, *, offer: dict[str, Any] | None = None
) -> None:
    """An ephemeral word to one person in a case's thread; `offer` adds a button for an
    action they may take (`action`, and what it acts on)."""
    await repo.enqueue(
        TELL_USER,
        queue=slack_queue(case.id),
        channel=case.channel,
        user=user,
        text=text,
        thread_ts=case.thread_ts,
        **({"offer": offer} if offer else {}),
    )


async def accept_edit(repo: Repository, *, channel: str, ts: str, user: str) -> bool:
    """A staff message was edited or deleted in Slack; tell its author if it already went."""
    message = await repo.message_from_slack(channel, ts)
    if message is None or message.status in (
        MessageStatus.INTERNAL,
        MessageStatus.NOT_SENT,
        MessageStatus.HELD,
        MessageStatus.FAILED,
    ):
        return False
    cases = await repo.cases_of_message(message.id)
    if not cases:
        return False
    await tell(repo, cases[0], user, texts.CANNOT_RECALL)
    return True


# A reaction on the relayed reply for each carrier state worth showing.
STATUS_REACTIONS = {
    MessageStatus.DELIVERED: "white_check_mark",
    MessageStatus.FAILED: "x",
    MessageStatus.REJECTED: "no_entry_sign",
    MessageStatus.EXPIRED: "hourglass",
}
_FINAL = {MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED}


async def accept_receipt(repo: Repository, receipt: DeliveryReceipt, *, rules: ChatRules) -> None:
    """Record the carrier's word on a sent text and show a change of state in its thread."""
    message = await repo.update_part_status(receipt)
    if message is None:
        # Receipts can outrun the recording of the send they are about; keep it for then.
        await repo.keep_early_receipt(receipt)
        return
    old, new = message.status, await repo.aggregate_status(message.id)
    if new == old:
        return
    message.status = new
    if new in _FINAL:
        message.error = receipt.error_text or receipt.error_code or new
    blocked = receipt.recipient_blocked and await repo.opt_out(
        message.contact_number, message.our_number, reason=f"carrier: {message.error}"
    )
    if blocked:
        await refresh_number_headers(repo, message.contact_number, message.our_number)
    postings = await repo.postings(message.id)
    for case, ts in postings:
        if new in STATUS_REACTIONS:
            await repo.enqueue(
                REACT,
                queue=slack_queue(case.id),
                channel=case.channel,
                ts=ts,
                name=STATUS_REACTIONS[new],
            )
        if new in _FINAL:
            await note_failure(repo, case, message, texts.SEND_FAILED)
        if blocked:
            await repo.enqueue(
                THREAD_NOTE,
                queue=slack_queue(case.id),
                case_id=case.id,
                text=texts.BLOCKED_NOTE.format(reason=message.error),
            )
    if new in _FINAL and not postings:
        await show_failed_automated(repo, message, rules=rules, note=texts.SEND_FAILED)


async def note_failure(repo: Repository, case: Case, message: Message, note: str) -> None:
    await repo.enqueue(
        THREAD_NOTE,
        queue=slack_queue(case.id),
        case_id=case.id,
        text=note.format(contact=format_number(message.contact_number), reason=message.error),
    )


async def show_failed_automated(
    repo: Repository, message: Message, *, rules: ChatRules, note: str
) -> None:
    """With automated texts shown only when they fail, a failed one appears with its note."""
    if message.direction != Direction.AUTOMATED or rules.automated_in_threads != "failed":
        return
    for case in await repo.cases_of_message(message.id):
        await repo.enqueue(
            POST_MESSAGE, queue=slack_queue(case.id), case_id=case.id, message_id=message.id
        )
        await note_failure(repo, case, message, note)


async def case_view(
    repo: Repository, case: Case, *, inbox: Inbox, previous_case_link: str | None = None
) -> CaseView:
    name, label = await repo.number_title(case.contact_number, inbox.title_property)
    number = format_number(case.contact_number)
    opted_out = await repo.is_opted_out(case.contact_number, case.our_number)
    return CaseView(
        case_id=case.id,
        status=case.status,
        contact_label=f"{name} – {label}" if name else number,
        contact_number=PhoneNumber(case.contact_number),
        our_number=PhoneNumber(case.our_number),
        our_number_configured=inbox.owns(PhoneNumber(case.our_number)),
        assignee=case.assignee,
        unread=case.unread,
        previous_case_id=case.previous_case_id,
        previous_case_link=previous_case_link,
        last_activity=case.last_activity_at,
        contact_named=bool(name),
        opted_out=opted_out,
    )


async def refresh_number_headers(repo: Repository, contact_number: str, our_number: str) -> None:
    """Whether a number may be texted changed: every case of it shows that."""
    for case in await repo.cases_of_number(contact_number):
        if case.our_number == our_number:
            await refresh_header(repo, case)


async def refresh_header(repo: Repository, case: Case) -> None:
    """Queue a header update; updates render the case as it is when they run, so a
    burst of changes needs only the one update still waiting."""
    if await repo.has_pending_job(UPDATE_HEADER, queue=slack_queue(case.id)):
        return
    await repo.enqueue(UPDATE_HEADER, queue=slack_queue(case.id), case_id=case.id)
