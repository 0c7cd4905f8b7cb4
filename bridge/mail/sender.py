"""Staff replies by email: built as MIME (a plain part and a minimal HTML part) and handed to
the mail server by aiosmtplib, one attempt per call (retrying is the outbox's decision).

`SMTP_URL` is `smtp://user:pass@host:587` (STARTTLS, required unless the server is on
loopback) or `smtps://user:pass@host:465` (TLS from the start). SMTP reply codes: 4xx is a
transient refusal, 5xx a permanent one (RFC 5321 section 4.2.1).
"""

from __future__ import annotations

import html
import ipaddress
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bridge.domain.email import OutgoingEmail, one_line
from bridge.errors import SendError


class SmtpSender:
    """`EmailSender` through one SMTP server."""

    def __init__(self, url: str, *, sender: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    async def send(self, email: OutgoingEmail) -> None:
        message = build_message(email, sender=self.sender, at=datetime.now().astimezone())
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.tls,
                start_tls=None if self.tls or _loopback(self.host) else True,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPResponseException as refused:
            raise SendError(
                f"the mail server refused the email: {refused.code} {refused.message}",
                retryable=refused.code < 500,
                code=str(refused.code),
            ) from refused
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [r.code for r in refused.recipients]
            raise SendError(
                f"the mail server refused the recipient: {codes}",
                retryable=all(code < 500 for code in codes),
            ) from refused
        except (aiosmtplib.SMTPException, OSError) as failed:
            raise SendError(
                f"the mail server could not be reached: {failed}", retryable=True
            ) from failed


def build_message(email: OutgoingEmail, *, sender: str, at: datetime) -> EmailMessage:
    """The MIME of a reply; header values pass through `one_line` (no header injection)."""
    message = EmailMessage()
    name, address = parseaddr(sender)
    message["From"] = Address(display_name=one_line(name), addr_spec=address)
    message["To"] = Address(addr_spec=email.to)
    message["Subject"] = one_line(email.subject)
    message["Date"] = format_datetime(at)
    message["Message-ID"] = f"<{email.message_id}>"
    message["Reply-To"] = Address(addr_spec=email.reply_to)
    if email.in_reply_to:
        message["In-Reply-To"] = f"<{email.in_reply_to}>"
    if email.references:
        message["References"] = " ".join(f"<{ref}>" for ref in email.references)
    # RFC 3834: an auto-response says so, so that the other side's responder never answers it.
    message["Auto-Submitted"] = "auto-replied" if email.automated else "no"
    message.set_content(email.text)
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in email.text.split("\n\n")
    )
    message.add_alternative(
        f"<!doctype html><html><body>{paragraphs}</body></html>", subtype="html"
    )
    return message


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
