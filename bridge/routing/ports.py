"""The small protocols through which the core rules reach the store and the outside world.

The store implements `Ledger`; the Slack adapter implements `ChatPoster` and
`ReplyRenderer`; the carrier adapter implements `SmsSender`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bridge.routing.model import ChannelId, PhoneNumber, SlackTs, UserId


@dataclass(frozen=True, slots=True)
class CaseView:
    """What a case header shows."""

    case_id: int
    status: str
    contact_label: str
    contact_number: PhoneNumber
    our_number: PhoneNumber
    our_number_configured: bool
    assignee: UserId | None
    unread: int
    previous_case_id: int | None
    previous_case_link: str | None
    last_activity: datetime
    contact_named: bool
    opted_out: bool = False  # the contact texted STOP to our number (or blocks it)


@dataclass(frozen=True, slots=True)
class CaseLine:
    """A case in a list: what the App Home shows of it."""

    case_id: int
    label: str
    status: str
    assignee: UserId | None
    unread: int
    channel: ChannelId
    thread_ts: SlackTs | None
    last_activity: datetime


@dataclass(frozen=True, slots=True)
class CaseList:
    cases: list[CaseLine]
    total: int


@dataclass(frozen=True, slots=True)
class HomeView:
    """One person's App Home: their unread and assigned cases, and the open ones."""

    user: UserId
    unread: CaseList
    assigned: CaseList
    open: CaseList
    refusal: str | None = None  # shown instead, to someone who may not see cases
    dead_jobs: int | None = None  # for admins: how many jobs were given up


@dataclass(frozen=True, slots=True)
class ForwardedText:
    """An inbound text passed on to one person: who sent it, to which cases, the words."""

    view: CaseView  # the first case it reached
    case_links: list[tuple[int, str | None]]  # each case with a link to its thread
    text: str


@dataclass(frozen=True, slots=True)
class Offer:
    """An action a person may take from a message they were told: its name, what it acts on."""

    action: str
    message_id: int


@dataclass(frozen=True, slots=True)
class PostedMessage:
    channel: ChannelId
    ts: SlackTs


@dataclass(frozen=True, slots=True)
class Posting:
    """Which message a post shows in which case: carried with the post, so that a job run
    again after losing its lease can find a post its first run made but never recorded."""

    case_id: int
    message_id: int


class ChatPoster(Protocol):
    """Posts to the chat; raises `SendError` saying whether a retry can help."""

    async def post_header(self, channel: ChannelId, view: CaseView) -> PostedMessage: ...

    async def update_header(self, channel: ChannelId, ts: SlackTs, view: CaseView) -> None: ...

    async def post_in_thread(
        self,
        channel: ChannelId,
        thread_ts: SlackTs,
        text: str,
        *,
        from_contact: bool,
        posting: Posting | None = None,
        broadcast: bool = False,
    ) -> PostedMessage:
        """A reply in a thread; `broadcast` shows it in the channel too."""
        ...

    async def find_header(
        self, channel: ChannelId, case_id: int, *, since: datetime
    ) -> SlackTs | None:
        """The ts of case `case_id`'s header if posted in the channel at or after `since`."""
        ...

    async def find_posting(
        self, channel: ChannelId, thread_ts: SlackTs, posting: Posting, *, since: datetime
    ) -> SlackTs | None:
        """The ts of a post carrying `posting` made in the thread at or after `since`."""
        ...

    async def react(self, channel: ChannelId, ts: SlackTs, name: str) -> None: ...

    async def tell_user(
        self,
        channel: ChannelId,
        user: UserId,
        text: str,
        *,
        thread_ts: SlackTs | None,
        offer: Offer | None = None,
    ) -> None:
        """An ephemeral message; `offer` adds a button for what the person may do next."""
        ...

    async def permalink(self, channel: ChannelId, ts: SlackTs) -> str | None: ...

    async def direct_message(self, user: UserId, text: str) -> None: ...

    async def workspace_admins(self) -> list[UserId]:
        """The workspace's admins and owners."""
        ...

    async def publish_home(self, home: HomeView) -> None: ...

    async def forward_text(self, user: UserId, forwarded: ForwardedText) -> None:
        """A direct message telling `user` of a contact's text."""
        ...


class ReplyRenderer(Protocol):
    """Turns a staff message as the chat stores it into the plain text an SMS carries."""

    async def render(self, source_text: str) -> str: ...


@dataclass(frozen=True, slots=True)
class SentSms:
    provider_message_ids: list[str]


class SmsSender(Protocol):
    """Sends one text; raises `SendError` saying whether a retry can help.

    `client_ref` goes with the send and comes back in its delivery receipts.
    """

    async def send(
        self, *, to: PhoneNumber, sender: PhoneNumber, text: str, client_ref: str
    ) -> SentSms: ...
