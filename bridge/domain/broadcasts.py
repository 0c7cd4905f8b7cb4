"""Broadcasts: one text to many phones, and the safeguards on each recipient's copy.

Quiet hours are read on the recipient's wall clock, in the time zone of their number's
region (`phonenumbers.timezone`); a number whose region spans several zones is texted
only when the hour is allowed in all of them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

from bridge.errors import InvalidInput

_HOURS = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*")
BAD_QUIET_HOURS = "{value} is not a window such as 08:00-21:00"


class BroadcastStatus(enum.StrEnum):
    SENDING = "sending"  # recipients are released to the outbox as the budget allows
    DONE = "done"  # every recipient was released
    CANCELLED = "cancelled"  # what was not sent yet is not sent


@dataclass(frozen=True, slots=True)
class SendingHours:
    """The hours (local to the recipient) in which broadcast texts may go out; from `start`
    (included) to `end` (excluded). `None` as `SendingHours` means any hour."""

    start: time
    end: time

    @classmethod
    def parse(cls, value: str) -> SendingHours | None:
        """`08:00-21:00` → the window; "" → None (any hour); else `InvalidInput`."""
        if not value.strip():
            return None
        match = _HOURS.fullmatch(value)
        if match is None:
            raise InvalidInput(BAD_QUIET_HOURS.format(value=value.strip()[:40]))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2) or (h1, m1) >= (h2, m2):
            raise InvalidInput(BAD_QUIET_HOURS.format(value=value.strip()[:40]))
        return cls(time(h1, m1), time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2))

    def allows(self, local: datetime) -> bool:
        return self.start <= local.time() < self.end

    def next_start(self, local: datetime) -> datetime:
        """The first moment from `local` on at which the window is open (on that clock)."""
        if self.allows(local):
            return local
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, local.tzinfo)


@lru_cache(maxsize=4096)
def number_zones_of(number: str, fallback: str) -> tuple[ZoneInfo, ...]:
    """The time zones of a number's region (`fallback` when the library knows none)."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return (ZoneInfo(fallback),)
    zones = []
    for name in number_zones.time_zones_for_number(parsed):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # "Etc/Unknown" and names this system's zone database lacks
    return tuple(zones) or (ZoneInfo(fallback),)


def next_sending_moment(
    number: str, now: datetime, *, hours: SendingHours | None, fallback_zone: str
) -> datetime:
    """`now` if a text may go to `number` now, else the earliest later moment it may."""
    if hours is None:
        return now
    moment = now
    # A few rounds settle a number whose zones disagree (each round moves to a window's start).
    for _ in range(6):
        later = [
            hours.next_start(moment.astimezone(zone))
            for zone in number_zones_of(number, fallback_zone)
        ]
        latest = max(later)
        if latest <= moment:
            return moment
        moment = latest
    return moment


def with_opt_out_line(text: str, line: str) -> str:
    """The text with the opt-out line on a line of its own (unless it says so already)."""
    if not line.strip() or line.strip().lower() in text.lower():
        return text
    return f"{text.rstrip()}\n{line.strip()}"


@dataclass(frozen=True, slots=True)
class BroadcastRules:
    """What every broadcast keeps to: the opt-out line on a first text, the sending hours,
    and the carrier's budget it paces itself within."""

    opt_out_line: str = "Reply STOP to opt out"
    hours: SendingHours | None = SendingHours(time(8), time(21))
    requests_per_second: float = 30.0
    fallback_zone: str = "UTC"
    # Its post's figures are redrawn at most this often.
    redraw_every: timedelta = timedelta(seconds=3)

    @property
    def release_batch(self) -> int:
        """How many texts one step hands the outbox: a third of a second of the budget,
        so that a staff reply queued behind them leaves within a second."""
        return max(1, round(self.requests_per_second / 3))

    @property
    def step(self) -> timedelta:
        """How often a sending broadcast hands the outbox its next texts."""
        return timedelta(seconds=self.release_batch / self.requests_per_second)


@dataclass(frozen=True, slots=True)
class BroadcastCounts:
    """A broadcast's figures as its post shows them."""

    recipients: int = 0
    skipped: int = 0  # opted out before it started
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    not_sent: int = 0  # refused on the way (opted out meanwhile, cancelled)
    replied: int = 0
    opted_out: int = 0  # texted STOP after it


@dataclass(frozen=True, slots=True)
class BroadcastRecord:
    id: int
    author: str | None  # the Slack user who sent it; None from the command line
    our_number: str
    text: str  # as each phone gets it, before the opt-out line
    segments: int
    status: BroadcastStatus
    start_at: datetime
    created_at: datetime
    channel: str | None = None  # its post in the inbox channel, once posted
    ts: str | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """A recipient whose text may go now, and whether it is their first from our number."""

    recipient_id: int
    contact_number: str
    first_text: bool


@dataclass(frozen=True, slots=True)
class BroadcastView:
    """What a broadcast's post shows: who sent what from which number, and how it goes."""

    broadcast: BroadcastRecord
    counts: BroadcastCounts
