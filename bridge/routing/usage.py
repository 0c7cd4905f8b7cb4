"""`/smschat usage [today|week|month|YYYY-MM]`: texts and segments in a period of the desk's
time zone, per direction, per one of our numbers and per staff member.

What counts: every inbound text; of the texts we send (staff replies, forwards, automated
texts), those handed to the carrier, whatever became of them afterwards; those that failed
on the way to the phone are also shown as undelivered. Texts the bridge refused or could
not hand over are shown as not sent; texts still waiting in the outbox, and staff notes,
are not shown at all.

Emails are counted apart, never as texts or segments (the carrier bills neither): every
inbound email, and of those we send, the ones the mail server took; the rest not sent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bridge import texts
from bridge.domain.email import Channel
from bridge.domain.numbers import format_number
from bridge.domain.records import TrafficGroup
from bridge.domain.values import Direction, MessageStatus
from bridge.routing.ports import Units

DIRECTIONS = (
    Direction.INBOUND,
    Direction.OUTBOUND,
    Direction.FORWARDED,
    Direction.AUTOMATED,
    Direction.BROADCAST,
)
# Emails go in, are sent by staff or automatically; forwards and broadcasts go by SMS.
EMAIL_DIRECTIONS = (Direction.INBOUND, Direction.OUTBOUND, Direction.AUTOMATED)
_UNDELIVERED = {MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED}
_MAIL_SERVER_TOOK = {MessageStatus.SUBMITTED, MessageStatus.DELIVERED}
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class BadPeriod(ValueError):
    """What follows `usage` names no period."""


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    time_zone: str


@dataclass(slots=True)
class Figures:
    texts: int = 0
    segments: int = 0
    unmeasured: int = 0  # counted texts with no recorded segment count
    undelivered: int = 0
    not_sent: int = 0

    def add(self, group: TrafficGroup) -> None:
        if group.direction == Direction.INBOUND or group.handed_over:
            self.texts += group.texts
            self.segments += group.segments
            self.unmeasured += group.texts - group.measured
            if group.status in _UNDELIVERED:
                self.undelivered += group.texts
        elif group.status != MessageStatus.QUEUED:
            self.not_sent += group.texts


@dataclass(slots=True)
class EmailFigures:
    emails: int = 0
    not_sent: int = 0

    def add(self, group: TrafficGroup) -> None:
        if group.direction == Direction.INBOUND or group.status in _MAIL_SERVER_TOOK:
            self.emails += group.texts
        elif group.status != MessageStatus.QUEUED:
            self.not_sent += group.texts


@dataclass(slots=True)
class Usage:
    period: Period
    totals: dict[str, Figures] = field(default_factory=lambda: defaultdict(Figures))
    by_number: dict[str, dict[str, Figures]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Figures))
    )
    by_staff: dict[str, Figures] = field(default_factory=lambda: defaultdict(Figures))
    emails: dict[str, EmailFigures] = field(default_factory=lambda: defaultdict(EmailFigures))
    emails_by_staff: dict[str, EmailFigures] = field(
        default_factory=lambda: defaultdict(EmailFigures)
    )


def parse_period(words: str, *, now: datetime, time_zone: str) -> Period:
    """The period `words` name, in `time_zone`; BadPeriod when they name none."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    word = words.strip().lower()
    month = _MONTH.fullmatch(word)
    if word in ("", "today"):
        start, end = today, today + timedelta(days=1)
        label = texts.USAGE_TODAY.format(day=today)
    elif word == "week":
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=7)
        label = texts.USAGE_WEEK.format(first=start, last=end - timedelta(days=1))
    elif word == "month":
        start, end = _month(today.year, today.month)
        label = texts.USAGE_MONTH.format(first=start)
    elif month and 1 <= int(month.group(2)) <= 12 and 1 <= int(month.group(1)) < 9999:
        start, end = _month(int(month.group(1)), int(month.group(2)))
        label = texts.USAGE_MONTH.format(first=start)
    else:
        raise BadPeriod(words)
    return Period(label, _midnight(start, zone), _midnight(end, zone), time_zone)


