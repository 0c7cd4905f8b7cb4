"""Placing a call for a case: the staff member's phone rings, then the contact's, at most
once. A call whose answer was lost is not placed again (a second ring would be worse than
a missed one): its caller is told instead."""

from __future__ import annotations

from bridge import texts
from bridge.domain.values import PhoneNumber
from bridge.domain.work import PlaceCall
from bridge.errors import SendError
from bridge.jobs.base import JobHandler
from bridge.routing.threads import note, tell


class PlaceStaffCall(JobHandler[PlaceCall]):
    async def run(self, work: PlaceCall) -> None:
        await self._place(work, first_attempt=True)

    async def run_again(self, work: PlaceCall) -> None:
        await self._place(work, first_attempt=False)

    async def _place(self, work: PlaceCall, *, first_attempt: bool) -> None:
        async with self.ctx.units.reading() as unit:
            call = await unit.calls.get(work.call_id)
            if call is None or call[2] is not None:
                return  # the case was deleted, or the call was taken
            case_id, user, _uuid = call
            case = await unit.cases.get(case_id)
            phone = await unit.calls.staff_phone(user)
        if case is None or phone is None:
            return
        caller = self.ctx.caller
        if caller is None or not first_attempt:
            async with self.ctx.units.unit() as unit:
                said = texts.CALL_NOT_CONFIGURED if caller is None else texts.CALL_MAYBE_PLACED
                await tell(unit, case, user, said)
            return
        call_uuid = await caller.call(
            staff_phone=PhoneNumber(phone),
            contact=case.contact_number,
            our_number=case.our_number,
            greeting=texts.CALL_GREETING.format(ref=case.id),
        )
        async with self.ctx.units.unit() as unit:
            await unit.calls.taken(work.call_id, call_uuid)
            await note(unit, case.id, texts.CALL_STARTED_NOTE.format(user=user))

    async def give_up(self, work: PlaceCall, error: SendError) -> None:
        async with self.ctx.units.unit() as unit:
            call = await unit.calls.get(work.call_id)
            case = await unit.cases.get(call[0]) if call else None
            if call is not None and case is not None:
                await tell(unit, case, call[1], texts.CALL_FAILED.format(reason=error.reason))
