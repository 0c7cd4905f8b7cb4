"""Auto-responses: to the first text or email of a new case, and to those outside business
hours; and the messages the bridge itself sends in answer, by SMS or by email.

Each is sent at most once per case per window: once for the case's first message, once
for each closed period (named by the moment business hours open again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge.domain.records import CaseRecord
from bridge.domain.rules import ChatRules, Window
from bridge.domain.work import Work
from bridge.routing.ports import Unit

FIRST_TEXT = "first_text"
AFTER_HOURS = "after_hours"


@dataclass(frozen=True, slots=True)
class AutoReply:
    kind: str
    window: str
    text: str


# The job that sends an automated message, given the message's id: an SMS or an email.
SendBy = Callable[[int], Work]


def auto_reply_for(*, opened: bool, rules: ChatRules, now: datetime) -> AutoReply | None:
    """The auto-response a message calls for `now`, before checking it was given already."""
    local = rules.local(now)
    hours = rules.business_hours
    if hours is not None and rules.auto_reply_after_hours and not hours.contains(local):
        # Outside hours this reply stands in for the first-text one.
        opening = next_opening(hours, local)
        return AutoReply(AFTER_HOURS, opening.isoformat(), rules.auto_reply_after_hours)
    if opened and rules.auto_reply_first:
        return AutoReply(FIRST_TEXT, "case", rules.auto_reply_first)
    return None


def next_opening(hours: Window, local: datetime) -> datetime:
    """When business hours next begin after `local` (a moment outside them)."""
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        opening = datetime.combine(day, hours.start, local.tzinfo)
        if day.weekday() in hours.days and opening > local:
            return opening
    raise ValueError("business hours without days")  # ChatSettings never allows it


def hold_until(cases: list[CaseRecord], rules: ChatRules, now: datetime) -> datetime:
    """When an auto-response may go: after staff's quiet period and outside the hold window."""
    moment = now
    for case in cases:
        if case.last_staff_activity_at is not None and rules.quiet_period:
            moment = max(moment, case.last_staff_activity_at + rules.quiet_period)
    if rules.automated_hold is not None:
        moment = rules.automated_hold.next_outside(rules.local(moment))
    return moment


async def auto_respond(
    unit: Unit,
    reply: AutoReply,
    cases: list[CaseRecord],
    *,
    contact_number: str,
    our_number: str,
    send: SendBy,
    rules: ChatRules,
    now: datetime,
) -> None:
    """Give `reply` once, in those of `cases` that have not had it in its window."""
    due = [c for c in cases if not await unit.auto_replies.given(c.id, reply.kind, reply.window)]
    if not due:
        return
    message_id = await queue_automated(
        unit,
        reply.text,
        due,
        contact_number=contact_number,
        our_number=our_number,
        send=send,
        now=now,
        not_before=hold_until(due, rules, now),
    )
    for case in due:
        await unit.auto_replies.record(case.id, reply.kind, reply.window, message_id)


async def queue_automated(
    unit: Unit,
    text: str,
    cases: list[CaseRecord],
    *,
    contact_number: str,
    our_number: str,
    send: SendBy,
    now: datetime,
    not_before: datetime | None = None,
) -> int:
    """Queue a message the bridge itself sends in answer, shown in the cases' threads when it
    goes."""
    message_id = await unit.messages.add_automated(contact_number, our_number, text, at=now)
    for case in cases:
        await unit.messages.link(case.id, message_id)
    await unit.jobs.add(send(message_id), run_after=not_before)
    return message_id
