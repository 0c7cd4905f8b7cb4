"""Reports: usage figures counted in the database, and the messaging log streamed out; and
the chat settings admins saved, with their audit log."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bridge.domain.email import EMAIL_LINE, Channel
from bridge.domain.records import SettingChange, TrafficGroup
from bridge.domain.values import Direction
from bridge.store.models import CaseMessage, ChatSetting, Contact, ContactNumber, Message
from bridge.store.models import SettingChange as SettingChangeRow
from bridge.store.models_broadcasts import BroadcastRecipient
from bridge.store.models_email import EmailMessage
from bridge.store.models_media import MediaFile
from bridge.store.sql import insert


def channel_of_message() -> ColumnElement[str | None]:
    """`email` for a message with an email row (or of an email-only case, whose sends may not
    have begun), `sms` for any other text, none for a staff note; EmailMessage outer-joined."""
    return case(
        (Message.direction == Direction.NOTE, None),
        (
            or_(EmailMessage.message_id.is_not(None), Message.our_number == EMAIL_LINE),
            Channel.EMAIL.value,
        ),
        else_=Channel.SMS.value,
    )


class SqlReports:
    """`Reports` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def traffic(self, *, since: datetime, until: datetime) -> list[TrafficGroup]:
        handed_over = Message.provider_message_id.is_not(None)
        channel = channel_of_message()
        groups = (channel, Message.direction, Message.our_number, Message.author, Message.status)
        rows = await self.session.execute(
            select(
                *groups,
                handed_over,
                func.count(),
                func.coalesce(func.sum(Message.segments), 0),
                func.count(Message.segments),
            )
            .outerjoin(EmailMessage, EmailMessage.message_id == Message.id)
            .where(
                Message.created_at >= since,
                Message.created_at < until,
                Message.direction != Direction.NOTE,
            )
            .group_by(*groups, handed_over)
        )
        return [
            TrafficGroup(
                direction, our, author, status, bool(taken), texts, segments, measured, channel
            )
            for channel, direction, our, author, status, taken, texts, segments, measured in (
                rows.all()
            )
        ]

    async def message_log(
        self, *, since: datetime, until: datetime, batch: int = 500
    ) -> AsyncIterable[Mapping[str, Any]]:
        """The query runs now; its rows then come in batches from a server-side cursor, never
        all in memory. Each row holds the message's columns, `contact_name` and `cases` (its
        case ids joined by ';'), the files it carries (`media_file`, the stored names, and
        `media_type`, what each is, or what kind was announced when it was not kept), its
        `channel` and, for an email, the address at the other end (`contact_email`)."""
        cases = (
            select(self._joined(cast(CaseMessage.case_id, String)))
            .where(CaseMessage.message_id == Message.id)
            .scalar_subquery()
        )
        # A staff message may carry several files: their names and types joined, one row.
        of_message = MediaFile.message_id == Message.id
        media_file = select(self._joined(MediaFile.name)).where(of_message).scalar_subquery()
        media_type = (
            select(self._joined(func.coalesce(MediaFile.content_type, MediaFile.kind)))
            .where(of_message)
            .scalar_subquery()
        )
        broadcast = (
            select(BroadcastRecipient.broadcast_id)
            .where(BroadcastRecipient.message_id == Message.id)
            .scalar_subquery()
        )
        # A contact who only writes by email has no number to be found by: its address finds it.
        holder = aliased(Contact)
        named_by_address = (
            select(holder.name)
            .where(func.lower(holder.email) == EmailMessage.address)
            .order_by(holder.id)
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(
                *Message.__table__.columns,
                func.coalesce(Contact.name, named_by_address).label("contact_name"),
                cases.label("cases"),
                media_file.label("media_file"),
                media_type.label("media_type"),
                broadcast.label("broadcast_id"),
                channel_of_message().label("channel"),
                EmailMessage.address.label("contact_email"),
            )
            .outerjoin(EmailMessage, EmailMessage.message_id == Message.id)
            .outerjoin(ContactNumber, ContactNumber.number == Message.contact_number)
            .outerjoin(Contact, Contact.id == ContactNumber.contact_id)
            .where(Message.created_at >= since, Message.created_at < until)
            .order_by(Message.created_at, Message.id)
            .execution_options(yield_per=batch)
        )
        return (await self.session.stream(query)).mappings()

    def _joined(self, column: Any) -> Any:
        """The values of `column` joined by ';', in each dialect's words."""
        if self.session.bind.dialect.name == "postgresql":
            return func.string_agg(column, ";")
        return func.group_concat(column, ";")


class SqlChatSettings:
    """`ChatSettingsStore` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stored(self) -> dict[str, Any]:
        rows = await self.session.scalars(select(ChatSetting))
        return {row.key: row.value for row in rows}

    async def save(self, key: str, *, old: Any, new: Any, by: str, at: datetime) -> None:
        await self.session.execute(
            insert(self.session, ChatSetting)
            .values(key=key, value=new, updated_by=by, updated_at=at)
            .on_conflict_do_update(
                index_elements=["key"], set_={"value": new, "updated_by": by, "updated_at": at}
            )
        )
        self.session.add(
            SettingChangeRow(key=key, old_value=old, new_value=new, changed_by=by, changed_at=at)
        )

    async def changes(self, limit: int) -> list[SettingChange]:
        rows = await self.session.scalars(
            select(SettingChangeRow)
            .order_by(SettingChangeRow.changed_at.desc(), SettingChangeRow.id.desc())
            .limit(limit)
        )
        return [
            SettingChange(r.key, r.old_value, r.new_value, r.changed_by, r.changed_at) for r in rows
        ]
