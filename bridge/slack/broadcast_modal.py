"""`/smschat broadcast` alone: a form (audience, message with its live length, sending
number, now or later), then a summary to confirm before anything is queued.

The form's inputs travel to the summary in its `private_metadata` and are checked again
on confirming: the audience may have changed meanwhile.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bridge.domain.broadcasts import with_opt_out_line
from bridge.errors import InvalidInput
from bridge.routing.broadcasts import BroadcastRefused
from bridge.slack.broadcasts import plan_from_words, queue_plan
from bridge.slack.desk import Desk
from bridge.slack.new_conversation import (
    MESSAGE_MAX,
    length_hint,
    message_block,
    sending_number_block,
)
from bridge.slack.payloads import Interaction, read

FORM_VIEW = "broadcast_form"
CONFIRM_VIEW = "broadcast_confirm"
MESSAGE_TYPED = "broadcast_message_typed"
# The inputs must fit in the summary's private_metadata (3,000 characters at most).
_MAX_NUMBERS = 900


def form_words(inputs: dict[str, str]) -> str:
    """The form's inputs as the inline command would take them."""
    words = []
    if inputs.get("audience"):
        words.append(f"to:{inputs['audience'].strip()}")
    # One number a line or comma, written with spaces or not (the inline form takes none).
    listed = re.split(r"[,;\n]", inputs.get("numbers", ""))
    numbers = ",".join(re.sub(r"\s", "", n) for n in listed if n.strip())
    if numbers:
        words.append(f"to:{numbers}")
    words.append(f"from:{inputs['from']}")
    if inputs.get("when") == "later":
        words.append(f"at:{inputs.get('at', '').strip() or 'unset'}")
    return " ".join([*words, inputs.get("message", "")])


def register_broadcast_modal(app: AsyncApp, *, desk: Desk) -> None:
    @app.action(MESSAGE_TYPED)
    async def on_typed(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        typed = read(Interaction, body)
        if typed.view is None:
            raise InvalidInput("block_actions: not typed in a view")
        await client.views_update(
            view_id=typed.view.id,
            hash=typed.view.hash,
            view=broadcast_form(desk, typed=typed.action.value or ""),
        )

    @app.view(FORM_VIEW)
    async def on_form(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        form = submitted.form
        inputs = {
            "audience": form.text("audience") or "",
            "numbers": form.text("numbers") or "",
            "from": form.option("from") or desk.inbox.numbers[0],
            "message": form.text("message", MESSAGE_TYPED) or "",
            "when": form.option("when") or "now",
            "at": form.text("at") or "",
        }
        if len(inputs["numbers"]) > _MAX_NUMBERS or len(inputs["message"]) > MESSAGE_MAX:
            raise InvalidInput("view_submission: longer than the form allows")
        try:
            plan = await plan_from_words(desk, form_words(inputs), user=submitted.user.id)
        except BroadcastRefused as refused:
            await ack(response_action="errors", errors={_block(refused.field): refused.reason})
            return
        await ack(response_action="update", view=confirm_view(plan.summary(), inputs))

    @app.view(CONFIRM_VIEW)
    async def on_confirmed(ack: AsyncAck, body: dict[str, Any]) -> None:
        submitted = read(Interaction, body)
        assert submitted.view is not None
        try:
            inputs = json.loads(submitted.view.private_metadata)
            words = form_words({k: str(v) for k, v in inputs.items()})
        except (ValueError, KeyError, AttributeError):
            raise InvalidInput("view_submission: private_metadata is not the form's") from None
        try:
            plan = await plan_from_words(desk, words, user=submitted.user.id)
        except BroadcastRefused as refused:
            # What changed since the summary (the time passed, everyone opted out).
            await ack(response_action="update", view=confirm_view(refused.reason, inputs))
            return
        await ack(response_action="update", view=done_view(await queue_plan(desk, plan)))


def _block(field: str) -> str:
    return {"broadcast": "message"}.get(field, field)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def broadcast_form(desk: Desk, *, typed: str = "") -> dict[str, Any]:
    when = [
        {"text": _plain("Send now"), "value": "now"},
        {"text": _plain("Send later"), "value": "later"},
    ]
    line = desk.broadcasting.opt_out_line
    hint = length_hint(with_opt_out_line(typed, line) if typed else "")
    return {
        "type": "modal",
        "callback_id": FORM_VIEW,
        "title": _plain("Broadcast"),
        "submit": _plain("Review"),
        "blocks": [
            _input("audience", "Contacts with (property=value)", "tag=volunteers", optional=True),
            _input(
                "numbers",
                "And these numbers",
                "+44 7700 900123, +1 415 555 0100",
                optional=True,
                multiline=True,
                max_length=_MAX_NUMBERS,
            ),
            sending_number_block(desk.inbox.numbers),
            message_block(
                MESSAGE_TYPED,
                typed,
                hint=f"{hint} · with “{line}” on a first text" if line else hint,
            ),
            {
                "type": "input",
                "block_id": "when",
                "label": _plain("When"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": "when",
                    "initial_option": when[0],
                    "options": when,
                },
            },
            _input("at", f"Send at ({desk.time_zone})", "2026-12-02 09:00", optional=True),
        ],
    }


def _input(
    block_id: str,
    label: str,
    placeholder: str,
    *,
    optional: bool = False,
    multiline: bool = False,
    max_length: int = 200,
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "element": {
            "type": "plain_text_input",
            "action_id": block_id,
            "multiline": multiline,
            "max_length": max_length,
            "placeholder": _plain(placeholder),
        },
    }


def confirm_view(summary: str, inputs: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CONFIRM_VIEW,
        "title": _plain("Broadcast"),
        "submit": _plain("Send"),
        "private_metadata": json.dumps(inputs),
        "blocks": [{"type": "section", "text": _plain(summary)}],
    }


def done_view(said: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _plain("Broadcast"),
        "close": _plain("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": said}}],
    }
