"""The email side of cases and of the messaging log (`Emails` of routing/email_ports)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.email import Channel, EmailThreadRecord, InboundEmail, email_key
from bridge.domain.records import CaseRecord
from bridge.domain.values import Direction, MessageStatus
from bridge.store.models import Case, CaseMessage, Contact, ContactNumber, Message
from bridge.store.models_email import EmailMessage, EmailThread
from bridge.store.sql import case_record, insert


def rfc_key(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()


class SqlEmails:
    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now

    async def known(self, message_id: str) -> bool:
        found = await self.session.scalar(
            select(EmailMessage.message_id).where(EmailMessage.rfc_key == rfc_key(message_id))
        )
        return found is not None

    async def add_inbound(
        self, email: InboundEmail, *, contact_number: str, our_number: str, text: str
    ) -> int | None:
        message_id = await self.session.scalar(
            insert(self.session, Message)
            .values(
                direction=Direction.INBOUND,
                contact_number=contact_number,
                our_number=our_number,
                text=text,
                status=MessageStatus.RECEIVED,
                provider_message_id=email_key(email.message_id),
                created_at=email.received_at,
                updated_at=email.received_at,
            )
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
            .returning(Message.id)
        )
        if message_id is not None:
            self._add_email(message_id, email.message_id, email.sender, email.subject)
            await self.session.flush()
        return message_id

    def _add_email(self, message_id: int, rfc_message_id: str, address: str, subject: str) -> None:
        self.session.add(
            EmailMessage(
                message_id=message_id,
                rfc_message_id=rfc_message_id,
                rfc_key=rfc_key(rfc_message_id),
                address=address,
                subject=subject[:200],
                created_at=self.now(),
            )
        )

    async def case_of_token(self, token: str) -> CaseRecord | None:
        row = await self.session.scalar(
            select(Case)
            .join(EmailThread, EmailThread.case_id == Case.id)
            .where(EmailThread.token == token)
        )
        return case_record(row) if row is not None else None

    async def case_answered(self, message_ids: Sequence[str]) -> CaseRecord | None:
        row = await self.session.scalar(
            select(Case)
            .join(CaseMessage, CaseMessage.case_id == Case.id)
            .join(EmailMessage, EmailMessage.message_id == CaseMessage.message_id)
            .where(EmailMessage.rfc_key.in_([rfc_key(m) for m in message_ids]))
            .order_by(Case.id.desc())
            .limit(1)
        )
        return case_record(row) if row is not None else None

    async def contact_of(self, address: str) -> int | None:
        return await self.session.scalar(
            select(Contact.id)
            .where(func.lower(Contact.email) == address.lower())
            .order_by(Contact.id)
            .limit(1)
        )

    async def add_contact(self, address: str, name: str | None) -> int:
        contact = Contact(email=address, name=name, properties={})
        self.session.add(contact)
        await self.session.flush()
        return contact.id

    async def address_of(self, contact_id: int) -> str | None:
        return await self.session.scalar(select(Contact.email).where(Contact.id == contact_id))

    async def numbers_of(self, contact_id: int) -> list[str]:
        found = await self.session.scalars(
            select(ContactNumber.number)
            .where(ContactNumber.contact_id == contact_id)
            .order_by(ContactNumber.id)
        )
        return list(found)

    async def thread(self, case_id: int) -> EmailThreadRecord | None:
        row = await self.session.get(EmailThread, case_id, populate_existing=True)
        if row is None:
            return None
        return EmailThreadRecord(
            case_id=row.case_id,
            token=row.token,
            subject=row.subject,
            address=row.address,
            reply_channel=Channel(row.reply_channel),
        )

    async def start_thread(self, case_id: int, *, token: str, subject: str, address: str) -> None:
        self.session.add(
            EmailThread(
                case_id=case_id,
                token=token,
                subject=subject[:200],
                address=address,
                reply_channel=Channel.EMAIL,
                updated_at=self.now(),
            )
        )
        await self.session.flush()

    async def wrote_by(
        self,
        case_id: int,
        channel: Channel,
        *,
        subject: str | None = None,
        address: str | None = None,
    ) -> bool:
        switched = await self._change(
            case_id, EmailThread.__table__.c.reply_channel != channel, reply_channel=channel
        )
        values: dict[str, object] = {}
        if subject:
            values["subject"] = subject[:200]
        if address:
            values["address"] = address
        if values:
            await self._change(case_id, **values)
        return switched

    async def reply_by(self, case_id: int, channel: Channel) -> None:
        await self._change(case_id, reply_channel=channel)

    async def _change(self, case_id: int, *where: Any, **values: object) -> bool:
        """Change the case's email side (where `where` holds); whether it changed."""
        threads = EmailThread.__table__
        result = await self.session.execute(
            update(threads)
            .where(threads.c.case_id == case_id, *where)
            .values(**values, updated_at=self.now())
        )
        return bool(result.rowcount)

    async def message_ids(self, case_id: int) -> list[str]:
        found = await self.session.scalars(
            select(EmailMessage.rfc_message_id)
            .join(CaseMessage, CaseMessage.message_id == EmailMessage.message_id)
            .where(CaseMessage.case_id == case_id)
            .order_by(EmailMessage.message_id)
        )
        return list(found)

    async def message_address(self, message_id: int) -> str | None:
        return await self.session.scalar(
            select(EmailMessage.address).where(EmailMessage.message_id == message_id)
        )

    async def outgoing(self, message_id: int) -> str | None:
        return await self.session.scalar(
            select(EmailMessage.rfc_message_id).where(EmailMessage.message_id == message_id)
        )

    async def start_send(
        self, message_id: int, *, rfc_message_id: str, address: str, subject: str
    ) -> None:
        self._add_email(message_id, rfc_message_id, address, subject)
        await self.session.flush()
