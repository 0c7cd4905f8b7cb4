"""Pure helpers for what the sandbox sends as a phone or as Slack, and reads back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from bridge.domain.segments import (
    GSM7_BASIC_CHARS,
    GSM7_EXTENSION_CHARS,
    GSM7_PART_LIMIT,
    GSM7_SINGLE_LIMIT,
    UCS2_PART_LIMIT,
    UCS2_SINGLE_LIMIT,
)

_E164 = re.compile(r"\+?[1-9][0-9]{6,14}")
# SMS API receipt states that are not (yet) a failure:
# https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts
_UNDER_WAY = ("submitted", "accepted", "buffered")


def contact_number(raw: str, *, ours: str) -> str:
    """A number typed on the phone → E.164 with '+'; ValueError if it is not one."""
    compact = re.sub(r"[\s().-]", "", raw or "")
    if not _E164.fullmatch(compact):
        raise ValueError("enter a phone number in international form, such as +447700900123")
    number = "+" + compact.removeprefix("+")
    if number == ours:
        raise ValueError("that is the bridge's own number; pick a contact's phone")
    return number


def typed_in_slack(text: str) -> str:
    """What Slack's client sends for typed text: `&`, `<` and `>` as entities, as in
    https://docs.slack.dev/messaging/formatting-message-text#escaping"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_sms(text: str) -> list[str]:
    """The parts a phone splits a long text into: 153 septets (GSM-7) or 67 UTF-16 units."""
    gsm = all(c in GSM7_BASIC_CHARS or c in GSM7_EXTENSION_CHARS for c in text)

    def cost(c: str) -> int:
        if gsm:
            return 2 if c in GSM7_EXTENSION_CHARS else 1
        return len(c.encode("utf-16-le")) // 2

    single, per_part = (
        (GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT) if gsm else (UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT)
    )
    if sum(cost(c) for c in text) <= single:
        return [text]
    parts, current, used = [], "", 0
    for c in text:
        if used + cost(c) > per_part:
            parts.append(current)
            current, used = "", 0
        current += c
        used += cost(c)
    return [*parts, current]


def overall_receipt_state(states: Iterable[str]) -> str:
    """A text is as far along as its least advanced part; a failed part fails it."""
    states = list(states)
    failed = [s for s in states if s != "delivered" and s not in _UNDER_WAY]
    if failed:
        return failed[0]
    return "delivered" if all(s == "delivered" for s in states) else "submitted"


# The interactive elements the page can draw on a message or in a modal.
INTERACTIVE = ("button", "users_select", "static_select")


def find_element(
    blocks: list[Any], action_id: str, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(block, element) for an interactive element in `actions` or a section's accessory."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") in INTERACTIVE and element.get("action_id") == action_id:
                return block, element
    return None


def chosen_option(element: dict[str, Any], value: str) -> dict[str, Any]:
    """The option of a static_select whose value is `value`; ValueError if none is."""
    for option in element.get("options") or []:
        if option.get("value") == value:
            return option
    raise ValueError(f"no option {value!r} in that menu")


def action_for(block: dict[str, Any], element: dict[str, Any], chosen: str | None) -> dict:
    """The `actions[0]` of a block_actions payload: what was pressed or picked.

    https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
    """
    kind = element["type"]
    action = {"type": kind, "action_id": element["action_id"], "block_id": block.get("block_id")}
    if kind == "button":
        action |= {"text": element.get("text"), "value": element.get("value")}
        return action | ({"style": element["style"]} if element.get("style") else {})
    if not chosen:
        raise ValueError("pick something in the menu first")
    if kind == "users_select":
        return action | {"selected_user": chosen}
    return action | {"selected_option": chosen_option(element, chosen)}


def view_state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A modal's `state.values` from what was typed or picked, by block_id then action_id."""
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not element or not block.get("block_id"):
            continue
        action_id = element.get("action_id", "")
        given = (values.get(block["block_id"]) or {}).get(action_id)
        kind = element.get("type")
        entry: dict[str, Any] = {"type": kind}
        if kind == "users_select":
            entry["selected_user"] = given or None
        elif kind == "static_select":
            entry["selected_option"] = chosen_option(element, given) if given else None
        else:  # plain_text_input and the other text inputs
            entry["value"] = given or None
        state[block["block_id"]] = {action_id: entry}
    return state


def answer_content(answer: Any) -> tuple[str, list[Any]]:
    """The text and blocks of an app's answer to a command: JSON, plain text or nothing."""
    if isinstance(answer, str):
        if not answer:
            return "", []
        try:
            answer = json.loads(answer)
        except ValueError:
            return answer, []
    if not isinstance(answer, dict):
        return str(answer), []
    return str(answer.get("text") or ""), list(answer.get("blocks") or [])
