"""Email as a channel beside SMS: what an inbound email is once read, and its rules.

An email joins a case by the `reply+<token>@` address the bridge gave it, else by the
Message-IDs it answers, else by the contact holding its sender's address; a contact who
writes only by email is held in cases under a key standing in for a phone number.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime


class Channel(enum.StrEnum):
    """How a contact's words come and how a staff reply goes."""

    SMS = "sms"
    EMAIL = "email"


# A contact with no phone number: its cases' `contact_number`, which no phone can have.
EMAIL_ONLY_PREFIX = "email:"
# Our side of an email-only case (there is no number of ours in it).
EMAIL_LINE = "email"

_TOKEN = re.compile(r"^reply\+([a-z0-9]{8,32})@", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fwd?)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class InboundEmail:
    """An email a contact sent us, read from its MIME form."""

    message_id: str  # without its angle brackets
    sender: str  # the From address, lower case
    sender_name: str | None
    recipients: tuple[str, ...]  # To and Cc addresses, lower case
    subject: str
    text: str  # the new words: quoted replies and signatures trimmed
    answers: tuple[str, ...]  # In-Reply-To, then References newest first
    received_at: datetime
    automated: bool = False  # an auto-reply, a bulk mail or a loop: never answered


def email_key(message_id: str) -> str:
    """The messaging log's provider id of an email: one per Message-ID, whatever its length."""
    return "email:" + hashlib.sha256(message_id.encode()).hexdigest()[:40]


def email_only_number(contact_id: int) -> str:
    return f"{EMAIL_ONLY_PREFIX}{contact_id}"


def is_email_only(contact_number: str) -> bool:
    return contact_number.startswith(EMAIL_ONLY_PREFIX)


def email_only_contact(contact_number: str) -> int | None:
    """The contact an email-only key stands for (`email:12` → 12); None for a phone number."""
    key = contact_number.removeprefix(EMAIL_ONLY_PREFIX)
    return int(key) if is_email_only(contact_number) and key.isdigit() else None


def case_token_in(addresses: tuple[str, ...]) -> str | None:
    """The case token of the first `reply+<token>@` address, if one is there."""
    for address in addresses:
        match = _TOKEN.match(address)
        if match:
            return match.group(1).lower()
    return None


def is_ours(address: str, our_address: str) -> bool:
    """Whether mail to `address` is for us: our address, or a `reply+<token>@` address on
    its domain."""
    address, our_address = address.strip().lower(), our_address.lower()
    domain = our_address.rpartition("@")[2]
    return address == our_address or (
        case_token_in((address,)) is not None and address.rpartition("@")[2] == domain
    )


def reply_address(token: str, our_address: str) -> str:
    """`help@example.org` → `reply+<token>@example.org`."""
    return f"reply+{token}@{our_address.rpartition('@')[2]}"


def bare_subject(subject: str) -> str:
    """The subject without its `Re:`/`Fwd:` prefixes, to tell when it changes."""
    return _REPLY_PREFIX.sub("", subject).strip()


def reply_subject(subject: str) -> str:
    return f"Re: {bare_subject(subject)}" if bare_subject(subject) else "Re: your message"


def one_line(value: str, *, most: int = 200) -> str:
    """A value for a header: no line breaks or control characters (no header injection)."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).strip()[:most]


@dataclass(frozen=True, slots=True)
class EmailThreadRecord:
    """A case's email side, as the store keeps it."""

    case_id: int
    token: str
    subject: str
    address: str | None
    reply_channel: Channel


def goes_both_ways(thread: EmailThreadRecord | None, contact_number: str) -> bool:
    """Whether staff may choose how replies go: the case has the contact's email address
    and a phone number."""
    return thread is not None and thread.address is not None and not is_email_only(contact_number)


def reply_channel(thread: EmailThreadRecord | None, contact_number: str) -> Channel:
    """How the next staff reply goes: by email when the case has the contact's address and
    they last wrote by email (or staff chose email since), or have no phone; else by SMS."""
    if thread is None or thread.address is None:
        return Channel.SMS
    return Channel.EMAIL if is_email_only(contact_number) else thread.reply_channel


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A staff reply or an auto-response as it goes by email; every header value is one line
    already."""

    message_id: str
    to: str
    subject: str
    text: str
    reply_to: str
    in_reply_to: str | None
    references: tuple[str, ...]
    automated: bool = False  # an auto-response of the bridge, not a person's reply
