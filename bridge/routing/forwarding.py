"""Forwarding schedules: while one is active, every inbound text or email reaches its people
and phones.

A schedule holds Slack users (told by direct message) and phone numbers (sent a copy of
the text by SMS), the days of the week and a window ("HH:MM" to "HH:MM", the end minute
included) in an IANA time zone. A window never crosses midnight: a night shift is two
schedules (22:00–23:59 and 00:00–06:00).
"""

from __future__ import annotations

import functools
import logging
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, time

from bridge import texts
from bridge.domain.email import InboundEmail, one_line
from bridge.domain.numbers import format_number, mask, normalize_number
from bridge.domain.records import CaseRecord, ScheduleRecord
from bridge.domain.rules import Window
from bridge.domain.segments import measure
from bridge.domain.values import InboundSms, UserId
from bridge.domain.work import ForwardDm, sms_send
from bridge.errors import InvalidInput
from bridge.routing.ports import Unit

log = logging.getLogger(__name__)

NAME_MAX = 80  # the column's size
MAX_USERS = 20
MAX_NUMBERS = 10
# Each schedule takes two blocks of the list modal, which holds at most 100.
MAX_SCHEDULES = 40
# A forwarded copy costs its segments once per phone: long texts are cut to fit.
FORWARD_MAX_SEGMENTS = 3
_CUT = "..."  # GSM-7, unlike "…", so cutting never makes a copy cost more

_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_NUMBER_SEPARATORS = re.compile(r"[,;\n]")

# The fields of a schedule as a form shows them: each error is reported on one of these.
NAME = "name"
USERS = "users"
NUMBERS = "numbers"
DAYS = "days"
START = "start"
END = "end"
TIME_ZONE = "time_zone"


