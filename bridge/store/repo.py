"""Repository over one transaction: the reads and writes the core rules ask for."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.routing.model import (
    AgentReply,
    CaseStatus,
    DeliveryReceipt,
    Direction,
    InboundSms,
    MessageStatus,
    PhoneNumber,
)
from bridge.store.db import Database
from bridge.store.models import (
    Case,
    CaseMessage,
    Contact,
    ContactNumber,
    EarlyReceipt,
    InboundPart,
    Message,
    OptOut,
    OutboxJob,
    SentPart,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: str = "open"  # open, closed or all
    assignee: str | None = None
    unassigned: bool = False


class Repository:
    """All access to the store goes through here, inside one transaction (`session`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.enqueued = 0

    @property
    def _dialect(self) -> str:
        return self.session.bind.dialect.name

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    async def lock_conversation(self, contact_number: str, our_number: str) -> None:
        """Serialise decisions about one conversation across instances until commit."""
        await self.lock(f"conversation|{contact_number}|{our_number}")

    async def lock(self, key: str) -> None:
        """A lock on `key` held until this transaction ends, shared by every instance.

        SQLite needs nothing: every write transaction starts with BEGIN IMMEDIATE.
        """
        if self._dialect == "postgresql":
            number = zlib.crc32(key.encode()) - 2**31
            await self.session.execute(select(func.pg_advisory_xact_lock(number)))

    # -- contacts -------------------------------------------------------------------------

    async def contact_for_number(self, number: PhoneNumber) -> Contact:
        """The contact holding this number; an unknown number gets a contact of its own."""
        query = select(Contact).join(ContactNumber).where(ContactNumber.number == number)
        found = await self.session.scalar(query)
        if found is not None:
            return found
        contact = Contact(properties={})
        self.session.add(contact)
        await self.session.flush()
        claimed = await self.session.scalar(
            self._insert(ContactNumber)
            .values(contact_id=contact.id, number=number, label="Mobile")
            .on_conflict_do_nothing(index_elements=["number"])
            .returning(ContactNumber.id)
        )
        if claimed is None:
            # Someone else (a contacts import) took the number meanwhile: theirs it is.
            await self.session.delete(contact)
            return await self.session.scalar(query)  # type: ignore[return-value]
        return contact

    async def number_title(self, number: str, title_property: str) -> tuple[str | None, str]:
        """(contact title, number label) for a header such as 'Bob Smith – Mobile'.

        The title is the contact's name, or the property `title_property` names.
        """
        row = (
            await self.session.execute(
                select(Contact, ContactNumber.label)
                .join(ContactNumber)
                .where(ContactNumber.number == number)
            )
        ).first()
        if row is None:
            return None, "Mobile"
        contact, label = row
        if title_property == "name":
            return contact.name, label
        value = (contact.properties or {}).get(title_property)
        return (str(value) if value not in (None, "") else None), label

    async def name_number(self, number: str, *, name: str, label: str) -> None:
        """Name the contact holding `number` and say what kind of number it is."""
        contact = await self.contact_for_number(PhoneNumber(number))
        contact.name = name
        await self.session.execute(
            update(ContactNumber).where(ContactNumber.number == number).values(label=label)
        )

    # -- cases ----------------------------------------------------------------------------

    async def open_cases(self, contact_number: str, our_number: str) -> Sequence[Case]:
        return (
            await self.session.scalars(
                select(Case)
                .where(
                    Case.contact_number == contact_number,
                    Case.our_number == our_number,
                    Case.status == CaseStatus.OPEN,
                )
                .order_by(Case.id)
            )
        ).all()

    async def search_cases(
        self,
        *,
        text: str,
        digits: str | None,
        case_id: int | None,
        case_filter: CaseFilter,
        offset: int,
        limit: int,
    ) -> tuple[int, list[tuple[Case, str | None]]]:
        """Cases whose contact matches `text` (name, email), `digits` (part of a number) or
        whose id is `case_id`; all cases when nothing is asked. Newest activity first."""
        query = select(Case, Contact.name).join(Contact, Contact.id == Case.contact_id)
        if text:
            # A typed % or _ is looked for as itself, not as a wildcard.
            literal = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{literal}%"
            matches = [
                func.lower(Contact.name).like(pattern, escape="\\"),
                func.lower(Contact.email).like(pattern, escape="\\"),
            ]
            if digits:
                holders = select(ContactNumber.contact_id).where(
                    ContactNumber.number.like(f"%{digits}%")
                )
                matches.append(Case.contact_id.in_(holders))
            if case_id is not None:
                matches.append(Case.id == case_id)
            query = query.where(or_(*matches))
        if case_filter.status != "all":
            query = query.where(Case.status == case_filter.status)
        if case_filter.assignee:
            query = query.where(Case.assignee == case_filter.assignee)
        if case_filter.unassigned:
            query = query.where(Case.assignee.is_(None))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.execute(
            query.order_by(Case.last_activity_at.desc(), Case.id.desc()).offset(offset).limit(limit)
        )
        return int(total or 0), [(case, name) for case, name in rows.all()]

    async def cases_of_number(self, contact_number: str) -> Sequence[Case]:
        return (
            await self.session.scalars(
                select(Case).where(Case.contact_number == contact_number).order_by(Case.id)
            )
        ).all()

    async def last_case(self, contact_number: str, our_number: str) -> Case | None:
        return await self.session.scalar(
            select(Case)
            .where(Case.contact_number == contact_number, Case.our_number == our_number)
            .order_by(Case.id.desc())
            .limit(1)
        )

    async def create_case(
        self,
        *,
        contact_id: int,
        contact_number: str,
        our_number: str,
        channel: str,
        previous_case_id: int | None,
    ) -> Case:
        case = Case(
            contact_id=contact_id,
            contact_number=contact_number,
            our_number=our_number,
            channel=channel,
            previous_case_id=previous_case_id,
            status=CaseStatus.OPEN,
            unread=0,
        )
        self.session.add(case)
        await self.session.flush()
        return case

    async def case(self, case_id: int) -> Case | None:
        return await self.session.get(Case, case_id)

    async def case_by_thread(self, channel: str, thread_ts: str) -> Case | None:
        return await self.session.scalar(
            select(Case).where(Case.channel == channel, Case.thread_ts == thread_ts)
        )

    async def set_thread(self, case_id: int, thread_ts: str) -> None:
        await self.session.execute(
            update(Case).where(Case.id == case_id).values(thread_ts=thread_ts)
        )

    async def touch_case(self, case: Case, *, at: datetime, unread_delta: int = 0) -> None:
        case.last_activity_at = at
        case.unread = case.unread + unread_delta

    # -- messages -------------------------------------------------------------------------

    async def insert_inbound(self, sms: InboundSms) -> int | None:
        """Store an inbound text once; None when its carrier id was already stored."""
        statement = (
            self._insert(Message)
            .values(
                direction=Direction.INBOUND,
                contact_number=sms.sender,
                our_number=sms.recipient,
                text=sms.text,
                status=MessageStatus.RECEIVED,
                provider_message_id=sms.provider_message_id,
                created_at=sms.received_at,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
            .returning(Message.id)
        )
        return await self.session.scalar(statement)

    async def insert_reply(self, reply: AgentReply, case: Case) -> int | None:
        """Store a staff reply once; None when this Slack message was already taken."""
        statement = (
            self._insert(Message)
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
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["origin_channel", "origin_ts"])
            .returning(Message.id)
        )
        return await self.session.scalar(statement)

    async def insert_automated(self, contact_number: str, our_number: str, text: str) -> int:
        message = Message(
            direction=Direction.AUTOMATED,
            contact_number=contact_number,
            our_number=our_number,
            text=text,
            status=MessageStatus.QUEUED,
        )
        self.session.add(message)
        await self.session.flush()
        return message.id

    async def keep_internal(self, message_id: int) -> None:
        await self.session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(direction=Direction.NOTE, status=MessageStatus.INTERNAL)
        )

    async def message_from_slack(self, channel: str, ts: str) -> Message | None:
        return await self.session.scalar(
            select(Message).where(Message.origin_channel == channel, Message.origin_ts == ts)
        )

    async def cases_of_message(self, message_id: int) -> Sequence[Case]:
        return (
            await self.session.scalars(
                select(Case)
                .join(CaseMessage, CaseMessage.case_id == Case.id)
                .where(CaseMessage.message_id == message_id)
                .order_by(Case.id)
            )
        ).all()

    async def refuse(self, message_id: int, reason: str) -> None:
        await self.session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(status=MessageStatus.NOT_SENT, error=reason)
        )

    async def message(self, message_id: int) -> Message | None:
        return await self.session.get(Message, message_id)

    async def link(self, case_id: int, message_id: int, *, slack_ts: str | None = None) -> None:
        self.session.add(CaseMessage(case_id=case_id, message_id=message_id, slack_ts=slack_ts))
        await self.session.flush()

    async def set_posted(self, case_id: int, message_id: int, slack_ts: str) -> None:
        await self.session.execute(
            update(CaseMessage)
            .where(CaseMessage.case_id == case_id, CaseMessage.message_id == message_id)
            .values(slack_ts=slack_ts)
        )

    async def posting_at(self, channel: str, ts: str) -> tuple[Case, Message] | None:
        """The case and message shown at a Slack message (channel, ts), if any."""
        row = (
            await self.session.execute(
                select(Case, Message)
                .join(CaseMessage, CaseMessage.case_id == Case.id)
                .join(Message, Message.id == CaseMessage.message_id)
                .where(Case.channel == channel, CaseMessage.slack_ts == ts)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def numbers_named(self, name: str) -> list[str]:
        """The numbers of the contacts called exactly `name` (any case)."""
        return list(
            await self.session.scalars(
                select(ContactNumber.number)
                .join(Contact)
                .where(func.lower(Contact.name) == name.strip().lower())
                .order_by(ContactNumber.id)
            )
        )

    async def insert_started(self, case: Case, *, text: str, author: str) -> int:
        """A staff text that starts (or continues) a conversation from the app, not a thread."""
        message = Message(
            direction=Direction.OUTBOUND,
            contact_number=case.contact_number,
            our_number=case.our_number,
            text="",
            source_text=text,
            author=author,
            status=MessageStatus.QUEUED,
        )
        self.session.add(message)
        await self.session.flush()
        return message.id

    async def record_note(self, case: Case, text: str, *, author: str) -> None:
        """A staff note made through the app (not typed in the thread), for the log."""
        note = Message(
            direction=Direction.NOTE,
            contact_number=case.contact_number,
            our_number=case.our_number,
            text=text,
            author=author,
            status=MessageStatus.INTERNAL,
        )
        self.session.add(note)
        await self.session.flush()
        await self.link(case.id, note.id)

    async def postings(self, message_id: int) -> Sequence[tuple[Case, str]]:
        """Each case thread where a message shows, with its Slack ts there."""
        rows = await self.session.execute(
            select(Case, CaseMessage.slack_ts)
            .join(CaseMessage, CaseMessage.case_id == Case.id)
            .where(CaseMessage.message_id == message_id, CaseMessage.slack_ts.is_not(None))
        )
        return [(case, ts) for case, ts in rows.all()]

    async def record_sent(self, message: Message, provider_ids: Sequence[str]) -> None:
        # The same locks as a receipt takes: a receipt either sees the parts or is kept early.
        for provider_id in sorted(provider_ids):
            await self.lock(f"part|{provider_id}")
        message.status = MessageStatus.SUBMITTED
        message.provider_message_id = provider_ids[0] if provider_ids else None
        for provider_id in provider_ids:
            self.session.add(
                SentPart(
                    provider_message_id=provider_id,
                    message_id=message.id,
                    status=MessageStatus.SUBMITTED,
                )
            )
        await self.session.flush()

    async def update_part_status(self, receipt: DeliveryReceipt) -> Message | None:
        """Set one sent part's status; the message it belongs to, or None if unknown."""
        if receipt.client_ref is not None:
            # Before the part's lock, as `record_receipted_send` takes them: no deadlock.
            await self.lock_send(receipt.client_ref)
        await self.lock(f"part|{receipt.provider_message_id}")
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
        return await self.session.get(Message, part.message_id)

    async def lock_send(self, client_ref: str) -> None:
        """Serialise the receipts of one send with recording it from its receipts."""
        await self.lock(f"send|{client_ref}")

    async def _recorded_send(self, client_ref: str | None) -> Message | None:
        """The text whose send with this client-ref is recorded, if any."""
        if client_ref is None:
            return None
        return await self.session.scalar(
            select(Message).where(
                Message.send_ref == client_ref, Message.status != MessageStatus.QUEUED
            )
        )

    async def early_receipt_ids(self, client_ref: str) -> list[str]:
        """Carrier ids named by receipts kept early for the send with this client-ref."""
        return list(
            await self.session.scalars(
                select(EarlyReceipt.provider_message_id)
                .where(EarlyReceipt.client_ref == client_ref)
                .order_by(EarlyReceipt.provider_message_id)
            )
        )

    async def keep_early_receipt(self, receipt: DeliveryReceipt) -> None:
        statement = (
            self._insert(EarlyReceipt)
            .values(
                provider_message_id=receipt.provider_message_id,
                status=receipt.status,
                error_code=receipt.error_code,
                error_text=receipt.error_text,
                recipient_blocked=receipt.recipient_blocked,
                client_ref=receipt.client_ref,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
        )
        await self.session.execute(statement)

    async def take_early_receipts(self, provider_ids: Sequence[str]) -> list[DeliveryReceipt]:
        rows = list(
            await self.session.scalars(
                select(EarlyReceipt)
                .where(EarlyReceipt.provider_message_id.in_(provider_ids))
                .order_by(EarlyReceipt.received_at)
            )
        )
        for row in rows:
            await self.session.delete(row)
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

    async def aggregate_status(self, message_id: int) -> MessageStatus:
        """A long text is as far along as its least advanced part; any failed part fails it."""
        statuses = {
            MessageStatus(s)
            for s in await self.session.scalars(
                select(SentPart.status).where(SentPart.message_id == message_id)
            )
        }
        for bad in (MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED):
            if bad in statuses:
                return bad
        if statuses == {MessageStatus.DELIVERED}:
            return MessageStatus.DELIVERED
        return MessageStatus.SUBMITTED

    # -- long inbound texts -------------------------------------------------------------

    async def insert_part(self, sms: InboundSms) -> bool:
        """Store one part of a long text; False when this part (its carrier id) was stored."""
        assert sms.part is not None
        statement = (
            self._insert(InboundPart)
            .values(
                contact_number=sms.sender,
                our_number=sms.recipient,
                concat_ref=sms.part.ref,
                part=sms.part.number,
                total=sms.part.total,
                text=sms.text,
                provider_message_id=sms.provider_message_id,
                received_at=sms.received_at,
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
            .returning(InboundPart.id)
        )
        return await self.session.scalar(statement) is not None

    async def waiting_parts(self, sender: str, recipient: str, ref: str) -> list[InboundPart]:
        return list(
            await self.session.scalars(
                select(InboundPart).where(
                    InboundPart.contact_number == sender,
                    InboundPart.our_number == recipient,
                    InboundPart.concat_ref == ref,
                    InboundPart.assembled.is_(False),
                )
            )
        )

    async def mark_parts_assembled(self, part_ids: Sequence[int]) -> None:
        await self.session.execute(
            update(InboundPart).where(InboundPart.id.in_(part_ids)).values(assembled=True)
        )

    # -- opt-out --------------------------------------------------------------------------

    async def opt_out(self, contact_number: str, our_number: str, *, reason: str) -> bool:
        """Record an opt-out; False when the number had already opted out."""
        statement = (
            self._insert(OptOut)
            .values(
                contact_number=contact_number,
                our_number=our_number,
                reason=reason,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["contact_number", "our_number"])
            .returning(OptOut.contact_number)
        )
        return await self.session.scalar(statement) is not None

    async def opt_in(self, contact_number: str, our_number: str) -> bool:
        """Lift an opt-out; False when there was none."""
        result = await self.session.execute(
            delete(OptOut).where(
                OptOut.contact_number == contact_number, OptOut.our_number == our_number
            )
        )
        return bool(result.rowcount)

    async def is_opted_out(self, contact_number: str, our_number: str) -> bool:
        return (await self.session.get(OptOut, (contact_number, our_number))) is not None

    # -- outbox ---------------------------------------------------------------------------

    async def has_pending_job(self, kind: str, *, queue: str) -> bool:
        found = await self.session.scalar(
            select(OutboxJob.id)
            .where(OutboxJob.kind == kind, OutboxJob.queue == queue, OutboxJob.status == "pending")
            .limit(1)
        )
        return found is not None

    async def enqueue(
        self, kind: str, *, queue: str, run_after: datetime | None = None, **payload: Any
    ) -> None:
        self.session.add(
            OutboxJob(
                kind=kind,
                queue=queue,
                payload=payload,
                status="pending",
                run_after=run_after or utcnow(),
            )
        )
        self.enqueued += 1


class Store:
    """Units of work over the database; wakes the dispatcher when one commits new jobs."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._listeners: list[Callable[[int], None]] = []

    def on_enqueued(self, listener: Callable[[int], None]) -> None:
        """`listener(n)` is called after a unit of work committed n new jobs."""
        self._listeners.append(listener)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Repository]:
        async with self.db.transaction() as session:
            repo = Repository(session)
            yield repo
        if repo.enqueued:
            for listener in self._listeners:
                listener(repo.enqueued)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Repository]:
        """A repository for reads only (on SQLite it does not take the write lock)."""
        async with self.db.reading() as session:
            yield Repository(session)
