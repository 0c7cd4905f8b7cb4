"""A stand-in for the Slack Web API on loopback, plus builders for what Slack sends us.

Shapes follow https://docs.slack.dev/reference/methods/ : errors are HTTP 200 with
{"ok": false, "error": ...}; rate limits are HTTP 429 with `Retry-After` and
{"ok": false, "error": "ratelimited"}. Point slack_sdk's client at `FakeSlack.base_url`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import math
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.slack.manifest import bot_scopes

log = logging.getLogger(__name__)

Params = dict[str, Any]
MessageListener = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Awaited with (kind, message) after a change; kind is one of the values of
`_LISTENED` below and `message` the stored dict (read it, do not change it)."""

_LISTENED = {
    "chat.postMessage": "posted",
    "chat.update": "updated",
    "chat.delete": "deleted",
    "chat.postEphemeral": "ephemeral",
    "reactions.add": "reaction_added",
    "reactions.remove": "reaction_removed",
}


@dataclass(frozen=True, slots=True)
class SlackCall:
    """One Web API call as the fake received it (the token is kept out of `params`)."""

    method: str
    params: Params
    at: float
    status: int = 200
    error: str | None = None


class SlackApiError(Exception):
    """Raised by a method handler to answer {"ok": false, "error": <error>}."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(slots=True)
class _Failure:
    method: str
    error: str
    status: int
    retry_after: int | None
    remaining: int


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float = field(default_factory=time.monotonic)


class FakeSlack:
    """An aiohttp app on 127.0.0.1 answering Slack Web API methods from memory.

    It records every call (`calls()`, `wait_for()`), keeps messages per channel so a UI
    can draw channels and threads, and can be told to fail (`fail_next`) or to
    rate-limit posts per channel (`rate_limit_per_channel`).
    """

    def __init__(
        self,
        *,
        token: str = "xoxb-fake-token",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        team_id: str = "T0TEAM",
        team_domain: str = "fake-workspace",
        app_id: str = "A0APP",
        strict_channels: bool = False,
    ) -> None:
        self.tokens = {token}
        # App-level tokens (Socket Mode), and the scopes every bot token was granted (Slack
        # names them in each answer's x-oauth-scopes header): by default what the app asks.
        self.app_tokens: set[str] = set()
        self.scopes: list[str] = sorted(bot_scopes())
        self.bot_user_id, self.bot_id, self.app_id = bot_user_id, bot_id, app_id
        self.team_id, self.team_domain = team_id, team_domain
        # Slack refuses unknown channels; by default the fake adopts a channel on first use
        # so tests need not declare every one. strict_channels=True behaves like Slack.
        self.strict_channels = strict_channels
        self.rate_limited_count = 0
        self.users: dict[str, Params] = {}
        self.channels: dict[str, Params] = {}
        self.views: dict[str, Params] = {}
        self._messages: dict[str, list[Params]] = {}
        self._calls: list[SlackCall] = []
        self._failures: list[_Failure] = []
        self._listeners: list[MessageListener] = []
        self._rate: tuple[float, int] | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._last_ts_us = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.add_user(bot_user_id, "smschat", is_bot=True)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # port 0: the OS picks a free one, no races
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What slack_sdk takes as `base_url`; it appends the method name."""
        return f"http://127.0.0.1:{self._port}/api/"

    # -- configuration -------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_bot: bool = False,
    ) -> Params:
        """Add a user that users.info, conversations.open and mentions can see."""
        real_name = real_name or name
        display_name = name if display_name is None else display_name
        profile = {"real_name": real_name, "display_name": display_name, "team": self.team_id}
        profile |= {"real_name_normalized": real_name, "display_name_normalized": display_name}
        flags = {"is_admin": is_admin, "is_owner": is_owner, "is_primary_owner": is_owner}
        flags |= {"is_restricted": is_restricted, "is_ultra_restricted": is_ultra_restricted}
        flags |= {"is_bot": is_bot, "is_app_user": False, "deleted": False}
        self.users[user_id] = {"id": user_id, "team_id": self.team_id, "name": name} | flags
        self.users[user_id] |= {"real_name": real_name, "tz": "Europe/London", "profile": profile}
        return self.users[user_id]

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        members: Iterable[str] = (),
        bot_is_member: bool = True,
    ) -> Params:
        """Add a public channel with the given members (conversations.members).

        The bot is one of them unless `bot_is_member=False`: then, as Slack does, the
        channel refuses its posts with `not_in_channel` until it is invited.
        """
        members = [m for m in members if bot_is_member or m != self.bot_user_id]
        if bot_is_member and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        info = {"id": channel_id, "name": name or channel_id.lower(), "is_channel": True}
        info |= {"is_group": False, "is_im": False, "is_private": False}
        info |= {"is_archived": False, "created": int(time.time()), "members": members}
        self.channels[channel_id] = info
        self._messages.setdefault(channel_id, [])
        return info

    def set_members(self, channel_id: str, members: Iterable[str]) -> None:
        self.channels[channel_id]["members"] = list(members)

    def on_message(self, callback: MessageListener) -> None:
        """Await `callback(kind, message)` after each post, update, delete or reaction."""
        self._listeners.append(callback)

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with `error`; 429s carry Retry-After."""
        self._failures.append(_Failure(method, error, status, retry_after, times))

    def rate_limit_per_channel(self, per_second: float, burst: int) -> None:
        """A token bucket per channel for chat.postMessage (Slack allows ~1/s per channel)."""
        self._rate = (per_second, burst)
        self._buckets.clear()

    # -- inspection ----------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[SlackCall]:
        return [c for c in self._calls if method is None or c.method == method]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 -- a bounded wait is the point of this helper
        what: str = "condition",
    ) -> None:
        """Wait, without polling, until `predicate()` holds; checked after every call."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            seen = [f"{c.method}:{c.error or 'ok'}" for c in self._calls]
            raise TimeoutError(f"FakeSlack: {what} not met in {timeout}s; calls: {seen}") from None

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 -- as wait_until
    ) -> list[SlackCall]:
        """Return the calls of `method` once there are at least `count` of them."""
        what = f"{count} call(s) of {method}"
        await self.wait_until(lambda: len(self.calls(method)) >= count, timeout=timeout, what=what)
        return self.calls(method)

    def messages(self, channel: str) -> list[Params]:
        """Top-level messages of a channel, oldest first (replies are in `thread()`)."""
        return [m for m in self._messages.get(channel, []) if _is_top_level(m)]

    def thread(self, channel: str, thread_ts: str) -> list[Params]:
        """The parent and its replies, oldest first, as conversations.replies lists them."""
        found = self._messages.get(channel, [])
        return [m for m in found if thread_ts in (m["ts"], m.get("thread_ts"))]

    def message(self, channel: str, ts: str) -> Params | None:
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    async def post_as_user(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> Params:
        """Store a message a person typed (the demo UI does this) and tell listeners.

        The caller still has to deliver the matching `message_event` to the bridge.
        """
        msg = {"type": "message", "user": user, "text": text, "ts": self._next_ts()}
        msg |= {"team": self.team_id, "client_msg_id": str(uuid.uuid4())}
        self._store(channel, msg, thread_ts)
        await self._notify("posted", msg)
        return msg

    # -- HTTP plumbing -------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: Params = dict(request.query)  # GET methods (users.info, ...) use the query
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                params.update(body if isinstance(body, dict) else {})
            else:
                params.update(await request.post())
        bearer = request.headers.get("Authorization", "")
        form_token = params.pop("token", None)
        token = bearer[7:] if bearer.startswith("Bearer ") else form_token
        status, body, headers = self._answer(method, params, token)
        # Handlers hand back the message they touched under "_stored" for the listeners.
        stored = body.pop("_stored", None)
        self._calls.append(SlackCall(method, params, time.time(), status, body.get("error")))
        async with self._changed:
            self._changed.notify_all()
        if stored is not None:
            await self._notify(_LISTENED[method], stored)
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, params: Params, token: str | None) -> tuple[int, Params, dict]:
        failure = next((f for f in self._failures if f.method == method), None)
        if failure is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            headers = {}
            if failure.status == 429 or failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after or 1)
            return failure.status, {"ok": False, "error": failure.error}, headers
        # chat.postMessage -> _api_chat_post_message; views.push shares views.open's handler
        snake = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", method.replace(".", "_")).lower()
        handler = getattr(self, f"_api_{snake}", None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if method == "apps.connections.open":
            if token in self.app_tokens:
                return 200, {"ok": True, **handler(params)}, {}
            error = "not_allowed_token_type" if token in self.tokens else "invalid_auth"
            return 200, {"ok": False, "error": error}, {}
        if token not in self.tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        granted = {"x-oauth-scopes": ",".join(self.scopes)}
        if method == "chat.postMessage" and (wait := self._take_token(str(params.get("channel")))):
            self.rate_limited_count += 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        try:
            return 200, {"ok": True, **handler(params)}, granted
        except SlackApiError as err:
            return 200, {"ok": False, "error": err.error}, granted

    def _take_token(self, channel: str) -> int:
        """0 if a post may go now, else the whole seconds to wait (for Retry-After)."""
        if self._rate is None:
            return 0
        per_second, burst = self._rate
        bucket = self._buckets.setdefault(channel, _Bucket(float(burst)))
        now = time.monotonic()
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * per_second)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / per_second))

    async def _notify(self, kind: str, message: Params) -> None:
        for listener in list(self._listeners):
            try:
                await listener(kind, message)
            except Exception:  # a broken UI listener must not break the API under test
                log.exception("FakeSlack listener failed on %s", kind)

    # -- storage -------------------------------------------------------------------------
    def _next_ts(self) -> str:
        """Slack's ts: unix seconds and six digits, unique and increasing per workspace."""
        self._last_ts_us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _channel(self, channel: Any) -> str:
        channel = str(channel or "")
        if channel not in self.channels:
            if self.strict_channels or not channel:
                raise SlackApiError("channel_not_found")
            self.add_channel(channel)
        return channel

    def _joined(self, channel: Any) -> str:
        """A channel the bot may post in: one it is a member of."""
        channel = self._channel(channel)
        if self.bot_user_id not in self.channels[channel]["members"]:
            raise SlackApiError("not_in_channel")
        return channel

    def _store(self, channel: str, msg: Params, thread_ts: str | None) -> None:
        channel = self._channel(channel)
        msg["channel"] = channel  # not in Slack's message objects; handy for a UI
        parent = self.message(channel, thread_ts) if thread_ts else None
        if thread_ts:
            msg["thread_ts"] = thread_ts
        if parent is not None:  # keep the parent's thread summary as Slack does
            msg["parent_user_id"] = parent.get("user")
            users = parent.setdefault("reply_users", [])
            users.extend([msg.get("user")] if msg.get("user") not in users else [])
            parent |= {"thread_ts": thread_ts, "reply_count": parent.get("reply_count", 0) + 1}
            parent |= {"latest_reply": msg["ts"], "reply_users_count": len(users)}
        self._messages.setdefault(channel, []).append(msg)

    def _existing(self, params: Params, ts_key: str = "ts") -> tuple[str, Params]:
        channel = self._channel(params.get("channel"))
        msg = self.message(channel, str(params.get(ts_key, "")))
        if msg is None:
            raise SlackApiError("message_not_found")
        return channel, msg

    def _bot_message(self, params: Params) -> Params:
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            raise SlackApiError("no_text")
        msg = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id}
        msg |= {"app_id": self.app_id, "text": params.get("text") or "", "team": self.team_id}
        for key in ("blocks", "attachments", "metadata", "username", "icon_emoji", "icon_url"):
            if params.get(key):
                msg[key] = _decoded(params[key])
        return msg

    # -- Web API methods (found by name in _answer) ---------------------------------------
    def _api_auth_test(self, params: Params) -> Params:
        url, user = f"https://{self.team_domain}.slack.com/", self.users[self.bot_user_id]["name"]
        answer = {"url": url, "team": "Fake Workspace", "user": user, "team_id": self.team_id}
        answer |= {"user_id": self.bot_user_id, "bot_id": self.bot_id}
        return answer | {"is_enterprise_install": False}

    def _api_chat_post_message(self, params: Params) -> Params:
        channel = self._joined(params.get("channel"))
        msg = self._bot_message(params) | {"ts": self._next_ts()}
        if params.get("reply_broadcast") in (True, "true", "1", 1):
            msg["subtype"] = "thread_broadcast"
        self._store(channel, msg, str(params["thread_ts"]) if params.get("thread_ts") else None)
        return {"channel": channel, "ts": msg["ts"], "message": msg, "_stored": msg}

    def _api_chat_update(self, params: Params) -> Params:
        channel, msg = self._existing(params)
        if msg.get("user") != self.bot_user_id:
            raise SlackApiError("cant_update_message")
        new = self._bot_message(params)
        msg.update({k: v for k, v in new.items() if k in ("text", "blocks", "attachments")})
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        answer = {"channel": channel, "ts": msg["ts"], "text": msg["text"], "message": msg}
        return answer | {"_stored": msg}

    def _api_chat_delete(self, params: Params) -> Params:
        channel, msg = self._existing(params)
        if msg.get("user") != self.bot_user_id:
            raise SlackApiError("cant_delete_message")
        self._messages[channel].remove(msg)
        return {"channel": channel, "ts": msg["ts"], "_stored": msg}

    def _api_chat_post_ephemeral(self, params: Params) -> Params:
        channel = self._channel(params.get("channel"))
        if str(params.get("user")) not in self.users:
            raise SlackApiError("user_not_found")
        msg = self._bot_message(params) | {"ts": self._next_ts(), "channel": channel}
        msg["ephemeral_to"] = params["user"]  # only told to listeners, never stored
        return {"message_ts": msg["ts"], "_stored": msg}

    def _api_chat_get_permalink(self, params: Params) -> Params:
        channel, msg = self._existing(params, "message_ts")
        digits = msg["ts"].replace(".", "")
        url = f"https://{self.team_domain}.slack.com/archives/{channel}/p{digits}"
        if not _is_top_level(msg):
            url += f"?thread_ts={msg['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": url}

    def _api_reactions_add(self, params: Params) -> Params:
        _, msg = self._existing(params, "timestamp")
        reactions = msg.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == params.get("name")), None)
        if entry is None:
            entry = {"name": params.get("name"), "users": [], "count": 0}
            reactions.append(entry)
        if self.bot_user_id in entry["users"]:
            raise SlackApiError("already_reacted")
        entry["users"].append(self.bot_user_id)
        entry["count"] = len(entry["users"])
        return {"_stored": msg}

    def _api_reactions_remove(self, params: Params) -> Params:
        _, msg = self._existing(params, "timestamp")
        reactions = msg.get("reactions", [])
        entry = next((r for r in reactions if r["name"] == params.get("name")), None)
        if entry is None or self.bot_user_id not in entry["users"]:
            raise SlackApiError("no_reaction")
        entry["users"].remove(self.bot_user_id)
        entry["count"] = len(entry["users"])
        if not entry["users"]:
            reactions.remove(entry)
        return {"_stored": msg}

    def _api_conversations_open(self, params: Params) -> Params:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise SlackApiError("users_list_not_supplied")
        if any(u not in self.users for u in users):
            raise SlackApiError("user_not_found")
        dm_id = "D" + "".join(u.lstrip("UW") for u in users)
        opened = dm_id in self.channels
        if not opened:
            info = self.add_channel(dm_id, dm_id.lower(), members=[self.bot_user_id, *users])
            info |= {"is_channel": False, "is_im": len(users) == 1, "is_mpim": len(users) > 1}
            info["user"] = users[0]
        return {"no_op": opened, "already_open": opened, "channel": {"id": dm_id}}

    def _api_conversations_history(self, params: Params) -> Params:
        """Top-level messages, newest first, paged by `cursor`: conversations.history."""
        channel = self._channel(params.get("channel"))
        found = [m for m in self.messages(channel) if _within(m["ts"], params)]
        return _page(list(reversed(found)), params)

    def _api_conversations_replies(self, params: Params) -> Params:
        """A thread, parent first then replies oldest first, paged by `cursor`."""
        channel = self._channel(params.get("channel"))
        parent = self.message(channel, str(params.get("ts") or ""))
        if parent is None:
            raise SlackApiError("thread_not_found")
        replies = self.thread(channel, parent["ts"])[1:]
        answer = _page([m for m in replies if _within(m["ts"], params)], params)
        if not params.get("cursor"):
            answer["messages"].insert(0, _shown(parent, params))
        return answer

    def _api_conversations_info(self, params: Params) -> Params:
        info = self.channels.get(str(params.get("channel")))
        if info is None:
            raise SlackApiError("channel_not_found")
        shown = {k: v for k, v in info.items() if k != "members"}
        return {"channel": shown | {"is_member": self.bot_user_id in info["members"]}}

    def _api_apps_connections_open(self, params: Params) -> Params:
        ticket = uuid.uuid4().hex
        return {"url": f"wss://wss-primary.slack.com/link/?ticket={ticket}&app_id={self.app_id}"}

    def _api_conversations_members(self, params: Params) -> Params:
        info = self.channels.get(str(params.get("channel")))
        if info is None:
            raise SlackApiError("channel_not_found")
        return {"members": list(info["members"]), "response_metadata": {"next_cursor": ""}}

    def _api_users_list(self, params: Params) -> Params:
        """Every member, paged by `cursor`: users.list."""
        page = _page(list(self.users.values()), params)
        return {"members": page.pop("messages"), **page}

    def _api_users_info(self, params: Params) -> Params:
        user = self.users.get(str(params.get("user")))
        if user is None:
            raise SlackApiError("user_not_found")
        return {"user": user}

    def _save_view(self, params: Params, view_id: str | None = None) -> Params:
        view = _decoded(params.get("view"))
        if not isinstance(view, dict):
            raise SlackApiError("invalid_arguments")
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        stored = {"id": view_id, "team_id": self.team_id, "state": {"values": {}}}
        stored |= {"hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}", "private_metadata": ""}
        stored |= {"callback_id": "", "external_id": "", "root_view_id": view_id}
        stored |= {"previous_view_id": None, "app_id": self.app_id, "bot_id": self.bot_id}
        self.views[view_id] = stored | view
        return {"view": self.views[view_id]}

    def _api_views_open(self, params: Params) -> Params:
        if not params.get("trigger_id"):
            raise SlackApiError("invalid_arguments")
        return self._save_view(params)

    _api_views_push = _api_views_open

    def _api_views_update(self, params: Params) -> Params:
        external = params.get("external_id")
        by_external = [
            v["id"] for v in self.views.values() if external and v["external_id"] == external
        ]
        view_id = params.get("view_id") or next(iter(by_external), None)
        if view_id not in self.views:
            raise SlackApiError("not_found")
        return self._save_view(params, view_id)

    def _api_views_publish(self, params: Params) -> Params:
        if str(params.get("user_id")) not in self.users:
            raise SlackApiError("user_not_found")
        return self._save_view(params)


