"""A staff member writes in a case thread: what becomes an SMS, what stays a note, what waits.

The text goes out from the outbox (bridge/jobs/sms_sends.py), rendered and checked there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge import texts
from bridge.domain.media import SLACK_SOURCE, InboundMedia
from bridge.domain.records import CaseRecord
from bridge.domain.rules import ChatRules
from bridge.domain.values import AgentReply, CaseStatus, MessageStatus, Offer, UserId
from bridge.domain.work import React, slack_queue
from bridge.routing.cases import CaseActionRefused, CaseChange, read_case, reopen_case
from bridge.routing.email import reply_work
from bridge.routing.ports import Unit
from bridge.routing.threads import refresh_header_soon, tell

# What a person may do from a word they were told (the button's action).
REOPEN_AND_SEND = "reopen_and_send"
# Staff messages that did not go out, and may not be recalled either.
_NEVER_SENT = (
    MessageStatus.INTERNAL,
    MessageStatus.NOT_SENT,
    MessageStatus.HELD,
    MessageStatus.FAILED,
)


@dataclass(frozen=True, slots=True)
class ReplyResult:
    accepted: bool
    reason: str = ""


async def accept_reply(
    unit: Unit, reply: AgentReply, *, rules: ChatRules, now: datetime
) -> ReplyResult:
    """Record a staff message in a case thread and queue it for sending as SMS.

    Notes (the notes prefix) stay in Slack, recorded in the log; the files a message shares
    go with it (the send fetches them from Slack); a reply in a closed case is held
    until its author reopens the case.
    """
    case = await unit.cases.by_thread(reply.channel, reply.thread_ts)
    if case is None:
        return ReplyResult(accepted=False, reason="not a case thread")
    await unit.lock_conversation(case.contact_number, case.our_number)
    message_id = await unit.messages.add_reply(reply, case, at=now)
    if message_id is None:
        return ReplyResult(accepted=False, reason="already taken")
    await unit.messages.link(case.id, message_id, slack_ts=reply.ts)
    await unit.cases.touch(case.id, at=now)
    await unit.cases.staff_wrote(case.id, at=now)
    await read_case(unit, case, reply.user, at=now)  # replying reads the case
    if rules.is_note(reply.text):
        await unit.messages.make_note(message_id)
        await unit.jobs.add(
            React(channel=reply.channel, ts=reply.ts, name="lock", lane=slack_queue(case.id))
        )
        return ReplyResult(accepted=False, reason="staff note")
    for file_id in reply.file_ids:
        kind = "file"  # until its bytes say what it is
        await unit.media.announce(message_id, InboundMedia(kind, SLACK_SOURCE + file_id))
    if reply.has_files and not reply.file_ids and not reply.text.strip():
        await unit.messages.refuse(message_id, texts.FILES_NOT_SENT)
        await tell(unit, case, reply.user, texts.FILES_NOT_SENT)
        return ReplyResult(accepted=False, reason="files only")
    if case.status == CaseStatus.CLOSED:
        await unit.messages.refuse(message_id, texts.CLOSED_NOT_SENT, status=MessageStatus.HELD)
        offer = Offer(REOPEN_AND_SEND, message_id)
        await tell(unit, case, reply.user, texts.CLOSED_NOT_SENT, offer=offer)
        return ReplyResult(accepted=False, reason="case closed")
    if not case.unread:  # else reading it redrew the header already
        await refresh_header_soon(unit, case.id, now=now)  # its last activity is now
    await unit.jobs.add(await reply_work(unit, case, message_id))
    await _count_reply(unit, case, reply.user, rules=rules, now=now)
    return ReplyResult(accepted=True)


async def _count_reply(
    unit: Unit, case: CaseRecord, user: str, *, rules: ChatRules, now: datetime
) -> None:
    """The message counter: past the day's threshold, each reply earns its author a warning."""
    if rules.counter_threshold is None:
        return
    midnight = rules.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    sent = await unit.messages.replies_since(user, midnight)
    if sent >= rules.counter_threshold:
        warning = texts.COUNTER_WARNING.format(count=sent, limit=rules.counter_threshold)
        await tell(unit, case, user, warning)


async def reopen_and_send(unit: Unit, message_id: int, *, by: UserId) -> CaseChange:
    """Send a reply held back because its case was closed, reopening the case first."""
    message = await unit.messages.get(message_id)
    if message is None or message.status != MessageStatus.HELD:
        raise CaseActionRefused(texts.NOT_HELD)
    [case, *_] = await unit.cases.of_message(message_id)
    await unit.lock_conversation(case.contact_number, case.our_number)
    if case.status == CaseStatus.CLOSED:
        await reopen_case(unit, case.id, by=by)
    await unit.messages.queue_again(message_id)
    await unit.jobs.add(await reply_work(unit, case, message_id))
    return CaseChange(case.id, texts.REOPENED_AND_SENT.format(ref=case.id))


async def accept_edit(unit: Unit, *, channel: str, ts: str, user: str) -> bool:
    """A staff message was edited or deleted in Slack; tell its author if it already went."""
    message = await unit.messages.from_slack(channel, ts)
    if message is None or message.status in _NEVER_SENT:
        return False
    cases = await unit.cases.of_message(message.id)
    if not cases:
        return False
    await tell(unit, cases[0], user, texts.CANNOT_RECALL)
    return True
