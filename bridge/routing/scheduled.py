"""Texts staff schedule for later: `/smschat new ... at:2026-12-02 09:00`, or the form's
"Send later". The text waits in the outbox for its time (the recipient's sending hours
apply), so it goes once: at that time, or as soon as the bridge runs again after it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bridge import texts
from bridge.domain.broadcasts import BroadcastRules, next_sending_moment
from bridge.domain.rules import Inbox
from bridge.domain.values import Direction, MessageStatus, Offer, PhoneNumber, UserId
from bridge.routing.cases import CaseActionRefused, CaseChange, existing_case, start_conversation
from bridge.routing.ports import Unit
from bridge.routing.threads import note, tell

# The offer (a button told to the author) that cancels a scheduled text.
CANCEL_SCHEDULED = "cancel_scheduled"


async def schedule_text(
    unit: Unit,
    *,
    to: PhoneNumber,
    sender: PhoneNumber,
    text: str,
    by: UserId,
    at: datetime,
    inbox: Inbox,
    rules: BroadcastRules,
    time_zone: str,
    now: datetime,
) -> CaseChange:
    """The text in the number's case now, its send at `at` (or when the recipient's hours
    next allow); the thread says when, and its author gets a Cancel button."""
    if at <= now:
        raise CaseActionRefused(texts.BROADCAST_PAST.format(at=f"{at:%Y-%m-%d %H:%M}"))
    due = next_sending_moment(to, at, hours=rules.hours, fallback_zone=rules.fallback_zone)
    started = await start_conversation(
        unit, to=to, sender=sender, text=text, by=by, inbox=inbox, now=now, send_at=due
    )
    when = texts.SCHEDULED_WHEN.format(at=local_time(due, time_zone), zone=time_zone)
    await note(unit, started.case_id, texts.SCHEDULED_NOTE.format(user=by, when=when))
    case = await existing_case(unit, started.case_id)
    assert started.message_id is not None
    offer = Offer(CANCEL_SCHEDULED, started.message_id)
    await tell(unit, case, by, texts.SCHEDULED_TELL.format(when=when), offer=offer)
    return CaseChange(case.id, texts.SCHEDULED_DONE.format(ref=case.id, when=when))


def local_time(moment: datetime, time_zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(time_zone)):%Y-%m-%d %H:%M}"


async def cancel_scheduled(unit: Unit, message_id: int, *, by: UserId) -> CaseChange:
    """A scheduled text not sent yet is not sent; its thread says who cancelled it."""
    message = await unit.messages.get(message_id)
    if (
        message is None
        or message.direction != Direction.OUTBOUND
        or message.status != MessageStatus.QUEUED
        or message.send_ref is not None
    ):
        raise CaseActionRefused(texts.SCHEDULED_GONE)
    await unit.messages.refuse(message_id, texts.SCHEDULED_CANCELLED_REASON.format(user=by))
    [case, *_] = await unit.cases.of_message(message_id)
    await note(unit, case.id, texts.SCHEDULED_CANCELLED.format(user=by))
    return CaseChange(case.id, texts.SCHEDULED_CANCELLED.format(user=by))
