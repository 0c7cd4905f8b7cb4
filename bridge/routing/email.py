"""A contact's email comes in: which case it joins, who hears of it, what answers it, and
how a staff reply goes back.

The case: the one a `reply+<token>@` address names, else the one holding an email it
answers (In-Reply-To, References), else the open case of the contact holding the sender's
address, else a new case (and contact). As a text does, it reaches the case's assignee and
the forwarding schedules active now (a copy by SMS from one of our numbers), and gets the
first-message and after-hours auto-responses, by email; a muted case's emails reach its
thread alone, and an automated email (an auto-reply, bulk mail, a loop) is never answered.
A staff reply goes by the channel the contact last wrote on, or, until the contact next
writes, the one staff switched to on the case header.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from bridge import texts
from bridge.domain.email import (
    EMAIL_LINE,
    Channel,
    InboundEmail,
    bare_subject,
    case_token_in,
    email_only_number,
    goes_both_ways,
    is_email_only,
    reply_channel,
)
from bridge.domain.records import CaseRecord
from bridge.domain.rules import ChatRules, Inbox
from bridge.domain.values import CaseStatus, PhoneNumber, UserId
from bridge.domain.work import PostMessage, SendEmail, Work, sms_send
from bridge.routing import forwarding
from bridge.routing.auto_replies import auto_reply_for, auto_respond
from bridge.routing.cases import CaseActionRefused, CaseChange, existing_case, open_case
from bridge.routing.controls import unmuted
from bridge.routing.notices import notify_assignee
from bridge.routing.ports import Unit
from bridge.routing.threads import note, refresh_header, refresh_header_for_text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EmailResult:
    duplicate: bool
    case_id: int | None = None


async def accept_email(
    unit: Unit, email: InboundEmail, *, inbox: Inbox, rules: ChatRules, now: datetime
) -> EmailResult:
    """Record a contact's email in its case (opening one when none fits), shown by email."""
    await unit.lock(f"email|{email.sender}")
    if await unit.emails.known(email.message_id):
        log.info("email already stored; ignoring the repeat")
        return EmailResult(duplicate=True)
    case, opened = await _case_for(unit, email, inbox=inbox, now=now)
    await unit.lock_conversation(case.contact_number, case.our_number)
    thread = await unit.emails.thread(case.id)
    subject = bare_subject(email.subject)
    changed = thread is None or subject.lower() != bare_subject(thread.subject).lower()
    message_id = await unit.emails.add_inbound(
        email,
        contact_number=case.contact_number,
        our_number=case.our_number,
        text=shown(email, subject_changed=changed and bool(subject)),
    )
    if message_id is None:
        return EmailResult(duplicate=True)
    if thread is None:
        token = secrets.token_hex(8)
        await unit.emails.start_thread(case.id, token=token, subject=subject, address=email.sender)
    # An auto-reply or a loop is kept, but staff replies still go where the contact wrote.
    rerouted = await unit.emails.wrote_by(
        case.id, Channel.EMAIL, subject=subject or None, address=email.sender
    )
    await unit.messages.link(case.id, message_id)
    await unit.cases.touch(case.id, at=email.received_at, unread=1)
    await unit.jobs.add(PostMessage(case.id, message_id))
    if case.thread_ts is not None:
        await refresh_header_for_text(unit, case.id, rerouted=rerouted, now=now)
    heard = await unmuted(unit, [case])
    if not heard:
        return EmailResult(duplicate=False, case_id=case.id)
    if case.assignee is not None:
        await notify_assignee(unit, case.id, message_id, rules=rules, now=now)
    await forwarding.forward_email(
        unit,
        message_id=message_id,
        email=email,
        cases=heard,
        our_number=_sending_number(case, inbox),
        now=now,
    )
    reply = auto_reply_for(opened=opened, rules=rules, now=now)
    if reply is not None and not email.automated:
        await auto_respond(
            unit,
            reply,
            heard,
            contact_number=case.contact_number,
            our_number=case.our_number,
            send=lambda automated_id: SendEmail(automated_id, case.id),
            rules=rules,
            now=now,
        )
    return EmailResult(duplicate=False, case_id=case.id)


