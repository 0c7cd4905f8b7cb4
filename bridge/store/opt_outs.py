"""Numbers that asked one of ours to stop texting them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.privacy import number_hash
from bridge.store.controls import HashKey
from bridge.store.models import OptOut
from bridge.store.models_controls import ErasedOptOut
from bridge.store.sql import insert


class SqlOptOuts:
    """`OptOuts` over one transaction."""

    def __init__(
        self, session: AsyncSession, now: Callable[[], datetime], key: HashKey | None = None
    ) -> None:
        self.session = session
        self.now = now
        self.key = key or HashKey()

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
        erased = await self._erased(contact_number, our_number)
        if erased is not None:
            await self.session.delete(erased)
        return bool(result.rowcount) or erased is not None

    async def is_opted_out(self, contact_number: str, our_number: str) -> bool:
        if (await self.session.get(OptOut, (contact_number, our_number))) is not None:
            return True
        return await self._erased(contact_number, our_number) is not None

    async def _erased(self, contact_number: str, our_number: str) -> ErasedOptOut | None:
        """The opt-out a number left when it was erased, found by its keyed hash."""
        key = await self.key.get(self.session, create=False)
        if key is None:
            return None
        return await self.session.get(ErasedOptOut, (number_hash(key, contact_number), our_number))
