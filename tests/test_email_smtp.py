"""The bridge's own SMTP server for inbound mail (EMAIL_SMTP_LISTEN), over the wire with a
real SMTP client: what it takes becomes a case like a posted email, what it refuses says
why with the right code, and nothing refused is kept."""

from __future__ import annotations

import aiosmtplib
import pytest

from bridge.app import build_bridge
from bridge.errors import ConfigError
from tests.conftest import INBOX, LiveBridge
from tests.test_email import OURS, logged, mail, thread_texts

MAX_BYTES = 4096


@pytest.fixture
async def live(start_live, free_port: int) -> LiveBridge:
    return await start_live(
        EMAIL_ADDRESS=OURS,
        EMAIL_SMTP_LISTEN=f"127.0.0.1:{free_port}",
        EMAIL_MAX_BYTES=str(MAX_BYTES),
    )


async def send(live: LiveBridge, raw: bytes, *, to: str = OURS) -> tuple[int, str]:
    """Hand one message to the bridge's SMTP server; its answer (code, text)."""
    host, port = live.bridge.settings.email_smtp_listen.rsplit(":", 1)
    async with aiosmtplib.SMTP(hostname=host, port=int(port), start_tls=False) as client:
        await client.ehlo()
        assert client.supports_extension("size")
        assert client.esmtp_extensions["size"] == str(MAX_BYTES)
        try:
            _, answer = await client.sendmail("alice@example.com", [to], raw)
        except aiosmtplib.SMTPRecipientsRefused as refused:
            [recipient] = refused.recipients
            return recipient.code, recipient.message
        except aiosmtplib.SMTPResponseException as refused:
            return refused.code, refused.message
    await live.routed()
    return 250, answer


async def test_mail_taken_by_smtp_opens_a_case_as_a_posted_email_does(live: LiveBridge) -> None:
    assert await send(live, mail(body="Sent over SMTP")) == (250, "2.0.0 OK: kept")
    [text] = await thread_texts(live)
    assert "Sent over SMTP" in text
    # A plus-address of ours is taken too (its token names no case: the sender's case).
    code, _ = await send(live, mail(body="Again"), to="reply+0123456789abcdef@help.example.org")
    assert code == 250
    assert len(live.slack.messages(INBOX)) == 1
    assert await logged(live) == 2


# (label, message, recipient, code, what the answer says)
REFUSED = [
    ("not our address", mail(), "someone@help.example.org", 550, "5.1.1"),
    ("a plus-address elsewhere", mail(), "reply+0123456789abcdef@example.net", 550, "5.1.1"),
    ("over EMAIL_MAX_BYTES", mail(body="x" * (MAX_BYTES + 100)), OURS, 552, ""),
    (
        "no Message-ID",
        b"From: a@example.com\r\nTo: " + OURS.encode() + b"\r\n\r\nhi",
        OURS,
        550,
        "5.6.0 the message has no Message-ID",
    ),
    (
        "no From",
        b"To: " + OURS.encode() + b"\r\nMessage-ID: <x@y>\r\n\r\nhi",
        OURS,
        550,
        "5.6.0 the message has no From address",
    ),
]


async def test_mail_that_cannot_be_taken_is_refused_with_why_and_kept_nowhere(
    live: LiveBridge,
) -> None:
    for label, raw, to, code, says in REFUSED:
        answer = await send(live, raw, to=to)
        assert answer[0] == code, (label, answer)
        assert says in answer[1], (label, answer)
    await live.drained()
    assert live.slack.messages(INBOX) == []
    assert await logged(live) == 0


async def test_an_address_that_cannot_be_taken_fails_the_start(
    make_settings, live: LiveBridge
) -> None:
    taken = live.bridge.settings.email_smtp_listen
    bridge = await build_bridge(make_settings(EMAIL_ADDRESS=OURS, EMAIL_SMTP_LISTEN=taken))
    try:
        with pytest.raises(ConfigError, match=f"EMAIL_SMTP_LISTEN: cannot listen on {taken}"):
            await bridge.start_background()
    finally:
        await bridge.close()
