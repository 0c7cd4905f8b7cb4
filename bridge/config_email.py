"""Settings of email beside SMS (all optional)."""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from bridge.config_base import Group, not_blank


def listen_address(value: str) -> tuple[str, int]:
    """`0.0.0.0:2525`, `[::]:25` → (host, port); ValueError naming the expected form."""
    host, _, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or " " in host:
        raise ValueError("expected host:port, such as 0.0.0.0:2525 or [::]:25")
    return host, int(port)


class EmailGroup(Group):
    """Email beside SMS: where inbound mail comes from, how replies go (all optional)."""

    email_address: str | None = None  # help@example.org: ours, and the domain of reply+ addresses
    email_from: str | None = None  # `Help Desk <help@example.org>`; EMAIL_ADDRESS when unset
    email_inbound_token: SecretStr | None = None  # bearer token of POST /email/inbound
    mailgun_signing_key: SecretStr | None = None  # turns on POST /email/inbound/mailgun
    smtp_url: SecretStr | None = None  # smtp://user:pass@host:587 (STARTTLS) or smtps://...:465
    email_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    email_smtp_listen: str | None = None  # host:port of the bridge's own SMTP server for inbound

    @field_validator("email_smtp_listen")
    @classmethod
    def _listen_shape(cls, value: str | None) -> str | None:
        if value is not None:
            listen_address(value)
        return value

    _email_secrets_given = field_validator(
        "email_inbound_token", "mailgun_signing_key", "smtp_url", mode="before"
    )(not_blank)

    @field_validator("email_address")
    @classmethod
    def _address_shape(cls, value: str | None) -> str | None:
        if value is not None and (value.count("@") != 1 or "<" in value or " " in value.strip()):
            raise ValueError("expected a bare address, such as help@example.org")
        return value.strip().lower() if value else None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_shape(cls, value: SecretStr | None) -> SecretStr | None:
        parts = urlsplit(value.get_secret_value()) if value is not None else None
        if parts is not None and (parts.scheme not in ("smtp", "smtps") or not parts.hostname):
            raise ValueError("expected smtp://user:pass@host:587 or smtps://user:pass@host:465")
        return value

    @model_validator(mode="after")
    def _email_complete(self) -> Self:
        turned_on = (
            self.email_inbound_token
            or self.mailgun_signing_key
            or self.smtp_url
            or self.email_smtp_listen
        )
        if turned_on and not self.email_address:
            raise ValueError("EMAIL_ADDRESS: required once email is turned on")
        return self
