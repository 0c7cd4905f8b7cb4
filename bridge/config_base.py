"""What every group of settings shares: where it is read from, and the checks on values."""

from __future__ import annotations

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values copied from documentation or templates that nobody replaced.
_PLACEHOLDERS = {"changeme", "change-me", "xoxb-your-token", "your-secret", "todo", "..."}


class Group(BaseSettings):
    """A group of settings, read from the environment or `.env` with the same rules."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    @model_validator(mode="after")
    def _no_placeholders(self) -> Self:
        for name, value in self:
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(text, str) and text.strip().lower() in _PLACEHOLDERS:
                raise ValueError(f"{name.upper()}: still holds a placeholder value")
        return self


def not_blank(value: object) -> object:
    # A template `.env` line such as `SLACK_SIGNING_SECRET=` must not quietly turn a check
    # off: a secret that is set is a secret that is given.
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str) and not text.strip():
        raise ValueError("is set but empty; give the secret or remove the line")
    return value


def comma_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value
