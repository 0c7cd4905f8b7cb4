"""Broadcasts and their recipients: who is still to be texted, and how it went for the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.broadcasts import BroadcastCounts, BroadcastRecord, BroadcastStatus, Release
from bridge.domain.values import Direction, MessageStatus
from bridge.store.models import Contact, ContactNumber, Message, OptOut
from bridge.store.models_broadcasts import Broadcast, BroadcastRecipient

# Bound parameters per statement stay well below SQLite's and asyncpg's limits.
_CHUNK = 500
# Texts that count as "from our number" for the opt-out line on a first one.
_SENT_BY_US = (Direction.OUTBOUND, Direction.AUTOMATED, Direction.BROADCAST)
_UNDELIVERED = (MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _record(row: Broadcast) -> BroadcastRecord:
    return BroadcastRecord(
        id=row.id,
        author=row.author,
        our_number=row.our_number,
        text=row.text,
        segments=row.segments,
        status=BroadcastStatus(row.status),
        start_at=row.start_at,
        created_at=row.created_at,
        channel=row.channel,
        ts=row.ts,
    )


class SqlBroadcasts:
    """`Broadcasts` over one transaction."""

    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now

    async def numbers_with(self, key: str, value: str) -> list[str] | None:
        """Numbers of contacts whose property `key` is `value` (any case); None if no
        contact has that property at all."""
        held = Contact.properties[key].as_string()
        if await self.session.scalar(select(Contact.id).where(held.is_not(None)).limit(1)) is None:
            return None
        rows = await self.session.scalars(
            select(ContactNumber.number)
            .join(Contact, Contact.id == ContactNumber.contact_id)
            .where(func.lower(held) == value.strip().lower())
            .order_by(ContactNumber.id)
        )
        return list(rows)

    async def opted_out_among(self, our_number: str, numbers: Sequence[str]) -> set[str]:
        """Those of `numbers` who asked `our_number` to stop texting them."""
        found: set[str] = set()
        for chunk in _chunks(numbers):
            found.update(
                await self.session.scalars(
                    select(OptOut.contact_number).where(
                        OptOut.our_number == our_number, OptOut.contact_number.in_(chunk)
                    )
                )
            )
        return found

    async def create(
        self,
        *,
        author: str | None,
        our_number: str,
        text: str,
        segments: int,
        start_at: datetime,
        numbers: Sequence[str],
        skipped: int,
    ) -> int:
        row = Broadcast(
            author=author,
            our_number=our_number,
            text=text,
            segments=segments,
            status=BroadcastStatus.SENDING,
            skipped=skipped,
            start_at=start_at,
            created_at=self.now(),
        )
        self.session.add(row)
        await self.session.flush()
        for chunk in _chunks(numbers):
            await self.session.execute(
                insert(BroadcastRecipient),
                [{"broadcast_id": row.id, "contact_number": n} for n in chunk],
            )
        return row.id

    async def get(self, broadcast_id: int) -> BroadcastRecord | None:
        row = await self.session.get(Broadcast, broadcast_id, populate_existing=True)
        return _record(row) if row is not None else None

    async def set_status(self, broadcast_id: int, status: BroadcastStatus) -> None:
        await self._set(broadcast_id, status=status)

    async def set_post(self, broadcast_id: int, channel: str, ts: str) -> None:
        await self._set(broadcast_id, channel=channel, ts=ts)

    async def _set(self, broadcast_id: int, **values: Any) -> None:
        await self.session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(**values)
        )

    async def in_flight(self, broadcast_id: int) -> int:
        """Texts handed to the outbox and not yet sent (or refused)."""
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(BroadcastRecipient)
                .join(Message, Message.id == BroadcastRecipient.message_id)
                .where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    Message.status == MessageStatus.QUEUED,
                )
            )
            or 0
        )

    def _waiting(self, broadcast_id: int) -> Any:
        return and_(
            BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.message_id.is_(None)
        )

    async def due(self, broadcast_id: int, *, most: int) -> list[Release]:
        """Up to `most` recipients not texted yet whose wait (if any) is over, in order."""
        rows = (
            await self.session.execute(
                select(BroadcastRecipient.id, BroadcastRecipient.contact_number)
                .where(
                    self._waiting(broadcast_id),
                    or_(
                        BroadcastRecipient.not_before.is_(None),
                        BroadcastRecipient.not_before <= self.now(),
                    ),
                )
                .order_by(BroadcastRecipient.id)
                .limit(most)
            )
        ).all()
        record = await self.get(broadcast_id)
        assert record is not None
        texted = await self._texted_by(record.our_number, [number for _, number in rows])
        return [Release(rid, number, number not in texted) for rid, number in rows]

    async def _texted_by(self, our_number: str, numbers: Sequence[str]) -> set[str]:
        if not numbers:
            return set()
        return set(
            await self.session.scalars(
                select(Message.contact_number)
                .where(
                    Message.our_number == our_number,
                    Message.contact_number.in_(numbers),
                    Message.direction.in_(_SENT_BY_US),
                )
                .distinct()
            )
        )

    async def next_waiting(self, broadcast_id: int) -> tuple[int, datetime | None]:
        """How many recipients are still to be texted, and the earliest end of their waits."""
        count, earliest = (
            await self.session.execute(
                select(func.count(), func.min(BroadcastRecipient.not_before)).where(
                    self._waiting(broadcast_id)
                )
            )
        ).one()
        return int(count or 0), earliest

    async def defer(self, recipient_id: int, until: datetime) -> None:
        await self.session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.id == recipient_id)
            .values(not_before=until)
        )

    async def release(
        self, recipient_id: int, *, contact_number: str, text: str, segments: int, encoding: str
    ) -> int:
        """The recipient's text, in the messaging log and queued; its message id."""
        recipient = await self.session.get(BroadcastRecipient, recipient_id)
        assert recipient is not None and recipient.message_id is None
        broadcast = await self.session.get(Broadcast, recipient.broadcast_id)
        assert broadcast is not None
        now = self.now()
        message = Message(
            direction=Direction.BROADCAST,
            contact_number=contact_number,
            our_number=broadcast.our_number,
            text=text,
            author=broadcast.author,
            status=MessageStatus.QUEUED,
            segments=segments,
            encoding=encoding,
            created_at=now,
            updated_at=now,
        )
        self.session.add(message)
        await self.session.flush()
        recipient.message_id = message.id
        return message.id

    async def cancel_unsent(self, broadcast_id: int, reason: str) -> int:
        """Texts handed over but not yet sent are not sent; how many."""
        unsent = (
            select(BroadcastRecipient.message_id)
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .scalar_subquery()
        )
        result = await self.session.execute(
            update(Message)
            .where(
                Message.id.in_(unsent),
                Message.status == MessageStatus.QUEUED,
                Message.send_ref.is_(None),
            )
            .values(status=MessageStatus.NOT_SENT, error=reason, updated_at=self.now())
        )
        return result.rowcount or 0

    async def counts(self, broadcast_id: int) -> BroadcastCounts:
        row = await self.session.get(Broadcast, broadcast_id, populate_existing=True)
        assert row is not None
        by_status = dict(
            (
                await self.session.execute(
                    select(Message.status, func.count())
                    .select_from(BroadcastRecipient)
                    .join(Message, Message.id == BroadcastRecipient.message_id)
                    .where(BroadcastRecipient.broadcast_id == broadcast_id)
                    .group_by(Message.status)
                )
            ).all()
        )
        recipients = int(
            await self.session.scalar(
                select(func.count()).where(BroadcastRecipient.broadcast_id == broadcast_id)
            )
            or 0
        )
        texted = BroadcastRecipient.broadcast_id == broadcast_id
        replied = await self.session.scalar(
            select(func.count(func.distinct(Message.contact_number)))
            .select_from(BroadcastRecipient)
            .join(Message, Message.contact_number == BroadcastRecipient.contact_number)
            .where(
                texted,
                BroadcastRecipient.message_id.is_not(None),
                Message.our_number == row.our_number,
                Message.direction == Direction.INBOUND,
                # Ids, unlike the carrier's timestamps, grow in the order texts came.
                Message.id > BroadcastRecipient.message_id,
            )
        )
        opted_out = await self.session.scalar(
            select(func.count())
            .select_from(BroadcastRecipient)
            .join(OptOut, OptOut.contact_number == BroadcastRecipient.contact_number)
            .where(
                texted,
                BroadcastRecipient.message_id.is_not(None),
                OptOut.our_number == row.our_number,
                OptOut.created_at >= row.start_at,
            )
        )
        return BroadcastCounts(
            recipients=recipients,
            skipped=row.skipped,
            queued=by_status.get(MessageStatus.QUEUED, 0),
            sent=sum(by_status.get(s, 0) for s in (MessageStatus.SUBMITTED, *_UNDELIVERED))
            + by_status.get(MessageStatus.DELIVERED, 0),
            delivered=by_status.get(MessageStatus.DELIVERED, 0),
            failed=sum(by_status.get(s, 0) for s in _UNDELIVERED),
            not_sent=by_status.get(MessageStatus.NOT_SENT, 0),
            replied=int(replied or 0),
            opted_out=int(opted_out or 0),
        )

    async def last_to(self, contact_number: str, our_number: str) -> BroadcastRecord | None:
        """The newest broadcast that texted `contact_number` from `our_number`."""
        row = await self.session.scalar(
            select(Broadcast)
            .join(BroadcastRecipient, BroadcastRecipient.broadcast_id == Broadcast.id)
            .where(
                BroadcastRecipient.contact_number == contact_number,
                BroadcastRecipient.message_id.is_not(None),
                Broadcast.our_number == our_number,
            )
            .order_by(Broadcast.id.desc())
            .limit(1)
        )
        return _record(row) if row is not None else None

    async def text_to(self, broadcast_id: int, contact_number: str) -> int | None:
        return await self.session.scalar(
            select(BroadcastRecipient.message_id).where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.contact_number == contact_number,
            )
        )
