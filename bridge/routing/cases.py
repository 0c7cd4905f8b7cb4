"""A case's life: opening, closing, reopening, assigning, reading, moving a text out, and
staff starting a conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from bridge import texts
from bridge.domain.numbers import format_number, typed_number
from bridge.domain.records import CaseRecord
from bridge.domain.rules import Inbox
from bridge.domain.values import CaseStatus, Direction, PhoneNumber, UserId
from bridge.domain.work import NotifyAssignee, PostHeader, PostMessage, sms_send
from bridge.errors import InvalidInput
from bridge.routing.ports import Unit
from bridge.routing.threads import note, refresh_header


class CaseActionRefused(Exception):
    """The action cannot be done; the message says why, for the person who tried."""


@dataclass(frozen=True, slots=True)
class CaseChange:
    case_id: int
    message: str
    message_id: int | None = None  # the text it made, if it made one


def parse_ref(text: str) -> int:
    """'#12' or '12' → 12; anything else is refused with the expected form."""
    match = re.fullmatch(r"\s*#?(\d{1,9})\s*", text)
    if not match:
        raise CaseActionRefused(texts.BAD_CASE_REF.format(given=text.strip()[:40] or "nothing"))
    return int(match.group(1))


async def existing_case(unit: Unit, case_id: int) -> CaseRecord:
    case = await unit.cases.get(case_id)
    if case is None:
        raise CaseActionRefused(texts.UNKNOWN_CASE.format(ref=case_id))
    return case


async def open_case(
    unit: Unit,
    contact_number: PhoneNumber,
    our_number: PhoneNumber,
    *,
    inbox: Inbox,
    now: datetime,
    previous_case_id: int | None = None,
    contact_id: int | None = None,
) -> CaseRecord:
    """A new open case, linked to the number's last one; its header is the outbox's work."""
    if previous_case_id is None:
        previous = await unit.cases.last_for(contact_number, our_number)
        previous_case_id = previous.id if previous else None
    case = await unit.cases.open(
        contact_id=contact_id or await unit.contacts.holder(contact_number),
        contact_number=contact_number,
        our_number=our_number,
        channel=inbox.channel(our_number),
        previous_case_id=previous_case_id,
        at=now,
    )
    await unit.jobs.add(PostHeader(case.id))
    return case


async def read_case(unit: Unit, case: CaseRecord, user: str, *, at: datetime) -> None:
    """`user` has read the case: its header's unread count (texts nobody read) clears."""
    await unit.reads.mark_read(case.id, user, at=at)
    if case.unread:
        await unit.cases.clear_unread(case.id)
        await refresh_header(unit, case.id)


async def close_case(unit: Unit, case_id: int, *, by: UserId, now: datetime) -> CaseChange:
    case = await existing_case(unit, case_id)
    if case.status == CaseStatus.CLOSED:
        raise CaseActionRefused(texts.ALREADY_CLOSED.format(ref=case.id))
    await unit.cases.close(case.id, at=now)
    await note(unit, case.id, texts.CLOSED_NOTE.format(user=by))
    await refresh_header(unit, case.id)
    return CaseChange(case.id, texts.CLOSED_DONE.format(ref=case.id))


async def reopen_case(unit: Unit, case_id: int, *, by: UserId) -> CaseChange:
    case = await existing_case(unit, case_id)
    if case.status == CaseStatus.OPEN:
        raise CaseActionRefused(texts.ALREADY_OPEN.format(ref=case.id))
    await unit.cases.reopen(case.id)
    await note(unit, case.id, texts.REOPENED_NOTE.format(user=by))
    await refresh_header(unit, case.id)
    return CaseChange(case.id, texts.REOPENED_DONE.format(ref=case.id))


async def assign_case(unit: Unit, case_id: int, *, to: UserId | None, by: UserId) -> CaseChange:
    """Assign to someone (or to nobody); the new assignee gets a direct message."""
    case = await existing_case(unit, case_id)
    who = f"<@{to}>" if to else "nobody"
    if case.assignee == to:
        return CaseChange(case.id, texts.ALREADY_ASSIGNED.format(ref=case.id, who=who))
    await unit.cases.assign(case.id, to)
    if to is None:
        await note(unit, case.id, texts.UNASSIGNED_NOTE.format(user=by))
    else:
        await note(unit, case.id, texts.ASSIGNED_NOTE.format(user=by, assignee=to))
        if to != by:
            await unit.jobs.add(NotifyAssignee(user=to, case_id=case.id, by=by))
    await refresh_header(unit, case.id)
    return CaseChange(case.id, texts.ASSIGNED_DONE.format(ref=case.id, who=who))


async def mark_case_read(unit: Unit, case_id: int, *, by: UserId, at: datetime) -> CaseChange:
    case = await existing_case(unit, case_id)
    await read_case(unit, case, by, at=at)
    return CaseChange(case.id, texts.MARKED_READ.format(ref=case.id))


async def movable_message(unit: Unit, *, channel: str, ts: str) -> tuple[int, int]:
    """(case id, message id) of a contact's text shown at (channel, ts), or refused."""
    found = await unit.messages.posting_at(channel, ts)
    if found is None:
        raise CaseActionRefused(texts.MOVE_NOT_A_CASE_MESSAGE)
    case, message = found
    if message.direction != Direction.INBOUND:
        raise CaseActionRefused(texts.MOVE_ONLY_INBOUND)
    return case.id, message.id


