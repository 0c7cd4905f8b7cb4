"""Broadcasts: who gets one (contacts by a property, listed numbers, or both), what each
gets, and handing their texts to the outbox within the carrier's budget.

A broadcast is stored with its recipients at once; their texts are made a few at a time
(`BroadcastRules.release_batch`), each in the same transaction as its send, so a restart
or another instance carries on where it stopped and nobody is texted twice. The outbox
never holds more than a moment of the budget in broadcast texts: a staff reply queued
behind them goes out within a second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bridge import texts
from bridge.domain.broadcasts import (
    BroadcastRules,
    BroadcastStatus,
    next_sending_moment,
    with_opt_out_line,
)
from bridge.domain.numbers import format_number
from bridge.domain.records import CaseRecord
from bridge.domain.rules import ChatRules, Inbox
from bridge.domain.segments import measure, normalize_typography
from bridge.domain.values import PhoneNumber
from bridge.domain.work import DrawBroadcast, PaceBroadcast, PostMessage, sms_send
from bridge.routing.ports import Unit
from bridge.routing.threads import note

# Recipients looked at in one step, even when most of them must wait for their hours.
_MOST_LOOKED_AT = 500
_TAG = re.compile(r"([^=\s]+)=(\S+)")


class BroadcastRefused(Exception):
    """The broadcast cannot be sent as given: `reason` for the person, on `field`."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def parse_tag(value: str) -> tuple[str, str]:
    """`tag=volunteers` → ("tag", "volunteers")."""
    match = _TAG.fullmatch(value.strip())
    if match is None:
        raise BroadcastRefused("audience", texts.BROADCAST_NO_AUDIENCE)
    return match.group(1), match.group(2)


