"""A raw RFC 822 message read into an `InboundEmail`, or refused with the reason.

The standard library's `email` package reads the MIME (policy `default`); plain text is
preferred over HTML, HTML is made readable by html2text, and the quoted earlier reply and
the signature are trimmed by email-reply-parser.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage

import html2text
from email_reply_parser import EmailReplyParser

from bridge.domain.email import InboundEmail, one_line
from bridge.errors import InvalidInput

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# Headers that say no person wrote this mail: never answered automatically (RFC 3834).
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}


def parse_email(raw: bytes, *, at: datetime, our_address: str | None) -> InboundEmail:
    """Read one message; `InvalidInput` (400) for what cannot be a contact's email."""
    if not raw.strip():
        raise InvalidInput("the message is empty")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        sender = _sender(message)
        recipients = tuple(
            a for field in ("To", "Cc", "Delivered-To") for a in _addresses(message, field)
        )
        subject = one_line(str(message.get("Subject", "")))
        text = _text(message)
        # Headers are parsed when first read: every read stays inside this guard.
        message_id = _ids(message, "Message-ID")
        answers = _ids(message, "In-Reply-To") + list(reversed(_ids(message, "References")))
        automated = _automated(message, sender.addr_spec.lower(), our_address)
    except InvalidInput:
        raise
    except Exception as exc:  # the email package raises many kinds on broken MIME
        raise InvalidInput(f"the message is not readable MIME: {type(exc).__name__}") from exc
    if not message_id:
        raise InvalidInput("the message has no Message-ID")
    return InboundEmail(
        message_id=message_id[0],
        sender=sender.addr_spec.lower(),
        sender_name=one_line(sender.display_name) or None,
        recipients=recipients,
        subject=subject,
        text=text,
        answers=tuple(dict.fromkeys(answers)),
        received_at=at,
        automated=automated,
    )


def _sender(message: EmailMessage) -> Address:
    addresses = _header_addresses(message, "From")
    if not addresses or "@" not in addresses[0].addr_spec:
        raise InvalidInput("the message has no From address")
    return addresses[0]


def _header_addresses(message: EmailMessage, field: str) -> list[Address]:
    found: list[Address] = []
    for header in message.get_all(field) or []:
        found.extend(getattr(header, "addresses", ()))
    return found


def _addresses(message: EmailMessage, field: str) -> list[str]:
    return [a.addr_spec.lower() for a in _header_addresses(message, field) if a.addr_spec]


def _ids(message: EmailMessage, field: str) -> list[str]:
    return [m for header in message.get_all(field) or [] for m in _MESSAGE_ID.findall(str(header))]


def _text(message: EmailMessage) -> str:
    """The new words of the message: its plain part, else its HTML made text, trimmed."""
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if body.get_content_subtype() == "html":
        converter = html2text.HTML2Text()
        converter.ignore_images = True
        converter.ignore_emphasis = True
        converter.body_width = 0  # no hard wrapping: Slack wraps
        content = converter.handle(content)
    return EmailReplyParser.parse_reply(content.replace("\r\n", "\n")).strip()


def _automated(message: EmailMessage, sender: str, our_address: str | None) -> bool:
    """An auto-reply, a list or bulk mail, a bounce or our own mail coming back."""
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto_submitted != "no"
        or precedence in _BULK_PRECEDENCE
        or "X-Autoreply" in message
        or "X-Autorespond" in message
        or "List-Id" in message
        or sender.startswith(("mailer-daemon@", "postmaster@"))
        or (our_address is not None and sender == our_address.lower())
    )
