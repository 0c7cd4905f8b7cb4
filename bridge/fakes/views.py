"""What Slack sends about views: a modal's submitted state, and the App Home opened.

In a submitted state every input block is present, holding its initial value unless the
person changed it, in the shape Slack gives each element type.
https://api.slack.com/reference/interaction-payloads/views#view_submission
"""

from __future__ import annotations

import time
import uuid
from typing import Any

Params = dict[str, Any]

# Pickers of people and conversations: (the state's key, the element's initial key).
_PICKED = {
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}


def submitted_state(view: Params, **changes: Any) -> Params:
    """`state.values` of `view` with `changes` typed in, by block id.

    A change is a plain value: text for text, number, date and time inputs; the chosen
    value (or list of values) for radio buttons, selects and checkboxes; ids for user and
    conversation pickers (a list for the multi-selects).
    """
    unknown = set(changes) - {b.get("block_id") for b in view["blocks"]}
    if unknown:
        raise KeyError(f"the view has no input blocks {sorted(unknown)}")
    values: Params = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id = block["block_id"]
        state = _initial_state(element)
        if block_id in changes:
            state = _changed_state(element, changes[block_id])
        values[block_id] = {element["action_id"]: state}
    return values


def _initial_state(element: Params) -> Params:
    kind = element["type"]
    if kind in ("plain_text_input", "number_input"):
        return {"type": kind, "value": element.get("initial_value")}
    if kind in ("radio_buttons", "static_select"):
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": element.get("initial_options", [])}
    if kind == "timepicker":
        return {"type": kind, "selected_time": element.get("initial_time")}
    if kind == "datepicker":
        return {"type": kind, "selected_date": element.get("initial_date")}
    if kind == "multi_static_select":
        return {"type": kind, "selected_options": element.get("initial_options", [])}
    if kind in _PICKED:
        key, initial = _PICKED[kind]
        return {"type": kind, key: element.get(initial, [] if key.endswith("s") else None)}
    raise ValueError(f"no state shape known for {kind} elements")


def _changed_state(element: Params, value: Any) -> Params:
    kind = element["type"]
    if kind in ("plain_text_input", "number_input"):
        return {"type": kind, "value": None if value in (None, "") else str(value)}
    if kind in ("radio_buttons", "static_select"):
        return {"type": kind, "selected_option": _option(element, value)}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": [_option(element, v) for v in value]}
    if kind == "timepicker":
        return {"type": kind, "selected_time": value or None}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value or None}
    if kind == "multi_static_select":
        return {"type": kind, "selected_options": [_option(element, v) for v in value]}
    if kind in _PICKED:
        key, _initial = _PICKED[kind]
        return {"type": kind, key: list(value) if key.endswith("s") else value or None}
    raise ValueError(f"no state shape known for {kind} elements")


def _option(element: Params, value: Any) -> Params:
    for option in element["options"]:
        if option["value"] == str(value):
            return option
    raise KeyError(f"{value!r} is not one of the element's options")


def home_opened_event(user: str, *, view: Params | None = None) -> Params:
    """`app_home_opened` for the Home tab; `view` is the tab as last published, if ever.
    https://api.slack.com/events/app_home_opened"""
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + uuid.uuid4().hex[:10].upper(),
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    return event | ({"view": view} if view is not None else {})
