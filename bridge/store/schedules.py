"""Forwarding schedules, and the auto-responses each case was given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import ScheduleRecord
from bridge.store.models import AutoReplySent, ForwardingSchedule
from bridge.store.sql import schedule_record


class SqlSchedules:
    """`Schedules` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[ScheduleRecord]:
        rows = await self.session.scalars(
            select(ForwardingSchedule).order_by(
                func.lower(ForwardingSchedule.name), ForwardingSchedule.id
            )
        )
        return [schedule_record(row) for row in rows]

    async def get(self, schedule_id: int) -> ScheduleRecord | None:
        row = await self.session.get(ForwardingSchedule, schedule_id)
        return schedule_record(row) if row is not None else None

    async def count(self) -> int:
        return int(
            await self.session.scalar(select(func.count()).select_from(ForwardingSchedule)) or 0
        )

    async def add(self, *, created_by: str, **fields: Any) -> ScheduleRecord:
        schedule = ForwardingSchedule(created_by=created_by, **fields)
        self.session.add(schedule)
        await self.session.flush()
        return schedule_record(schedule)

    async def change(self, schedule_id: int, **fields: Any) -> ScheduleRecord | None:
        schedule = await self.session.get(ForwardingSchedule, schedule_id)
        if schedule is None:
            return None
        for name, value in fields.items():
            setattr(schedule, name, value)
        await self.session.flush()
        return schedule_record(schedule)

    async def delete(self, schedule_id: int) -> bool:
        result = await self.session.execute(
            delete(ForwardingSchedule).where(ForwardingSchedule.id == schedule_id)
        )
        return bool(result.rowcount)


class SqlAutoReplies:
    """`AutoReplies`: which auto-response each case got in which window."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def given(self, case_id: int, kind: str, window: str) -> bool:
        return await self.session.get(AutoReplySent, (case_id, kind, window)) is not None

    async def record(self, case_id: int, kind: str, window: str, message_id: int) -> None:
        self.session.add(
            AutoReplySent(case_id=case_id, kind=kind, window=window, message_id=message_id)
        )
        await self.session.flush()
