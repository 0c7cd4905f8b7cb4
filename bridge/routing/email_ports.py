"""What the email rules ask of the store and of the mail server (beside routing/ports.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bridge.domain.email import Channel, EmailThreadRecord, InboundEmail, OutgoingEmail
from bridge.domain.records import CaseRecord


class Emails(Protocol):
    async def known(self, message_id: str) -> bool:
        """Whether an email with this Message-ID is in the log already."""

    async def add_inbound(
        self, email: InboundEmail, *, contact_number: str, our_number: str, text: str
    ) -> int | None:
        """Store a contact's email once, shown as `text`; None when its Message-ID was stored."""

    async def case_of_token(self, token: str) -> CaseRecord | None:
        """The case whose `reply+<token>@` address this is."""

    async def case_answered(self, message_ids: Sequence[str]) -> CaseRecord | None:
        """The newest case holding an email with one of these Message-IDs."""

    async def contact_of(self, address: str) -> int | None:
        """The contact holding this email address (any case)."""

    async def add_contact(self, address: str, name: str | None) -> int:
        """A new contact with this address (and name)."""

    async def address_of(self, contact_id: int) -> str | None:
        """The contact's email address, if it has one."""

    async def numbers_of(self, contact_id: int) -> list[str]:
        """The contact's phone numbers, first given first."""

    async def thread(self, case_id: int) -> EmailThreadRecord | None:
        """The case's email side, if it has one."""

    async def start_thread(self, case_id: int, *, token: str, subject: str, address: str) -> None:
        """The case gets an email side: its reply address token, subject and contact address."""

    async def wrote_by(
        self,
        case_id: int,
        channel: Channel,
        *,
        subject: str | None = None,
        address: str | None = None,
    ) -> bool:
        """The contact last wrote by `channel` (by email: from `address`, about `subject`);
        whether staff replies went by the other channel until now."""

    async def reply_by(self, case_id: int, channel: Channel) -> None:
        """Staff chose `channel` for the case's replies (until the contact next writes)."""

    async def message_ids(self, case_id: int) -> list[str]:
        """The Message-IDs of the case's emails, in and out, oldest first."""

    async def message_address(self, message_id: int) -> str | None:
        """The address at the other end of an email of the log; None for a text."""

    async def outgoing(self, message_id: int) -> str | None:
        """The Message-ID chosen for a staff reply by email, once its send began."""

    async def start_send(
        self, message_id: int, *, rfc_message_id: str, address: str, subject: str
    ) -> None:
        """A send by email begins under `rfc_message_id` (committed before the call)."""


class EmailSender(Protocol):
    """Sends one email; raises `SendError` saying whether a retry can help."""

    async def send(self, email: OutgoingEmail) -> None:
        """The mail server took the email."""
