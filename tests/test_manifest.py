"""manifest.yml is the single source of the app's scopes, events and commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bridge.cli import main
from bridge.slack.listeners import MESSAGE_SHORTCUTS, SLASH_COMMANDS, SUBSCRIBED_BOT_EVENTS
from bridge.slack.manifest import MANIFEST, URL_PLACEHOLDER

ROOT = Path(__file__).parent.parent


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_root_manifest_is_the_packaged_one() -> None:
    assert (ROOT / "manifest.yml").resolve() == MANIFEST.resolve()


def test_every_event_and_command_the_code_listens_to_is_declared() -> None:
    declared = manifest()
    bot_events = set(declared["settings"]["event_subscriptions"]["bot_events"])
    assert set(SUBSCRIBED_BOT_EVENTS) <= bot_events
    commands = {c["command"] for c in declared["features"].get("slash_commands", [])}
    assert set(SLASH_COMMANDS) <= commands
    shortcuts = {
        s["callback_id"]
        for s in declared["features"].get("shortcuts", [])
        if s["type"] == "message"
    }
    assert set(MESSAGE_SHORTCUTS) <= shortcuts


# The bot scope each Web API method the bridge calls needs (None: no scope), from the
# methods' reference pages (https://api.slack.com/methods).
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_delete": "chat:write",  # the bot's own posts
    "chat_postEphemeral": "chat:write",
    "chat_getPermalink": None,
    "reactions_add": "reactions:write",
    "users_info": "users:read",
    "conversations_members": "channels:read",
    "conversations_open": "im:write",
    # Finding a post cut off by a crash; groups:history for private inbox channels too.
    "conversations_history": "channels:history",
    "conversations_replies": "channels:history",
    "views_open": None,
    "views_push": None,
    "users_list": "users:read",
    "conversations_info": "channels:read",
    "views_update": None,
    "views_publish": None,
    "files_info": "files:read",
    "files_getUploadURLExternal": "files:write",
    "files_completeUploadExternal": "files:write",
}
EVENT_SCOPES = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "app_home_opened": None,
}


def test_scopes_cover_the_events_and_calls() -> None:
    asked = manifest()["oauth_config"]["scopes"]["bot"]
    scopes = set(asked)
    assert len(scopes) == len(asked), "a scope is asked for twice"
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "bridge").rglob("*.py")
        if "fakes" not in path.parts and "sandbox" not in path.parts
    )
    called = set(re.findall(r"client\.((?:chat|reactions|users|conversations|views)_\w+)", source))
    # The file methods are called by name through the poster's rate-limit gate.
    called |= set(re.findall(r"_api\(\s*\"(files_\w+)\"", source))
    assert called, "no Web API calls found: the pattern is out of date"
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add the scopes of {unknown} to METHOD_SCOPES and the manifest"
    needed = {METHOD_SCOPES[m] for m in called} | {EVENT_SCOPES[e] for e in SUBSCRIBED_BOT_EVENTS}
    assert needed - {None} <= scopes
    assert "commands" in scopes


def test_every_url_points_at_the_one_slack_endpoint() -> None:
    declared = manifest()
    urls = [
        declared["settings"]["event_subscriptions"]["request_url"],
        declared["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in declared["features"].get("slash_commands", [])),
    ]
    assert urls and all(url == f"{URL_PLACEHOLDER}/slack/events" for url in urls)


def test_the_socket_mode_manifest_has_no_request_urls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--socket-mode"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in printed["settings"]["event_subscriptions"]
    assert "request_url" not in printed["settings"]["interactivity"]
    assert all("url" not in command for command in printed["features"]["slash_commands"])
    assert printed["oauth_config"] == manifest()["oauth_config"]


def test_the_manifest_asks_for_escaped_commands_so_mentions_carry_ids() -> None:
    assert all(c["should_escape"] is True for c in manifest()["features"]["slash_commands"])


def test_the_url_manifest_fills_in_the_public_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://sms.example.net/"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["settings"]["interactivity"]["request_url"] == (
        "https://sms.example.net/slack/events"
    )
