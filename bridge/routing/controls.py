"""Muting a case: its texts still reach its thread, and nobody else is told of them."""

from __future__ import annotations

from datetime import datetime

from bridge import texts
from bridge.domain.records import CaseRecord
from bridge.domain.values import UserId
from bridge.routing.cases import CaseActionRefused, CaseChange, existing_case
from bridge.routing.ports import Unit
from bridge.routing.threads import note, refresh_header


async def mute_case(unit: Unit, case_id: int, *, by: UserId, now: datetime) -> CaseChange:
    case = await existing_case(unit, case_id)
    if not await unit.mutes.mute(case.id, by=by, at=now):
        raise CaseActionRefused(texts.ALREADY_MUTED.format(ref=case.id))
    await note(unit, case.id, texts.MUTED_NOTE.format(user=by))
    await refresh_header(unit, case.id)
    return CaseChange(case.id, texts.MUTED_DONE.format(ref=case.id))


async def unmute_case(unit: Unit, case_id: int, *, by: UserId) -> CaseChange:
    case = await existing_case(unit, case_id)
    if not await unit.mutes.unmute(case.id):
        raise CaseActionRefused(texts.NOT_MUTED.format(ref=case.id))
    await note(unit, case.id, texts.UNMUTED_NOTE.format(user=by))
    await refresh_header(unit, case.id)
    return CaseChange(case.id, texts.UNMUTED_DONE.format(ref=case.id))


async def unmuted(unit: Unit, cases: list[CaseRecord]) -> list[CaseRecord]:
    """The cases whose texts others may hear of."""
    return [case for case in cases if not await unit.mutes.is_muted(case.id)]