def _sending_number(case: CaseRecord, inbox: Inbox) -> str | None:
    """The number a text about the case goes from: the case's, else our first one."""
    if case.our_number != EMAIL_LINE:
        return case.our_number
    return inbox.numbers[0] if inbox.numbers else None


def shown(email: InboundEmail, *, subject_changed: bool) -> str:
    """What the thread shows of an email: it came by email, its subject when it changed."""
    marker = texts.EMAIL_AUTOMATED_MARK if email.automated else texts.EMAIL_MARK
    head = (
        texts.EMAIL_SUBJECT.format(mark=marker, subject=email.subject)
        if subject_changed
        else marker
    )
    return f"{head}\n{email.text}" if email.text else head


async def _case_for(
    unit: Unit, email: InboundEmail, *, inbox: Inbox, now: datetime
) -> tuple[CaseRecord, bool]:
    """The case the email joins, and whether it was opened for it."""
    token = case_token_in(email.recipients)
    found = await unit.emails.case_of_token(token) if token else None
    if found is None and email.answers:
        found = await unit.emails.case_answered(email.answers)
    if found is not None:
        if found.status == CaseStatus.OPEN:
            return found, False
        # A closed case stays closed: the email opens the next one, linked to it.
        opened = await _open(
            unit,
            found.contact_id,
            found.contact_number,
            found.our_number,
            inbox=inbox,
            now=now,
            previous_case_id=found.id,
        )
        return opened, True
    contact_id = await unit.emails.contact_of(email.sender)
    if contact_id is None:
        contact_id = await unit.emails.add_contact(email.sender, email.sender_name)
    numbers = await unit.emails.numbers_of(contact_id)
    if numbers and inbox.numbers:
        contact_number, our_number = numbers[0], inbox.numbers[0]
    else:
        contact_number, our_number = email_only_number(contact_id), EMAIL_LINE
    open_cases = await unit.cases.open_for(contact_number, our_number)
    if open_cases:
        return open_cases[-1], False
    opened = await _open(unit, contact_id, contact_number, our_number, inbox=inbox, now=now)
    return opened, True


async def _open(
    unit: Unit,
    contact_id: int,
    contact_number: str,
    our_number: str,
    *,
    inbox: Inbox,
    now: datetime,
    previous_case_id: int | None = None,
) -> CaseRecord:
    return await open_case(
        unit,
        PhoneNumber(contact_number),
        PhoneNumber(our_number),
        inbox=inbox,
        now=now,
        previous_case_id=previous_case_id,
        contact_id=contact_id,
    )


async def reply_work(unit: Unit, case: CaseRecord, message_id: int) -> Work:
    """How a staff reply goes: by the channel the contact last wrote on (or staff chose
    since), by email for a contact with no phone."""
    if reply_channel(await unit.emails.thread(case.id), case.contact_number) == Channel.EMAIL:
        return SendEmail(message_id, case.id)
    return sms_send(
        message_id, our_number=case.our_number, contact_number=case.contact_number, case_id=case.id
    )


async def switch_replies(unit: Unit, case_id: int, *, to: Channel, by: UserId) -> CaseChange:
    """Staff replies in the case go by `to` until the contact next writes (the case header's
    Reply by SMS / Reply by email)."""
    case = await existing_case(unit, case_id)
    # Serialized with the contact's messages, which set the channel too.
    await unit.lock_conversation(case.contact_number, case.our_number)
    thread = await unit.emails.thread(case.id)
    if not goes_both_ways(thread, case.contact_number):
        missing = "phone number" if is_email_only(case.contact_number) else "email address"
        raise CaseActionRefused(texts.REPLIES_ONE_WAY.format(ref=case.id, missing=missing))
    channel = texts.REPLY_CHANNEL_NAMES[to]
    if reply_channel(thread, case.contact_number) == to:
        raise CaseActionRefused(texts.REPLIES_ALREADY.format(ref=case.id, channel=channel))
    await unit.emails.reply_by(case.id, to)
    await note(unit, case.id, texts.REPLIES_SWITCHED_NOTE.format(user=by, channel=channel))
    await refresh_header(unit, case.id)
    return CaseChange(case.id, texts.REPLIES_SWITCHED.format(ref=case.id, channel=channel))
