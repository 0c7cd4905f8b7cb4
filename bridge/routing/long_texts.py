"""Long inbound texts arrive as parts; they wait in the store until the whole text is here."""

from __future__ import annotations

from datetime import datetime, timedelta

from bridge import texts
from bridge.domain.records import PartRecord
from bridge.domain.text import join_parts
from bridge.domain.values import InboundSms, PhoneNumber
from bridge.domain.work import FlushParts
from bridge.routing.ports import Unit


async def add_part(
    unit: Unit, sms: InboundSms, *, give_up_after: timedelta, now: datetime
) -> InboundSms | None:
    """Store one part; the assembled text once every part is in, else None.

    Must run under the conversation's lock, so that two instances receiving the last two
    parts at once assemble the text exactly once.
    """
    assert sms.part is not None
    stored = await unit.parts.add(sms)
    if not stored:
        return None  # this very part (same carrier id) came before
    waiting = await unit.parts.waiting(sms.sender, sms.recipient, sms.part.ref)
    if len(waiting) == 1:
        # The first part to arrive: if the rest never comes, post what we have.
        flush = FlushParts(sender=sms.sender, recipient=sms.recipient, ref=sms.part.ref)
        await unit.jobs.add(flush, run_after=now + give_up_after)
    if len({p.part for p in waiting}) < sms.part.total:
        return None
    return await _assemble(unit, waiting)


async def flush_parts(
    unit: Unit, *, sender: PhoneNumber, recipient: PhoneNumber, ref: str
) -> InboundSms | None:
    """What arrived of a text whose other parts never came, marked as incomplete."""
    waiting = await unit.parts.waiting(sender, recipient, ref)
    return await _assemble(unit, waiting) if waiting else None


async def _assemble(unit: Unit, parts: list[PartRecord]) -> InboundSms:
    by_number = {p.part: p for p in sorted(parts, key=lambda p: p.received_at)}
    total = max(p.total for p in parts)
    missing = [n for n in range(1, total + 1) if n not in by_number]
    text = join_parts(
        [(p.head_unit, p.text, p.tail_unit) for p in (by_number[n] for n in sorted(by_number))]
    )
    if missing:
        text += texts.PARTS_MISSING.format(missing=", ".join(map(str, missing)), total=total)
    await unit.parts.assembled([p.id for p in parts])
    first = by_number[min(by_number)]
    return InboundSms(
        provider_message_id=f"concat-{first.provider_message_id}",
        sender=first.contact_number,
        recipient=first.our_number,
        text=text,
        received_at=min(p.received_at for p in parts),
    )
