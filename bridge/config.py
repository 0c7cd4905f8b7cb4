"""One typed Settings object composed of groups; every knob is an environment variable (or a
line in `.env`). Commands that need only some groups read only those."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import NoDecode
from sqlalchemy import make_url

from bridge.config_base import Group, comma_list, not_blank
from bridge.config_email import EmailGroup
from bridge.domain.broadcasts import SendingHours
from bridge.domain.numbers import known_region
from bridge.domain.setting_forms import (
    check_channel,
    check_e164,
    check_ref_suffix,
    check_routes,
    known_time_zone,
    parse_routes,
)
from bridge.domain.values import PhoneNumber
from bridge.errors import ConfigError, InvalidInput

SignatureMethod = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]


class SlackGroup(Group):
    """The Slack app: its tokens, its inbox channel, and who may change chat settings."""

    slack_bot_token: SecretStr = Field(description="Bot token (xoxb-...) of the Slack app")
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret; required in HTTP mode"
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-...); when set, Socket Mode is used"
    )
    slack_channel: str = Field(description="Id of the inbox channel where cases are posted")
    slack_api_url: str = "https://slack.com/api/"
    slack_posts_per_second: float = Field(default=1.0, gt=0, le=50)
    settings_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Slack user ids who may change chat settings besides workspace admins",
    )

    _slack_secrets_given = field_validator(
        "slack_bot_token", "slack_signing_secret", "slack_app_token", mode="before"
    )(not_blank)
    _split_admins = field_validator("settings_admins", mode="before")(comma_list)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("expected a bot token starting with 'xoxb-'")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("expected an app-level token starting with 'xapp-'")
        return value

    @field_validator("slack_channel")
    @classmethod
    def _channel_shape(cls, value: str) -> str:
        return check_channel(value)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None


class VonageGroup(Group):
    """The Vonage account: credentials (SMS API or a Messages API application), our numbers."""

    vonage_api_key: str | None = None
    vonage_api_secret: SecretStr | None = None
    vonage_application_id: str | None = None
    vonage_private_key: SecretStr | None = Field(
        default=None, description="Path to the application's private key, or the PEM text"
    )
    vonage_signature_secret: SecretStr | None = None
    vonage_signature_method: SignatureMethod = "md5hash"
    vonage_numbers: Annotated[list[PhoneNumber], NoDecode] = Field(
        description="Comma-separated E.164 numbers we own; the first is the default sender"
    )
    vonage_api_host: str | None = None
    vonage_rest_host: str | None = None
    vonage_requests_per_second: float = Field(default=30.0, gt=0, le=1000)

    _vonage_secrets_given = field_validator(
        "vonage_api_secret", "vonage_private_key", "vonage_signature_secret", mode="before"
    )(not_blank)
    _split_numbers = field_validator("vonage_numbers", mode="before")(comma_list)

    @field_validator("vonage_numbers")
    @classmethod
    def _numbers_shape(cls, value: list[str]) -> list[PhoneNumber]:
        if not value:
            raise ValueError("expected at least one E.164 number such as +447700900000")
        return [PhoneNumber(check_e164(n)) for n in value]

    @model_validator(mode="after")
    def _credentials_whole(self) -> Self:
        if bool(self.vonage_application_id) != bool(self.vonage_private_key):
            raise ValueError(
                "VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY: set both to use the Messages API"
            )
        if not self.uses_messages_api and not (self.vonage_api_key and self.vonage_api_secret):
            raise ValueError(
                "VONAGE_API_KEY and VONAGE_API_SECRET: required unless "
                "VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY are set"
            )
        return self

    @property
    def uses_messages_api(self) -> bool:
        return bool(self.vonage_application_id and self.vonage_private_key)

    @property
    def default_number(self) -> PhoneNumber:
        return self.vonage_numbers[0]

    def private_key_pem(self) -> str | None:
        """The application's private key, read from the file when the setting is a path."""
        if self.vonage_private_key is None:
            return None
        value = self.vonage_private_key.get_secret_value()
        if "-----BEGIN" in value:
            return value.replace("\\n", "\n")
        return Path(value).read_text(encoding="utf-8")


class RulesGroup(Group):
    """How texts and cases are handled, before admins change any of it in Slack."""

    sms_max_segments: int = Field(default=6, ge=1, le=30)
    sms_normalize_typography: bool = True
    notes_prefix: str = Field(default="//", min_length=1, max_length=20)
    sms_help_text: str = Field(
        default="Reply to this number to reach our team. Text STOP to opt out.",
        min_length=1,
        max_length=300,
    )
    concat_timeout_seconds: int = Field(default=600, ge=1, le=86400)
    quiet_thread_minutes: int = Field(default=30, ge=1, le=10_080)
    assignee_notify_minutes: int = Field(default=5, ge=1, le=1440)
    case_ref_suffix: str = Field(default=" (#{ref})", max_length=40)
    case_title: str = Field(default="name", min_length=1, max_length=60)
    number_channels: Annotated[dict[PhoneNumber, str], NoDecode] = Field(default_factory=dict)
    broadcast_opt_out_line: str = Field(default="Reply STOP to opt out", max_length=80)
    # Hours of the recipient's own clock in which broadcast texts go; "" for any hour.
    quiet_hours: str = "08:00-21:00"
    broadcast_redraw_seconds: float = Field(default=3.0, ge=0.1, le=60)

    @field_validator("quiet_hours")
    @classmethod
    def _hours_shape(cls, value: str) -> str:
        try:
            SendingHours.parse(value)
        except InvalidInput as exc:
            raise ValueError(exc.reason) from None
        return value

    @field_validator("number_channels", mode="before")
    @classmethod
    def _split_routes(cls, value: object) -> object:
        return parse_routes(value) if isinstance(value, str) else value

    @field_validator("number_channels")
    @classmethod
    def _routes_shape(cls, value: dict[str, str]) -> dict[PhoneNumber, str]:
        return check_routes(value)

    @field_validator("case_ref_suffix")
    @classmethod
    def _suffix_shape(cls, value: str) -> str:
        return check_ref_suffix(value)


