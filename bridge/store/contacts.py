"""The contacts directory: who holds which number, and what we know about them.

Every call runs inside the caller's transaction (`session`); a raised `NumberTaken`
is meant to roll that transaction back, so a refused change leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.contacts import DEFAULT_LABEL, ContactDetails, LabelledNumber, NumberTaken
from bridge.domain.email import email_only_contact
from bridge.domain.values import PhoneNumber
from bridge.store.models import Contact, ContactNumber
from bridge.store.sql import insert

# Texts for people.
HELD_BY_OTHER = "{number} already belongs to another contact ({owner})"
TAKEN_MEANWHILE = "{number} was given to another contact meanwhile"


class SqlContacts:
    """`Contacts`, and the directory a contacts import changes, over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def holder(self, number: PhoneNumber) -> int:
        query = select(Contact.id).join(ContactNumber).where(ContactNumber.number == number)
        found = await self.session.scalar(query)
        if found is not None:
            return found
        contact = Contact(properties={})
        self.session.add(contact)
        await self.session.flush()
        claimed = await self.session.scalar(
            insert(self.session, ContactNumber)
            .values(contact_id=contact.id, number=number, label=DEFAULT_LABEL)
            .on_conflict_do_nothing(index_elements=["number"])
            .returning(ContactNumber.id)
        )
        if claimed is None:
            # Someone else (a contacts import) took the number meanwhile: theirs it is.
            await self.session.delete(contact)
            return await self.session.scalar(query)  # type: ignore[return-value]
        return contact.id

    async def title(self, number: str, title_property: str) -> tuple[str | None, str]:
        contact_id = email_only_contact(number)
        if contact_id is None:
            query = (
                select(Contact.name, Contact.properties, ContactNumber.label)
                .join(ContactNumber)
                .where(ContactNumber.number == number)
            )
        else:  # a contact with no number: its own row, and no number's label
            query = select(Contact.name, Contact.properties, literal(DEFAULT_LABEL)).where(
                Contact.id == contact_id
            )
        row = (await self.session.execute(query)).first()
        if row is None:
            return None, DEFAULT_LABEL
        name, properties, label = row
        if title_property == "name":
            return name, label
        value = (properties or {}).get(title_property)
        return (str(value) if value not in (None, "") else None), label

    async def name(self, number: str, *, name: str, label: str) -> None:
        contact_id = email_only_contact(number) or await self.holder(PhoneNumber(number))
        await self.session.execute(
            update(Contact).where(Contact.id == contact_id).values(name=name)
        )
        await self.session.execute(
            update(ContactNumber).where(ContactNumber.number == number).values(label=label)
        )

    async def named(self, name: str) -> list[str]:
        return list(
            await self.session.scalars(
                select(ContactNumber.number)
                .join(Contact)
                .where(func.lower(Contact.name) == name.strip().lower())
                .order_by(ContactNumber.id)
            )
        )

    async def known(self, candidates: Sequence[str]) -> str | None:
        held = set(
            await self.session.scalars(
                select(ContactNumber.number).where(ContactNumber.number.in_(list(candidates)))
            )
        )
        return next((number for number in candidates if number in held), None)

    async def find_by_number(self, number: PhoneNumber) -> int | None:
        """The id of the contact holding `number`, if any."""
        return await self.session.scalar(
            select(Contact.id).join(ContactNumber).where(ContactNumber.number == number)
        )

    async def upsert(self, details: ContactDetails) -> tuple[int, bool]:
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
        return contact.id, created

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
            insert(self.session, ContactNumber)
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


def _describe(contact: Contact | None, contact_id: int) -> str:
    if contact is not None and contact.name:
        return f"#{contact_id} {contact.name}"
    return f"#{contact_id}"
