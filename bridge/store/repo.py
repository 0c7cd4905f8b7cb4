"""Repository over one transaction: the reads and writes the core rules ask for."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, column, delete, func, select, table, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.text import split_edges
from bridge.domain.values import (
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
    CONTACT_SEARCH,
    AutoReplySent,
    Case,
    CaseMessage,
    CaseRead,
    ChatSetting,
    Contact,
    ContactNumber,
    EarlyReceipt,
    ForwardingSchedule,
    InboundPart,
    Message,
    OptOut,
    OutboxJob,
    SentPart,
    SettingChange,
    utcnow,
)

_CONTACT_SEARCH = table(
    CONTACT_SEARCH, column("rowid"), column("name"), column("email"), column("numbers")
)


def _contains(expression: Any, value: str) -> Any:
    """`expression LIKE '%value%'`, a typed % or _ looked for as itself. ESCAPE only when
    needed: SQLite's trigram index cannot answer a LIKE that has one."""
    if not any(c in value for c in "%_\\"):
        return expression.like(f"%{value}%")
    literal = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return expression.like(f"%{literal}%", escape="\\")


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: str = "open"  # open, closed or all
    assignee: str | None = None
    unassigned: bool = False
    unread: bool = False  # with texts nobody has read
    unread_by: str | None = None  # with texts this person has not read


