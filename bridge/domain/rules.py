"""The chat rules the core applies, and the SMS keywords carriers expect us to honour."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bridge.domain.values import ChannelId, PhoneNumber

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Window:
    """Some days of the week, from `start` to `end` (that minute included), local time."""

    days: frozenset[int]  # 0 = Monday
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        moment = local.time().replace(second=0, microsecond=0)
        return local.weekday() in self.days and self.start <= moment <= self.end

    def next_outside(self, local: datetime) -> datetime:
        """The first moment from `local` on that is outside the window."""
        while self.contains(local):
            end = datetime.combine(local.date(), self.end, local.tzinfo)
            local = end + timedelta(minutes=1)
        return local

    def __str__(self) -> str:
        days = ", ".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class ChatRules:
    max_segments: int = 6
    normalize_typography: bool = True
    notes_prefix: str = "//"
    help_text: str = "Reply to this number to reach our team. Text STOP to opt out."
    concat_timeout: timedelta = timedelta(minutes=10)
    # Appended to staff replies so the contact's answer can name its case; "" turns it off.
    case_ref_suffix: str = " (#{ref})"
    # Days, the message counter and business hours are counted in this zone.
    time_zone: str = "UTC"
    business_hours: Window | None = None
    auto_reply_first: str = ""  # "" sends none
    auto_reply_after_hours: str = ""
    # Auto-responses wait while this window is on, and for a quiet period after staff wrote.
    automated_hold: Window | None = None
    quiet_period: timedelta = timedelta(0)
    automated_in_threads: str = "all"  # all, hide, or failed (only those not delivered)
    read_mode: str = "shared"  # shared, or per_user
    counter_threshold: int | None = None  # None: no message counter
    # A text to a thread quiet this long is also shown in the channel.
    quiet_thread: timedelta = timedelta(minutes=30)
    # A case's assignee hears of its texts by direct message at most this often.
    assignee_notice_every: timedelta = timedelta(minutes=5)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.time_zone))

    def with_case_ref(self, text: str, case_id: int) -> str:
        if not self.case_ref_suffix or f"#{case_id}" in text:
            return text
        return text + self.case_ref_suffix.format(ref=case_id)

    def is_note(self, text: str) -> bool:
        return text.lstrip().startswith(self.notes_prefix)


class Keyword(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# The industry-standard words (CTIA, and what carriers such as Vonage honour on US numbers):
# the whole message, any case, surrounding spaces ignored.
_KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), Keyword.OPT_OUT),
    **dict.fromkeys(("START", "UNSTOP"), Keyword.OPT_IN),
    "HELP": Keyword.HELP,
}


def keyword(text: str) -> Keyword | None:
    """The keyword a whole inbound text is, if it is one."""
    return _KEYWORDS.get(text.strip().upper())


@dataclass(frozen=True, slots=True)
class Inbox:
    """Where cases live: our numbers and the channel each one routes to."""

    numbers: Sequence[PhoneNumber]
    default_channel: ChannelId
    channels: Mapping[PhoneNumber, ChannelId] = field(default_factory=dict)
    # Which contact property a case header shows ("name", or a property of the contact).
    title_property: str = "name"

    def channel(self, number: PhoneNumber) -> ChannelId:
        return self.channels.get(number, self.default_channel)

    @property
    def all_channels(self) -> set[ChannelId]:
        return {self.default_channel, *self.channels.values()}

    def owns(self, number: PhoneNumber) -> bool:
        return number in self.numbers


# `#12` in a text: a case reference (Smap's "#123" convention), not inside a longer word.
CASE_REF = re.compile(r"(?<![\w#])#(\d{1,9})\b")


def refs_in(text: str) -> set[int]:
    return {int(m) for m in CASE_REF.findall(text)}
