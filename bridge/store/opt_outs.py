"""Numbers that asked one of ours to stop texting them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.store.models import OptOut
from bridge.store.sql import insert


class SqlOptOuts:
    """`OptOuts` over one transaction."""

    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now

    async def opt_out(self, contact_number: str, our_number: str, *, reason: str) -> bool:
        statement = (
            insert(self.session, OptOut)
            .values(
                contact_number=contact_number,
                our_number=our_number,
                reason=reason[:200],
                created_at=self.now(),
            )
            .on_conflict_do_nothing(index_elements=["contact_number", "our_number"])
            .returning(OptOut.contact_number)
        )
        return await self.session.scalar(statement) is not None

    async def opt_in(self, contact_number: str, our_number: str) -> bool:
        result = await self.session.execute(
            delete(OptOut).where(
                OptOut.contact_number == contact_number, OptOut.our_number == our_number
            )
        )
        return bool(result.rowcount)

    async def is_opted_out(self, contact_number: str, our_number: str) -> bool:
        return (await self.session.get(OptOut, (contact_number, our_number))) is not None
