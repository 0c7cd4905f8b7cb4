"""What Slack sends the bridge, built as Slack builds it: signatures, events, commands and
interaction payloads (https://docs.slack.dev/apis/events-api/, .../interactivity/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

Params = dict[str, Any]


def slack_signature_headers(
    signing_secret: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Slack's v0 signature headers: HMAC-SHA256 over b"v0:<timestamp>:<body>"."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def event_callback_body(
    event: Params,
    *,
    team_id: str = "T0TEAM",
    api_app_id: str = "A0APP",
    event_id: str | None = None,
    event_time: int | None = None,
    bot_user_id: str = "U0BOT",
) -> Params:
    """The Events API envelope (`"type": "event_callback"`) around `event`."""
    auth = {"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id, "is_bot": True}
    auth["is_enterprise_install"] = False
    # event_context is opaque to apps; Slack's look like "4-" + base64 of a small JSON.
    context = {"et": event.get("type"), "tid": team_id, "aid": api_app_id}
    envelope = {"token": "fake-verification-token", "team_id": team_id, "api_app_id": api_app_id}
    envelope |= {"context_team_id": team_id, "context_enterprise_id": None, "event": event}
    envelope |= {"type": "event_callback", "authorizations": [auth]}
    envelope |= {"event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper()}
    envelope |= {"event_time": int(time.time()) if event_time is None else event_time}
    envelope |= {"is_ext_shared_channel": False}
    envelope["event_context"] = "4-" + base64.b64encode(json.dumps(context).encode()).decode()
    return envelope


def message_event(
    channel: str, user: str, text: str, ts: str, thread_ts: str | None = None, **extra: Any
) -> Params:
    """A `message` event for a person's post in a public channel; `extra` adds or overrides."""
    event = {"client_msg_id": str(uuid.uuid4()), "type": "message", "text": text, "user": user}
    event |= {"ts": ts, "team": "T0TEAM", "channel": channel, "event_ts": ts}
    event["channel_type"] = "channel"
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event | extra


def slash_command_form(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    *,
    team_id: str = "T0TEAM",
    team_domain: str = "fake-workspace",
    channel_name: str = "general",
    user_name: str | None = None,
    api_app_id: str = "A0APP",
    response_url: str = "https://hooks.slack.com/commands/T0TEAM/1234567890/fake",
    trigger_id: str | None = None,
) -> dict[str, str]:
    """Every form field of a slash command request, all strings as Slack sends them."""
    form = {"token": "fake-verification-token", "team_id": team_id, "team_domain": team_domain}
    form |= {"channel_id": channel_id, "channel_name": channel_name, "user_id": user_id}
    form |= {"user_name": user_name or user_id.lower(), "command": command, "text": text}
    form |= {"api_app_id": api_app_id, "is_enterprise_install": "false"}
    form |= {"response_url": response_url}
    form["trigger_id"] = trigger_id or f"{time.time_ns() % 10**13}.{uuid.uuid4().hex[:24]}"
    return form


def interaction_form(payload: Params) -> dict[str, str]:
    """Interactivity requests are a form with one field, `payload`, holding JSON."""
    return {"payload": json.dumps(payload)}


def block_actions_payload(
    *, user: str, channel: str, message: Params, action: Params, team_id: str = "T0TEAM"
) -> Params:
    """A `block_actions` interaction: a button pressed (or menu picked) on a message."""
    trigger = f"{time.time_ns() % 10**13}.{uuid.uuid4().hex[:24]}"
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": "A0APP",
        "token": "fake-verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger,
        "team": {"id": team_id, "domain": "fake-workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "sms-inbox"},
        "message": message,
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{team_id}/1/fake",
        "actions": [{"action_ts": f"{time.time():.6f}", **action}],
    }


def view_block_actions_payload(
    *, user: str, view: Params, action: Params, team_id: str = "T0TEAM"
) -> Params:
    """A `block_actions` interaction from a button (or menu) in a view: a modal or the Home tab.

    `view` is the view as Slack holds it (`FakeSlack.views`): with its id, hash and state.
    Unlike a message's, the payload names no channel, message or response_url.
    https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
    """
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": "A0APP",
        "token": "fake-verification-token",
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": f"{time.time_ns() % 10**13}.{uuid.uuid4().hex[:24]}",
        "team": {"id": team_id, "domain": "fake-workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view,
        "actions": [{"action_ts": f"{time.time():.6f}", **action}],
    }


def view_submission_payload(
    *, user: str, view: Params, values: Params, team_id: str = "T0TEAM"
) -> Params:
    """A `view_submission` interaction: a modal's Submit pressed with `values` filled in."""
    submitted = {
        "id": "V" + uuid.uuid4().hex[:10].upper(),
        "team_id": team_id,
        "app_id": "A0APP",
        "hash": uuid.uuid4().hex[:16],
        **view,
        "state": {"values": values},  # what was typed wins over the view's stored state
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "fake-workspace"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": "A0APP",
        "token": "fake-verification-token",
        "trigger_id": f"{time.time_ns() % 10**13}.{uuid.uuid4().hex[:24]}",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def message_action_payload(
    *, callback_id: str, user: str, channel: str, message: Params, team_id: str = "T0TEAM"
) -> Params:
    """A message shortcut chosen from a message's menu (`type: message_action`)."""
    return {
        "type": "message_action",
        "token": "fake-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": "fake-workspace"},
        "user": {"id": user, "name": user.lower(), "team_id": team_id},
        "channel": {"id": channel, "name": "sms-inbox"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": f"{time.time_ns() % 10**13}.{uuid.uuid4().hex[:24]}",
        "response_url": f"https://hooks.slack.com/app/{team_id}/1/fake",
        "message_ts": message["ts"],
        "message": message,
    }
