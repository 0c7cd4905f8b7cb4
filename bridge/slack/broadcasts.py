"""`/smschat broadcast ...` typed, and a broadcast post's Cancel button."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bridge import texts
from bridge.domain.numbers import normalize_number, typed_number
from bridge.domain.values import PhoneNumber
from bridge.errors import InvalidInput
from bridge.routing.broadcasts import (
    BroadcastPlan,
    BroadcastRefused,
    cancel_broadcast,
    parse_start,
    parse_tag,
    plan_broadcast,
    queue_broadcast,
)
from bridge.routing.threads import tell_outside_case
from bridge.slack.broadcast_blocks import CANCEL_BROADCAST
from bridge.slack.desk import Desk
from bridge.slack.mrkdwn import slack_to_plain
from bridge.slack.payloads import Interaction, read

# `to:`, `from:` and `at:` before the text; `at:` takes a day and a time.
_OPTION = re.compile(r"\s*(to|from|at):(\S+)(?:(?<=\d)\s+(\d{1,2}:\d{2}))?(.*)", re.I | re.S)


def read_numbers(written: Sequence[str], *, default_region: str | None) -> list[str]:
    """Numbers as people write them, in E.164 as the directory keeps them."""
    try:
        return [normalize_number(n, default_region=default_region) for n in written if n.strip()]
    except InvalidInput as refused:
        raise BroadcastRefused("numbers", refused.reason) from None


async def plan_from_words(desk: Desk, words: str, *, user: str) -> BroadcastPlan:
    """`to:tag=volunteers [from:N] [at:2026-12-02 09:00] text` → a checked plan."""
    tag, numbers, sender, start = None, [], desk.inbox.numbers[0], None
    rest = words
    while (match := _OPTION.fullmatch(rest)) is not None:
        key, value, clock_time, rest = match.groups()
        key = key.lower()
        if key == "to" and "=" in value:
            tag = parse_tag(value)
        elif key == "to":
            numbers = read_numbers(value.split(","), default_region=desk.default_region)
        elif key == "from":
            try:
                sender = typed_number(value, default_region=desk.default_region).number
            except InvalidInput as refused:
                raise BroadcastRefused("from", refused.reason) from None
        else:
            given = f"{value} {clock_time}" if clock_time else value
            start = parse_start(given, time_zone=desk.time_zone)
    async with desk.units.reading() as unit:
        return await plan_broadcast(
            unit,
            author=user,
            our_number=PhoneNumber(sender),
            text=slack_to_plain(rest),
            tag=tag,
            numbers=numbers,
            start_at=start,
            inbox=desk.inbox,
            chat=desk.book.rules,
            rules=desk.broadcasting,
            now=desk.clock.now(),
        )


async def broadcast_from_command(desk: Desk, words: str, *, user: str) -> str:
    """The answer to `/smschat broadcast ...`: what was queued, or why nothing was."""
    if not words.strip():
        return texts.BROADCAST_USAGE
    try:
        plan = await plan_from_words(desk, words, user=user)
    except BroadcastRefused as refused:
        return f"{refused.reason}\n{texts.BROADCAST_USAGE}"
    return await queue_plan(desk, plan)


async def queue_plan(desk: Desk, plan: BroadcastPlan) -> str:
    async with desk.units.unit() as unit:
        broadcast_id = await queue_broadcast(unit, plan)
    now = plan.start_at <= desk.clock.now()
    local = plan.start_at.astimezone(desk.book.rules.local(plan.start_at).tzinfo)
    when = texts.BROADCAST_AT.format(at=f"{local:%Y-%m-%d %H:%M} ({desk.time_zone})")
    return texts.BROADCAST_QUEUED.format(
        ref=f"#{broadcast_id}", summary=plan.summary(), when=texts.BROADCAST_NOW if now else when
    )


def register_broadcasts(app: AsyncApp, *, desk: Desk) -> None:
    @app.action(CANCEL_BROADCAST)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any]) -> None:
        pressed = read(Interaction, body)
        try:
            broadcast_id = int(pressed.action.value or "")
        except ValueError:
            raise InvalidInput("block_actions: no broadcast id on the button") from None
        await ack()
        async with desk.units.unit() as unit:
            try:
                said = await cancel_broadcast(
                    unit, broadcast_id, by=pressed.user.id, now=desk.clock.now()
                )
            except BroadcastRefused as refused:
                said = refused.reason
            if pressed.channel is not None:
                await tell_outside_case(
                    unit, channel=pressed.channel.id, user=pressed.user.id, text=said
                )
