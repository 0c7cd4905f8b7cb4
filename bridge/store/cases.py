"""Cases: one conversation each, a thread in Slack; how they open, change and are found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, column, func, select, table, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.records import CaseFilter, CaseRecord
from bridge.domain.values import CaseStatus, Direction
from bridge.store.erasure import next_case_ref
from bridge.store.models import (
    CONTACT_SEARCH,
    Case,
    CaseMessage,
    CaseRead,
    Contact,
    ContactNumber,
    Message,
)
from bridge.store.sql import case_record

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


def unread_links(user: str) -> Any:
    """The links (case_messages) of contacts' texts that `user` has not read."""
    read = (
        select(CaseRead.read_up_to)
        .where(CaseRead.case_id == CaseMessage.case_id, CaseRead.user_id == user)
        .scalar_subquery()
    )
    return (
        select(CaseMessage.case_id)
        .join(Message, Message.id == CaseMessage.message_id)
        .where(Message.direction == Direction.INBOUND, CaseMessage.id > func.coalesce(read, 0))
    )


class SqlCases:
    """`Cases` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _records(self, query: Any) -> list[CaseRecord]:
        rows = await self.session.scalars(query.execution_options(populate_existing=True))
        return [case_record(row) for row in rows]

    async def _set(self, case_id: int, **values: Any) -> None:
        await self.session.execute(update(_CASES).where(_CASES.c.id == case_id).values(**values))

    async def get(self, case_id: int) -> CaseRecord | None:
        row = (await self.session.execute(_CASE_BY_ID, {"case_id": case_id})).first()
        return case_record(row) if row is not None else None

    async def by_thread(self, channel: str, thread_ts: str) -> CaseRecord | None:
        found = await self._records(
            select(Case).where(Case.channel == channel, Case.thread_ts == thread_ts)
        )
        return found[0] if found else None

    async def open_for(self, contact_number: str, our_number: str) -> list[CaseRecord]:
        return await self._records(
            select(Case)
            .where(
                Case.contact_number == contact_number,
                Case.our_number == our_number,
                Case.status == CaseStatus.OPEN,
            )
            .order_by(Case.id)
        )

    async def last_for(self, contact_number: str, our_number: str) -> CaseRecord | None:
        found = await self._records(
            select(Case)
            .where(Case.contact_number == contact_number, Case.our_number == our_number)
            .order_by(Case.id.desc())
            .limit(1)
        )
        return found[0] if found else None

    async def of_number(self, contact_number: str) -> list[CaseRecord]:
        return await self._records(
            select(Case).where(Case.contact_number == contact_number).order_by(Case.id)
        )

    async def of_message(self, message_id: int) -> list[CaseRecord]:
        return await self._records(
            select(Case)
            .join(CaseMessage, CaseMessage.case_id == Case.id)
            .where(CaseMessage.message_id == message_id)
            .order_by(Case.id)
        )

    async def open(
        self,
        *,
        contact_id: int,
        contact_number: str,
        our_number: str,
        channel: str,
        previous_case_id: int | None,
        at: datetime,
    ) -> CaseRecord:
        case = Case(
            contact_id=contact_id,
            contact_number=contact_number,
            our_number=our_number,
            channel=channel,
            previous_case_id=previous_case_id,
            status=CaseStatus.OPEN,
            unread=0,
            opened_at=at,
            last_activity_at=at,
        )
        if self.session.bind.dialect.name == "sqlite":
            case.id = await next_case_ref(self.session)
        self.session.add(case)
        await self.session.flush()
        return case_record(case)

    async def set_thread(self, case_id: int, thread_ts: str) -> None:
        await self._set(case_id, thread_ts=thread_ts)

    async def touch(self, case_id: int, *, at: datetime, unread: int = 0) -> None:
        await self.session.execute(_TOUCH, {"case_id": case_id, "at": at, "more_unread": unread})

    async def staff_wrote(self, case_id: int, *, at: datetime) -> None:
        await self._set(case_id, last_staff_activity_at=at)

    async def close(self, case_id: int, *, at: datetime) -> None:
        await self._set(case_id, status=CaseStatus.CLOSED, closed_at=at)

    async def reopen(self, case_id: int) -> None:
        await self._set(case_id, status=CaseStatus.OPEN, closed_at=None)

    async def assign(self, case_id: int, user: str | None) -> None:
        await self._set(case_id, assignee=user)

    async def clear_unread(self, case_id: int) -> None:
        await self._set(case_id, unread=0)

    async def search(
        self,
        *,
        text: str,
        digits: str | None,
        case_id: int | None,
        case_filter: CaseFilter,
        offset: int,
        limit: int,
    ) -> tuple[int, list[tuple[CaseRecord, str | None]]]:
        conditions = _conditions(case_filter)
        newest_first = (Case.last_activity_at.desc(), Case.id.desc())
        with_names = select(Case, Contact.name).join(Contact, Contact.id == Case.contact_id)
        if not text:
            total = await self.session.scalar(
                select(func.count()).select_from(Case).where(*conditions)
            )
            rows = await self.session.execute(
                with_names.where(*conditions).order_by(*newest_first).offset(offset).limit(limit)
            )
            return int(total or 0), [(case_record(case), name) for case, name in rows.all()]
        matching = [
            select(Case.id, Case.last_activity_at).where(
                Case.contact_id.in_(union(*self._holders(text.lower(), digits))), *conditions
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
        return len(ids), [(case_record(case), name) for case, name in rows.all()]

    def _holders(self, lowered: str, digits: str | None) -> list[Any]:
        """Queries of the contacts whose name, email or a number holds what is looked for."""
        if self.session.bind.dialect.name == "sqlite":
            # The full-text trigram index (migration 0006) holds names, emails and numbers.
            index = _CONTACT_SEARCH.c
            holders = [
                select(index.rowid).where(_contains(index.name, lowered)),
                select(index.rowid).where(_contains(index.email, lowered)),
            ]
            if digits:
                holders.append(select(index.rowid).where(_contains(index.numbers, digits)))
            return holders
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
        return holders


def _conditions(case_filter: CaseFilter) -> list[Any]:
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
        conditions.append(Case.id.in_(unread_links(case_filter.unread_by).distinct()))
    return conditions


# On the table, built once: the store reads its rows afresh each time (populate_existing),
# so the ORM's bookkeeping buys nothing on the statements most texts run.
_CASES = Case.__table__
_CASE_BY_ID = select(_CASES).where(_CASES.c.id == bindparam("case_id"))
_TOUCH = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("case_id"))
    .values(last_activity_at=bindparam("at"), unread=_CASES.c.unread + bindparam("more_unread"))
)