def parse_start(given: str, *, time_zone: str) -> datetime:
    """`2026-12-02 09:00` (in `time_zone`) or an ISO 8601 time with its offset, as UTC."""
    try:
        moment = datetime.fromisoformat(given.strip())
    except ValueError:
        raise BroadcastRefused(
            "at", texts.BROADCAST_BAD_TIME.format(given=given.strip()[:40], zone=time_zone)
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BroadcastPlan:
    """A broadcast checked and ready to store: who, what, from which number, from when."""

    author: str | None
    our_number: PhoneNumber
    text: str
    start_at: datetime
    recipients: list[str]
    skipped: int
    segments: int  # of a first text, with the opt-out line

    def summary(self) -> str:
        return texts.BROADCAST_SUMMARY.format(
            recipients=len(self.recipients),
            skipped=self.skipped,
            segments=self.segments,
            total=len(self.recipients) * self.segments,
        )


async def plan_broadcast(
    unit: Unit,
    *,
    author: str | None,
    our_number: PhoneNumber,
    text: str,
    tag: tuple[str, str] | None,
    numbers: Sequence[str],
    start_at: datetime | None,
    inbox: Inbox,
    chat: ChatRules,
    rules: BroadcastRules,
    now: datetime,
) -> BroadcastPlan:
    """Check a broadcast (numbers already normalised) and count its audience; refused with
    the reason on its field, nothing stored."""
    if not inbox.owns(our_number):
        ours = ", ".join(format_number(n) for n in inbox.numbers)
        raise BroadcastRefused(
            "from", texts.NOT_OUR_NUMBER.format(number=our_number) + f" Ours: {ours}."
        )
    if start_at is not None and start_at < now:
        raise BroadcastRefused("at", texts.BROADCAST_PAST.format(at=f"{start_at:%Y-%m-%d %H:%M}"))
    text = normalize_typography(text.strip()) if chat.normalize_typography else text.strip()
    if not text:
        raise BroadcastRefused("message", texts.BROADCAST_NO_TEXT)
    size = measure(with_opt_out_line(text, rules.opt_out_line))
    if size.segments > chat.max_segments:
        raise BroadcastRefused(
            "message",
            texts.BROADCAST_TOO_LONG.format(
                segments=size.segments, encoding=size.encoding, cap=chat.max_segments
            ),
        )
    if tag is None and not numbers:
        raise BroadcastRefused("audience", texts.BROADCAST_NO_AUDIENCE)
    audience = list(numbers)
    if tag is not None:
        tagged = await unit.broadcasts.numbers_with(*tag)
        if tagged is None:
            raise BroadcastRefused(
                "audience", texts.BROADCAST_UNKNOWN_PROPERTY.format(key=tag[0][:40])
            )
        if not tagged and not numbers:
            raise BroadcastRefused(
                "audience",
                texts.BROADCAST_EMPTY_AUDIENCE.format(key=tag[0][:40], value=tag[1][:40]),
            )
        audience += tagged
    unique = list(dict.fromkeys(audience))
    opted_out = await unit.broadcasts.opted_out_among(our_number, unique)
    recipients = [n for n in unique if n not in opted_out]
    if not recipients:
        raise BroadcastRefused(
            "audience", texts.BROADCAST_ALL_OPTED_OUT.format(number=format_number(our_number))
        )
    return BroadcastPlan(
        author=author,
        our_number=our_number,
        text=text,
        start_at=start_at or now,
        recipients=recipients,
        skipped=len(opted_out),
        segments=size.segments,
    )


async def queue_broadcast(unit: Unit, plan: BroadcastPlan) -> int:
    """Store the broadcast and its recipients; its post and its first step are the outbox's."""
    broadcast_id = await unit.broadcasts.create(
        author=plan.author,
        our_number=plan.our_number,
        text=plan.text,
        segments=plan.segments,
        start_at=plan.start_at,
        numbers=plan.recipients,
        skipped=plan.skipped,
    )
    await unit.jobs.add(DrawBroadcast(broadcast_id))
    await unit.jobs.add(PaceBroadcast(broadcast_id), run_after=plan.start_at)
    return broadcast_id


async def pace_broadcast(
    unit: Unit, broadcast_id: int, *, rules: BroadcastRules, now: datetime
) -> None:
    """One step: top the outbox up to a moment of the budget with texts of recipients whose
    hours allow it now, put off the others, and plan the next step (or finish)."""
    await unit.lock(f"broadcast|{broadcast_id}")  # a Cancel waits for this step, or wins
    broadcast = await unit.broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.status != BroadcastStatus.SENDING:
        return
    room = 2 * rules.release_batch - await unit.broadcasts.in_flight(broadcast_id)
    looked_at = 0
    while room > 0 and looked_at < _MOST_LOOKED_AT:
        due = await unit.broadcasts.due(broadcast_id, most=min(room, _MOST_LOOKED_AT))
        if not due:
            break
        looked_at += len(due)
        for recipient in due:
            moment = next_sending_moment(
                recipient.contact_number, now, hours=rules.hours, fallback_zone=rules.fallback_zone
            )
            if moment > now:
                await unit.broadcasts.defer(recipient.recipient_id, moment)
                continue
            text = broadcast.text
            if recipient.first_text:
                text = with_opt_out_line(text, rules.opt_out_line)
            size = measure(text)
            message_id = await unit.broadcasts.release(
                recipient.recipient_id,
                contact_number=recipient.contact_number,
                text=text,
                segments=size.segments,
                encoding=size.encoding,
            )
            await unit.jobs.add(
                sms_send(
                    message_id,
                    our_number=PhoneNumber(broadcast.our_number),
                    contact_number=PhoneNumber(recipient.contact_number),
                )
            )
            room -= 1
    await redraw(unit, broadcast_id, now=now, every=rules.redraw_every)
    remaining, earliest = await unit.broadcasts.next_waiting(broadcast_id)
    if remaining == 0:
        await unit.broadcasts.set_status(broadcast_id, BroadcastStatus.DONE)
        return
    step = PaceBroadcast(broadcast_id)
    if await unit.jobs.pending(step.kind, queue=step.queue):
        return  # a step run again after an interruption: the next one is planned already
    later = now + rules.step
    if room > 0 and earliest is not None and looked_at < _MOST_LOOKED_AT:
        later = max(later, earliest)  # everyone left waits for their hours
    await unit.jobs.add(step, run_after=later)


async def redraw(
    unit: Unit, broadcast_id: int, *, now: datetime, every: timedelta = timedelta(seconds=3)
) -> None:
    """Queue a redraw of the broadcast's post unless one waits; at most once in `every`."""
    await unit.jobs.add_spaced(DrawBroadcast(broadcast_id), every=every, now=now)


async def link_reply_to_broadcast(unit: Unit, case: CaseRecord, *, now: datetime) -> None:
    """A text from a broadcast's recipient opened a case: its thread shows the broadcast's
    text it answers, and where the broadcast is; the broadcast counts the reply."""
    broadcast = await unit.broadcasts.last_to(case.contact_number, case.our_number)
    if broadcast is None:
        return
    message_id = await unit.broadcasts.text_to(broadcast.id, case.contact_number)
    if message_id is not None:
        await unit.messages.link(case.id, message_id)
        await unit.jobs.add(PostMessage(case.id, message_id))
    named = f"broadcast #{broadcast.id}"
    if broadcast.channel and broadcast.ts:
        post = f"https://slack.com/archives/{broadcast.channel}/p{broadcast.ts.replace('.', '')}"
        named = f"<{post}|{named}>"
    await note(unit, case.id, texts.BROADCAST_REPLY_NOTE.format(broadcast=named))
    await redraw(unit, broadcast.id, now=now)


async def cancel_broadcast(unit: Unit, broadcast_id: int, *, by: str, now: datetime) -> str:
    """Nothing more of the broadcast is sent; what it had handed over but not sent is not."""
    broadcast = await unit.broadcasts.get(broadcast_id)
    if broadcast is None:
        raise BroadcastRefused("broadcast", texts.UNKNOWN_CASE.format(ref=broadcast_id))
    if broadcast.status == BroadcastStatus.CANCELLED:
        return texts.BROADCAST_ALREADY_OVER.format(
            ref=f"#{broadcast_id}", state=texts.BROADCAST_STATES[broadcast.status].lower()
        )
    await unit.lock(f"broadcast|{broadcast_id}")
    await unit.broadcasts.set_status(broadcast_id, BroadcastStatus.CANCELLED)
    unsent = await unit.broadcasts.cancel_unsent(broadcast_id, texts.BROADCAST_CANCELLED_REASON)
    await redraw(unit, broadcast_id, now=now)
    return texts.BROADCAST_CANCELLED.format(ref=f"#{broadcast_id}", user=f"<@{by}>", unsent=unsent)
