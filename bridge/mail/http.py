"""The email endpoints: verify, read the MIME, keep the event in the inbox, answer.

`POST /email/inbound` takes a raw RFC 822 message behind a bearer token (what a mail
server's pipe, a relay or a mail worker posts). `POST /email/inbound/mailgun` takes
Mailgun's store-and-forward route, whose `timestamp`, `token` and `signature` prove it came
from Mailgun: https://documentation.mailgun.com/docs/mailgun/user-manual/get-started/#securing-webhooks
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import SecretStr

from bridge.clock import Clock
from bridge.config import Settings
from bridge.errors import InvalidInput
from bridge.mail.intake import MailIntake
from bridge.mail.sender import SmtpSender
from bridge.metrics import Metrics
from bridge.routing.ports import EventIntake, SeenOnce

log = logging.getLogger(__name__)

RFC822 = "message/rfc822"
# Mailgun's signed fields, and how old a signature may be before it is refused.
MAILGUN_MAX_AGE_SECONDS = 120
MAILGUN_MIME_FIELD = "body-mime"
_CHUNK = 64 * 1024


class EmailWebhooks:
    """aiohttp handlers for `/email/inbound` and `/email/inbound/mailgun`."""

    def __init__(
        self,
        *,
        mail: MailIntake,
        metrics: Metrics,
        seen: SeenOnce,
        inbound_token: SecretStr | None,
        mailgun_key: SecretStr | None,
        max_bytes: int,
    ) -> None:
        self.mail = mail
        self.metrics = metrics
        self.seen = seen
        self.inbound_token = inbound_token
        self.mailgun_key = mailgun_key
        self.max_bytes = max_bytes

    async def raw(self, request: web.Request) -> web.Response:
        async def take() -> None:
            self._bearer(request.headers.get("Authorization", ""))
            if request.content_type != RFC822:
                raise InvalidInput(f"expected Content-Type: {RFC822}", status=415)
            await self.mail.keep(await self._body(request, self.max_bytes))

        return await self._answer("raw", take)

    async def mailgun(self, request: web.Request) -> web.Response:
        async def take() -> None:
            # The form carries the message and a little more: the signed fields, the sender.
            form = _form(
                request.headers.get("Content-Type", ""),
                await self._body(request, self.max_bytes + _CHUNK),
            )
            accepted_as = await self._mailgun_signature(form)
            try:
                mime = form.get(MAILGUN_MIME_FIELD)
                if not mime:
                    raise InvalidInput(f"the form has no {MAILGUN_MIME_FIELD} field")
                if len(mime) > self.max_bytes:
                    raise _too_large(self.max_bytes)
                await self.mail.keep(mime)
            except Exception:
                await self.seen.forget(accepted_as)  # not kept: Mailgun's retry is no replay
                raise

        return await self._answer("mailgun", take)

    async def _answer(self, endpoint: str, take: Callable[[], Awaitable[None]]) -> web.Response:
        try:
            await take()
        except InvalidInput as refused:
            self.metrics.webhooks_refused.labels(str(refused.status)).inc()
            log.warning("refused %s email (%s): %s", endpoint, refused.status, refused.reason)
            return web.json_response({"error": refused.reason}, status=refused.status)
        return web.Response(status=200)

    def _bearer(self, authorization: str) -> None:
        if self.inbound_token is None:
            raise InvalidInput(
                "EMAIL_INBOUND_TOKEN is not set: raw inbound email is off", status=404
            )
        scheme, _, given = authorization.partition(" ")
        expected = self.inbound_token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise InvalidInput("a valid Authorization: Bearer token is required", status=401)

    async def _mailgun_signature(self, form: dict[str, bytes]) -> str:
        """The token the request was accepted by; `InvalidInput` (401) unless Mailgun signed it."""
        if self.mailgun_key is None:
            raise InvalidInput(
                "MAILGUN_SIGNING_KEY is not set: the Mailgun route is off", status=404
            )
        timestamp, token = _text(form, "timestamp"), _text(form, "token")
        signature = _text(form, "signature")
        if not (timestamp and token and signature):
            raise InvalidInput("the timestamp, token and signature fields are required", status=401)
        expected = hmac.new(
            self.mailgun_key.get_secret_value().encode(),
            (timestamp + token).encode(),
            hashlib.sha256,
        ).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise InvalidInput("the Mailgun signature does not match", status=401)
        try:
            age = time.time() - float(timestamp)
        except ValueError:
            raise InvalidInput("the timestamp is not a number", status=401) from None
        if abs(age) > MAILGUN_MAX_AGE_SECONDS:
            raise InvalidInput("the Mailgun signature is too old", status=401)
        accepted_as = f"mailgun:{token}"
        if not await self.seen.first_time(accepted_as, ttl=2 * MAILGUN_MAX_AGE_SECONDS):
            raise InvalidInput("this signed request was already accepted", status=401)
        return accepted_as

    @staticmethod
    async def _body(request: web.Request, most: int) -> bytes:
        """The body, refused with 413 past `most` bytes (read as it comes, never whole first)."""
        if request.content_length is not None and request.content_length > most:
            raise _too_large(most)
        body = bytearray()
        while chunk := await request.content.read(_CHUNK):
            body += chunk
            if len(body) > most:
                raise _too_large(most)
        return bytes(body)


def _too_large(most: int) -> InvalidInput:
    return InvalidInput(f"the message is larger than EMAIL_MAX_BYTES ({most} bytes)", status=413)


def _text(form: dict[str, bytes], name: str) -> str:
    return form.get(name, b"").decode("utf-8", "replace").strip()


def _form(content_type: str, body: bytes) -> dict[str, bytes]:
    """A posted form's fields (multipart or urlencoded), as bytes."""
    kind = content_type.partition(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
        return {k: v.encode("latin-1") for k, v in pairs}
    if kind != "multipart/form-data":
        raise InvalidInput("expected a multipart/form-data or urlencoded form", status=415)
    # The standard library reads multipart/form-data as the MIME it is.
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = part.get_payload(decode=True) or b""
    return fields


def mount_email(
    app: web.Application,
    settings: Settings,
    *,
    intake: EventIntake,
    metrics: Metrics,
    seen: SeenOnce,
    clock: Clock,
) -> None:
    """The email endpoints (each answers 404 with why while its setting is unset)."""
    webhooks = EmailWebhooks(
        mail=MailIntake(intake=intake, clock=clock, our_address=settings.email_address),
        metrics=metrics,
        seen=seen,
        inbound_token=settings.email_inbound_token,
        mailgun_key=settings.mailgun_signing_key,
        max_bytes=settings.email_max_bytes,
    )
    app.router.add_post("/email/inbound", webhooks.raw)
    app.router.add_post("/email/inbound/mailgun", webhooks.mailgun)


def smtp_sender(settings: Settings) -> SmtpSender | None:
    """The SMTP sender of staff replies by email, when SMTP_URL is set."""
    if settings.smtp_url is None or settings.email_address is None:
        return None
    return SmtpSender(
        settings.smtp_url.get_secret_value(),
        sender=settings.email_from or settings.email_address,
        timeout=settings.http_timeout_seconds,
    )
