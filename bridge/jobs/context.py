"""What a job handler works with: the store, the chat, the carrier and the settings in force."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.clock import Clock
from bridge.domain.broadcasts import BroadcastRules
from bridge.domain.rules import ChatRules, Inbox
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.email_ports import EmailSender
from bridge.routing.media_ports import ChatFiles, MediaLinks, MediaSource
from bridge.routing.outside import ChatEraser, ChatPoster, ReplyRenderer, SmsSender, VoiceCaller
from bridge.routing.ports import Units


@dataclass(slots=True)
class JobContext:
    units: Units
    poster: ChatPoster
    sender: SmsSender
    renderer: ReplyRenderer
    book: SettingsBook
    clock: Clock
    media: MediaSource
    files: ChatFiles
    media_max_bytes: int
    links: MediaLinks
    eraser: ChatEraser
    broadcasting: BroadcastRules = field(default_factory=BroadcastRules)
    mailer: EmailSender | None = None  # staff replies by email, when SMTP_URL is set
    our_address: str | None = None  # EMAIL_ADDRESS
    retention_days: int | None = None  # closed cases older than this are erased
    caller: VoiceCaller | None = None  # None without a Vonage application (no Voice API)

    @property
    def rules(self) -> ChatRules:
        return self.book.rules

    @property
    def inbox(self) -> Inbox:
        return self.book.inbox
