"""Which case an inbound text joins, and what a staff reply sets in motion."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import phonenumbers

from bridge import texts
from bridge.routing.model import (
    AgentReply,
    ChannelId,
    DeliveryReceipt,
    InboundSms,
    MessageStatus,
    PhoneNumber,
)
from bridge.routing.ports import CaseView
from bridge.store.models import Case, utcnow
from bridge.store.repo import Repository

log = logging.getLogger(__name__)

# Job kinds: the work a decision leaves in the outbox (handlers in bridge/routing/jobs.py).
POST_HEADER = "slack.post_header"
POST_INBOUND = "slack.post_inbound"
SEND_REPLY = "sms.send_reply"
REACT = "slack.react"
THREAD_NOTE = "slack.thread_note"
TELL_USER = "slack.tell_user"


def slack_queue(case_id: int) -> str:
    """Everything shown in one case's thread runs in order."""
    return f"slack:case:{case_id}"


def sms_queue(our_number: str, contact_number: str) -> str:
    """Everything sent to one phone from one of our numbers runs in order."""
    return f"sms:{our_number}:{contact_number}"


@dataclass(frozen=True, slots=True)
class Inbox:
    """Where cases live: our numbers and the channel each one routes to."""

    numbers: Sequence[PhoneNumber]
    default_channel: ChannelId
    channel_for_number: Callable[[PhoneNumber], ChannelId | None] = lambda _number: None

    def channel(self, number: PhoneNumber) -> ChannelId:
        return self.channel_for_number(number) or self.default_channel

    def owns(self, number: PhoneNumber) -> bool:
        return number in self.numbers


@dataclass(frozen=True, slots=True)
class InboundResult:
    duplicate: bool
    case_ids: tuple[int, ...] = ()


async def accept_inbound(repo: Repository, sms: InboundSms, *, inbox: Inbox) -> InboundResult:
    """Record an inbound text in every open case of its number, opening one if there is none."""
    await repo.lock_conversation(sms.sender, sms.recipient)
    message_id = await repo.insert_inbound(sms)
    if message_id is None:
        log.info("inbound %s already stored; ignoring the repeat", sms.provider_message_id)
        return InboundResult(duplicate=True)
    if not inbox.owns(sms.recipient):
        log.warning("inbound text to %s, which is not in VONAGE_NUMBERS", mask(sms.recipient))
    cases = list(await repo.open_cases(sms.sender, sms.recipient))
    if not cases:
        cases = [await _open_case(repo, sms.sender, sms.recipient, inbox=inbox)]
    for case in cases:
        await repo.link(case.id, message_id)
        await repo.touch_case(case, at=sms.received_at, unread_delta=1)
        await repo.enqueue(
            POST_INBOUND, queue=slack_queue(case.id), case_id=case.id, message_id=message_id
        )
    return InboundResult(duplicate=False, case_ids=tuple(case.id for case in cases))


async def _open_case(
    repo: Repository, contact_number: PhoneNumber, our_number: PhoneNumber, *, inbox: Inbox
) -> Case:
    contact = await repo.contact_for_number(contact_number)
    previous = await repo.last_case(contact_number, our_number)
    case = await repo.create_case(
        contact_id=contact.id,
        contact_number=contact_number,
        our_number=our_number,
        channel=inbox.channel(our_number),
        previous_case_id=previous.id if previous else None,
    )
    await repo.enqueue(POST_HEADER, queue=slack_queue(case.id), case_id=case.id)
    return case


@dataclass(frozen=True, slots=True)
class ReplyResult:
    accepted: bool
    reason: str = ""


async def accept_reply(repo: Repository, reply: AgentReply) -> ReplyResult:
    """Record a staff message in a case thread and queue it for sending as SMS."""
    case = await repo.case_by_thread(reply.channel, reply.thread_ts)
    if case is None:
        return ReplyResult(accepted=False, reason="not a case thread")
    await repo.lock_conversation(case.contact_number, case.our_number)
    message_id = await repo.insert_reply(reply, case)
    if message_id is None:
        return ReplyResult(accepted=False, reason="already taken")
    await repo.link(case.id, message_id, slack_ts=reply.ts)
    await repo.touch_case(case, at=utcnow())
    if reply.has_files and not reply.text.strip():
        await repo.refuse(message_id, texts.FILES_NOT_SENT)
        await repo.enqueue(
            TELL_USER,
            queue=slack_queue(case.id),
            channel=reply.channel,
            user=reply.user,
            text=texts.FILES_NOT_SENT,
            thread_ts=reply.thread_ts,
        )
        return ReplyResult(accepted=False, reason="files only")
    await repo.enqueue(
        SEND_REPLY,
        queue=sms_queue(case.our_number, case.contact_number),
        message_id=message_id,
        case_id=case.id,
    )
    return ReplyResult(accepted=True)


# A reaction on the relayed reply for each carrier state worth showing.
STATUS_REACTIONS = {
    MessageStatus.DELIVERED: "white_check_mark",
    MessageStatus.FAILED: "x",
    MessageStatus.REJECTED: "no_entry_sign",
    MessageStatus.EXPIRED: "hourglass",
}
_FINAL = {MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED}


async def accept_receipt(repo: Repository, receipt: DeliveryReceipt) -> None:
    """Record the carrier's word on a sent text and show a change of state in its thread."""
    message = await repo.update_part_status(receipt)
    if message is None:
        log.info("receipt for unknown message %s ignored", receipt.provider_message_id)
        return
    old, new = message.status, await repo.aggregate_status(message.id)
    if new == old:
        return
    message.status = new
    if new in _FINAL:
        message.error = receipt.error_text or receipt.error_code or new
    for case, ts in await repo.postings(message.id):
        if new in STATUS_REACTIONS:
            await repo.enqueue(
                REACT,
                queue=slack_queue(case.id),
                channel=case.channel,
                ts=ts,
                name=STATUS_REACTIONS[new],
            )
        if new in _FINAL:
            await repo.enqueue(
                THREAD_NOTE,
                queue=slack_queue(case.id),
                case_id=case.id,
                text=texts.SEND_FAILED.format(
                    contact=format_number(message.contact_number), reason=message.error
                ),
            )


async def case_view(
    repo: Repository, case: Case, *, inbox: Inbox, previous_case_link: str | None = None
) -> CaseView:
    name, label = await repo.number_label(case.contact_number)
    number = format_number(case.contact_number)
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
    )


def format_number(number: str) -> str:
    """'+447700900123' → '+44 7700 900123'; anything unparseable is shown as given."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask(number: str) -> str:
    """Phone numbers in logs keep only their last four digits."""
    return "*" * max(0, len(number) - 4) + number[-4:]
