"""Erasing a case or a person from the store, what the retention period lets go, and what
is kept about one person (their access request)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.privacy import Erased, number_hash
from bridge.domain.values import CaseStatus
from bridge.domain.work import (
    ForwardDm,
    NotifyAssigneeOfTexts,
    PostMessage,
    SendSms,
    header_queue,
    slack_queue,
)
from bridge.store.controls import HashKey
from bridge.store.models import (
    AutoReplySent,
    Case,
    CaseMessage,
    CaseRead,
    Contact,
    ContactNumber,
    EarlyReceipt,
    InboundPart,
    InboxEventRow,
    Message,
    OptOut,
    OutboxJob,
    SentPart,
)
from bridge.store.models_controls import CaseErasure, CaseMute, ErasedOptOut, StaffCall
from bridge.store.sql import insert

# Payload keys through which a job names the texts it is about, and the kinds that do (the
# others are found by their queue): only those jobs' payloads are read.
_MESSAGE_KEYS = ("message_id", "first_message_id")
_NAMING_KINDS = (SendSms.kind, ForwardDm.kind, NotifyAssigneeOfTexts.kind, PostMessage.kind)
_RUNNING = "running"  # a running job finishes first (it finds nothing left to show)


class SqlErasure:
    """`Erasure` over one transaction."""

    def __init__(self, session: AsyncSession, key: HashKey) -> None:
        self.session = session
        self.key = key

    async def purge_case(self, case_id: int) -> Erased:
        s = self.session
        linked = set(
            await s.scalars(select(CaseMessage.message_id).where(CaseMessage.case_id == case_id))
        )
        shared = set(
            await s.scalars(
                select(CaseMessage.message_id).where(
                    CaseMessage.message_id.in_(linked), CaseMessage.case_id != case_id
                )
            )
        )
        jobs = await self._drop_jobs(
            OutboxJob.queue.in_(
                [slack_queue(case_id), header_queue(case_id), f"slack:notice:{case_id}"]
            ),
            case_id=case_id,
            message_ids=linked - shared,
        )
        for table in (CaseRead, CaseMute, StaffCall, AutoReplySent, CaseMessage):
            await s.execute(delete(table).where(table.case_id == case_id))
        messages, receipts = await self._drop_messages(linked - shared)
        await s.execute(
            update(Case).where(Case.previous_case_id == case_id).values(previous_case_id=None)
        )
        await s.execute(delete(Case).where(Case.id == case_id))
        return Erased(cases=1, messages=messages, receipts=receipts, jobs=jobs)

    async def _drop_messages(self, message_ids: Collection[int]) -> tuple[int, int]:
        """Delete texts with their forwarded copies, sent parts and early receipts."""
        s = self.session
        if not message_ids:
            return 0, 0
        copies = set(
            await s.scalars(select(Message.id).where(Message.forwarded_from_id.in_(message_ids)))
        )
        ids = set(message_ids) | copies
        await self._drop_jobs(false(), message_ids=copies)
        parts = list(
            await s.scalars(
                select(SentPart.provider_message_id).where(SentPart.message_id.in_(ids))
            )
        )
        refs = [
            r for r in await s.scalars(select(Message.send_ref).where(Message.id.in_(ids))) if r
        ]
        early = await s.execute(
            delete(EarlyReceipt).where(
                or_(EarlyReceipt.provider_message_id.in_(parts), EarlyReceipt.client_ref.in_(refs))
            )
        )
        await s.execute(delete(SentPart).where(SentPart.message_id.in_(ids)))
        await s.execute(delete(AutoReplySent).where(AutoReplySent.message_id.in_(ids)))
        await s.execute(delete(CaseMessage).where(CaseMessage.message_id.in_(copies)))
        await s.execute(delete(Message).where(Message.id.in_(copies)))
        gone = await s.execute(delete(Message).where(Message.id.in_(message_ids)))
        return gone.rowcount + len(copies), len(parts) + early.rowcount

    async def _drop_jobs(
        self, where: Any, *, case_id: int | None = None, message_ids: Collection[int] = ()
    ) -> int:
        """Delete the jobs `where` says, and those whose payload names the case or a text."""
        s = self.session
        rows = await s.execute(
            select(OutboxJob.id, OutboxJob.payload).where(
                OutboxJob.status != _RUNNING, OutboxJob.kind.in_(_NAMING_KINDS)
            )
        )
        doomed = [
            job_id
            for job_id, payload in rows
            if (case_id is not None and _names_case(payload, case_id))
            or any(payload.get(key) in message_ids for key in _MESSAGE_KEYS)
        ]
        result = await s.execute(
            delete(OutboxJob).where(
                OutboxJob.status != _RUNNING, or_(where, OutboxJob.id.in_(doomed))
            )
        )
        return result.rowcount

    async def holder_of(self, number: str) -> tuple[int, list[str]] | None:
        contact_id = await self.session.scalar(
            select(ContactNumber.contact_id).where(ContactNumber.number == number)
        )
        if contact_id is None:
            return None
        numbers = await self.session.scalars(
            select(ContactNumber.number)
            .where(ContactNumber.contact_id == contact_id)
            .order_by(ContactNumber.id)
        )
        return contact_id, list(numbers)

    async def purge_contact(self, contact_id: int) -> Erased:
        s = self.session
        numbers = list(
            await s.scalars(
                select(ContactNumber.number).where(ContactNumber.contact_id == contact_id)
            )
        )
        left = set(await s.scalars(select(Message.id).where(Message.contact_number.in_(numbers))))
        await s.execute(delete(CaseMessage).where(CaseMessage.message_id.in_(left)))
        messages, receipts = await self._drop_messages(left)
        queues = [
            or_(OutboxJob.queue.like(f"sms:%:{n}"), OutboxJob.queue.like(f"parts:%:{n}:%"))
            for n in numbers
        ]
        jobs = await self._drop_jobs(or_(*queues)) if queues else 0
        parts = await s.execute(delete(InboundPart).where(InboundPart.contact_number.in_(numbers)))
        conversations = [InboxEventRow.conversation.like(f"{n}|%") for n in numbers]
        if conversations:
            await s.execute(delete(InboxEventRow).where(or_(*conversations)))
        hashed = await self._hash_opt_outs(numbers)
        await s.execute(delete(ContactNumber).where(ContactNumber.contact_id == contact_id))
        await s.execute(delete(Contact).where(Contact.id == contact_id))
        return Erased(
            messages=messages,
            receipts=receipts,
            parts=parts.rowcount,
            jobs=jobs,
            contacts=1,
            numbers=len(numbers),
            opt_outs_hashed=hashed,
        )

    async def _hash_opt_outs(self, numbers: list[str]) -> int:
        """Keep each opt-out of these numbers as a keyed hash of the number alone."""
        s = self.session
        rows = list(
            await s.execute(
                select(OptOut.contact_number, OptOut.our_number).where(
                    OptOut.contact_number.in_(numbers)
                )
            )
        )
        if not rows:
            return 0
        key = await self.key.get(s, create=True)
        assert key is not None
        for contact_number, our_number in rows:
            await s.execute(
                insert(s, ErasedOptOut)
                .values(number_hash=number_hash(key, contact_number), our_number=our_number)
                .on_conflict_do_nothing(index_elements=["number_hash", "our_number"])
            )
        await s.execute(delete(OptOut).where(OptOut.contact_number.in_(numbers)))
        return len(rows)

    async def record(self, case_id: int, *, by: str, cause: str, at: datetime) -> None:
        self.session.add(CaseErasure(case_id=case_id, erased_by=by[:32], cause=cause, erased_at=at))

    async def expired(self, *, before: datetime, limit: int) -> list[int]:
        found = await self.session.scalars(
            select(Case.id)
            .where(Case.status == CaseStatus.CLOSED, Case.last_activity_at < before)
            .order_by(Case.last_activity_at, Case.id)
            .limit(limit)
        )
        return list(found)

    async def about(self, contact_id: int) -> dict[str, Any]:
        s = self.session
        contact = await s.get(Contact, contact_id)
        if contact is None:
            return {}
        numbers = [n.number for n in contact.numbers]
        cases = await s.scalars(
            select(Case).where(Case.contact_number.in_(numbers)).order_by(Case.id)
        )
        messages = await s.scalars(
            select(Message).where(Message.contact_number.in_(numbers)).order_by(Message.id)
        )
        opt_outs = await s.scalars(select(OptOut).where(OptOut.contact_number.in_(numbers)))
        waiting = await s.scalars(
            select(InboundPart).where(InboundPart.contact_number.in_(numbers))
        )
        links = await s.execute(
            select(CaseMessage.message_id, func.min(CaseMessage.case_id))
            .join(Message, Message.id == CaseMessage.message_id)
            .where(Message.contact_number.in_(numbers))
            .group_by(CaseMessage.message_id)
        )
        return {
            "contact": {
                "id": contact.id,
                "name": contact.name,
                "email": contact.email,
                "notes": contact.notes,
                "properties": contact.properties,
                "created_at": contact.created_at.isoformat(),
                "numbers": [{"number": n.number, "label": n.label} for n in contact.numbers],
            },
            "cases": [_case(c) for c in cases],
            "messages": [_message(m) for m in messages],
            "message_cases": {str(m): c for m, c in links},
            "opt_outs": [
                {
                    "number": o.contact_number,
                    "our_number": o.our_number,
                    "reason": o.reason,
                    "created_at": o.created_at.isoformat(),
                }
                for o in opt_outs
            ],
            "waiting_parts": [
                {
                    "number": p.contact_number,
                    "our_number": p.our_number,
                    "part": p.part,
                    "total": p.total,
                    "text": p.text,
                    "received_at": p.received_at.isoformat(),
                }
                for p in waiting
            ],
        }


async def next_case_ref(session: AsyncSession) -> int:
    """The id of a new case on SQLite, which would hand out the id of the newest case again
    once it is erased: a case reference (#12) must never name two cases. (PostgreSQL's
    sequences never go back; SQLite's writers take turns, so two cannot pick one id.)"""
    newest = await session.scalar(select(func.max(Case.id)))
    erased = await session.scalar(select(func.max(CaseErasure.case_id)))
    return max(newest or 0, erased or 0) + 1


def _names_case(payload: dict[str, Any], case_id: int) -> bool:
    return payload.get("case_id") == case_id or case_id in (payload.get("case_ids") or ())


def _case(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "number": case.contact_number,
        "our_number": case.our_number,
        "status": case.status,
        "assignee": case.assignee,
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "last_activity_at": case.last_activity_at.isoformat(),
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "number": message.contact_number,
        "our_number": message.our_number,
        "text": message.text,
        "source_text": message.source_text,
        "author": message.author,
        "status": message.status,
        "error": message.error,
        "created_at": message.created_at.isoformat(),
    }