class ScheduleRefused(InvalidInput):
    """A schedule that cannot be saved; `errors` holds a reason per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ScheduleInput:
    """A schedule as a person filled it in; anything may be missing or wrong."""

    name: str | None
    user_ids: Sequence[str]
    numbers: str | None  # comma separated, as typed
    days: Sequence[str]
    start_time: str | None
    end_time: str | None
    time_zone: str | None


@dataclass(frozen=True, slots=True)
class Schedule:
    """A valid schedule, ready to store."""

    name: str
    user_ids: list[str]
    phone_numbers: list[str]
    days: list[int]
    start_time: str
    end_time: str
    time_zone: str


def validate_schedule(
    given: ScheduleInput, *, default_region: str | None, our_numbers: Sequence[str]
) -> Schedule:
    """The schedule `given` describes, or `ScheduleRefused` naming every field that is wrong."""
    errors: dict[str, str] = {}
    name = (given.name or "").strip()
    if not name:
        errors[NAME] = texts.FORWARD_NAME_REQUIRED
    elif len(name) > NAME_MAX:
        errors[NAME] = texts.FORWARD_NAME_TOO_LONG.format(max=NAME_MAX)
    user_ids = list(dict.fromkeys(given.user_ids))
    if any(not _USER_ID.fullmatch(user) for user in user_ids):
        errors[USERS] = texts.FORWARD_NOT_A_USER
    elif len(user_ids) > MAX_USERS:
        errors[USERS] = texts.FORWARD_TOO_MANY_USERS.format(max=MAX_USERS)
    numbers: list[str] = []
    for written in _NUMBER_SEPARATORS.split(given.numbers or ""):
        if not written.strip():
            continue
        try:
            number = normalize_number(written, default_region=default_region)
        except InvalidInput as refused:
            errors[NUMBERS] = refused.reason
            break
        if number in our_numbers:
            errors[NUMBERS] = texts.FORWARD_OUR_NUMBER.format(number=format_number(number))
            break
        numbers.append(number)
    numbers = list(dict.fromkeys(numbers))
    if NUMBERS not in errors and len(numbers) > MAX_NUMBERS:
        errors[NUMBERS] = texts.FORWARD_TOO_MANY_NUMBERS.format(max=MAX_NUMBERS)
    if not user_ids and not numbers and not {USERS, NUMBERS} & errors.keys():
        errors[USERS] = texts.FORWARD_NO_RECIPIENTS
    days = sorted({int(day) for day in given.days if day in {"0", "1", "2", "3", "4", "5", "6"}})
    if not days:
        errors[DAYS] = texts.FORWARD_NO_DAYS
    start, end = given.start_time or "", given.end_time or ""
    if not _TIME.fullmatch(start):
        errors[START] = texts.FORWARD_TIME_REQUIRED
    if not _TIME.fullmatch(end):
        errors[END] = texts.FORWARD_TIME_REQUIRED
    elif START not in errors and end <= start:
        errors[END] = texts.FORWARD_END_BEFORE_START.format(start=start, end=end)
    time_zone = known_zone(given.time_zone or "")
    if time_zone is None:
        errors[TIME_ZONE] = texts.FORWARD_UNKNOWN_ZONE.format(given=(given.time_zone or "")[:64])
    if errors:
        raise ScheduleRefused(errors)
    assert time_zone is not None
    return Schedule(name, user_ids, numbers, days, start, end, time_zone)


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def known_zone(given: str) -> str | None:
    """The IANA name for `given` in any letter case (`europe/london` → `Europe/London`)."""
    return _zone_names().get(given.strip().lower())


def is_active(schedule: ScheduleRecord | Schedule, at: datetime) -> bool:
    """Whether `at` (aware) falls on one of the schedule's days, inside its window, in its zone.

    The wall clock of the zone decides, so a 09:00 start stays 09:00 across daylight saving.
    """
    window = Window(
        frozenset(schedule.days),
        time.fromisoformat(schedule.start_time),
        time.fromisoformat(schedule.end_time),
    )
    return window.contains(at.astimezone(zoneinfo.ZoneInfo(schedule.time_zone)))


# -- managing schedules -------------------------------------------------------------------


async def save_schedule(
    unit: Unit,
    schedule_id: int | None,
    given: ScheduleInput,
    *,
    by: UserId,
    default_region: str | None,
    our_numbers: Sequence[str],
) -> ScheduleRecord:
    """Create (no id) or change a schedule; nothing is stored unless all of it is valid."""
    valid = validate_schedule(given, default_region=default_region, our_numbers=our_numbers)
    if schedule_id is None:
        if await unit.schedules.count() >= MAX_SCHEDULES:
            raise ScheduleRefused({NAME: texts.FORWARD_TOO_MANY.format(max=MAX_SCHEDULES)})
        return await unit.schedules.add(created_by=by, **asdict(valid))
    changed = await unit.schedules.change(schedule_id, **asdict(valid))
    if changed is None:
        raise ScheduleRefused({NAME: texts.FORWARD_GONE})
    return changed


# -- forwarding a text --------------------------------------------------------------------


async def forward_inbound(
    unit: Unit,
    *,
    message_id: int,
    sms: InboundSms,
    cases: Sequence[CaseRecord],
    now: datetime,
) -> None:
    """Queue a direct message per person and a copy per phone of every schedule active `now`.

    Someone in several active schedules is told once; a text is never sent back to the
    phone it came from. Keyword texts (STOP, HELP) are forwarded too: managers want to know.
    """
    phones = await _tell_people(unit, message_id=message_id, cases=cases, now=now)
    phones.pop(sms.sender, None)
    if not phones:
        return
    name, _label = await unit.contacts.title(sms.sender, "name")
    number = format_number(sms.sender)
    sender = texts.FORWARD_FROM_NAMED.format(name=name, number=number) if name else number
    copy = fit_segments(texts.FORWARD_SMS.format(contact=sender, text=sms.text))
    await _send_copies(
        unit, phones, copy, our_number=sms.recipient, forwarded_from_id=message_id, now=now
    )


async def forward_email(
    unit: Unit,
    *,
    message_id: int,
    email: InboundEmail,
    cases: Sequence[CaseRecord],
    our_number: str | None,
    now: datetime,
) -> None:
    """As `forward_inbound`, for an email: its people told by direct message, its phones sent
    a short copy (the address, the subject, the start of the words) from `our_number`."""
    phones = await _tell_people(unit, message_id=message_id, cases=cases, now=now)
    if not phones:
        return
    if our_number is None:
        log.warning("not forwarding an email by SMS: VONAGE_NUMBERS names no number to send from")
        return
    words = " ".join(email.text.split())  # on one line: a copy is short
    about = texts.FORWARD_EMAIL_PARTS.join(
        part for part in (one_line(email.subject), words) if part
    )
    copy = fit_segments(texts.FORWARD_EMAIL_SMS.format(address=email.sender, about=about))
    await _send_copies(
        unit, phones, copy, our_number=our_number, forwarded_from_id=message_id, now=now
    )


async def _tell_people(
    unit: Unit, *, message_id: int, cases: Sequence[CaseRecord], now: datetime
) -> dict[str, None]:
    """Queue a direct message to each person of the schedules active `now`; their phones."""
    active = [s for s in await unit.schedules.all() if is_active(s, now)]
    users = dict.fromkeys(user for s in active for user in s.user_ids)
    case_ids = [case.id for case in cases]
    for user in users:
        # A queue per person: a message Slack will not take (a bot picked as recipient)
        # then holds back that person's messages alone, never the case's thread.
        await unit.jobs.add(ForwardDm(user=user, message_id=message_id, case_ids=case_ids))
    return dict.fromkeys(phone for s in active for phone in s.phone_numbers)


async def _send_copies(
    unit: Unit,
    phones: Iterable[str],
    copy: str,
    *,
    our_number: str,
    forwarded_from_id: int,
    now: datetime,
) -> None:
    for phone in phones:
        if await unit.opt_outs.is_opted_out(phone, our_number):
            log.info("not forwarding to %s: it opted out", mask(phone))
            continue
        forwarded_id = await unit.messages.add_forwarded(
            recipient=phone,
            our_number=our_number,
            text=copy,
            forwarded_from_id=forwarded_from_id,
            at=now,
        )
        await unit.jobs.add(sms_send(forwarded_id, our_number=our_number, contact_number=phone))


def fit_segments(text: str, max_segments: int = FORWARD_MAX_SEGMENTS) -> str:
    """`text`, or its longest beginning that fits `max_segments` with "..." after it."""
    if measure(text).segments <= max_segments:
        return text
    fits, too_long = 0, len(text)
    while too_long - fits > 1:  # adding characters never makes a text shorter to send
        middle = (fits + too_long) // 2
        if measure(text[:middle] + _CUT).segments <= max_segments:
            fits = middle
        else:
            too_long = middle
    return text[:fits].rstrip() + _CUT
