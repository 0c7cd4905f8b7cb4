"""Click-to-call: the phone a staff member is rung on, a call placed for a case, and what
Vonage says of it, once each in the case's thread."""

from __future__ import annotations

import logging
from datetime import datetime

from bridge import texts
from bridge.domain.events import CallEvent
from bridge.domain.numbers import format_number, typed_number
from bridge.domain.values import UserId
from bridge.domain.work import PlaceCall
from bridge.errors import InvalidInput
from bridge.routing.cases import CaseActionRefused, CaseChange, existing_case
from bridge.routing.ports import Unit
from bridge.routing.threads import note

log = logging.getLogger(__name__)


async def set_my_phone(
    unit: Unit, user: UserId, given: str, *, default_region: str | None, now: datetime
) -> str:
    """`user` is rung on `given` from now on; refused when it is no possible number."""
    if not given.strip():
        raise CaseActionRefused(texts.MY_PHONE_USAGE)
    try:
        number = typed_number(given, default_region=default_region).number
    except InvalidInput as exc:
        raise CaseActionRefused(exc.reason) from None
    await unit.calls.set_staff_phone(user, number, at=now)
    return texts.MY_PHONE_SET.format(number=format_number(number))


async def call_case(unit: Unit, case_id: int, *, by: UserId, now: datetime) -> CaseChange:
    """Queue a call ringing `by`'s phone, to be connected to the case's contact."""
    case = await existing_case(unit, case_id)
    phone = await unit.calls.staff_phone(by)
    if phone is None:
        raise CaseActionRefused(texts.CALL_NEEDS_PHONE)
    call_id = await unit.calls.start(case.id, by, at=now)
    await unit.jobs.add(PlaceCall(call_id))
    return CaseChange(case.id, texts.CALL_PLACING.format(number=format_number(phone), ref=case.id))


async def accept_call_event(unit: Unit, event: CallEvent) -> None:
    """A note in the call's case thread, once for each state of the call."""
    said = texts.CALL_EVENT_NOTES.get(event.status)
    if said is None:
        log.info("call event %s is not shown", event.status)
        return
    case_id = await unit.calls.first_word(event.call_uuid, event.status)
    if case_id is None:
        log.info("call event %s told before, or of a call of no case", event.status)
        return
    minutes, seconds = divmod(event.duration or 0, 60)
    await note(unit, case_id, said.format(duration=f"{minutes}:{seconds:02d}"))