class PlaceGroup(Group):
    """Where the desk is: the region of numbers written without +, and its time zone."""

    default_region: str | None = Field(
        default=None,
        description="ISO 3166 alpha-2 region (e.g. GB) of contact numbers written without +",
    )
    time_zone: str = Field(
        default="UTC",
        description="IANA time zone (e.g. Europe/London) for business hours, days and usage",
    )

    @field_validator("default_region")
    @classmethod
    def _region_known(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return known_region(value)
        except InvalidInput as exc:
            raise ValueError(exc.reason) from None

    @field_validator("time_zone")
    @classmethod
    def _zone_known(cls, value: str) -> str:
        return known_time_zone(value)


class StoreGroup(Group):
    """The database, and Redis when several instances share the work."""

    # Not shown in repr: a URL may hold a password (it is also kept out of logs).
    database_url: str = Field(default="sqlite+aiosqlite:///smschat.db", repr=False)
    redis_url: str | None = Field(default=None, repr=False)
    # Closed cases whose last activity is older than this many days are erased (unset: kept).
    retention_days: int | None = Field(default=None, ge=1, le=36_500)
    # The key erased numbers' opt-outs are hashed with; unset, the store makes and keeps one.
    erasure_key: SecretStr | None = Field(default=None, min_length=16)

    _erasure_key_given = field_validator("erasure_key", mode="before")(not_blank)

    def erasure_key_bytes(self) -> bytes | None:
        return self.erasure_key.get_secret_value().encode() if self.erasure_key else None

    @field_validator("redis_url")
    @classmethod
    def _redis_url_shape(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected redis://host:6379/0 (or rediss:// or unix://)")
        return value or None

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "expected sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
            )
        return value

    def url_passwords(self) -> list[str]:
        return [
            password
            for url in (self.database_url, self.redis_url)
            if url
            and (
                password := make_url(url).password
                if url.startswith(("sqlite", "postgresql"))
                else urlsplit(url).password
            )
        ]


class ServiceGroup(Group):
    """The running service: where it listens, its public address, its patience, its log."""

    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)
    # Where Slack and Vonage reach this bridge (https://sms.example.org): `doctor` checks
    # that Vonage's webhooks point here.
    public_url: str | None = None
    # How long a claimed outbox job stays an instance's; a dead instance's jobs return after it.
    outbox_lease_seconds: int = Field(default=60, ge=2, le=3600)
    # How long a call to Slack or Vonage may take; past it the call counts as unanswered (it
    # may have had its effect: the outbox looks before it tries again).
    http_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # The largest picture or file taken in (or out); a larger one is a note in its thread.
    media_max_bytes: int = Field(default=10_000_000, ge=1024, le=100_000_000)
    # How long a link to a staff member's file works (carriers fetch MMS pictures late).
    media_link_hours: int = Field(default=24, ge=1, le=24 * 30)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("public_url")
    @classmethod
    def _public_url_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("https://", "http://")) or not urlsplit(value).hostname:
            raise ValueError(
                "expected the bridge's public base URL, such as https://sms.example.org"
            )
        return value.rstrip("/")


class OfflineSettings(StoreGroup, PlaceGroup):
    """What the commands that need neither Slack nor Vonage read (contacts, jobs, export)."""


class Settings(
    EmailGroup, ServiceGroup, StoreGroup, PlaceGroup, RulesGroup, VonageGroup, SlackGroup
):
    """Everything the bridge can be told at start, by group. See the table in README.md."""

    @model_validator(mode="after")
    def _slack_verifiable(self) -> Self:
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError(
                "SLACK_SIGNING_SECRET: required unless SLACK_APP_TOKEN selects Socket Mode"
            )
        return self

    def secret_values(self) -> list[str]:
        """Every secret's text, so log filters can make sure none is ever written."""
        secrets = [value.get_secret_value() for _, value in self if isinstance(value, SecretStr)]
        return [v for v in [*secrets, *self.url_passwords()] if v]


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line naming the variables."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """Every setting a validation refused, in one line: what is missing, then what is wrong."""
    missing: list[str] = []
    wrong: list[str] = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper()
        if error["type"] == "missing":
            missing.append(name)
            continue
        message = error["msg"].removeprefix("Value error, ")
        wrong.append(f"{name}: {message}" if name else message)
    said = []
    if len(missing) == 1:
        field = Settings.model_fields.get(missing[0].lower())
        what = f" ({field.description})" if field is not None and field.description else ""
        said.append(f"{missing[0]}: is required{what}")
    elif missing:
        said.append(f"{', '.join(missing)}: are required")
    return "; ".join(said + wrong)
