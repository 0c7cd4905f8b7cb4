"""Domain values that cross between the adapters and the core rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NewType

PhoneNumber = NewType("PhoneNumber", str)
"""An E.164 number with its leading '+', e.g. '+447700900001'."""

ChannelId = NewType("ChannelId", str)
SlackTs = NewType("SlackTs", str)
UserId = NewType("UserId", str)


class Direction(enum.StrEnum):
    INBOUND = "inbound"  # from a contact's phone
    OUTBOUND = "outbound"  # a staff reply sent as SMS
    NOTE = "note"  # a staff note that stays in Slack
    AUTOMATED = "automated"  # an auto-response or confirmation sent by the bridge
    FORWARDED = "forwarded"  # an inbound text forwarded to a manager's phone
    BROADCAST = "broadcast"  # one recipient's text of a broadcast


class MessageStatus(enum.StrEnum):
    RECEIVED = "received"  # inbound, stored
    QUEUED = "queued"  # outbound, waiting in the outbox
    SUBMITTED = "submitted"  # accepted by the carrier
    DELIVERED = "delivered"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    NOT_SENT = "not_sent"  # refused by the bridge (opted out, too long, ...)
    HELD = "held"  # a staff reply in a closed case, waiting for its author to reopen it
    INTERNAL = "internal"  # a staff note: never sent


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ConcatPart:
    """Where one part of a long SMS sits in the whole (SMS API `concat-*` fields)."""

    ref: str
    total: int
    number: int


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A text a contact sent to one of our numbers, as the carrier reported it."""

    provider_message_id: str
    sender: PhoneNumber
    recipient: PhoneNumber
    text: str
    received_at: datetime
    part: ConcatPart | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """The carrier's word on an outbound message (or one part of it)."""

    provider_message_id: str
    status: MessageStatus
    error_code: str | None = None
    error_text: str | None = None
    recipient_blocked: bool = False  # the carrier says the recipient opted out or blocks us
    client_ref: str | None = None  # the reference we sent the text with, echoed back


@dataclass(frozen=True, slots=True)
class AgentReply:
    """A person's message in a case thread, to be sent to the contact."""

    channel: ChannelId
    thread_ts: SlackTs
    ts: SlackTs
    user: UserId
    text: str
    has_files: bool = False
    file_ids: tuple[str, ...] = ()  # the files shared with it, in order
    also_sent_to_channel: bool = False


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
    """Which messages a post shows in which case: carried with the post, so that a job run
    again after losing its lease can find a post its first run made but never recorded."""

    case_id: int
    message_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FoundPost:
    """A post found by its mark, and the messages its mark says it shows."""

    ts: SlackTs
    message_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SentSms:
    provider_message_ids: list[str]
