"""Muted cases, staff phones and the calls placed to them, and the key that erased numbers'
opt-outs are hashed with."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.store.models_controls import CaseMute, StaffCall, StaffPhone, StoreKey
from bridge.store.sql import insert

_HASH_KEY = "opt_out_hash"


class SqlMutes:
    """`Mutes` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def is_muted(self, case_id: int) -> bool:
        return await self.session.get(CaseMute, case_id) is not None

    async def mute(self, case_id: int, *, by: str, at: datetime) -> bool:
        statement = (
            insert(self.session, CaseMute)
            .values(case_id=case_id, muted_by=by, muted_at=at)
            .on_conflict_do_nothing(index_elements=["case_id"])
            .returning(CaseMute.case_id)
        )
        return await self.session.scalar(statement) is not None

    async def unmute(self, case_id: int) -> bool:
        result = await self.session.execute(delete(CaseMute).where(CaseMute.case_id == case_id))
        return bool(result.rowcount)


class SqlCalls:
    """`Calls` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def staff_phone(self, user: str) -> str | None:
        row = await self.session.get(StaffPhone, user)
        return row.number if row else None

    async def set_staff_phone(self, user: str, number: str, *, at: datetime) -> None:
        await self.session.merge(StaffPhone(user_id=user, number=number, updated_at=at))

    async def start(self, case_id: int, user: str, *, at: datetime) -> int:
        call = StaffCall(case_id=case_id, user_id=user, started_at=at)
        self.session.add(call)
        await self.session.flush()
        return call.id

    async def get(self, call_id: int) -> tuple[int, str, str | None] | None:
        call = await self.session.get(StaffCall, call_id)
        return (call.case_id, call.user_id, call.call_uuid) if call else None

    async def taken(self, call_id: int, call_uuid: str) -> None:
        call = await self.session.get(StaffCall, call_id)
        if call is not None:
            call.call_uuid = call_uuid

    async def first_word(self, call_uuid: str, status: str) -> int | None:
        call = await self.session.scalar(
            select(StaffCall).where(StaffCall.call_uuid == call_uuid).with_for_update()
        )
        shown = call.shown.split(",") if call and call.shown else []
        if call is None or status in shown:
            return None
        call.shown = ",".join([*shown, status])[:400]
        return call.case_id


class HashKey:
    """The opt-out hash key: ERASURE_KEY when set, else one the store makes once and keeps
    (then anyone holding the database holds the key too)."""

    def __init__(self, configured: bytes | None = None) -> None:
        self._key = configured

    async def get(self, session: AsyncSession, *, create: bool) -> bytes | None:
        """The key; None when the store has none yet and `create` is false (nothing can have
        been hashed with it)."""
        if self._key is not None:
            return self._key
        stored = await session.scalar(select(StoreKey.value).where(StoreKey.name == _HASH_KEY))
        if stored is not None:
            self._key = bytes.fromhex(stored)  # committed by whoever made it: safe to keep
            return self._key
        if not create:
            return None
        await session.execute(
            insert(session, StoreKey)
            .values(name=_HASH_KEY, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        # Not kept in memory: this transaction may still be rolled back (a dry run).
        made = await session.scalar(select(StoreKey.value).where(StoreKey.name == _HASH_KEY))
        return bytes.fromhex(made)
