"""Slack messages as the page draws them: author names, emoji, who wrote the words."""

from __future__ import annotations

import re
from typing import Any

import emoji

from bridge.slack.manifest import manifest

# manifest.yml: features.bot_user.display_name, the name Slack shows on the bridge's posts.
BOT_DISPLAY_NAME = "SMS Chat"
# Slack's names that the emoji package spells differently.
_SLACK_EMOJI = {"large_green_circle": "🟢", "large_blue_circle": "🔵", "large_red_circle": "🔴"}
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def display_name(user: dict[str, Any]) -> str:
    if user.get("is_bot"):
        return BOT_DISPLAY_NAME
    profile = user.get("profile", {})
    return profile.get("real_name") or profile.get("display_name") or user.get("name") or "?"


def emoji_for(name: str) -> str:
    """`white_check_mark` → ✅; a name nobody knows stays `:name:`, as Slack shows it."""
    if name in _SLACK_EMOJI:
        return _SLACK_EMOJI[name]
    return emoji.emojize(f":{name}:", language="alias")


def emojize(value: Any) -> Any:
    """Resolve `:name:` in texts, also inside blocks; ids, values and URLs stay as they are."""
    if isinstance(value, str):
        return _SHORTCODE.sub(lambda m: emoji_for(m.group(1)), value)
    if isinstance(value, list):
        return [emojize(v) for v in value]
    if isinstance(value, dict):
        return {
            k: v if isinstance(v, str) and k != "text" else emojize(v) for k, v in value.items()
        }
    return value


def slack_view(
    message: dict[str, Any], *, users: dict[str, dict[str, Any]], via_sms: bool
) -> dict[str, Any]:
    """A stored Slack message (FakeSlack's dict) as JSON for the page."""
    is_bot = bool(message.get("bot_id"))
    user = users.get(str(message.get("user")), {})
    return {
        "ts": message["ts"],
        "thread_ts": message.get("thread_ts"),
        "top": message.get("thread_ts", message["ts"]) == message["ts"],
        "user": message.get("user"),
        "author": BOT_DISPLAY_NAME if is_bot else display_name(user),
        "is_bot": is_bot,
        "text": emojize(message.get("text") or ""),
        "blocks": emojize(message.get("blocks") or []),
        "reactions": [
            {"name": r["name"], "emoji": emoji_for(r["name"]), "count": r["count"]}
            for r in message.get("reactions", [])
        ],
        "edited": bool(message.get("edited")),
        # Files shared in the message (a contact's picture), drawn from /api/slack/files/{id}.
        "files": [
            {"id": f["id"], "title": f.get("title", ""), "mimetype": f.get("mimetype", "")}
            for f in message.get("files", [])
        ],
        "via_sms": via_sms,
    }


def posted_verbatim(calls: list[Any], message: dict[str, Any]) -> bool:
    """True for a texter's words: the bridge posts those with mrkdwn off.

    Slack keeps no trace of that flag on the message, so the Web API call is looked up.
    """
    for call in reversed(calls):
        params = call.params
        same_place = params.get("thread_ts") == message.get("thread_ts")
        if same_place and params.get("text") == message.get("text"):
            return params.get("mrkdwn") in (False, "false", "0")
    return False


def message_shortcuts() -> list[dict[str, str]]:
    """The app's message shortcuts (manifest.yml), for each message's ⋯ menu."""
    declared = manifest()["features"].get("shortcuts") or []
    return [
        {"name": s["name"], "callback_id": s["callback_id"]}
        for s in declared
        if s.get("type") == "message"
    ]
