"""`/smschat` and the case header's buttons and modal: Slack payloads in, case actions out.

Answers go back in the acknowledgement (the request's own response) or through the outbox;
the one call made inside a request is `views.open`, whose trigger id lives three seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bridge import texts
from bridge.domain import limits
from bridge.domain.values import UserId
from bridge.errors import InvalidInput
from bridge.routing import cases
from bridge.routing.cases import CaseActionRefused, CaseChange
from bridge.routing.ports import Unit
from bridge.routing.replies import REOPEN_AND_SEND, reopen_and_send
from bridge.routing.threads import refresh_contact_headers, tell, tell_outside_case
from bridge.slack import blocks
from bridge.slack.broadcast_modal import broadcast_form, register_broadcast_modal
from bridge.slack.broadcasts import register_broadcasts
from bridge.slack.case_modals import ADD_CONTACT_VIEW, MOVE_VIEW, add_contact_view, move_view
from bridge.slack.commands import run_command
from bridge.slack.controls import register_controls
from bridge.slack.desk import Desk
from bridge.slack.forwarding import open_forwarding, register_forwarding
from bridge.slack.new_conversation import new_view, register_new_conversation
from bridge.slack.payloads import Interaction, SlashCommand, case_of, read, record_ids
from bridge.slack.settings_modal import open_settings

log = logging.getLogger(__name__)

COMMAND = "/smschat"
MOVE_SHORTCUT = "move_to_new_case"
# A header button's change: (unit, who pressed, the case) → what changed.
HeaderChange = Callable[[Unit, UserId, int], Awaitable[CaseChange]]


def register_interactions(app: AsyncApp, *, desk: Desk) -> None:
    units = desk.units

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        slash = read(SlashCommand, command)
        text = slash.text.strip()
        if text.lower() == "new":
            await ack()
            await client.views_open(
                trigger_id=slash.trigger_id, view=new_view(desk.inbox, time_zone=desk.time_zone)
            )
            return
        if text.lower() == "broadcast":
            await ack()
            await client.views_open(trigger_id=slash.trigger_id, view=broadcast_form(desk))
            return
        if text.lower() == "settings":
            refusal = await open_settings(
                client,
                slash.trigger_id,
                user=slash.user_id,
                book=desk.book,
                gatekeeper=desk.gatekeeper,
            )
            await ack(refusal or "")
            return
        if text.lower() == "forward":
            await ack()
            await open_forwarding(client, trigger_id=slash.trigger_id, desk=desk)
            return
        await ack(await run_command(desk, text, user=slash.user_id))

    register_new_conversation(app, desk=desk)
    register_broadcasts(app, desk=desk)
    register_broadcast_modal(app, desk=desk)
    register_forwarding(app, desk=desk)

    async def change(body: dict[str, Any], action: HeaderChange) -> None:
        """Apply a header button; a refusal is told to the presser in the thread (or, for
        a case that is gone, where they pressed)."""
        pressed = read(Interaction, body)
        user, case_id = UserId(pressed.user.id), case_of(pressed.action)
        async with units.unit() as unit:
            try:
                await action(unit, user, case_id)
            except CaseActionRefused as refused:
                case = await unit.cases.get(case_id)
                if case is not None:
                    await tell(unit, case, user, str(refused))
                elif pressed.channel is not None:
                    await tell_outside_case(
                        unit, channel=pressed.channel.id, user=user, text=str(refused)
                    )

    register_controls(app, desk=desk, change=change)

    @app.action(blocks.ASSIGN_ME)
    async def on_assign_me(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body, lambda unit, user, case_id: cases.assign_case(unit, case_id, to=user, by=user)
        )

    @app.action(blocks.ASSIGN_TO)
    async def on_assign_to(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        chosen = read(Interaction, body).action.selected_user
        await change(
            body,
            lambda unit, user, case_id: cases.assign_case(
                unit, case_id, to=UserId(chosen) if chosen else None, by=user
            ),
        )

    @app.action(blocks.CLOSE)
    async def on_close(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body,
            lambda unit, user, case_id: cases.close_case(
                unit, case_id, by=user, now=desk.clock.now()
            ),
        )

    @app.action(blocks.REOPEN)
    async def on_reopen(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(body, lambda unit, user, case_id: cases.reopen_case(unit, case_id, by=user))

    @app.action(blocks.MARK_READ)
    async def on_mark_read(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await change(
            body,
            lambda unit, user, case_id: cases.mark_case_read(
                unit, case_id, by=user, at=desk.clock.now()
            ),
        )

    @app.action(REOPEN_AND_SEND)
    async def on_reopen_and_send(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        pressed = read(Interaction, body)
        [message_id] = record_ids(pressed.action.value, count=1)
        user = UserId(pressed.user.id)
        async with units.unit() as unit:
            try:
                done = await reopen_and_send(unit, message_id, by=user)
            except CaseActionRefused as refused:
                text, case = str(refused), None
            else:
                text, case = done.message, await unit.cases.get(done.case_id)
            channel = case.channel if case else pressed.channel.id if pressed.channel else None
            if channel is not None:
                thread_ts = case.thread_ts if case else None
                await tell_outside_case(
                    unit, channel=channel, user=user, text=text, thread_ts=thread_ts
                )

    @app.action(blocks.ADD_CONTACT)
    async def on_add_contact(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        pressed = read(Interaction, body)
        await client.views_open(
            trigger_id=pressed.trigger_id, view=add_contact_view(case_of(pressed.action))
        )

    @app.shortcut(MOVE_SHORTCUT)
    async def on_move(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        chosen = read(Interaction, shortcut)
        if chosen.channel is None or chosen.message is None:
            raise InvalidInput("message_action: no channel or message")
        channel, user, message = chosen.channel.id, UserId(chosen.user.id), chosen.message
        async with units.unit() as unit:
            try:
                case_id, message_id = await cases.movable_message(
                    unit, channel=channel, ts=message.ts
                )
            except CaseActionRefused as refused:
                await tell_outside_case(
                    unit, channel=channel, user=user, text=str(refused), thread_ts=message.thread_ts
                )
                return
        await client.views_open(trigger_id=chosen.trigger_id, view=move_view(case_id, message_id))

    @app.view(MOVE_VIEW)
    async def on_move_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        assert submitted.view is not None  # a view_submission always has one (Envelope)
        case_id, message_id = record_ids(submitted.view.private_metadata, count=2)
        comment = submitted.form.text("comment") or ""
        async with units.unit() as unit:
            try:
                await cases.move_message(
                    unit,
                    case_id=case_id,
                    message_id=message_id,
                    comment=comment,
                    by=UserId(submitted.user.id),
                    inbox=desk.inbox,
                    now=desk.clock.now(),
                )
            except CaseActionRefused as refused:
                await ack(response_action="errors", errors={"comment": str(refused)})
                return
        await ack()

    @app.view(ADD_CONTACT_VIEW)
    async def on_add_contact_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        assert submitted.view is not None
        [case_id] = record_ids(submitted.view.private_metadata, count=1)
        name = (submitted.form.text("name") or "").strip()
        label = submitted.form.option("label") or "Mobile"
        if not name:
            await ack(response_action="errors", errors={"name": texts.CONTACT_NAME_REQUIRED})
            return
        async with units.unit() as unit:
            case = await unit.cases.get(case_id)
            if case is not None:
                await unit.contacts.name(
                    case.contact_number, name=name[: limits.NAME], label=label[:40]
                )
                await refresh_contact_headers(unit, case.contact_number)
        await ack()
