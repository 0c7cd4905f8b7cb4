"""A raw RFC 822 message, however it came (HTTP, SMTP), read and kept in the inbox."""

from __future__ import annotations

from bridge.clock import Clock
from bridge.domain.events import email_event
from bridge.mail.parse import parse_email
from bridge.routing.ports import EventIntake


class MailIntake:
    """Reads a message and keeps it as an inbox event; `InvalidInput` says why it cannot be
    a contact's email (nothing is kept then)."""

    def __init__(self, *, intake: EventIntake, clock: Clock, our_address: str | None) -> None:
        self.intake = intake
        self.clock = clock
        self.our_address = our_address

    async def keep(self, raw: bytes) -> None:
        now = self.clock.now()
        parsed = parse_email(raw, at=now, our_address=self.our_address)
        await self.intake.keep(email_event(parsed, at=now))
