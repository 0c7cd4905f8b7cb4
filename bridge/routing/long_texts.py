"""Long inbound texts arrive as parts; they wait in the store until the whole text is here."""

from __future__ import annotations

from datetime import timedelta

from bridge import texts
from bridge.domain.text import join_parts
from bridge.domain.values import InboundSms, PhoneNumber
from bridge.store.models import InboundPart, utcnow
from bridge.store.repo import Repository

FLUSH_PARTS = "sms.flush_parts"


async def add_part(
    repo: Repository, sms: InboundSms, *, give_up_after: timedelta
) -> InboundSms | None:
    """Store one part; the assembled text once every part is in, else None.

    Must run under the conversation's lock, so that two instances receiving the last two
    parts at once assemble the text exactly once.
    """
    assert sms.part is not None
    stored = await repo.insert_part(sms)
    if not stored:
        return None  # this very part (same carrier id) came before
    waiting = await repo.waiting_parts(sms.sender, sms.recipient, sms.part.ref)
    if len(waiting) == 1:
        # The first part to arrive: if the rest never comes, post what we have.
        await repo.enqueue(
            FLUSH_PARTS,
            queue=f"parts:{sms.recipient}:{sms.sender}:{sms.part.ref}",
            run_after=utcnow() + give_up_after,
            sender=sms.sender,
            recipient=sms.recipient,
            ref=sms.part.ref,
        )
    if len({p.part for p in waiting}) < sms.part.total:
        return None
    return await _assemble(repo, waiting)


async def flush_parts(
    repo: Repository, *, sender: PhoneNumber, recipient: PhoneNumber, ref: str
) -> InboundSms | None:
    """What arrived of a text whose other parts never came, marked as incomplete."""
    waiting = await repo.waiting_parts(sender, recipient, ref)
    return await _assemble(repo, waiting) if waiting else None


async def _assemble(repo: Repository, parts: list[InboundPart]) -> InboundSms:
    by_number = {p.part: p for p in sorted(parts, key=lambda p: p.received_at)}
    total = max(p.total for p in parts)
    missing = [n for n in range(1, total + 1) if n not in by_number]
    text = join_parts(
        [(p.head_unit, p.text, p.tail_unit) for p in (by_number[n] for n in sorted(by_number))]
    )
    if missing:
        text += texts.PARTS_MISSING.format(missing=", ".join(map(str, missing)), total=total)
    await repo.mark_parts_assembled([p.id for p in parts])
    first = by_number[min(by_number)]
    return InboundSms(
        provider_message_id=f"concat-{first.provider_message_id}",
        sender=PhoneNumber(first.contact_number),
        recipient=PhoneNumber(first.our_number),
        text=text,
        received_at=min(p.received_at for p in parts),
    )
