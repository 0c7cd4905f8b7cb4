"""What the Slack handlers work with: the store, the outbox, the settings, the clock, access."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.clock import Clock
from bridge.domain.broadcasts import BroadcastRules
from bridge.domain.rules import Inbox
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.ports import Units
from bridge.slack.access import Gatekeeper
from bridge.store.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Desk:
    units: Units
    outbox: Outbox
    book: SettingsBook
    clock: Clock
    gatekeeper: Gatekeeper
    broadcasting: BroadcastRules = field(default_factory=BroadcastRules)

    @property
    def inbox(self) -> Inbox:
        return self.book.inbox

    @property
    def default_region(self) -> str | None:
        return self.book.current.settings.default_region

    @property
    def time_zone(self) -> str:
        return self.book.rules.time_zone

    async def is_admin(self, user: str) -> bool:
        """Whether `user` may change the chat settings (and so look after the bridge)."""
        named = self.book.current.settings.settings_admins
        return await self.gatekeeper.settings_refusal(user, named) is None
