"""The chat settings admins change in Slack: validated, stored, audited, and applied.

Each setting starts from its start-up value (environment); a value saved by an admin
overrides it. Every instance reloads the stored values every few seconds, and at once
after a change it made itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bridge.clock import Clock
from bridge.domain.numbers import known_region
from bridge.domain.records import SettingChange
from bridge.domain.rules import ChatRules, Inbox, Window
from bridge.domain.setting_forms import (
    check_ref_suffix,
    check_routes,
    known_time_zone,
    parse_routes,
)
from bridge.domain.values import ChannelId, PhoneNumber
from bridge.errors import InvalidInput
from bridge.routing.ports import Units

log = logging.getLogger(__name__)


class ChatSettings(BaseModel):
    """What `/smschat settings` edits; each field is one stored setting."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    case_title: str = Field(default="name", min_length=1, max_length=60)
    counter_enabled: bool = False
    counter_threshold: int = Field(default=50, ge=1, le=10_000)
    delay_days: list[int] = Field(default_factory=list)
    delay_start: str | None = None
    delay_end: str | None = None
    quiet_minutes: int = Field(default=0, ge=0, le=1440)
    automated_in_threads: Literal["all", "hide", "failed"] = "all"
    read_mode: Literal["shared", "per_user"] = "shared"
    case_ref_suffix: str = Field(default=" (#{ref})", max_length=40)
    max_segments: int = Field(default=6, ge=1, le=30)
    notes_prefix: str = Field(default="//", min_length=1, max_length=20)
    business_days: list[int] = Field(default_factory=list)
    business_start: str | None = None
    business_end: str | None = None
    time_zone: str = "UTC"
    auto_reply_first: str = Field(default="", max_length=640)
    auto_reply_after_hours: str = Field(default="", max_length=640)
    number_channels: dict[str, str] = Field(default_factory=dict)
    default_region: str | None = None
    settings_admins: list[str] = Field(default_factory=list)

    @field_validator("delay_days", "business_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(day not in range(7) for day in value):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))

    @field_validator("delay_start", "delay_end", "business_start", "business_end")
    @classmethod
    def _clock_time(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            return f"{time.fromisoformat(value):%H:%M}"
        except ValueError:
            raise ValueError(f"expected a time such as 09:00, not {value!r}") from None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_time_zone(value)

    @field_validator("case_ref_suffix")
    @classmethod
    def _suffix(cls, value: str) -> str:
        return check_ref_suffix(value)

    @field_validator("number_channels", mode="before")
    @classmethod
    def _routes(cls, value: object) -> object:
        routes = parse_routes(value) if isinstance(value, str) else value
        return check_routes(routes) if isinstance(routes, dict) else routes

    @field_validator("default_region", mode="before")
    @classmethod
    def _region(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return known_region(str(value))
        except InvalidInput as exc:
            raise ValueError(exc.reason) from None

    @field_validator("settings_admins")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for user in value:
            if user[:1] not in ("U", "W") or not user.isalnum():
                raise ValueError(f"{user!r} is not a Slack user id")
        return value

    @model_validator(mode="after")
    def _windows_whole(self) -> ChatSettings:
        for name in ("delay", "business"):
            days = getattr(self, f"{name}_days")
            start, end = getattr(self, f"{name}_start"), getattr(self, f"{name}_end")
            if days and (start is None or end is None):
                raise _FieldError(f"{name}_start", "give a start and an end time for these days")
            if start is not None and end is not None and end <= start:
                raise _FieldError(f"{name}_end", "the end must be after the start")
        if self.auto_reply_after_hours.strip() and not self.business_days:
            raise _FieldError("business_days", "an after-hours reply needs business hours")
        return self

    def window(self, name: str) -> Window | None:
        days = getattr(self, f"{name}_days")
        if not days:
            return None
        return Window(
            frozenset(days),
            time.fromisoformat(getattr(self, f"{name}_start")),
            time.fromisoformat(getattr(self, f"{name}_end")),
        )


class SettingsRefused(Exception):
    """Values an admin gave that cannot be saved: a reason per setting."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class _FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def validate_settings(values: dict[str, Any]) -> ChatSettings:
    """ChatSettings from `values`, or SettingsRefused naming each bad setting."""
    try:
        return ChatSettings.model_validate(values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            field = cause.field if isinstance(cause, _FieldError) else str(error["loc"][0])
            errors.setdefault(field, str(error["msg"]).removeprefix("Value error, "))
        raise SettingsRefused(errors) from None


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """The settings in force, as the core applies them."""

    settings: ChatSettings
    rules: ChatRules
    inbox: Inbox


class SettingsBook:
    """The chat settings in force: start-up defaults overridden by what admins saved."""

    def __init__(
        self,
        units: Units,
        *,
        clock: Clock,
        defaults: ChatSettings,
        base_rules: ChatRules,
        numbers: list[PhoneNumber],
        default_channel: ChannelId,
        reload_every: float = 5.0,
    ) -> None:
        self.units = units
        self.clock = clock
        self.defaults = defaults
        self.base_rules = base_rules
        self.numbers = numbers
        self.default_channel = default_channel
        self.reload_every = reload_every
        self.current = self._config(defaults)

    @property
    def rules(self) -> ChatRules:
        return self.current.rules

    @property
    def inbox(self) -> Inbox:
        return self.current.inbox

    async def reload(self) -> None:
        async with self.units.reading() as unit:
            stored = await unit.chat_settings.stored()
        self.current = self._config(self._merge(stored))

    async def keep_current(self) -> None:
        """Reload forever (a background task): other instances' changes arrive this way."""
        while True:
            await asyncio.sleep(self.reload_every)
            try:
                await self.reload()
            except Exception:
                log.exception("could not reload the chat settings; keeping the last ones")

    async def change(self, values: dict[str, Any], *, by: str) -> list[str]:
        """Validate and save `values` (all or nothing), logging each change; the keys changed."""
        async with self.units.unit() as unit:
            await unit.lock("chat-settings")
            stored = await unit.chat_settings.stored()
            before = self._merge(stored)
            after = validate_settings({**before.model_dump(), **values})
            changed = [
                key
                for key in ChatSettings.model_fields
                if getattr(after, key) != getattr(before, key)
            ]
            old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
            at = self.clock.now()
            for key in changed:
                await unit.chat_settings.save(key, old=old[key], new=new[key], by=by, at=at)
        await self.reload()
        return changed

    async def history(self, limit: int = 20) -> list[SettingChange]:
        async with self.units.reading() as unit:
            return await unit.chat_settings.changes(limit)

    def _merge(self, stored: dict[str, Any]) -> ChatSettings:
        """Stored values over the defaults; values that no longer fit fall back, loudly."""
        merged = {**self.defaults.model_dump(), **stored}
        for _ in ChatSettings.model_fields:  # each round resets at least one setting
            try:
                return validate_settings(merged)
            except SettingsRefused as refused:
                log.warning("stored chat settings not applied: %s", refused)
                merged.update({key: getattr(self.defaults, key) for key in refused.errors})
        return self.defaults

    def _config(self, settings: ChatSettings) -> ChatConfig:
        rules = replace(
            self.base_rules,
            max_segments=settings.max_segments,
            notes_prefix=settings.notes_prefix,
            case_ref_suffix=settings.case_ref_suffix,
            time_zone=settings.time_zone,
            business_hours=settings.window("business"),
            auto_reply_first=settings.auto_reply_first.strip(),
            auto_reply_after_hours=settings.auto_reply_after_hours.strip(),
            automated_hold=settings.window("delay"),
            quiet_period=timedelta(minutes=settings.quiet_minutes),
            automated_in_threads=settings.automated_in_threads,
            read_mode=settings.read_mode,
            counter_threshold=settings.counter_threshold if settings.counter_enabled else None,
        )
        inbox = Inbox(
            numbers=self.numbers,
            default_channel=self.default_channel,
            channels={PhoneNumber(n): ChannelId(c) for n, c in settings.number_channels.items()},
            title_property=settings.case_title,
        )
        return ChatConfig(settings=settings, rules=rules, inbox=inbox)
