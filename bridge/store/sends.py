"""Sends: the carrier's ids of each text that went out, and the receipts about them.

A receipt and the recording of its send take the same locks (one per carrier id, one per
client-ref), so a receipt either finds its send recorded or is kept until it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import MessageRecord
from bridge.domain.values import DeliveryReceipt, MessageStatus
from bridge.store.models import EarlyReceipt, Message, SentPart
from bridge.store.sql import insert, lock, message_record

_FAILURES = (MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED)


class SqlSends:
    """`Sends` over one transaction."""

    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now

    async def record_sent(self, message_id: int, provider_ids: Sequence[str]) -> None:
        for provider_id in sorted(provider_ids):
            await lock(self.session, f"part|{provider_id}")
        await self.session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                status=MessageStatus.SUBMITTED,
                provider_message_id=provider_ids[0] if provider_ids else None,
                updated_at=self.now(),
            )
        )
        for provider_id in provider_ids:
            self.session.add(
                SentPart(
                    provider_message_id=provider_id,
                    message_id=message_id,
                    status=MessageStatus.SUBMITTED,
                )
            )
        await self.session.flush()

    async def apply_receipt(self, receipt: DeliveryReceipt) -> MessageRecord | None:
        if receipt.client_ref is not None:
            # Before the part's lock, as recording a send from its receipts takes them.
            await self.lock_send(receipt.client_ref)
        await lock(self.session, f"part|{receipt.provider_message_id}")
        part = await self.session.get(SentPart, receipt.provider_message_id)
        if part is None:
            message = await self._recorded_send(receipt.client_ref)
            if message is None:
                return None
            # A part of a send recorded from an earlier receipt (its answer never came back).
            part = SentPart(
                provider_message_id=receipt.provider_message_id,
                message_id=message.id,
                status=receipt.status,
            )
            self.session.add(part)
        part.status, part.error_code = receipt.status, receipt.error_code
        await self.session.flush()
        message = await self.session.get(Message, part.message_id, populate_existing=True)
        return message_record(message) if message is not None else None

    async def _recorded_send(self, client_ref: str | None) -> Message | None:
        """The text whose send with this client-ref is recorded, if any."""
        if client_ref is None:
            return None
        return await self.session.scalar(
            select(Message).where(
                Message.send_ref == client_ref, Message.status != MessageStatus.QUEUED
            )
        )

    async def overall_status(self, message_id: int) -> MessageStatus:
        statuses = {
            MessageStatus(s)
            for s in await self.session.scalars(
                select(SentPart.status).where(SentPart.message_id == message_id)
            )
        }
        for bad in _FAILURES:
            if bad in statuses:
                return bad
        if statuses == {MessageStatus.DELIVERED}:
            return MessageStatus.DELIVERED
        return MessageStatus.SUBMITTED

    async def keep_early(self, receipt: DeliveryReceipt) -> None:
        await self.session.execute(
            insert(self.session, EarlyReceipt)
            .values(
                provider_message_id=receipt.provider_message_id,
                status=receipt.status,
                error_code=receipt.error_code,
                error_text=receipt.error_text,
                recipient_blocked=receipt.recipient_blocked,
                client_ref=receipt.client_ref,
                received_at=self.now(),
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
        )

    async def take_early(self, provider_ids: Sequence[str]) -> list[DeliveryReceipt]:
        rows = list(
            await self.session.scalars(
                select(EarlyReceipt)
                .where(EarlyReceipt.provider_message_id.in_(provider_ids))
                .order_by(EarlyReceipt.received_at)
            )
        )
        await self.session.execute(
            delete(EarlyReceipt).where(EarlyReceipt.provider_message_id.in_(provider_ids))
        )
        return [
            DeliveryReceipt(
                provider_message_id=row.provider_message_id,
                status=MessageStatus(row.status),
                error_code=row.error_code,
                error_text=row.error_text,
                recipient_blocked=row.recipient_blocked,
                client_ref=row.client_ref,
            )
            for row in rows
        ]

    async def early_ids(self, client_ref: str) -> list[str]:
        return list(
            await self.session.scalars(
                select(EarlyReceipt.provider_message_id)
                .where(EarlyReceipt.client_ref == client_ref)
                .order_by(EarlyReceipt.provider_message_id)
            )
        )

    async def lock_send(self, client_ref: str) -> None:
        await lock(self.session, f"send|{client_ref}")
