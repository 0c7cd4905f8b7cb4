"""`/smschat forward`: a modal listing the forwarding schedules, and a form to add or edit one.

The list is the modal's root view; Add and Edit push the form on top of it, and a saved
form updates the list beneath (its view id travels in the form's private metadata).
Delete asks for confirmation in Slack itself (a `confirm` object on the button).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge import texts
from bridge.domain import limits
from bridge.domain.numbers import format_number
from bridge.domain.records import ScheduleRecord
from bridge.domain.values import UserId
from bridge.errors import InvalidInput
from bridge.routing import forwarding
from bridge.routing.forwarding import ScheduleInput, ScheduleRefused
from bridge.slack.desk import Desk
from bridge.slack.mrkdwn import escape_for_slack
from bridge.slack.payloads import FormState, Interaction, read

log = logging.getLogger(__name__)

LIST_VIEW = "forwarding_list"
FORM_VIEW = "forwarding_form"
ADD = "forwarding_add"
EDIT = "forwarding_edit"
DELETE = "forwarding_delete"

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # 0 = Monday, as stored


async def open_forwarding(client: AsyncWebClient, *, trigger_id: str, desk: Desk) -> None:
    """Open the list of schedules (the trigger id of the command lives three seconds)."""
    await client.views_open(trigger_id=trigger_id, view=await _current_list(desk))


def register_forwarding(app: AsyncApp, *, desk: Desk) -> None:
    @app.action(ADD)
    async def on_add(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        pressed, list_id = _in_list(body)
        view = form_view(None, list_view_id=list_id, time_zone=desk.time_zone)
        await client.views_push(trigger_id=pressed.trigger_id, view=view)

    @app.action(EDIT)
    async def on_edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        pressed, list_id = _in_list(body)
        schedule_id = _schedule_id(pressed.action.value)
        async with desk.units.reading() as unit:
            schedule = await unit.schedules.get(schedule_id) if schedule_id else None
        if schedule is None:  # deleted meanwhile: show the list as it is now
            await _refresh_list(client, desk, list_id)
            return
        view = form_view(schedule, list_view_id=list_id, time_zone=desk.time_zone)
        await client.views_push(trigger_id=pressed.trigger_id, view=view)

    @app.action(DELETE)
    async def on_delete(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        pressed, list_id = _in_list(body)
        schedule_id = _schedule_id(pressed.action.value)
        if schedule_id is not None:
            async with desk.units.unit() as unit:
                await unit.schedules.delete(schedule_id)
            log.info("forwarding schedule %s deleted by %s", schedule_id, pressed.user.id)
        await _refresh_list(client, desk, list_id)

    @app.view(FORM_VIEW)
    async def on_submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        submitted = read(Interaction, body)
        assert submitted.view is not None
        meta = read(FormMetadata, _json_object(submitted.view.private_metadata))
        async with desk.units.unit() as unit:
            try:
                await forwarding.save_schedule(
                    unit,
                    meta.id,
                    form_input(submitted.form),
                    by=UserId(submitted.user.id),
                    default_region=desk.default_region,
                    our_numbers=desk.inbox.numbers,
                )
            except ScheduleRefused as refused:
                await ack(response_action="errors", errors=refused.errors)
                return
        await ack()  # closes the form; the list beneath shows the change
        if meta.list:
            await _refresh_list(client, desk, meta.list)


class FormMetadata(BaseModel):
    """What the schedule form carries in its private metadata: which schedule (none for a
    new one) and the list view beneath it."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)
    id: Annotated[int, Field(gt=0, le=limits.RECORD_ID)] | None = None
    list: Annotated[str, Field(max_length=255)] | None = None


def _json_object(text: str) -> object:
    try:
        return json.loads(text or "{}")
    except (ValueError, RecursionError):
        raise InvalidInput("view_submission: private_metadata is not JSON") from None


def _in_list(body: dict[str, Any]) -> tuple[Interaction, str]:
    """A button pressed in the list modal, and that modal's view id."""
    pressed = read(Interaction, body)
    if pressed.view is None or not pressed.view.id:
        raise InvalidInput("block_actions: not pressed in a view")
    return pressed, pressed.view.id


def form_input(form: FormState) -> ScheduleInput:
    """What the form holds, as Slack reports it in `view.state.values` (block → action)."""
    return ScheduleInput(
        name=form.text(forwarding.NAME),
        user_ids=form.users(forwarding.USERS),
        numbers=form.text(forwarding.NUMBERS),
        days=form.options(forwarding.DAYS),
        start_time=form.time(forwarding.START),
        end_time=form.time(forwarding.END),
        time_zone=form.text(forwarding.TIME_ZONE),
    )


async def _current_list(desk: Desk) -> dict[str, Any]:
    async with desk.units.reading() as unit:
        schedules = await unit.schedules.all()
    return list_view(schedules, now=desk.clock.now())


async def _refresh_list(client: AsyncWebClient, desk: Desk, view_id: str) -> None:
    try:
        await client.views_update(view_id=view_id, view=await _current_list(desk))
    except SlackApiError as exc:  # the person closed the modal meanwhile; nothing to show
        log.info("forwarding list not updated: %s", exc.response.get("error"))


