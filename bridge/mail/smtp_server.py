"""The bridge's own SMTP server for inbound mail (`EMAIL_SMTP_LISTEN`), for self-hosters
whose MX (or a relay) hands mail straight to the bridge.

It takes mail for `EMAIL_ADDRESS` and its `reply+<token>@` addresses only (550 otherwise),
advertises SIZE and refuses DATA over `EMAIL_MAX_BYTES` with 552 (aiosmtpd does both from
`data_size_limit`), and hands the bytes to the same intake as `POST /email/inbound`: a
message that cannot be a contact's email is refused 550 5.6.0 with the reason, a store that
does not answer 451 so that the sender tries again later. Reply codes: RFC 5321 section 4.2,
enhanced codes RFC 3463.
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.smtp import SMTP, Envelope, Session

from bridge.config import Settings
from bridge.config_email import listen_address
from bridge.domain.email import is_ours
from bridge.errors import ConfigError, InvalidInput
from bridge.mail.intake import MailIntake

log = logging.getLogger(__name__)

NOT_OURS = "550 5.1.1 No such recipient here"
UNREADABLE = "550 5.6.0 {reason}"
TRY_LATER = "451 4.3.0 Cannot keep the message now; try again later"
KEPT = "250 2.0.0 OK: kept"


class SmtpListener:
    """aiosmtpd's protocol served on the bridge's own event loop; this object is its handler."""

    def __init__(
        self,
        mail: MailIntake,
        *,
        our_address: str,
        max_bytes: int,
        listen: str,
    ) -> None:
        self.mail = mail
        self.our_address = our_address
        self.max_bytes = max_bytes
        self.listen = listen
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; `ConfigError` naming EMAIL_SMTP_LISTEN when the address cannot be taken."""
        host, port = listen_address(self.listen)
        domain = self.our_address.rpartition("@")[2]

        def protocol() -> SMTP:
            return SMTP(
                self,
                data_size_limit=self.max_bytes,
                enable_SMTPUTF8=True,
                hostname=domain,
                ident="smschat-bridge",
            )

        try:
            self._server = await asyncio.get_running_loop().create_server(protocol, host, port)
        except OSError as exc:
            why = f"cannot listen on {self.listen}: {exc.strerror}"
            raise ConfigError(f"EMAIL_SMTP_LISTEN: {why}") from None
        log.info("taking inbound mail by SMTP on %s", self.listen)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not is_ours(address, self.our_address):
            return NOT_OURS
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)  # decode_data is off
        try:
            await self.mail.keep(raw)
        except InvalidInput as refused:
            log.warning("refused SMTP email: %s", refused.reason)
            return UNREADABLE.format(reason=refused.reason)
        except Exception:
            # A 5xx would bounce a contact's mail for a fault of ours: the sender retries.
            log.exception("an SMTP email could not be kept")
            return TRY_LATER
        return KEPT


def smtp_listener(settings: Settings, mail: MailIntake) -> SmtpListener | None:
    """The SMTP server for inbound mail, when EMAIL_SMTP_LISTEN is set."""
    if settings.email_smtp_listen is None or settings.email_address is None:
        return None
    return SmtpListener(
        mail,
        our_address=settings.email_address,
        max_bytes=settings.email_max_bytes,
        listen=settings.email_smtp_listen,
    )
