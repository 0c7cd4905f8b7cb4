"""Parts of long inbound texts, waiting in the store until the whole text is here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import PartRecord
from bridge.domain.text import split_edges
from bridge.domain.values import InboundSms
from bridge.store.models import InboundPart
from bridge.store.sql import insert, part_record


class SqlParts:
    """`Parts` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, sms: InboundSms) -> bool:
        assert sms.part is not None
        head, middle, tail = split_edges(sms.text)
        statement = (
            insert(self.session, InboundPart)
            .values(
                contact_number=sms.sender,
                our_number=sms.recipient,
                concat_ref=sms.part.ref,
                part=sms.part.number,
                total=sms.part.total,
                text=middle,
                head_unit=head,
                tail_unit=tail,
                provider_message_id=sms.provider_message_id,
                received_at=sms.received_at,
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
            .returning(InboundPart.id)
        )
        return await self.session.scalar(statement) is not None

    async def waiting(self, sender: str, recipient: str, ref: str) -> list[PartRecord]:
        rows = await self.session.scalars(
            select(InboundPart).where(
                InboundPart.contact_number == sender,
                InboundPart.our_number == recipient,
                InboundPart.concat_ref == ref,
                InboundPart.assembled.is_(False),
            )
        )
        return [part_record(row) for row in rows]

    async def assembled(self, part_ids: Sequence[int]) -> None:
        await self.session.execute(
            update(InboundPart).where(InboundPart.id.in_(part_ids)).values(assembled=True)
        )