def _schedule_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) <= limits.RECORD_ID else None


def list_view(schedules: Sequence[ScheduleRecord], *, now: datetime) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": texts.FORWARD_LIST_INTRO},
            "accessory": _button("Add schedule", ADD, "add", style="primary"),
        },
        {"type": "divider"},
    ]
    if not schedules:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": texts.FORWARD_LIST_EMPTY}]}
        )
    for schedule in schedules:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _line(schedule, now)}})
        delete = _button("Delete", DELETE, str(schedule.id), style="danger")
        delete["confirm"] = {
            "title": {"type": "plain_text", "text": "Delete schedule?"},
            "text": {
                "type": "plain_text",
                "text": texts.FORWARD_DELETE_CONFIRM.format(name=schedule.name),
            },
            "confirm": {"type": "plain_text", "text": "Delete"},
            "deny": {"type": "plain_text", "text": "Keep it"},
            "style": "danger",
        }
        blocks.append(
            {
                "type": "actions",
                "block_id": f"schedule:{schedule.id}",
                "elements": [_button("Edit", EDIT, str(schedule.id)), delete],
            }
        )
    return {
        "type": "modal",
        "callback_id": LIST_VIEW,
        "title": {"type": "plain_text", "text": texts.FORWARD_LIST_TITLE},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": blocks,
    }


def _line(schedule: ScheduleRecord, now: datetime) -> str:
    days = (
        "Every day"
        if len(schedule.days) == len(DAY_NAMES)
        else ", ".join(DAY_NAMES[d] for d in schedule.days)
    )
    to = [f"<@{user}>" for user in schedule.user_ids]
    to += [format_number(number) for number in schedule.phone_numbers]
    active = forwarding.is_active(schedule, now)
    return texts.FORWARD_SCHEDULE_LINE.format(
        name=escape_for_slack(schedule.name),
        state=texts.FORWARD_ACTIVE if active else texts.FORWARD_INACTIVE,
        days=days,
        start=schedule.start_time,
        end=schedule.end_time,
        time_zone=schedule.time_zone,
        to=", ".join(to),
    )


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button = {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": label},
    }
    return button | ({"style": style} if style else {})


def form_view(
    schedule: ScheduleRecord | None, *, list_view_id: str, time_zone: str
) -> dict[str, Any]:
    """The add/edit form; block ids and action ids are the field names the core reports."""
    days = list(schedule.days) if schedule else list(range(len(DAY_NAMES)))
    numbers = ", ".join(format_number(n) for n in schedule.phone_numbers) if schedule else ""
    users = list(schedule.user_ids) if schedule else []
    day_options = [_option(name, str(day)) for day, name in enumerate(DAY_NAMES)]
    return {
        "type": "modal",
        "callback_id": FORM_VIEW,
        "private_metadata": json.dumps(
            {"id": schedule.id if schedule else None, "list": list_view_id}
        ),
        "title": {"type": "plain_text", "text": texts.FORWARD_FORM_TITLE},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            _input(
                forwarding.NAME,
                "Name",
                {
                    "type": "plain_text_input",
                    "max_length": forwarding.NAME_MAX,
                    **({"initial_value": schedule.name} if schedule else {}),
                },
            ),
            _input(
                forwarding.USERS,
                "People (told by direct message)",
                {
                    "type": "multi_users_select",
                    "max_selected_items": forwarding.MAX_USERS,
                    **({"initial_users": users} if users else {}),
                },
                optional=True,
            ),
            _input(
                forwarding.NUMBERS,
                "Phone numbers (sent the text by SMS)",
                {
                    "type": "plain_text_input",
                    "max_length": 500,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "+44 7700 900123, +44 7700 900456",
                    },
                    **({"initial_value": numbers} if numbers else {}),
                },
                optional=True,
                hint=texts.FORWARD_NUMBERS_HINT,
            ),
            _input(
                forwarding.DAYS,
                "Days",
                {
                    "type": "checkboxes",
                    "options": day_options,
                    **({"initial_options": [day_options[d] for d in days]} if days else {}),
                },
            ),
            _input(
                forwarding.START,
                "From",
                {
                    "type": "timepicker",
                    "initial_time": schedule.start_time if schedule else "00:00",
                },
            ),
            _input(
                forwarding.END,
                "Until (included)",
                {"type": "timepicker", "initial_time": schedule.end_time if schedule else "23:59"},
                hint=texts.FORWARD_END_HINT,
            ),
            _input(
                forwarding.TIME_ZONE,
                "Time zone",
                {
                    "type": "plain_text_input",
                    "max_length": 64,
                    "initial_value": schedule.time_zone if schedule else time_zone,
                },
                hint=texts.FORWARD_ZONE_HINT,
            ),
        ],
    }


def _input(
    field: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict[str, Any]:
    block = {
        "type": "input",
        "block_id": field,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": field, **element},
    }
    return block | ({"hint": {"type": "plain_text", "text": hint}} if hint else {})


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}
