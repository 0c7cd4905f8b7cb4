"""A case's life: closing, reopening, assigning, and keeping its header current."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bridge import texts
from bridge.domain.numbers import format_number, typed_number
from bridge.domain.rules import Inbox
from bridge.domain.values import CaseStatus, Direction, MessageStatus, PhoneNumber, UserId
from bridge.errors import InvalidInput
from bridge.routing.conversations import (
    POST_MESSAGE,
    SEND_SMS,
    THREAD_NOTE,
    open_case,
    read_case,
    refresh_header,
    slack_queue,
    sms_queue,
)
from bridge.store.models import Case, utcnow
from bridge.store.repo import Repository

NOTIFY_ASSIGNEE = "slack.notify_assignee"


class CaseActionRefused(Exception):
    """The action cannot be done; the message says why, for the person who tried."""


@dataclass(frozen=True, slots=True)
class CaseChange:
    case_id: int
    message: str


def parse_ref(text: str) -> int:
    """'#12' or '12' → 12; anything else is refused with the expected form."""
    match = re.fullmatch(r"\s*#?(\d{1,9})\s*", text)
    if not match:
        raise CaseActionRefused(texts.BAD_CASE_REF.format(given=text.strip() or "nothing"))
    return int(match.group(1))


async def _case(repo: Repository, case_id: int) -> Case:
    case = await repo.case(case_id)
    if case is None:
        raise CaseActionRefused(texts.UNKNOWN_CASE.format(ref=case_id))
    return case


async def close_case(repo: Repository, case_id: int, *, by: UserId) -> CaseChange:
    case = await _case(repo, case_id)
    if case.status == CaseStatus.CLOSED:
        raise CaseActionRefused(texts.ALREADY_CLOSED.format(ref=case.id))
    case.status, case.closed_at = CaseStatus.CLOSED, utcnow()
    await _note(repo, case, texts.CLOSED_NOTE.format(user=by))
    await refresh_header(repo, case)
    return CaseChange(case.id, texts.CLOSED_DONE.format(ref=case.id))


async def reopen_case(repo: Repository, case_id: int, *, by: UserId) -> CaseChange:
    case = await _case(repo, case_id)
    if case.status == CaseStatus.OPEN:
        raise CaseActionRefused(texts.ALREADY_OPEN.format(ref=case.id))
    case.status, case.closed_at = CaseStatus.OPEN, None
    await _note(repo, case, texts.REOPENED_NOTE.format(user=by))
    await refresh_header(repo, case)
    return CaseChange(case.id, texts.REOPENED_DONE.format(ref=case.id))


async def assign_case(
    repo: Repository, case_id: int, *, to: UserId | None, by: UserId
) -> CaseChange:
    """Assign to someone (or to nobody); the new assignee gets a direct message."""
    case = await _case(repo, case_id)
    if case.assignee == to:
        who = f"<@{to}>" if to else "nobody"
        return CaseChange(case.id, texts.ALREADY_ASSIGNED.format(ref=case.id, who=who))
    case.assignee = to
    if to is None:
        await _note(repo, case, texts.UNASSIGNED_NOTE.format(user=by))
    else:
        await _note(repo, case, texts.ASSIGNED_NOTE.format(user=by, assignee=to))
        if to != by:
            await repo.enqueue(
                NOTIFY_ASSIGNEE, queue=slack_queue(case.id), user=to, case_id=case.id, by=by
            )
    await refresh_header(repo, case)
    who = f"<@{to}>" if to else "nobody"
    return CaseChange(case.id, texts.ASSIGNED_DONE.format(ref=case.id, who=who))


async def mark_case_read(repo: Repository, case_id: int, *, by: UserId, at: datetime) -> CaseChange:
    case = await _case(repo, case_id)
    await read_case(repo, case, by, at=at)
    return CaseChange(case.id, texts.MARKED_READ.format(ref=case.id))


async def movable_message(repo: Repository, *, channel: str, ts: str) -> tuple[int, int]:
    """(case id, message id) of a contact's text shown at (channel, ts), or refused."""
    found = await repo.posting_at(channel, ts)
    if found is None:
        raise CaseActionRefused(texts.MOVE_NOT_A_CASE_MESSAGE)
    case, message = found
    if message.direction != Direction.INBOUND:
        raise CaseActionRefused(texts.MOVE_ONLY_INBOUND)
    return case.id, message.id


