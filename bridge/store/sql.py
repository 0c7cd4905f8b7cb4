"""What every part of the store shares: inserts for both backends, locks, rows as records."""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import CaseRecord, MessageRecord, PartRecord, ScheduleRecord
from bridge.domain.values import (
    CaseStatus,
    ChannelId,
    Direction,
    MessageStatus,
    PhoneNumber,
    SlackTs,
    UserId,
)
from bridge.store.models import Case, ForwardingSchedule, InboundPart, Message


def insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT, on either backend."""
    dialect = session.bind.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def lock(session: AsyncSession, key: str) -> None:
    """A lock on `key` held until the transaction ends, shared by every instance.

    SQLite needs nothing: every write transaction starts with BEGIN IMMEDIATE.
    """
    if session.bind.dialect.name == "postgresql":
        number = zlib.crc32(key.encode()) - 2**31
        await session.execute(select(func.pg_advisory_xact_lock(number)))


def case_record(row: Case) -> CaseRecord:
    return CaseRecord(
        id=row.id,
        contact_id=row.contact_id,
        contact_number=PhoneNumber(row.contact_number),
        our_number=PhoneNumber(row.our_number),
        status=CaseStatus(row.status),
        channel=ChannelId(row.channel),
        thread_ts=SlackTs(row.thread_ts) if row.thread_ts else None,
        previous_case_id=row.previous_case_id,
        assignee=UserId(row.assignee) if row.assignee else None,
        unread=row.unread,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        last_activity_at=row.last_activity_at,
        last_staff_activity_at=row.last_staff_activity_at,
    )


def message_record(row: Message) -> MessageRecord:
    return MessageRecord(
        id=row.id,
        direction=Direction(row.direction),
        contact_number=PhoneNumber(row.contact_number),
        our_number=PhoneNumber(row.our_number),
        text=row.text,
        source_text=row.source_text,
        author=UserId(row.author) if row.author else None,
        status=MessageStatus(row.status),
        error=row.error,
        segments=row.segments,
        encoding=row.encoding,
        provider_message_id=row.provider_message_id,
        origin_channel=ChannelId(row.origin_channel) if row.origin_channel else None,
        origin_ts=SlackTs(row.origin_ts) if row.origin_ts else None,
        forwarded_from_id=row.forwarded_from_id,
        send_ref=row.send_ref,
        send_started_at=row.send_started_at,
        created_at=row.created_at,
    )


def part_record(row: InboundPart) -> PartRecord:
    return PartRecord(
        id=row.id,
        contact_number=PhoneNumber(row.contact_number),
        our_number=PhoneNumber(row.our_number),
        part=row.part,
        total=row.total,
        text=row.text,
        head_unit=row.head_unit,
        tail_unit=row.tail_unit,
        provider_message_id=row.provider_message_id,
        received_at=row.received_at,
    )


def schedule_record(row: ForwardingSchedule) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        name=row.name,
        user_ids=list(row.user_ids or []),
        phone_numbers=list(row.phone_numbers or []),
        days=list(row.days),
        start_time=row.start_time,
        end_time=row.end_time,
        time_zone=row.time_zone,
        created_by=row.created_by,
    )
