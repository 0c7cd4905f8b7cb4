"""manifest.yml is the single source of the app's scopes, events and commands."""

from __future__ import annotations

from pathlib import Path

import yaml

from bridge.cli import MANIFEST, URL_PLACEHOLDER
from bridge.slack.listeners import MESSAGE_SHORTCUTS, SLASH_COMMANDS, SUBSCRIBED_BOT_EVENTS

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


def test_scopes_cover_the_events_and_calls() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    # message.channels needs channels:history, message.groups needs groups:history.
    for event, scope in [
        ("message.channels", "channels:history"),
        ("message.groups", "groups:history"),
    ]:
        if event in SUBSCRIBED_BOT_EVENTS:
            assert scope in scopes
    assert {"chat:write", "reactions:write", "users:read", "commands"} <= scopes


def test_every_url_points_at_the_one_slack_endpoint() -> None:
    declared = manifest()
    urls = [
        declared["settings"]["event_subscriptions"]["request_url"],
        declared["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in declared["features"].get("slash_commands", [])),
    ]
    assert urls and all(url == f"{URL_PLACEHOLDER}/slack/events" for url in urls)
