"""The router: takes the inbox's events in the order it kept them and decides about them,
many in one transaction, off the webhooks' path.

An event and what it decides (cases, messages, outbox jobs) commit together, and the event
leaves the inbox in that same commit: a crash before it leaves the event to route again,
never twice. On several instances each takes a batch no other holds, each conversation's
events in order (bridge/store/inbox.py). An event whose routing fails for a reason other
than the store being away is set aside, logged, and the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridge.clock import Clock
from bridge.domain.events import (
    EMAIL_INBOUND,
    MEDIA_INBOUND,
    SMS_INBOUND,
    SMS_STATUS,
    VOICE_EVENT,
    InboxEvent,
    call_event_of,
    email_of,
    inbound_of,
    media_of,
    receipt_of,
)
from bridge.errors import StoreUnavailable
from bridge.routing.calls import accept_call_event
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.email import accept_email
from bridge.routing.inbound import InboundResult, accept_inbound
from bridge.routing.ports import Unit, Units
from bridge.routing.receipts import accept_receipt

log = logging.getLogger(__name__)

# Events routed in one transaction at most. On SQLite a batch holds the one writer that
# webhooks wait for, and its statements run on the loop without a break (a new case takes
# some 13 ms): short batches keep their answers quick. PostgreSQL gains from long ones.
BATCH_BY_STORE = {"sqlite": 4, "postgresql": 100}
# In a storm of webhooks, one event per transaction on either store: a routing step then
# takes the loop from them for a few milliseconds at a time.
BATCH_UNDER_LOAD = 1
STORE_AWAY_SECONDS = 1.0  # how long to wait before trying a store that was away again


@dataclass(frozen=True, slots=True)
class Routed:
    """What one batch did: events routed, of which new texts; `more` when events may be
    waiting still (the batch was full, or it failed and is to be taken one at a time)."""

    events: int = 0
    texts: int = 0
    more: bool = False


class Router:
    def __init__(
        self,
        units: Units,
        book: SettingsBook,
        clock: Clock,
        *,
        batch: int = BATCH_BY_STORE["postgresql"],
        sole_claimer: bool = False,
        max_idle: float = 5.0,
        on_routed: Callable[[Routed], None] | None = None,
        give_way: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.units = units
        self.book = book
        self.clock = clock
        self.batch = batch
        # On SQLite no one else claims events: a batch short of `batch` took all there were.
        # On PostgreSQL another instance may hold events this claim passed over.
        self.sole_claimer = sole_claimer
        # Without Redis nothing tells this instance of events another instance kept.
        self.max_idle = max_idle
        self.on_routed = on_routed
        # Awaited before each batch: gives way to a storm of webhooks (`Foreground`); True
        # while one lasts.
        self.give_way = give_way
        self._wake = asyncio.Event()
        self._stopping = False
        self._careful = 0  # after a batch failed: this many events one at a time

    def notify(self, events: int = 1) -> None:
        """Events were kept: route them."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            # Cleared before the claim: an event kept after the claim looked sets it again.
            self._wake.clear()
            try:
                under_load = self.give_way is not None and await self.give_way()
                routed = await self.route_some(under_load=under_load)
            except StoreUnavailable as exc:
                log.warning("router waiting for the store: %s", exc)
                await asyncio.sleep(STORE_AWAY_SECONDS)
                continue
            if routed.events and self.on_routed is not None:
                self.on_routed(routed)
            if routed.more or self._wake.is_set() or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.max_idle)

    async def route_some(self, *, under_load: bool = False) -> Routed:
        """Route the next batch (one event while being careful, or in a storm of webhooks);
        what it did."""
        most = 1 if self._careful else BATCH_UNDER_LOAD if under_load else self.batch
        claimed: list[tuple[int, InboxEvent]] = []
        try:
            async with self.units.unit() as unit:
                claimed = await unit.arrivals.claim(most)
                texts = 0
                for _event_id, event in claimed:
                    texts += await self._route(unit, event)
                if claimed:
                    await unit.arrivals.routed([event_id for event_id, _ in claimed])
        except StoreUnavailable:
            raise
        except Exception as exc:
            if most > 1 or not claimed:
                log.exception("inbox events failed to route; routing them one at a time")
                self._careful = len(claimed)
                return Routed(more=bool(claimed))
            await self._set_aside(*claimed[0], exc)
            return Routed(events=1, more=True)
        self._careful = max(0, self._careful - len(claimed))
        more = len(claimed) == most or (bool(claimed) and not self.sole_claimer)
        return Routed(events=len(claimed), texts=texts, more=more)

    async def _route(self, unit: Unit, event: InboxEvent) -> int:
        """Decide about one event; 1 when it is a text not seen before."""
        if event.kind in (SMS_INBOUND, MEDIA_INBOUND):
            with_media = event.kind == MEDIA_INBOUND
            sms, media = media_of(event) if with_media else (inbound_of(event), None)
            result: InboundResult = await accept_inbound(
                unit,
                sms,
                inbox=self.book.inbox,
                rules=self.book.rules,
                now=event.received_at,
                media=media,
            )
            return 0 if result.duplicate else 1
        if event.kind == SMS_STATUS:
            await accept_receipt(unit, receipt_of(event), rules=self.book.rules)
            return 0
        if event.kind == EMAIL_INBOUND:
            routed = await accept_email(
                unit,
                email_of(event),
                inbox=self.book.inbox,
                rules=self.book.rules,
                now=event.received_at,
            )
            return 0 if routed.duplicate else 1
        if event.kind == VOICE_EVENT:
            await accept_call_event(unit, call_event_of(event))
            return 0
        raise ValueError(f"no route for inbox events of kind {event.kind!r}")

    async def _set_aside(self, event_id: int, event: InboxEvent, error: Exception) -> None:
        """An event that cannot be routed is kept aside, with why; the others go on."""
        async with self.units.unit() as unit:
            await unit.arrivals.failed(event_id, f"{type(error).__name__}: {error}")
        log.error("inbox event %s (%s) set aside", event_id, event.kind, exc_info=error)
        self._careful = max(0, self._careful - 1)
