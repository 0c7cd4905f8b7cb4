"""The contacts' mailboxes in the demo: what each writes to our address (a raw RFC 822
email POSTed to the bridge's `/email/inbound` with its Bearer token, as a mail relay
would) and what each receives (every email the bridge handed to the fake mail server)."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from bridge.fakes.smtp import FakeSmtp
from bridge.sandbox import wire
from bridge.sandbox.feed import Emit, Feed
from bridge.sandbox.relay import PostToBridge
from bridge.sandbox.scene import OUR_EMAIL, MailMessage


class Mailboxes(Feed[MailMessage]):
    def __init__(
        self, *, smtp: FakeSmtp, post: PostToBridge, emit: Emit, inbound_token: str
    ) -> None:
        super().__init__(kind="mail", emit=emit)
        self.smtp = smtp
        self.post = post
        self.inbound_token = inbound_token  # the bridge's EMAIL_INBOUND_TOKEN

    async def send(
        self, sender: str, subject: str, text: str, *, answering: str | None = None
    ) -> MailMessage:
        """The mailbox `sender` writes to our address, or answers the email `answering`
        (a reply it received) with In-Reply-To and References naming it."""
        address = wire.mail_address(sender, ours=OUR_EMAIL)
        if not text.strip():
            raise ValueError("write a message first")
        to, in_reply_to, references = OUR_EMAIL, "", ""
        if answering is not None:
            answered = next((m for m in self.messages if m.id == answering), None)
            if answered is None or answered.direction != "received":
                raise ValueError("no such email to reply to")
            to, in_reply_to, references = (
                answered.reply_to,
                answered.message_id,
                answered.references,
            )
        message_id = make_msgid(domain=address.rpartition("@")[2])
        msg = MailMessage(
            id=self._next_id(),
            address=address,
            direction="sent",
            sender=address,
            to=to,
            subject=subject.strip(),
            text=text,
            at=time.time(),
            state="sending",
            message_id=message_id,
        )
        await self._update(msg, new=True)
        raw = _rfc822(msg, in_reply_to=in_reply_to, references=references)
        headers = {"Content-Type": "message/rfc822"}
        headers["Authorization"] = f"Bearer {self.inbound_token}"
        status, answer = await self.post("/email/inbound", raw, headers)
        await self._answered(msg, status, answer)
        return msg

    async def watch_sends(self) -> None:
        """Every email the bridge sent arrives in its recipient's mailbox (runs until
        cancelled)."""
        seen = 0
        while True:
            try:
                received = await self.smtp.wait_for(seen + 1, timeout=3600)
            except TimeoutError:
                continue
            for email in received[seen:]:
                await self._update(_received(self._next_id(), email), new=True)
            seen = len(received)


def _rfc822(msg: MailMessage, *, in_reply_to: str, references: str) -> bytes:
    email = EmailMessage()
    email["From"] = msg.sender
    email["To"] = msg.to
    email["Subject"] = msg.subject
    email["Date"] = formatdate(msg.at, localtime=True)
    email["Message-ID"] = msg.message_id
    if in_reply_to:
        email["In-Reply-To"] = in_reply_to
        email["References"] = f"{references} {in_reply_to}".strip()
    email.set_content(msg.text)
    return email.as_bytes()


def _received(mail_id: str, email: EmailMessage) -> MailMessage:
    body = email.get_body(("plain",))
    to = parseaddr(str(email["To"]))[1].lower()
    return MailMessage(
        id=mail_id,
        address=to,
        direction="received",
        sender=str(email["From"]),
        to=to,
        subject=str(email["Subject"] or ""),
        text=body.get_content().strip() if body is not None else "",
        at=time.time(),
        state="received",
        message_id=str(email["Message-ID"] or ""),
        references=str(email["References"] or email["In-Reply-To"] or ""),
        reply_to=parseaddr(str(email["Reply-To"] or email["From"]))[1],
    )
