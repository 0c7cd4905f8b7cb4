"""Staff text someone first: `/smschat new <number or name> <text>`, or its modal.

The modal's message box reports its SMS length as it is typed (Slack sends a block action
on each change; the answer is a `views.update` of the hint).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bridge.domain.numbers import format_number
from bridge.domain.rules import Inbox
from bridge.domain.segments import measure
from bridge.domain.values import PhoneNumber, UserId
from bridge.errors import InvalidInput
from bridge.routing import cases
from bridge.routing.broadcasts import BroadcastRefused, parse_start
from bridge.routing.cases import CaseActionRefused, CaseChange
from bridge.routing.ports import Unit
from bridge.routing.scheduled import CANCEL_SCHEDULED, cancel_scheduled, schedule_text
from bridge.routing.threads import tell_outside_case
from bridge.slack.desk import Desk
from bridge.slack.payloads import Interaction, read, record_ids

NEW_VIEW = "new_conversation"
MESSAGE_TYPED = "new_message_typed"
MESSAGE_MAX = 1600  # characters a form's message may hold


async def start_from_command(unit: Unit, desk: Desk, rest: str, user: UserId) -> CaseChange:
    """`/smschat new [from:N] <number or name> <text> [at:2026-12-02 09:00]`."""
    rest, at = _send_at(rest, time_zone=desk.time_zone)
    sender, rest = cases.split_sender(rest, inbox=desk.inbox, default_region=desk.default_region)
    recipient = await cases.resolve_recipient(unit, rest, default_region=desk.default_region)
    if at is not None:
        scheduled = await schedule_text(
            unit,
            to=recipient.number,
            sender=sender,
            text=recipient.text,
            by=user,
            at=at,
            inbox=desk.inbox,
            rules=desk.broadcasting,
            time_zone=desk.time_zone,
            now=desk.clock.now(),
        )
        return CaseChange(scheduled.case_id, scheduled.message + recipient.doubt)
    started = await cases.start_conversation(
        unit,
        to=recipient.number,
        sender=sender,
        text=recipient.text,
        by=user,
        inbox=desk.inbox,
        now=desk.clock.now(),
    )
    return CaseChange(started.case_id, started.message + recipient.doubt)


# `at:2026-12-02 09:00` (in TIME_ZONE) or an ISO time with its offset, anywhere in the words.
_AT = re.compile(r"(?:^|\s)at:(\S+(?:\s+\d{1,2}:\d{2}(?!\S))?)", re.I)


def _send_at(words: str, *, time_zone: str) -> tuple[str, datetime | None]:
    """The words without their `at:` time, and that time (None: send now)."""
    match = _AT.search(words)
    if match is None:
        return words, None
    try:
        at = parse_start(match.group(1), time_zone=time_zone)
    except BroadcastRefused as refused:
        raise CaseActionRefused(refused.reason) from None
    return (words[: match.start()] + " " + words[match.end() :]).strip(), at


def register_new_conversation(app: AsyncApp, *, desk: Desk) -> None:
    @app.action(CANCEL_SCHEDULED)
    async def on_cancel_scheduled(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        pressed = read(Interaction, body)
        [message_id] = record_ids(pressed.action.value, count=1)
        async with desk.units.unit() as unit:
            try:
                done = await cancel_scheduled(unit, message_id, by=UserId(pressed.user.id))
                said = done.message
            except CaseActionRefused as refused:
                said = str(refused)
            if pressed.channel is not None:
                await tell_outside_case(
                    unit, channel=pressed.channel.id, user=pressed.user.id, text=said
                )

    @app.action(MESSAGE_TYPED)
    async def on_typed(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        typed = read(Interaction, body)
        if typed.view is None:
            raise InvalidInput("block_actions: not typed in a view")
        await client.views_update(
            view_id=typed.view.id,
            hash=typed.view.hash,
            view=new_view(desk.inbox, typed=typed.action.value, time_zone=desk.time_zone),
        )

    @app.view(NEW_VIEW)
    async def on_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        form = submitted.form
        recipient = form.text("to") or ""
        sender = form.option("from") or desk.inbox.numbers[0]
        text = form.text("message", MESSAGE_TYPED) or ""
        async with desk.units.unit() as unit:
            try:
                to = (
                    await cases.resolve_recipient(
                        unit, recipient, default_region=desk.default_region
                    )
                ).number
            except CaseActionRefused as refused:
                await ack(response_action="errors", errors={"to": str(refused)})
                return
            later = form.text("at")
            try:
                at = parse_start(later, time_zone=desk.time_zone) if later else None
            except BroadcastRefused as refused:
                await ack(response_action="errors", errors={"at": refused.reason})
                return
            start = dict(to=to, sender=PhoneNumber(sender), text=text, by=UserId(submitted.user.id))
            try:
                if at is None:
                    await cases.start_conversation(
                        unit, **start, inbox=desk.inbox, now=desk.clock.now()
                    )
                else:
                    await schedule_text(
                        unit,
                        **start,
                        at=at,
                        inbox=desk.inbox,
                        rules=desk.broadcasting,
                        time_zone=desk.time_zone,
                        now=desk.clock.now(),
                    )
            except CaseActionRefused as refused:
                field = "at" if at is not None and at <= desk.clock.now() else "message"
                await ack(response_action="errors", errors={field: str(refused)})
                return
        await ack()


def length_hint(text: str) -> str:
    if not text:
        return "Up to 160 characters fit in one SMS (70 with emoji or some accents)."
    size = measure(text)
    hint = f"{len(text)} characters · {size.segments} SMS segment(s) · {size.encoding}"
    if size.non_gsm_chars:
        hint += f" (because of {' '.join(size.non_gsm_chars[:5])})"
    return hint


def sending_number_block(numbers: Sequence[str]) -> dict[str, Any]:
    """The input choosing which of our numbers a text goes from (the first by default)."""
    options = [
        {"text": {"type": "plain_text", "text": format_number(n)}, "value": n} for n in numbers
    ]
    return {
        "type": "input",
        "block_id": "from",
        "label": {"type": "plain_text", "text": "From"},
        "element": {
            "type": "static_select",
            "action_id": "from",
            "initial_option": options[0],
            "options": options,
        },
    }


def message_block(action_id: str, typed: str, *, hint: str) -> dict[str, Any]:
    """The text being written, reporting each keystroke (`action_id`) for its live hint."""
    return {
        "type": "input",
        "block_id": "message",
        "dispatch_action": True,
        "label": {"type": "plain_text", "text": "Message"},
        "hint": {"type": "plain_text", "text": hint},
        "element": {
            "type": "plain_text_input",
            "action_id": action_id,
            "multiline": True,
            "max_length": MESSAGE_MAX,
            "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
            **({"initial_value": typed} if typed else {}),
        },
    }


def new_view(inbox: Inbox, *, typed: str = "", time_zone: str = "UTC") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": NEW_VIEW,
        "title": {"type": "plain_text", "text": "New SMS conversation"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "to",
                "label": {"type": "plain_text", "text": "To (number or contact name)"},
                "element": {"type": "plain_text_input", "action_id": "to", "max_length": 200},
            },
            sending_number_block(inbox.numbers),
            message_block(MESSAGE_TYPED, typed, hint=length_hint(typed)),
            {
                "type": "input",
                "block_id": "at",
                "optional": True,
                "label": {"type": "plain_text", "text": f"Send later, at ({time_zone})"},
                "hint": {"type": "plain_text", "text": "Leave empty to send now."},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "at",
                    "max_length": 40,
                    "placeholder": {"type": "plain_text", "text": "2026-12-02 09:00"},
                },
            },
        ],
    }
