"""The conversation controls in Slack: Call, Mute / Unmute, Reply by SMS / by email and
Delete case on a case header;
`/smschat call|mute|unmute|delete #12`, `/smschat me phone +44...` and `/smschat erase +44...`
(deleting and erasing are for admins)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bridge import texts
from bridge.domain.email import Channel
from bridge.domain.numbers import format_number, typed_number
from bridge.domain.values import UserId
from bridge.errors import InvalidInput
from bridge.routing import cases
from bridge.routing.calls import call_case, set_my_phone
from bridge.routing.cases import CaseActionRefused, CaseChange
from bridge.routing.controls import mute_case, unmute_case
from bridge.routing.email import switch_replies
from bridge.routing.erasure import delete_case, dry_run, erase_person
from bridge.routing.ports import Unit
from bridge.routing.threads import tell, tell_outside_case
from bridge.slack import blocks
from bridge.slack.desk import Desk
from bridge.slack.payloads import Interaction, case_of, read

# How interactions.py applies a header button: (body, change) → the change made or refused.
ApplyChange = Callable[
    [dict[str, Any], Callable[[Unit, UserId, int], Awaitable[CaseChange]]], Awaitable[None]
]


def register_controls(app: AsyncApp, *, desk: Desk, change: ApplyChange) -> None:
    @app.action(blocks.MUTE)
    async def on_mute(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body,
            lambda unit, user, case_id: mute_case(unit, case_id, by=user, now=desk.clock.now()),
        )

    @app.action(blocks.UNMUTE)
    async def on_unmute(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(body, lambda unit, user, case_id: unmute_case(unit, case_id, by=user))

    @app.action(blocks.REPLY_BY_EMAIL)
    async def on_reply_by_email(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body,
            lambda unit, user, case_id: switch_replies(unit, case_id, to=Channel.EMAIL, by=user),
        )

    @app.action(blocks.REPLY_BY_SMS)
    async def on_reply_by_sms(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body,
            lambda unit, user, case_id: switch_replies(unit, case_id, to=Channel.SMS, by=user),
        )

    @app.action(blocks.CALL)
    async def on_call(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        pressed = read(Interaction, body)
        user, case_id = UserId(pressed.user.id), case_of(pressed.action)
        async with desk.units.unit() as unit:
            try:
                said = (await call_case(unit, case_id, by=user, now=desk.clock.now())).message
            except CaseActionRefused as refused:
                said = str(refused)
            case = await unit.cases.get(case_id)
            if case is not None:
                await tell(unit, case, user, said)

    @app.action(blocks.DELETE)
    async def on_delete(ack: AsyncAck, body: dict[str, Any]) -> None:
        # Slack asked the presser to confirm (the button's `confirm`) before sending this.
        await ack()
        pressed = read(Interaction, body)
        user = UserId(pressed.user.id)
        answer = await delete_command(desk, str(case_of(pressed.action)), user)
        channel = pressed.channel.id if pressed.channel else None
        if channel is not None:
            async with desk.units.unit() as unit:
                await tell_outside_case(unit, channel=channel, user=user, text=answer)


async def call_command(unit: Unit, desk: Desk, rest: str, user: UserId) -> CaseChange:
    return await call_case(unit, cases.parse_ref(rest), by=user, now=desk.clock.now())


async def me_command(desk: Desk, rest: str, user: UserId) -> str:
    """`me phone +44...`: the phone Call rings for this person."""
    what, _, given = rest.strip().partition(" ")
    if what.lower() != "phone":
        return texts.MY_PHONE_USAGE
    async with desk.units.unit() as unit:
        try:
            return await set_my_phone(
                unit, user, given, default_region=desk.default_region, now=desk.clock.now()
            )
        except CaseActionRefused as refused:
            return str(refused)


async def mute_command(unit: Unit, desk: Desk, rest: str, user: UserId) -> CaseChange:
    return await mute_case(unit, cases.parse_ref(rest), by=user, now=desk.clock.now())


async def unmute_command(unit: Unit, desk: Desk, rest: str, user: UserId) -> CaseChange:
    return await unmute_case(unit, cases.parse_ref(rest), by=user)


async def delete_command(desk: Desk, rest: str, user: UserId) -> str:
    """`delete #12`: the case and the bot's posts of it go (admins only)."""
    if not await desk.is_admin(user):
        return texts.DELETE_ADMINS_ONLY
    try:
        case_id = cases.parse_ref(rest)
        async with desk.units.unit() as unit:
            erased = await delete_case(unit, case_id, by=user, now=desk.clock.now())
    except CaseActionRefused as refused:
        return str(refused)
    return texts.DELETED_DONE.format(ref=case_id, what=erased.line())


async def erase_command(desk: Desk, rest: str, user: UserId) -> str:
    """`erase +44...` shows what would go; `erase +44... confirm` erases it (admins only)."""
    if not await desk.is_admin(user):
        return texts.DELETE_ADMINS_ONLY
    words = rest.split()
    confirmed = bool(words) and words[-1].lower() == "confirm"
    given = " ".join(words[:-1] if confirmed else words)
    if not given:
        return texts.ERASE_USAGE
    try:
        number = typed_number(given, default_region=desk.default_region).number
    except InvalidInput as exc:
        return exc.reason
    now, shown = desk.clock.now(), format_number(number)

    async def erase(unit: Unit) -> Any:
        return await erase_person(unit, number, by=user, now=now)

    if not confirmed:
        erased = await dry_run(desk.units, erase)
        if erased is None:
            return texts.ERASE_NOBODY.format(number=shown)
        return texts.ERASE_PREVIEW.format(number=shown, what=erased.line(), given=given)
    async with desk.units.unit() as unit:
        erased = await erase(unit)
    if erased is None:
        return texts.ERASE_NOBODY.format(number=shown)
    return texts.ERASE_DONE.format(number=shown, what=erased.line())