def _month(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, following


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of `day` where the desk is (zoneinfo settles days that skip midnight)."""
    return datetime.combine(day, time(0), tzinfo=zone)


async def measure_usage(units: Units, period: Period) -> Usage:
    usage = Usage(period)
    async with units.reading() as unit:
        groups = await unit.reports.traffic(since=period.start, until=period.end)
    for group in groups:
        by_staff = group.direction == Direction.OUTBOUND and group.author
        if group.channel == Channel.EMAIL:
            usage.emails[group.direction].add(group)
            if by_staff:
                usage.emails_by_staff[group.author].add(group)
            continue
        usage.totals[group.direction].add(group)
        usage.by_number[group.our_number][group.direction].add(group)
        if by_staff:
            usage.by_staff[group.author].add(group)
    return usage


async def usage_answer(units: Units, words: str, *, now: datetime, time_zone: str) -> str:
    """The answer to `/smschat usage <words>`: the figures, or how to ask for them."""
    try:
        period = parse_period(words, now=now, time_zone=time_zone)
    except BadPeriod:
        return texts.USAGE_USAGE
    return describe(await measure_usage(units, period))


def describe(usage: Usage) -> str:
    """The figures as Slack mrkdwn."""
    period = usage.period
    lines = [
        texts.USAGE_HEADER.format(period=period.label, time_zone=period.time_zone),
        texts.USAGE_ALL,
    ]
    lines += [_direction_line(d, usage.totals[d]) for d in DIRECTIONS]
    for number in sorted(usage.by_number):
        lines.append(texts.USAGE_NUMBER.format(number=format_number(number)))
        lines += [_direction_line(d, usage.by_number[number][d]) for d in DIRECTIONS]
    if usage.emails:
        lines.append(texts.USAGE_EMAIL)
        lines += [_email_line(d, usage.emails[d]) for d in EMAIL_DIRECTIONS]
    lines.append(texts.USAGE_STAFF)
    staff = {*usage.by_staff, *usage.emails_by_staff}
    if not staff:
        lines.append(texts.USAGE_NO_STAFF)
    for user in sorted(staff, key=lambda user: (-_sent_by(usage, user), user)):
        shown = _figures(usage.by_staff.get(user, Figures()))
        if user in usage.emails_by_staff:
            emails = usage.emails_by_staff[user].emails
            shown += texts.USAGE_STAFF_EMAILS.format(emails=f"{emails:,}")
        lines.append(texts.USAGE_STAFF_LINE.format(user=user, figures=shown))
    lines.append(texts.USAGE_FOOTNOTE)
    if usage.emails:
        lines.append(texts.USAGE_EMAIL_FOOTNOTE)
    return "\n".join(lines)


def _sent_by(usage: Usage, user: str) -> int:
    texts_sent = usage.by_staff.get(user, Figures()).texts
    return texts_sent + usage.emails_by_staff.get(user, EmailFigures()).emails


def _direction_line(direction: str, figures: Figures) -> str:
    return texts.USAGE_LINE.format(what=texts.USAGE_KINDS[direction], figures=_figures(figures))


def _email_line(direction: str, figures: EmailFigures) -> str:
    shown = texts.USAGE_EMAIL_FIGURES.format(emails=f"{figures.emails:,}")
    if figures.not_sent:
        shown += texts.USAGE_NOT_SENT.format(count=f"{figures.not_sent:,}")
    return texts.USAGE_LINE.format(what=texts.USAGE_KINDS[direction], figures=shown)


def _figures(figures: Figures) -> str:
    if figures.unmeasured == 0:
        segments = f"{figures.segments:,}"
    elif figures.unmeasured == figures.texts:
        segments = texts.USAGE_NOT_RECORDED
    else:
        segments = texts.USAGE_PARTLY_RECORDED.format(
            segments=f"{figures.segments:,}", unmeasured=f"{figures.unmeasured:,}"
        )
    shown = texts.USAGE_FIGURES.format(texts=f"{figures.texts:,}", segments=segments)
    if figures.undelivered:
        shown += texts.USAGE_UNDELIVERED.format(count=f"{figures.undelivered:,}")
    if figures.not_sent:
        shown += texts.USAGE_NOT_SENT.format(count=f"{figures.not_sent:,}")
    return shown