@dataclass(frozen=True, slots=True)
class TrafficGroup:
    """Texts of one kind through one of our numbers (by one author) in one state."""

    direction: str
    our_number: str
    author: str | None
    status: str
    handed_over: bool  # the carrier took them: they carry its message id
    texts: int
    segments: int  # the sum of the recorded segment counts
    measured: int  # how many of the texts have a recorded segment count


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
        conditions = []
        if case_filter.status != "all":
            conditions.append(Case.status == case_filter.status)
        if case_filter.assignee:
            conditions.append(Case.assignee == case_filter.assignee)
        if case_filter.unassigned:
            conditions.append(Case.assignee.is_(None))
        if case_filter.unread:
            conditions.append(Case.unread > 0)
        if case_filter.unread_by:
            conditions.append(Case.id.in_(self._unread_by(case_filter.unread_by)))
        newest_first = (Case.last_activity_at.desc(), Case.id.desc())
        with_names = select(Case, Contact.name).join(Contact, Contact.id == Case.contact_id)
        if not text:
            total = await self.session.scalar(
                select(func.count()).select_from(Case).where(*conditions)
            )
            rows = await self.session.execute(
                with_names.where(*conditions).order_by(*newest_first).offset(offset).limit(limit)
            )
            return int(total or 0), [(case, name) for case, name in rows.all()]
        lowered = text.lower()
        if self._dialect == "sqlite":
            # The full-text trigram index (migration 0006) holds names, emails and numbers.
            holders = [
                select(_CONTACT_SEARCH.c.rowid).where(_contains(_CONTACT_SEARCH.c.name, lowered)),
                select(_CONTACT_SEARCH.c.rowid).where(_contains(_CONTACT_SEARCH.c.email, lowered)),
            ]
            if digits:
                holders.append(
                    select(_CONTACT_SEARCH.c.rowid).where(
                        _contains(_CONTACT_SEARCH.c.numbers, digits)
                    )
                )
        else:
            # One simple query per column, so that PostgreSQL answers each from its trigram
            # index (models.py); an OR across the joined tables would scan them all.
            holders = [
                select(Contact.id).where(_contains(func.lower(Contact.name), lowered)),
                select(Contact.id).where(_contains(func.lower(Contact.email), lowered)),
            ]
            if digits:
                holders.append(
                    select(ContactNumber.contact_id).where(_contains(ContactNumber.number, digits))
                )
        matching = [
            select(Case.id, Case.last_activity_at).where(
                Case.contact_id.in_(union(*holders)), *conditions
            )
        ]
        if case_id is not None:
            matching.append(
                select(Case.id, Case.last_activity_at).where(Case.id == case_id, *conditions)
            )
        found = union(*matching).subquery()
        # Every matching id, newest first, then one page of cases. Without a LIMIT on the
        # join PostgreSQL never bets on finding the first page early (with trigram estimates
        # far too high, that bet scans every case once per match).
        ids = (
            await self.session.scalars(
                select(found.c.id).order_by(found.c.last_activity_at.desc(), found.c.id.desc())
            )
        ).all()
        page = ids[offset : offset + limit]
        if not page:
            return len(ids), []
        rows = await self.session.execute(
            with_names.where(Case.id.in_(page)).order_by(*newest_first)
        )
        return len(ids), [(case, name) for case, name in rows.all()]

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

    async def insert_inbound(self, sms: InboundSms, *, segments: int, encoding: str) -> int | None:
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
                segments=segments,
                encoding=encoding,
                created_at=sms.received_at,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
            .returning(Message.id)
        )
        return await self.session.scalar(statement)

    async def insert_reply(self, reply: AgentReply, case: Case, *, at: datetime) -> int | None:
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
                created_at=at,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["origin_channel", "origin_ts"])
            .returning(Message.id)
        )
        return await self.session.scalar(statement)

    async def insert_automated(
        self, contact_number: str, our_number: str, text: str, *, at: datetime | None = None
    ) -> int:
        message = Message(
            created_at=at or utcnow(),
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

    async def refuse(
        self, message_id: int, reason: str, *, status: MessageStatus = MessageStatus.NOT_SENT
    ) -> None:
        await self.session.execute(
            update(Message).where(Message.id == message_id).values(status=status, error=reason)
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

    async def known_number(self, candidates: Sequence[str]) -> str | None:
        """The first of `candidates` that a contact holds, if any."""
        held = set(
            await self.session.scalars(
                select(ContactNumber.number).where(ContactNumber.number.in_(list(candidates)))
            )
        )
        return next((number for number in candidates if number in held), None)

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

    async def insert_started(self, case: Case, *, text: str, author: str, at: datetime) -> int:
        """A staff text that starts (or continues) a conversation from the app, not a thread."""
        message = Message(
            created_at=at,
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
        head, middle, tail = split_edges(sms.text)
        statement = (
            self._insert(InboundPart)
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

    async def has_live_job(self, kind: str, *, queue: str) -> bool:
        """Whether a job of `kind` is waiting or running in `queue`."""
        found = await self.session.scalar(
            select(OutboxJob.id)
            .where(
                OutboxJob.kind == kind,
                OutboxJob.queue == queue,
                OutboxJob.status.in_(["pending", "running"]),
            )
            .limit(1)
        )
        return found is not None

    async def last_finished(self, kind: str, *, queue: str) -> datetime | None:
        """When a job of `kind` in `queue` was last done."""
        return await self.session.scalar(
            select(func.max(OutboxJob.finished_at)).where(
                OutboxJob.kind == kind, OutboxJob.queue == queue, OutboxJob.status == "done"
            )
        )

    async def inbound_from(self, case_id: int, first_message_id: int) -> int:
        """How many contacts' texts reached the case, from `first_message_id` on."""
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

    async def dead_jobs_summary(self) -> tuple[int, str, int | None, str] | None:
        """(how many jobs are given up, the newest's kind, case and error), None if none."""
        dead = OutboxJob.status == "dead"
        count = int(await self.session.scalar(select(func.count()).where(dead)) or 0)
        newest = await self.session.scalar(
            select(OutboxJob).where(dead).order_by(OutboxJob.finished_at.desc()).limit(1)
        )
        if newest is None:
            return None
        case_id = (newest.payload or {}).get("case_id")
        return (
            count,
            newest.kind,
            case_id if isinstance(case_id, int) else None,
            (newest.last_error or "no reason given")[:200],
        )

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

    # -- reading, counting, auto-replies -----------------------------------------------

    async def mark_read(self, case: Case, user: str, *, at: datetime) -> None:
        """`user` has read every text of the case so far."""
        up_to = await self.session.scalar(
            select(func.coalesce(func.max(CaseMessage.id), 0)).where(CaseMessage.case_id == case.id)
        )
        values = {"read_up_to": up_to, "read_at": at}
        await self.session.execute(
            self._insert(CaseRead)
            .values(case_id=case.id, user_id=user, **values)
            .on_conflict_do_update(index_elements=["case_id", "user_id"], set_=values)
        )

    def _unread_links(self, user: str) -> Any:
        """The links (case_messages) of contacts' texts that `user` has not read."""
        read = (
            select(CaseRead.read_up_to)
            .where(CaseRead.case_id == CaseMessage.case_id, CaseRead.user_id == user)
            .scalar_subquery()
        )
        return (
            select(CaseMessage.case_id)
            .join(Message, Message.id == CaseMessage.message_id)
            .where(
                Message.direction == Direction.INBOUND,
                CaseMessage.id > func.coalesce(read, 0),
            )
        )

    def _unread_by(self, user: str) -> Any:
        return self._unread_links(user).distinct()

    async def unread_for(self, user: str, case_ids: Sequence[int]) -> dict[int, int]:
        """Texts from contacts that `user` has not read, per case (cases with none left out)."""
        if not case_ids:
            return {}
        query = self._unread_links(user).where(CaseMessage.case_id.in_(case_ids))
        rows = await self.session.execute(
            query.add_columns(func.count()).group_by(CaseMessage.case_id)
        )
        return {case_id: count for case_id, count in rows.all()}

    async def replies_since(self, author: str, since: datetime) -> int:
        """How many texts `author` sent to contacts since `since` (the message counter)."""
        count = await self.session.scalar(
            select(func.count()).where(
                Message.author == author,
                Message.direction == Direction.OUTBOUND,
                Message.status.not_in([MessageStatus.NOT_SENT, MessageStatus.HELD]),
                Message.created_at >= since,
            )
        )
        return int(count or 0)

    async def auto_reply_given(self, case_id: int, kind: str, window: str) -> bool:
        found = await self.session.get(AutoReplySent, (case_id, kind, window))
        return found is not None

    async def record_auto_reply(self, case_id: int, kind: str, window: str, message_id: int):
        self.session.add(
            AutoReplySent(case_id=case_id, kind=kind, window=window, message_id=message_id)
        )
        await self.session.flush()

    # -- chat settings --------------------------------------------------------------------

    async def chat_settings(self) -> dict[str, Any]:
        rows = await self.session.scalars(select(ChatSetting))
        return {row.key: row.value for row in rows}

    async def save_chat_setting(self, key: str, *, old: Any, new: Any, by: str) -> None:
        """Store one setting's new value and record the change in the audit log."""
        now = utcnow()
        await self.session.execute(
            self._insert(ChatSetting)
            .values(key=key, value=new, updated_by=by, updated_at=now)
            .on_conflict_do_update(
                index_elements=["key"], set_={"value": new, "updated_by": by, "updated_at": now}
            )
        )
        self.session.add(
            SettingChange(key=key, old_value=old, new_value=new, changed_by=by, changed_at=now)
        )

    async def setting_changes(self, limit: int) -> Sequence[SettingChange]:
        return (
            await self.session.scalars(
                select(SettingChange)
                .order_by(SettingChange.changed_at.desc(), SettingChange.id.desc())
                .limit(limit)
            )
        ).all()

    # -- usage and the messaging log ----------------------------------------------------

    async def traffic(self, *, since: datetime, until: datetime) -> list[TrafficGroup]:
        """Texts (not notes) created in [since, until), counted in the database per
        direction, our number, author, status and whether the carrier took them."""
        handed_over = Message.provider_message_id.is_not(None)
        groups = (Message.direction, Message.our_number, Message.author, Message.status)
        rows = await self.session.execute(
            select(
                *groups,
                handed_over,
                func.count(),
                func.coalesce(func.sum(Message.segments), 0),
                func.count(Message.segments),
            )
            .where(
                Message.created_at >= since,
                Message.created_at < until,
                Message.direction != Direction.NOTE,
            )
            .group_by(*groups, handed_over)
        )
        return [
            TrafficGroup(direction, our, author, status, bool(taken), texts, segments, measured)
            for direction, our, author, status, taken, texts, segments, measured in rows.all()
        ]

    async def message_log(
        self, *, since: datetime, until: datetime, batch: int = 500
    ) -> AsyncIterable[Mapping[str, Any]]:
        """Every message created in [since, until), notes included, oldest first.

        The query runs now; its rows then come in batches from a server-side cursor, never
        all in memory. Each row holds the message's columns, `contact_name` and `cases`
        (its case ids joined by ';').
        """
        case_id = cast(CaseMessage.case_id, String)
        joined = (
            func.string_agg(case_id, ";")
            if self._dialect == "postgresql"
            else func.group_concat(case_id, ";")
        )
        cases = select(joined).where(CaseMessage.message_id == Message.id).scalar_subquery()
        query = (
            select(
                *Message.__table__.columns,
                Contact.name.label("contact_name"),
                cases.label("cases"),
            )
            .outerjoin(ContactNumber, ContactNumber.number == Message.contact_number)
            .outerjoin(Contact, Contact.id == ContactNumber.contact_id)
            .where(Message.created_at >= since, Message.created_at < until)
            .order_by(Message.created_at, Message.id)
            .execution_options(yield_per=batch)
        )
        return (await self.session.stream(query)).mappings()

    # -- forwarding schedules -------------------------------------------------------------

    async def forwarding_schedules(self) -> Sequence[ForwardingSchedule]:
        return (
            await self.session.scalars(
                select(ForwardingSchedule).order_by(
                    func.lower(ForwardingSchedule.name), ForwardingSchedule.id
                )
            )
        ).all()

    async def forwarding_schedule(self, schedule_id: int) -> ForwardingSchedule | None:
        return await self.session.get(ForwardingSchedule, schedule_id)

    async def count_forwarding_schedules(self) -> int:
        return int(
            await self.session.scalar(select(func.count()).select_from(ForwardingSchedule)) or 0
        )

    async def add_forwarding_schedule(
        self, *, created_by: str, **fields: Any
    ) -> ForwardingSchedule:
        schedule = ForwardingSchedule(created_by=created_by, **fields)
        self.session.add(schedule)
        await self.session.flush()
        return schedule

    async def change_forwarding_schedule(
        self, schedule_id: int, **fields: Any
    ) -> ForwardingSchedule | None:
        """Set a schedule's fields; None when it no longer exists."""
        schedule = await self.forwarding_schedule(schedule_id)
        if schedule is None:
            return None
        for name, value in fields.items():
            setattr(schedule, name, value)
        await self.session.flush()
        return schedule

    async def delete_forwarding_schedule(self, schedule_id: int) -> bool:
        result = await self.session.execute(
            delete(ForwardingSchedule).where(ForwardingSchedule.id == schedule_id)
        )
        return bool(result.rowcount)

    async def insert_forwarded(
        self, *, recipient: str, our_number: str, text: str, forwarded_from_id: int, at: datetime
    ) -> int:
        """A copy of an inbound text for a manager's phone, sent from the number it came to."""
        message = Message(
            created_at=at,
            direction=Direction.FORWARDED,
            contact_number=recipient,
            our_number=our_number,
            text=text,
            status=MessageStatus.QUEUED,
            forwarded_from_id=forwarded_from_id,
        )
        self.session.add(message)
        await self.session.flush()
        return message.id


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
