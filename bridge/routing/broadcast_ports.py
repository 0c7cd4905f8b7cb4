"""What the broadcast rules ask of the store (beside the ports of routing/ports.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bridge.domain.broadcasts import BroadcastCounts, BroadcastRecord, BroadcastStatus, Release


class Broadcasts(Protocol):
    async def numbers_with(self, key: str, value: str) -> list[str] | None:
        """Numbers of contacts whose property `key` is `value`; None if no one has `key`."""

    async def opted_out_among(self, our_number: str, numbers: Sequence[str]) -> set[str]:
        """Those of `numbers` who asked `our_number` to stop texting them."""

    async def create(
        self,
        *,
        author: str | None,
        our_number: str,
        text: str,
        segments: int,
        start_at: datetime,
        numbers: Sequence[str],
        skipped: int,
    ) -> int:
        """A new broadcast to `numbers` (each once), none of them texted yet; its id."""

    async def get(self, broadcast_id: int) -> BroadcastRecord | None:
        """The broadcast with this id, if there is one."""

    async def set_status(self, broadcast_id: int, status: BroadcastStatus) -> None:
        """Sending, done (every recipient handed over) or cancelled."""

    async def set_post(self, broadcast_id: int, channel: str, ts: str) -> None:
        """Record where its post with the counts is."""

    async def in_flight(self, broadcast_id: int) -> int:
        """Its texts handed to the outbox and not yet sent or refused."""

    async def due(self, broadcast_id: int, *, most: int) -> list[Release]:
        """Up to `most` recipients not texted yet whose wait is over, in order."""

    async def next_waiting(self, broadcast_id: int) -> tuple[int, datetime | None]:
        """How many recipients are still to be texted, and the earliest end of their waits."""

    async def defer(self, recipient_id: int, until: datetime) -> None:
        """The recipient is not texted before `until` (their sending hours)."""

    async def release(
        self, recipient_id: int, *, contact_number: str, text: str, segments: int, encoding: str
    ) -> int:
        """The recipient's text, in the messaging log and queued; its message id."""

    async def cancel_unsent(self, broadcast_id: int, reason: str) -> int:
        """Its texts handed over but not yet sent are refused with `reason`; how many."""

    async def counts(self, broadcast_id: int) -> BroadcastCounts:
        """Its figures as its post shows them."""

    async def last_to(self, contact_number: str, our_number: str) -> BroadcastRecord | None:
        """The newest broadcast that texted `contact_number` from `our_number`."""

    async def text_to(self, broadcast_id: int, contact_number: str) -> int | None:
        """The message id of the broadcast's text to `contact_number`, once made."""