async def move_message(
    repo: Repository, *, case_id: int, message_id: int, comment: str, by: UserId, inbox: Inbox
) -> CaseChange:
    """Open a new case holding one text of another, with an optional comment as a note."""
    old = await _case(repo, case_id)
    message = await repo.message(message_id)
    if message is None or message.direction != Direction.INBOUND:
        raise CaseActionRefused(texts.MOVE_ONLY_INBOUND)
    await repo.lock_conversation(old.contact_number, old.our_number)
    new = await open_case(
        repo,
        PhoneNumber(old.contact_number),
        PhoneNumber(old.our_number),
        inbox=inbox,
        previous_case_id=old.id,
    )
    await repo.link(new.id, message_id)
    await repo.enqueue(
        POST_MESSAGE, queue=slack_queue(new.id), case_id=new.id, message_id=message_id
    )
    if comment.strip():
        await repo.record_note(new, comment.strip(), author=by)
        await _note(repo, new, texts.MOVE_COMMENT.format(user=by, comment=comment.strip()))
    await _note(repo, old, texts.MOVED_NOTE.format(user=by, ref=new.id))
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


async def resolve_recipient(
    repo: Repository, words: str, *, default_region: str | None
) -> Recipient:
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
        known = await repo.known_number([f"+{digits}", digits])
        if known is not None:
            return Recipient(PhoneNumber(known), text)
        try:
            typed = typed_number(written, default_region=default_region)
        except InvalidInput as refused:
            raise CaseActionRefused(refused.reason) from None
        if not typed.valid and await repo.known_number([typed.number]) is None:
            return Recipient(typed.number, text, texts.NUMBER_DOUBT.format(reason=typed.doubt))
        return Recipient(typed.number, text)
    parts = words.split()
    # The longest run of leading words that is some contact's name.
    for count in range(len(parts), 0, -1):
        numbers = await repo.numbers_named(" ".join(parts[:count]))
        if len(numbers) > 1:
            raise CaseActionRefused(texts.NAME_AMBIGUOUS.format(name=" ".join(parts[:count])))
        if numbers:
            return Recipient(PhoneNumber(numbers[0]), " ".join(parts[count:]))
    raise CaseActionRefused(texts.NO_SUCH_CONTACT.format(words=words))


async def start_conversation(
    repo: Repository,
    *,
    to: PhoneNumber,
    sender: PhoneNumber,
    text: str,
    by: UserId,
    inbox: Inbox,
    now: datetime,
) -> CaseChange:
    """Staff text a number first: its open case (or a new one) gets the text, then sends it."""
    if not inbox.owns(sender):
        raise CaseActionRefused(texts.NOT_OUR_NUMBER.format(number=sender))
    if not text.strip():
        raise CaseActionRefused(texts.NEW_USAGE)
    await repo.lock_conversation(to, sender)
    open_cases = await repo.open_cases(to, sender)
    if open_cases:
        case = open_cases[-1]
    else:
        previous = await repo.last_case(to, sender)
        case = await open_case(
            repo, to, sender, inbox=inbox, previous_case_id=previous.id if previous else None
        )
    case.last_staff_activity_at = now
    await repo.touch_case(case, at=now)
    message_id = await repo.insert_started(case, text=text, author=by, at=now)
    await repo.link(case.id, message_id)
    await repo.enqueue(
        POST_MESSAGE, queue=slack_queue(case.id), case_id=case.id, message_id=message_id
    )
    await repo.enqueue(
        SEND_SMS, queue=sms_queue(sender, to), message_id=message_id, case_id=case.id
    )
    return CaseChange(case.id, texts.STARTED_DONE.format(ref=case.id))


async def reopen_and_send(repo: Repository, message_id: int, *, by: UserId) -> CaseChange:
    """Send a reply held back because its case was closed, reopening the case first."""
    message = await repo.message(message_id)
    if message is None or message.status != MessageStatus.HELD:
        raise CaseActionRefused(texts.NOT_HELD)
    [case, *_] = await repo.cases_of_message(message_id)
    await repo.lock_conversation(case.contact_number, case.our_number)
    if case.status == CaseStatus.CLOSED:
        await reopen_case(repo, case.id, by=by)
    message.status, message.error = MessageStatus.QUEUED, None
    await repo.enqueue(
        SEND_SMS,
        queue=sms_queue(case.our_number, case.contact_number),
        message_id=message_id,
        case_id=case.id,
    )
    return CaseChange(case.id, texts.REOPENED_AND_SENT.format(ref=case.id))


async def refresh_contact_headers(repo: Repository, contact_number: str) -> None:
    """A contact's name changed: every case of the number shows it."""
    for case in await repo.cases_of_number(contact_number):
        await refresh_header(repo, case)


async def _note(repo: Repository, case: Case, text: str) -> None:
    await repo.enqueue(THREAD_NOTE, queue=slack_queue(case.id), case_id=case.id, text=text)
