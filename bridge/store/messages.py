"""The messaging log: every text in and out and every staff note, and where each shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy import insert as plain_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import CaseRecord, MessageRecord
from bridge.domain.values import AgentReply, Direction, InboundSms, MessageStatus, SlackTs
from bridge.store.cases import unread_links
from bridge.store.models import Case, CaseMessage, CaseRead, Message
from bridge.store.models_media import MediaFile
from bridge.store.sql import case_record, insert, message_record


class SqlMessages:
    """`Messages` over one transaction."""

    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now

    async def _set(self, message_id: int, **values: Any) -> None:
        await self.session.execute(
            update(Message).where(Message.id == message_id).values(updated_at=self.now(), **values)
        )

    async def _add(self, **values: Any) -> int:
        message = Message(updated_at=values["created_at"], **values)
        self.session.add(message)
        await self.session.flush()
        return message.id

    async def get(self, message_id: int) -> MessageRecord | None:
        row = (await self.session.execute(_MESSAGE_BY_ID, {"message_id": message_id})).first()
        return message_record(row) if row is not None else None

    async def from_slack(self, channel: str, ts: str) -> MessageRecord | None:
        row = await self.session.scalar(
            select(Message)
            .where(Message.origin_channel == channel, Message.origin_ts == ts)
            .execution_options(populate_existing=True)
        )
        return message_record(row) if row is not None else None

    async def add_inbound(self, sms: InboundSms, *, segments: int, encoding: str) -> int | None:
        statement = (
            insert(self.session, Message)
            .values(
                direction=Direction.INBOUND,
                contact_number=sms.sender,
                our_number=sms.recipient,
                text=sms.text,
                status=MessageStatus.RECEIVED,
                provider_message_id=sms.provider_message_id,
                segments=segments,
                encoding=encoding,
                created_at=sms.received_at,
                updated_at=sms.received_at,
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
            .returning(Message.id)
        )
        return await self.session.scalar(statement)

    async def add_reply(self, reply: AgentReply, case: CaseRecord, *, at: datetime) -> int | None:
        statement = (
            insert(self.session, Message)
            .values(
                direction=Direction.OUTBOUND,
                contact_number=case.contact_number,
                our_number=case.our_number,
                text="",
                source_text=reply.text,
                author=reply.user,
                status=MessageStatus.QUEUED,
                origin_channel=reply.channel,
                origin_ts=reply.ts,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=["origin_channel", "origin_ts"])
            .returning(Message.id)
        )
        return await self.session.scalar(statement)

    async def add_started(self, case: CaseRecord, *, text: str, author: str, at: datetime) -> int:
        return await self._add(
            created_at=at,
            direction=Direction.OUTBOUND,
            contact_number=case.contact_number,
            our_number=case.our_number,
            text="",
            source_text=text,
            author=author,
            status=MessageStatus.QUEUED,
        )

    async def add_automated(
        self, contact_number: str, our_number: str, text: str, *, at: datetime
    ) -> int:
        return await self._add(
            created_at=at,
            direction=Direction.AUTOMATED,
            contact_number=contact_number,
            our_number=our_number,
            text=text,
            status=MessageStatus.QUEUED,
        )

    async def add_forwarded(
        self, *, recipient: str, our_number: str, text: str, forwarded_from_id: int, at: datetime
    ) -> int:
        return await self._add(
            created_at=at,
            direction=Direction.FORWARDED,
            contact_number=recipient,
            our_number=our_number,
            text=text,
            status=MessageStatus.QUEUED,
            forwarded_from_id=forwarded_from_id,
        )

    async def add_file_send(self, message: MessageRecord, *, at: datetime) -> int:
        return await self._add(
            created_at=at,
            direction=message.direction,
            contact_number=message.contact_number,
            our_number=message.our_number,
            text="",
            source_text="",
            author=message.author,
            status=MessageStatus.QUEUED,
            files_of_id=message.id,
        )

    async def file_sends(self, message_id: int) -> list[MessageRecord]:
        rows = await self.session.scalars(
            select(Message)
            .where(Message.files_of_id == message_id)
            .order_by(Message.id)
            .execution_options(populate_existing=True)
        )
        return [message_record(row) for row in rows]

    async def add_note(self, case: CaseRecord, text: str, *, author: str, at: datetime) -> int:
        message_id = await self._add(
            created_at=at,
            direction=Direction.NOTE,
            contact_number=case.contact_number,
            our_number=case.our_number,
            text=text,
            author=author,
            status=MessageStatus.INTERNAL,
        )
        await self.link(case.id, message_id)
        return message_id

    async def make_note(self, message_id: int) -> None:
        await self._set(message_id, direction=Direction.NOTE, status=MessageStatus.INTERNAL)

    async def refuse(
        self, message_id: int, reason: str, *, status: MessageStatus = MessageStatus.NOT_SENT
    ) -> None:
        await self._set(message_id, status=status, error=reason)

    async def queue_again(self, message_id: int) -> None:
        await self._set(message_id, status=MessageStatus.QUEUED, error=None)

    async def set_status(
        self, message_id: int, status: MessageStatus, *, error: str | None = None
    ) -> None:
        await self._set(message_id, status=status, error=error)

    async def measure(self, message_id: int, *, text: str, segments: int, encoding: str) -> None:
        await self._set(message_id, text=text, segments=segments, encoding=encoding)

    async def start_send(
        self, message_id: int, *, text: str, segments: int, encoding: str, ref: str, at: datetime
    ) -> None:
        await self._set(
            message_id,
            text=text,
            segments=segments,
            encoding=encoding,
            send_ref=ref,
            send_started_at=at,
        )

    async def cancel_send(self, message_id: int) -> None:
        await self._set(message_id, send_ref=None, send_started_at=None)

    async def link(self, case_id: int, message_id: int, *, slack_ts: str | None = None) -> None:
        await self.session.execute(
            _LINK, {"case_id": case_id, "message_id": message_id, "slack_ts": slack_ts}
        )

    async def set_posted(self, case_id: int, message_id: int, slack_ts: str) -> None:
        await self.session.execute(
            _SET_POSTED, {"in_case": case_id, "of_message": message_id, "posted_ts": slack_ts}
        )

    async def postings(self, message_id: int) -> list[tuple[CaseRecord, SlackTs]]:
        rows = await self.session.execute(
            select(Case, CaseMessage.slack_ts)
            .join(CaseMessage, CaseMessage.case_id == Case.id)
            .where(CaseMessage.message_id == message_id, CaseMessage.slack_ts.is_not(None))
            .execution_options(populate_existing=True)
        )
        return [(case_record(case), SlackTs(ts)) for case, ts in rows.all()]

    async def posting_at(self, channel: str, ts: str) -> tuple[CaseRecord, MessageRecord] | None:
        row = (
            await self.session.execute(
                select(Case, Message)
                .join(CaseMessage, CaseMessage.case_id == Case.id)
                .join(Message, Message.id == CaseMessage.message_id)
                .where(Case.channel == channel, CaseMessage.slack_ts == ts)
                .order_by(CaseMessage.id)
                .limit(1)
                .execution_options(populate_existing=True)
            )
        ).first()
        return (case_record(row[0]), message_record(row[1])) if row else None

    async def unposted_inbound(
        self, case_id: int, most: int, *, starting_with: int | None = None
    ) -> list[MessageRecord]:
        query = (
            select(Message)
            .join(CaseMessage, CaseMessage.message_id == Message.id)
            .where(
                CaseMessage.case_id == case_id,
                CaseMessage.slack_ts.is_(None),
                Message.direction == Direction.INBOUND,
                # A text with a file is shown by its own upload (bridge/jobs/media.py).
                ~exists().where(MediaFile.message_id == Message.id),
            )
        )
        if starting_with is not None:
            first = (
                select(CaseMessage.id)
                .where(CaseMessage.case_id == case_id, CaseMessage.message_id == starting_with)
                .scalar_subquery()
            )
            query = query.where(CaseMessage.id >= first)
        rows = await self.session.scalars(
            query.order_by(CaseMessage.id).limit(most).execution_options(populate_existing=True)
        )
        return [message_record(row) for row in rows]

    async def shown_at(self, case_id: int, ts: str) -> list[MessageRecord]:
        rows = await self.session.scalars(
            select(Message)
            .join(CaseMessage, CaseMessage.message_id == Message.id)
            .where(CaseMessage.case_id == case_id, CaseMessage.slack_ts == ts)
            .order_by(CaseMessage.id)
            .execution_options(populate_existing=True)
        )
        return [message_record(row) for row in rows]

    async def replies_since(self, author: str, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                Message.author == author,
                Message.direction == Direction.OUTBOUND,
                Message.files_of_id.is_(None),  # a reply's further files are the same reply
                Message.status.not_in([MessageStatus.NOT_SENT, MessageStatus.HELD]),
                Message.created_at >= since,
            )
        )
        return int(count or 0)

    async def inbound_from(self, case_id: int, first_message_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(CaseMessage)
            .join(Message, Message.id == CaseMessage.message_id)
            .where(
                CaseMessage.case_id == case_id,
                Message.direction == Direction.INBOUND,
                Message.id >= first_message_id,
            )
        )
        return int(count or 0)


class SqlReads:
    """`Reads`: how far each person has read each case."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def mark_read(self, case_id: int, user: str, *, at: datetime) -> None:
        up_to = await self.session.scalar(
            select(func.coalesce(func.max(CaseMessage.id), 0)).where(CaseMessage.case_id == case_id)
        )
        values = {"read_up_to": up_to, "read_at": at}
        await self.session.execute(
            insert(self.session, CaseRead)
            .values(case_id=case_id, user_id=user, **values)
            .on_conflict_do_update(index_elements=["case_id", "user_id"], set_=values)
        )

    async def unread_for(self, user: str, case_ids: Sequence[int]) -> dict[int, int]:
        if not case_ids:
            return {}
        query = unread_links(user).where(CaseMessage.case_id.in_(case_ids))
        rows = await self.session.execute(
            query.add_columns(func.count()).group_by(CaseMessage.case_id)
        )
        return {case_id: count for case_id, count in rows.all()}


# On the tables, built once: they run for most texts (see bridge/store/cases.py).
_MESSAGES, _LINKS = Message.__table__, CaseMessage.__table__
_MESSAGE_BY_ID = select(_MESSAGES).where(_MESSAGES.c.id == bindparam("message_id"))
_LINK = plain_insert(_LINKS)
_SET_POSTED = (
    update(_LINKS)
    .where(_LINKS.c.case_id == bindparam("in_case"), _LINKS.c.message_id == bindparam("of_message"))
    .values(slack_ts=bindparam("posted_ts"))
)
