"""The contacts directory: who holds which number, and what we know about them.

Every call runs inside the caller's transaction (`session`); a raised `NumberTaken`
is meant to roll that transaction back, so a refused change leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.values import PhoneNumber
from bridge.errors import InvalidInput
from bridge.store.models import Contact, ContactNumber

DEFAULT_LABEL = "Mobile"

# Texts for people.
HELD_BY_OTHER = "{number} already belongs to another contact ({owner})"
TAKEN_MEANWHILE = "{number} was given to another contact meanwhile"


class NumberTaken(InvalidInput):
    """A number of the change is held by a different contact than the one being changed."""


@dataclass(frozen=True, slots=True)
class LabelledNumber:
    number: PhoneNumber
    label: str | None = None  # None: keep the label a held number has ("Mobile" if new)


@dataclass(frozen=True, slots=True)
class ContactDetails:
    """What to set on a contact; None (or a missing property) leaves a stored value as it is."""

    numbers: Sequence[LabelledNumber] = ()
    name: str | None = None
    email: str | None = None
    notes: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


class ContactDirectory:
    """Contacts and their numbers, over one transaction; SQLite and PostgreSQL alike."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_by_number(self, number: PhoneNumber) -> Contact | None:
        return await self.session.scalar(
            select(Contact).join(ContactNumber).where(ContactNumber.number == number)
        )

    async def upsert(self, details: ContactDetails) -> tuple[Contact, bool]:
        """The contact holding any of `details.numbers`, updated, or a new one; and whether new.

        Numbers the contact lacks are added to it. Raises `NumberTaken` when the numbers
        are spread over several contacts: merging people is not an import's decision.
        """
        numbers = [entry.number for entry in details.numbers]
        held = dict(
            (
                await self.session.execute(
                    select(ContactNumber.number, ContactNumber.contact_id).where(
                        ContactNumber.number.in_(numbers)
                    )
                )
            ).all()
        )
        owners = list(dict.fromkeys(held[number] for number in numbers if number in held))
        if len(owners) > 1:
            stranger = next(n for n in numbers if n in held and held[n] != owners[0])
            other = await self.session.get(Contact, owners[1])
            raise NumberTaken(
                HELD_BY_OTHER.format(number=stranger, owner=_describe(other, owners[1]))
            )
        created = not owners
        if created:
            contact = Contact(properties={})
            self.session.add(contact)
            await self.session.flush()
        else:
            contact = await self.session.get_one(Contact, owners[0])
        await self.update(contact, details)
        for entry in details.numbers:
            if entry.number in held:
                if entry.label is not None:
                    await self._relabel(entry.number, entry.label)
            else:
                await self._add_number(contact.id, entry)
        await self.session.flush()
        await self.session.refresh(contact, ["numbers"])
        return contact, created

    async def update(self, contact: Contact, details: ContactDetails) -> None:
        """Set name, email, notes and properties where `details` gives them."""
        if details.name is not None:
            contact.name = details.name
        if details.email is not None:
            contact.email = details.email
        if details.notes is not None:
            contact.notes = details.notes
        if details.properties:
            # A new dict: the JSON column does not notice changes made in place.
            contact.properties = {**(contact.properties or {}), **details.properties}

    async def _add_number(self, contact_id: int, entry: LabelledNumber) -> None:
        # ON CONFLICT DO NOTHING: a number taken by a concurrent writer since our look-up
        # comes back as no row rather than an error that would poison the transaction.
        statement = (
            _insert(self.session, ContactNumber)
            .values(contact_id=contact_id, number=entry.number, label=entry.label or DEFAULT_LABEL)
            .on_conflict_do_nothing(index_elements=["number"])
            .returning(ContactNumber.id)
        )
        if await self.session.scalar(statement) is None:
            raise NumberTaken(TAKEN_MEANWHILE.format(number=entry.number))

    async def _relabel(self, number: PhoneNumber, label: str) -> None:
        row = await self.session.scalar(select(ContactNumber).where(ContactNumber.number == number))
        if row is not None:
            row.label = label


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.bind.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _describe(contact: Contact | None, contact_id: int) -> str:
    if contact is not None and contact.name:
        return f"#{contact_id} {contact.name}"
    return f"#{contact_id}"
