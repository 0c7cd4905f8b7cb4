"""A stand-in for the Slack Web API on loopback (its methods in slack_methods.py).

Shapes follow https://docs.slack.dev/reference/methods/ : errors are HTTP 200 with
{"ok": false, "error": ...}; rate limits are HTTP 429 with `Retry-After` and
{"ok": false, "error": "ratelimited"}. Point slack_sdk's client at `FakeSlack.base_url`.
"""

from __future__ import annotations

import asyncio
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

from bridge.fakes.slack_files import SlackFileMethods
from bridge.fakes.slack_methods import (
    LISTENED,
    Params,
    SlackApiError,
    SlackMethods,
    _decoded,
    _is_top_level,
)
from bridge.slack.manifest import bot_scopes

log = logging.getLogger(__name__)

MessageListener = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Awaited with (kind, message) after a change; kind is one of the values of
`LISTENED` (slack_methods.py) and `message` the stored dict (read it, do not change it)."""


@dataclass(frozen=True, slots=True)
class SlackCall:
    """One Web API call as the fake received it (the token is kept out of `params`)."""

    method: str
    params: Params
    at: float
    status: int = 200
    error: str | None = None


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


class FakeSlack(SlackMethods, SlackFileMethods):
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
        self.homes: dict[str, str] = {}  # user id -> the id of their Home tab's view
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
        self.add_file_routes(app)
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
        self, channel: str, user: str, text: str, thread_ts: str | None = None, *, ts: str = ""
    ) -> Params:
        """Store a message a person typed (the demo UI does this) and tell listeners; `ts`
        places it at a given moment (a message from before the fake started).

        The caller still has to deliver the matching `message_event` to the bridge.
        """
        msg = {"type": "message", "user": user, "text": text, "ts": ts or self._next_ts()}
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
            await self._notify(LISTENED[method], stored)
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
