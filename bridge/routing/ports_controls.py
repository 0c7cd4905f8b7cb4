"""The store's ports for the conversation controls: muted cases, staff phones and calls,
and erasing what is kept about a case or a person (bridge/routing/ports.py has the others)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bridge.domain.privacy import Erased


class Mutes(Protocol):
    async def is_muted(self, case_id: int) -> bool:
        """Whether the case is muted."""

    async def mute(self, case_id: int, *, by: str, at: datetime) -> bool:
        """Mute the case; False when it was muted already."""

    async def unmute(self, case_id: int) -> bool:
        """Unmute the case; False when it was not muted."""


class Erasure(Protocol):
    async def purge_case(self, case_id: int) -> Erased:
        """Remove the case with its links, reads, mute, auto-responses and jobs, and its
        texts (those no other case holds) with their receipts and forwarded copies."""

    async def holder_of(self, number: str) -> tuple[int, list[str]] | None:
        """(contact id, its numbers) of the contact holding `number`, None if none does."""

    async def purge_contact(self, contact_id: int) -> Erased:
        """Remove the contact, its numbers, their texts, parts and jobs left; their opt-outs
        are kept as keyed hashes only."""

    async def record(self, case_id: int, *, by: str, cause: str, at: datetime) -> None:
        """The audit row of an erased case: who, when, why; no content."""

    async def expired(self, *, before: datetime, limit: int) -> list[int]:
        """Up to `limit` closed cases whose last activity is older than `before`, oldest first."""

    async def about(self, contact_id: int) -> dict[str, Any]:
        """Everything stored about the contact, as JSON values (an access request)."""


class Calls(Protocol):
    async def staff_phone(self, user: str) -> str | None:
        """The number `user` is called on, if they gave one."""

    async def set_staff_phone(self, user: str, number: str, *, at: datetime) -> None:
        """`user` is called on `number` from now on."""

    async def start(self, case_id: int, user: str, *, at: datetime) -> int:
        """A call to place to `user` for the case; its id."""

    async def get(self, call_id: int) -> tuple[int, str, str | None] | None:
        """(case id, user, Vonage's call uuid once taken) of a call."""

    async def taken(self, call_id: int, call_uuid: str) -> None:
        """Vonage took the call under `call_uuid`."""

    async def first_word(self, call_uuid: str, status: str) -> int | None:
        """The case of the call with Vonage's uuid, if this state of it is new (it is then
        recorded as shown); None for a state told before, or a call of no case."""