def _within(ts: str, params: Params) -> bool:
    """`oldest`/`latest`/`inclusive` as conversations.history and .replies apply them."""
    oldest = float(params.get("oldest") or 0)
    latest = float(params.get("latest") or math.inf)
    if _truthy(params.get("inclusive")):
        return oldest <= float(ts) <= latest
    return oldest < float(ts) < latest


def _shown(message: Params, params: Params) -> Params:
    """Message metadata is returned only when asked for with `include_all_metadata`
    (https://docs.slack.dev/reference/methods/conversations.history)."""
    if _truthy(params.get("include_all_metadata")):
        return message
    return {k: v for k, v in message.items() if k != "metadata"}


def _page(messages: list[Params], params: Params) -> Params:
    """One page of a cursor-paginated answer (https://docs.slack.dev/apis/web-api/pagination)."""
    cursor = str(params.get("cursor") or "")
    start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
    limit = max(1, min(1000, int(params.get("limit") or 100)))
    more = start + limit < len(messages)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
    return {
        "messages": [_shown(m, params) for m in messages[start : start + limit]],
        "has_more": more,
        "response_metadata": {"next_cursor": next_cursor},
    }


def _truthy(value: Any) -> bool:
    """Slack's boolean arguments: true/1 in a query or form, true in JSON."""
    return value in (True, 1, "1", "true", "True")


def _is_top_level(msg: Params) -> bool:
    return msg.get("thread_ts", msg["ts"]) == msg["ts"]


def _decoded(value: Any) -> Any:
    """Form bodies carry JSON fields (blocks, view) as strings; JSON bodies as objects."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# -- what Slack sends the bridge ---------------------------------------------------------
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
