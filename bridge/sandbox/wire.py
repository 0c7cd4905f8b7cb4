"""Pure helpers for what the sandbox sends as a phone or as Slack, and reads back."""

from __future__ import annotations

import base64
import binascii
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
from bridge.fakes.views import submitted_state

_E164 = re.compile(r"\+?[1-9][0-9]{6,14}")
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
_HANDLE = re.compile(r"(?<![\w<])@([A-Za-z][\w.-]*)")
# The largest file the page uploads as staff (the page sends it as base64 in JSON).
MOST_FILE_BYTES = 5_000_000
UNTYPED = "application/octet-stream"  # what Slack calls a file of no known type
# SMS API receipt states that are not (yet) a failure:
# https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts
_UNDER_WAY = ("submitted", "accepted", "buffered")


def contact_number(raw: str, *, ours: str) -> str:
    """A number typed on the phone → E.164 with '+'; ValueError if it is not one."""
    compact = re.sub(r"[\s().-]", "", raw or "")
    if not _E164.fullmatch(compact):
        raise ValueError("enter a phone number in international form, such as +447400900123")
    number = "+" + compact.removeprefix("+")
    if number == ours:
        raise ValueError("that is the bridge's own number; pick a contact's phone")
    return number


def file_bytes(encoded: object) -> bytes:
    """The bytes of a file the page sent as base64; ValueError if they are not that."""
    if not isinstance(encoded, str) or not encoded:
        raise ValueError("pick a file first")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the file must be sent as base64") from None


def media_link(text: str, *, bridge_url: str) -> str | None:
    """The link to a staff member's file that a text carries (the bridge's `/media/{token}`
    under its public address), if it carries one."""
    if not bridge_url:
        return None
    found = re.search(re.escape(bridge_url) + r"/media/[0-9a-f-]+", text)
    return found.group(0) if found else None


def mail_address(raw: str, *, ours: str) -> str:
    """An email address typed in the mailbox, lower-cased; ValueError if it is not one."""
    address = (raw or "").strip().lower()
    if not _EMAIL.fullmatch(address):
        raise ValueError("enter an email address, such as alice@example.com")
    if address.rpartition("@")[2] == ours.rpartition("@")[2]:
        raise ValueError("that is the clinic's own domain; pick a contact's address")
    return address


def typed_in_slack(
    text: str, handles: dict[str, str] | None = None, *, labelled: bool = False
) -> str:
    """What Slack's client sends for typed text: `&`, `<` and `>` as entities, as in
    https://docs.slack.dev/messaging/formatting-message-text#escaping, and each `@handle`
    of `handles` (handle -> user id) picked as a mention: `<@U…>` in a message, `<@U…|handle>`
    in a command whose manifest sets `should_escape: true`."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def mention(match: re.Match[str]) -> str:
        user = (handles or {}).get(match.group(1).lower())
        if user is None:
            return match.group(0)
        return f"<@{user}|{match.group(1).lower()}>" if labelled else f"<@{user}>"

    return _HANDLE.sub(mention, escaped)


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


# The elements the page can act on (buttons, menus, inputs that dispatch actions).
INTERACTIVE = (
    "button",
    "users_select",
    "static_select",
    "conversations_select",
    "channels_select",
    "plain_text_input",
)


def find_element(
    blocks: list[Any], action_id: str, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(block, element) for an interactive element in `actions` or a section's accessory."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = list(block.get("elements") or [])
        elements += [block[k] for k in ("accessory", "element") if block.get(k)]
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
    # Slack gives every block an id, a made-up one when the app set none.
    block_id = block.get("block_id") or f"sandbox-{element['action_id']}"
    action = {"type": kind, "action_id": element["action_id"], "block_id": block_id}
    if kind == "button":
        action |= {"text": element.get("text"), "value": element.get("value")}
        return action | ({"style": element["style"]} if element.get("style") else {})
    if not chosen:
        raise ValueError("pick something in the menu first")
    if kind == "users_select":
        return action | {"selected_user": chosen}
    if kind == "conversations_select":
        return action | {"selected_conversation": chosen}
    if kind == "channels_select":
        return action | {"selected_channel": chosen}
    if kind == "plain_text_input":
        return action | {"value": chosen}
    return action | {"selected_option": chosen_option(element, chosen)}


def view_state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A modal's `state.values` from what the page's fields hold, by block_id then
    action_id: every input block, in the shape Slack gives its element type."""
    inputs = {b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"}
    changes = {}
    for block_id, fields in values.items():
        if block_id in inputs and isinstance(fields, dict) and fields:
            changes[block_id] = next(iter(fields.values()))
    try:
        return submitted_state(view, **changes)
    except KeyError as unknown:
        raise ValueError(f"that is not in the form: {unknown}") from None


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
