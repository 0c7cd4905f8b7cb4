"""What the store hands the rules: frozen copies of its rows. Changing one is a store call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.domain.values import (
    CaseStatus,
    ChannelId,
    Direction,
    MessageStatus,
    PhoneNumber,
    SlackTs,
    UserId,
)


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One conversation with one contact number through one of our numbers; a Slack thread.

    The id is also the case's short reference (`#12`).
    """

    id: int
    contact_id: int
    contact_number: PhoneNumber
    our_number: PhoneNumber
    status: CaseStatus
    channel: ChannelId
    thread_ts: SlackTs | None  # the header's ts, once it is posted
    previous_case_id: int | None
    assignee: UserId | None
    unread: int
    opened_at: datetime
    closed_at: datetime | None
    last_activity_at: datetime
    last_staff_activity_at: datetime | None  # automated texts wait a quiet period after it


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A text in or out, or a staff note: a line of the messaging log."""

    id: int
    direction: Direction
    contact_number: PhoneNumber
    our_number: PhoneNumber
    text: str  # as the phone sees it
    source_text: str | None  # a staff reply as Slack had it
    author: UserId | None
    status: MessageStatus
    error: str | None
    segments: int | None
    encoding: str | None
    provider_message_id: str | None
    origin_channel: ChannelId | None
    origin_ts: SlackTs | None
    forwarded_from_id: int | None
    # A send started under this client-ref (committed before the call) and when.
    send_ref: str | None
    send_started_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PartRecord:
    """One part of a long inbound text, waiting for the others."""

    id: int
    contact_number: PhoneNumber
    our_number: PhoneNumber
    part: int
    total: int
    text: str
    head_unit: int | None  # a surrogate half the part boundary cut off at its start
    tail_unit: int | None  # ... and at its end
    provider_message_id: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A forwarding schedule as stored (see bridge/routing/forwarding.py)."""

    id: int
    name: str
    user_ids: list[str]
    phone_numbers: list[str]
    days: list[int]
    start_time: str
    end_time: str
    time_zone: str
    created_by: str


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One line of the chat settings' audit log."""

    key: str
    old: Any
    new: Any
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TrafficGroup:
    """Texts of one kind through one of our numbers (by one author) in one state."""

    direction: str
    our_number: str
    author: str | None
    status: str
    handed_over: bool  # the carrier took them: they carry its message id
    texts: int
    segments: int  # the sum of the recorded segment counts
    measured: int  # how many of the texts have a recorded segment count
    channel: str  # sms or email: emails are counted apart and never have segments


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Which cases a search or list keeps."""

    status: str = "open"  # open, closed or all
    assignee: str | None = None
    unassigned: bool = False
    unread: bool = False  # with texts nobody has read
    unread_by: str | None = None  # with texts this person has not read


@dataclass(frozen=True, slots=True)
class DeadJobs:
    """The jobs given up: how many, and the newest one's kind, case and error."""

    count: int
    kind: str
    case_id: int | None
    reason: str
