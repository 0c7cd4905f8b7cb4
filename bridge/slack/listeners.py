"""Bolt listeners: Slack events in, domain values to the core, nothing called back inside.

Bolt runs with `process_before_response=True`, so Slack gets its 200 only after what the
event brought is stored; a failure answers 500 and Slack retries, and the unique
constraints in the store make the retry harmless.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bridge.clock import Clock
from bridge.metrics import Metrics
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.conversations import TELL_USER, accept_edit, accept_reply
from bridge.routing.model import AgentReply, ChannelId, SlackTs, UserId
from bridge.slack.access import Gatekeeper, guard
from bridge.slack.home import register_home
from bridge.slack.interactions import COMMAND, MOVE_SHORTCUT, Desk, register_interactions
from bridge.slack.settings_modal import register_settings
from bridge.store.repo import Store

log = logging.getLogger(__name__)

# Subtypes that carry a person's new message; everything else (edits, deletions, joins,
# other bots) is acknowledged and not relayed.
# https://api.slack.com/events/message#subtypes
_RELAYED_SUBTYPES = {None, "thread_broadcast", "file_share"}

# What the listeners below subscribe to, as manifest.yml must declare it (a test checks).
SUBSCRIBED_BOT_EVENTS = ("message.channels", "message.groups", "app_home_opened")
SLASH_COMMANDS = (COMMAND,)
MESSAGE_SHORTCUTS = (MOVE_SHORTCUT,)


def build_bolt_app(
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    store: Store,
    metrics: Metrics,
    book: SettingsBook,
    clock: Clock,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        process_before_response=True,
    )

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        edited = edited_message(event)
        if edited is not None:
            async with store.unit() as repo:
                await accept_edit(repo, **edited)
            return
        reply = agent_reply(event)
        if reply is None:
            return
        async with store.unit() as repo:
            result = await accept_reply(repo, reply, rules=book.rules, now=clock.now())
        if result.accepted:
            metrics.messages_out.inc()
        else:
            log.debug("thread message %s not relayed: %s", reply.ts, result.reason)

    gatekeeper = Gatekeeper(client, lambda: book.inbox.all_channels)

    async def tell(channel: str, user: str, text: str) -> None:
        async with store.unit() as repo:
            await repo.enqueue(
                TELL_USER,
                queue=f"slack:user:{user}",
                channel=channel,
                user=user,
                text=text,
                thread_ts=None,
            )

    app.middleware(guard(gatekeeper, tell))
    desk = Desk(store=store, book=book, clock=clock, gatekeeper=gatekeeper)
    register_settings(app, book=book, gatekeeper=gatekeeper)
    register_interactions(app, desk=desk)
    register_home(app, desk=desk)
    return app


def edited_message(event: dict[str, Any]) -> dict[str, str] | None:
    """For an edit or deletion of a person's thread message: which message, by whom."""
    subtype = event.get("subtype")
    if subtype == "message_changed":
        before = event.get("previous_message") or {}
        after = event.get("message") or {}
        if after.get("text") == before.get("text"):
            return None  # unfurls and reply counts change a message too
    elif subtype == "message_deleted":
        before = event.get("previous_message") or {}
    else:
        return None
    if before.get("bot_id") or not before.get("user") or not before.get("ts"):
        return None
    return {"channel": event["channel"], "ts": before["ts"], "user": before["user"]}


def agent_reply(event: dict[str, Any]) -> AgentReply | None:
    """The staff reply in a message event, or None when the event is not one to relay."""
    subtype = event.get("subtype")
    if subtype not in _RELAYED_SUBTYPES or event.get("bot_id") or not event.get("user"):
        return None
    thread_ts = event.get("thread_ts")
    if not thread_ts or thread_ts == event.get("ts"):
        return None  # top-level channel messages belong to no case
    return AgentReply(
        channel=ChannelId(event["channel"]),
        thread_ts=SlackTs(thread_ts),
        ts=SlackTs(event["ts"]),
        user=UserId(event["user"]),
        text=event.get("text") or "",
        has_files=bool(event.get("files")),
        also_sent_to_channel=subtype == "thread_broadcast",
    )
