"""Bolt listeners: Slack events in, domain values to the core, nothing called back inside.

Bolt runs with `process_before_response=True`, so Slack gets its 200 only after what the
event brought is stored; a failure of the store answers 500 and Slack retries, and the
unique constraints in the store make the retry harmless. A payload that can never be used
is answered 200 with a note (see `answer_failure`): a retry would fail the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bridge import texts
from bridge.clock import Clock
from bridge.domain.broadcasts import BroadcastRules
from bridge.domain.values import AgentReply, ChannelId, SlackTs, UserId
from bridge.errors import InvalidInput, StoreUnavailable
from bridge.metrics import Metrics
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.ports import Units
from bridge.routing.replies import accept_edit, accept_reply
from bridge.routing.threads import tell_outside_case
from bridge.slack.access import Gatekeeper, ephemeral, guard, view_errors
from bridge.slack.desk import Desk
from bridge.slack.home import register_home
from bridge.slack.interactions import COMMAND, MOVE_SHORTCUT, register_interactions
from bridge.slack.payloads import MessageEvent, channel_of, read, user_of
from bridge.slack.settings_modal import register_settings
from bridge.store.outbox import Outbox

log = logging.getLogger(__name__)

# Subtypes that carry a person's new message; everything else (edits, deletions, joins,
# other bots) is acknowledged and not relayed.
# https://api.slack.com/events/message#subtypes
_RELAYED_SUBTYPES = {None, "thread_broadcast", "file_share"}

# What the listeners below subscribe to, as manifest.yml must declare it (a test checks).
SUBSCRIBED_BOT_EVENTS = ("message.channels", "message.groups", "app_home_opened")
SLASH_COMMANDS = (COMMAND,)
MESSAGE_SHORTCUTS = (MOVE_SHORTCUT,)

# Failures that say the store or Slack is unreachable now: worth Slack's retry.
_PASSING = (
    SQLAlchemyError,
    StoreUnavailable,
    SlackApiError,
    SlackClientError,
    OSError,
    TimeoutError,
)


def build_bolt_app(
    *,
    client: AsyncWebClient,
    gatekeeper: Gatekeeper,
    units: Units,
    outbox: Outbox,
    metrics: Metrics,
    book: SettingsBook,
    clock: Clock,
    broadcasting: BroadcastRules | None = None,
) -> AsyncApp:
    # A base logger of our own: Bolt's loggers then follow the levels set for `slack_bolt`
    # instead of copying the root logger's.
    bolt_log = logging.getLogger("slack_bolt.bridge")
    # Bolt reads SLACK_BOT_TOKEN from the environment by itself and, given our client as
    # well, warns that its token goes unused: which is as it should be, so it is not said.
    level = bolt_log.level
    bolt_log.setLevel(logging.ERROR)
    try:
        app = AsyncApp(
            client=client,
            signing_secret="",
            # Requests are verified before they reach Bolt (bridge/slack/gate.py), which
            # also keeps their bodies out of Bolt's log of refused requests.
            request_verification_enabled=False,
            process_before_response=True,
            # Unhandled requests reach `answer_failure`, not a warning quoting the payload.
            raise_error_for_unhandled_request=True,
            logger=bolt_log,
        )
    finally:
        bolt_log.setLevel(level)

    async def tell(channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        async with units.unit() as unit:
            await tell_outside_case(
                unit, channel=channel, user=user, text=text, thread_ts=thread_ts
            )

    app.error(answer_failure(tell))

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        message = read(MessageEvent, event)
        edited = edited_message(message)
        if edited is not None:
            async with units.unit() as unit:
                await accept_edit(unit, **edited)
            return
        reply = agent_reply(message)
        if reply is None:
            return
        refusal = await gatekeeper.outsider_refusal(reply.user)
        if refusal is not None:
            log.info("a thread reply from outside the workspace was not relayed")
            await tell(reply.channel, reply.user, texts.NOT_SENT_OUTSIDER, reply.thread_ts)
            return
        async with units.unit() as unit:
            result = await accept_reply(unit, reply, rules=book.rules, now=clock.now())
        if result.accepted:
            metrics.messages_out.inc()
        else:
            log.debug("thread message %s not relayed: %s", reply.ts, result.reason)

    app.middleware(guard(gatekeeper, tell))
    desk = Desk(
        units=units,
        outbox=outbox,
        book=book,
        clock=clock,
        gatekeeper=gatekeeper,
        broadcasting=broadcasting or BroadcastRules(),
    )
    register_settings(app, book=book, gatekeeper=gatekeeper)
    register_interactions(app, desk=desk)
    register_home(app, desk=desk)
    return app


def answer_failure(tell: Any) -> Any:
    """Bolt's error handler: what a request that failed inside Bolt is answered.

    A payload that can never be used (`InvalidInput`) gets a 200, one warning without its
    contents, and a word to its author where there is one; so does a request nothing
    listens to. A store or Slack that does not answer gets a 500, for Slack to retry.
    Anything else is a bug: logged with its traceback, answered 200 (a retry fails alike).
    """

    async def handle(error: Exception, body: dict[str, Any]) -> BoltResponse:
        kind = _kind(body)
        if isinstance(error, BoltUnhandledRequestError):
            log.info("nothing handles a Slack %s; acknowledged", kind)
            return BoltResponse(status=200, body="")
        if isinstance(error, InvalidInput):
            log.warning("a Slack %s could not be used: %s", kind, error.reason)
            return await _tell_author(body, texts.UNREADABLE_REQUEST.format(reason=error.reason))
        if isinstance(error, _PASSING):
            log.error(
                "a Slack %s failed for now (%s); Slack will retry", kind, type(error).__name__
            )
            return BoltResponse(status=500, body="")
        log.error("a Slack %s failed", kind, exc_info=error)
        return BoltResponse(status=200, body="")

    async def _tell_author(body: dict[str, Any], text: str) -> BoltResponse:
        if "command" in body:
            return ephemeral(text)
        if body.get("type") == "view_submission":
            return view_errors(body, text)
        user, channel = user_of(body), channel_of(body)
        if channel is not None and user is not None:
            await tell(channel, user, text)
        return BoltResponse(status=200, body="")

    return handle


def _kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "command"
    event = body.get("event")
    if isinstance(event, dict):
        return f"{str(event.get('type'))[:40]} event"
    return str(body.get("type") or "request")[:40]


def edited_message(event: MessageEvent) -> dict[str, str] | None:
    """For an edit or deletion of a person's thread message: which message, by whom."""
    if event.subtype == "message_changed":
        before, after = event.previous_message, event.message
        if before is None or after is None or after.text == before.text:
            return None  # unfurls and reply counts change a message too
    elif event.subtype == "message_deleted":
        before = event.previous_message
    else:
        return None
    if before is None or before.bot_id or not before.user or not before.ts:
        return None
    return {"channel": event.channel, "ts": before.ts, "user": before.user}


def agent_reply(event: MessageEvent) -> AgentReply | None:
    """The staff reply in a message event, or None when the event is not one to relay."""
    if event.subtype not in _RELAYED_SUBTYPES or event.bot_id or not event.user:
        return None
    if not event.thread_ts or event.thread_ts == event.ts:
        return None  # top-level channel messages belong to no case
    return AgentReply(
        channel=ChannelId(event.channel),
        thread_ts=SlackTs(event.thread_ts),
        ts=SlackTs(event.ts),
        user=UserId(event.user),
        text=event.text,
        has_files=bool(event.files),
        file_ids=tuple(dict.fromkeys(str(f["id"]) for f in event.files if f.get("id"))),
        also_sent_to_channel=event.subtype == "thread_broadcast",
    )