async def move_message(
    unit: Unit,
    *,
    case_id: int,
    message_id: int,
    comment: str,
    by: UserId,
    inbox: Inbox,
    now: datetime,
) -> CaseChange:
    """Open a new case holding a text of another (with the texts shown in its post), with
    an optional comment as a note."""
    old = await existing_case(unit, case_id)
    message = await unit.messages.get(message_id)
    if message is None or message.direction != Direction.INBOUND:
        raise CaseActionRefused(texts.MOVE_ONLY_INBOUND)
    await unit.lock_conversation(old.contact_number, old.our_number)
    new = await open_case(
        unit, old.contact_number, old.our_number, inbox=inbox, now=now, previous_case_id=old.id
    )
    # Texts shown in one post with this one move with it: the post is what staff chose.
    shown_in = {case.id: ts for case, ts in await unit.messages.postings(message_id)}.get(old.id)
    together = await unit.messages.shown_at(old.id, shown_in) if shown_in else [message]
    for moving in together:
        if moving.direction == Direction.INBOUND:
            await unit.messages.link(new.id, moving.id)
            await unit.jobs.add(PostMessage(new.id, moving.id))
    if comment.strip():
        await unit.messages.add_note(new, comment.strip(), author=by, at=now)
        await note(unit, new.id, texts.MOVE_COMMENT.format(user=by, comment=comment.strip()))
    await note(unit, old.id, texts.MOVED_NOTE.format(user=by, ref=new.id))
    return CaseChange(new.id, texts.MOVED_DONE.format(ref=new.id))


# A number as people type it: digits with +, spaces, dots, dashes and parentheses.
_LEADING_NUMBER = re.compile(r"\s*(\+?[\d(][\d ().-]{4,}\d)\s*(.*)", re.S)
# `from:+14155550100` before the recipient picks which of our numbers sends.
_SENDER = re.compile(r"\s*from:(\S+)\s*(.*)", re.S | re.I)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a new text goes to, the text, and a doubt about the number to tell the sender."""

    number: PhoneNumber
    text: str
    doubt: str = ""


def split_sender(
    words: str, *, inbox: Inbox, default_region: str | None
) -> tuple[PhoneNumber, str]:
    """(our number that sends, the rest): `from:N` names one, else the first of ours."""
    match = _SENDER.fullmatch(words)
    if match is None:
        return inbox.numbers[0], words
    try:
        sender = typed_number(match.group(1), default_region=default_region).number
    except InvalidInput as refused:
        raise CaseActionRefused(refused.reason) from None
    if not inbox.owns(sender):
        ours = ", ".join(format_number(n) for n in inbox.numbers)
        raise CaseActionRefused(texts.NOT_OUR_NUMBER.format(number=sender) + f" Ours: {ours}.")
    return sender, match.group(2)


async def resolve_recipient(unit: Unit, words: str, *, default_region: str | None) -> Recipient:
    """`<number or contact name> [text]` → who and what.

    A typed number is taken when it is possible for its country, or when a contact holds
    it (a short code that texted in); one the phone-number library does not know to be in
    use is taken with a doubt for its sender to read.
    """
    words = words.strip()
    if not words:
        raise CaseActionRefused(texts.NEW_USAGE)
    match = _LEADING_NUMBER.fullmatch(words)
    if match:
        written, text = match.group(1), match.group(2).strip()
        digits = re.sub(r"\D", "", written)
        known = await unit.contacts.known([f"+{digits}", digits])
        if known is not None:
            return Recipient(PhoneNumber(known), text)
        try:
            typed = typed_number(written, default_region=default_region)
        except InvalidInput as refused:
            raise CaseActionRefused(refused.reason) from None
        if not typed.valid:
            return Recipient(typed.number, text, texts.NUMBER_DOUBT.format(reason=typed.doubt))
        return Recipient(typed.number, text)
    parts = words.split()
    # The longest run of leading words that is some contact's name.
    for count in range(len(parts), 0, -1):
        numbers = await unit.contacts.named(" ".join(parts[:count]))
        if len(numbers) > 1:
            raise CaseActionRefused(texts.NAME_AMBIGUOUS.format(name=" ".join(parts[:count])))
        if numbers:
            return Recipient(PhoneNumber(numbers[0]), " ".join(parts[count:]))
    raise CaseActionRefused(texts.NO_SUCH_CONTACT.format(words=words[:80]))


async def start_conversation(
    unit: Unit,
    *,
    to: PhoneNumber,
    sender: PhoneNumber,
    text: str,
    by: UserId,
    inbox: Inbox,
    now: datetime,
    send_at: datetime | None = None,
) -> CaseChange:
    """Staff text a number first: its open case (or a new one) gets the text, then sends it
    (at `send_at`, when given)."""
    if not inbox.owns(sender):
        raise CaseActionRefused(texts.NOT_OUR_NUMBER.format(number=sender))
    if not text.strip():
        raise CaseActionRefused(texts.NEW_USAGE)
    await unit.lock_conversation(to, sender)
    open_cases = await unit.cases.open_for(to, sender)
    case = open_cases[-1] if open_cases else await open_case(unit, to, sender, inbox=inbox, now=now)
    await unit.cases.staff_wrote(case.id, at=now)
    await unit.cases.touch(case.id, at=now)
    message_id = await unit.messages.add_started(case, text=text, author=by, at=now)
    await unit.messages.link(case.id, message_id)
    await unit.jobs.add(PostMessage(case.id, message_id))
    send = sms_send(message_id, our_number=sender, contact_number=to, case_id=case.id)
    if send_at is None:
        await unit.jobs.add(send)
    else:
        # A queue of its own: a text waiting for its time holds no other text back.
        await unit.jobs.add(replace(send, lane=f"{send.queue}:at:{message_id}"), run_after=send_at)
    return CaseChange(case.id, texts.STARTED_DONE.format(ref=case.id), message_id)
