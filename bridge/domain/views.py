"""What the chat shows: a case's header, lists of cases, a person's App Home, a forwarded text.

Built by the rules from records, drawn by the chat adapter (bridge/slack).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.domain.email import Channel
from bridge.domain.values import ChannelId, PhoneNumber, SlackTs, UserId


@dataclass(frozen=True, slots=True)
class CaseView:
    """What a case header shows."""

    case_id: int
    status: str
    contact_label: str
    contact_number: PhoneNumber
    contact_address: str  # the number formatted, or an email-only contact's address
    our_number: PhoneNumber
    our_number_configured: bool
    assignee: UserId | None
    unread: int
    previous_case_id: int | None
    previous_case_link: str | None
    last_activity: datetime
    contact_named: bool
    opted_out: bool = False  # the contact texted STOP to our number (or blocks it)
    muted: bool = False  # nobody is told of its texts but its thread
    # The case's first texts, shown in the header's own post (one post instead of two).
    texts: tuple[ShownText, ...] = ()
    # For a case reachable by SMS and by email: how the next staff reply goes.
    reply_route: ReplyRoute | None = None


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    """The channel a staff reply goes by, and the contact's address on it, as shown."""

    channel: Channel
    address: str


@dataclass(frozen=True, slots=True)
class ShownText:
    """A contact's text as a post shows it, with the moment it came."""

    message_id: int
    text: str
    at: datetime


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
    """An inbound text or email passed on to one person: who sent it, to which cases, the
    words."""

    view: CaseView  # the first case it reached
    case_links: list[tuple[int, str | None]]  # each case with a link to its thread
    text: str
    email: str | None = None  # the address an email came from; None for a text
