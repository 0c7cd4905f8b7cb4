"""Who may act: contacts' numbers and texts are personal data.

Only people of the bridge's own workspace (the team of its token, or on Enterprise Grid
its organisation) may act at all: an admin of another workspace in a Slack Connect channel
is still an outsider. Of those, members of the inbox channels, and workspace admins and
owners, may run `/smschat`, press case buttons, use the shortcut or submit its forms.
Guests never may. Slack is asked (auth.test once; users.info, conversations.members) and
the answers are kept for a minute.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bridge import texts
from bridge.slack.payloads import SlashCommand, User, channel_of, read

log = logging.getLogger(__name__)

# Payloads that act on cases; events (thread replies) come only from channel members anyway.
_GUARDED = {"block_actions", "message_action", "shortcut", "view_submission"}


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where the bot is installed, as auth.test tells it."""

    team_id: str
    enterprise_id: str | None
    bot_user_id: str | None


class Gatekeeper:
    def __init__(
        self,
        client: AsyncWebClient,
        channels: Callable[[], Iterable[str]],
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        # Asked each time: admins can route numbers to other channels while running.
        self.channels = channels
        self.ttl = ttl
        self._clock = clock
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._members: dict[str, tuple[float, set[str]]] = {}
        self._workspace: Workspace | None = None

    async def workspace(self) -> Workspace | None:
        """The bot's workspace, asked of Slack once; None while Slack does not say."""
        if self._workspace is None:
            try:
                answer = await self.client.auth_test()
            except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
                log.warning("auth.test failed (%s): nobody may act until it answers", _why(exc))
                return None
            self._workspace = Workspace(
                team_id=str(answer["team_id"]),
                enterprise_id=answer.get("enterprise_id") or None,
                bot_user_id=answer.get("user_id"),
            )
        return self._workspace

    async def outsider_refusal(self, user: str) -> str | None:
        """Why `user` is not one of the workspace's people; None when they are."""
        workspace = await self.workspace()
        if workspace is None:
            return texts.WORKSPACE_UNKNOWN
        profile = await self._cached(self._users, user, self._user_info)
        if profile.get("team_id") == workspace.team_id:
            return None
        organisation = (profile.get("enterprise_user") or {}).get("enterprise_id")
        if workspace.enterprise_id and organisation == workspace.enterprise_id:
            return None
        return texts.OUTSIDERS_MAY_NOT

    async def refusal(self, user: str) -> str | None:
        """Why `user` may not act, in words for them; None when they may."""
        outsider = await self.outsider_refusal(user)
        if outsider is not None:
            return outsider
        profile = await self._cached(self._users, user, self._user_info)
        if profile.get("is_restricted") or profile.get("is_ultra_restricted"):
            return texts.GUESTS_MAY_NOT
        if profile.get("is_admin") or profile.get("is_owner"):
            return None
        for channel in sorted(set(self.channels())):
            if user in await self._cached(self._members, channel, self._channel_members):
                return None
        return texts.MEMBERS_ONLY

    async def settings_refusal(self, user: str, named_admins: Iterable[str]) -> str | None:
        """Why `user` may not change chat settings: only workspace admins and owners, and
        the people the settings name, may."""
        outsider = await self.outsider_refusal(user)
        if outsider is not None:
            return outsider
        profile = await self._cached(self._users, user, self._user_info)
        if profile.get("is_restricted") or profile.get("is_ultra_restricted"):
            return texts.GUESTS_MAY_NOT
        if profile.get("is_admin") or profile.get("is_owner") or user in named_admins:
            return None
        return texts.ADMINS_ONLY

    async def _cached(self, cache: dict, key: str, fetch: Callable[[str], Awaitable]) -> Any:
        held = cache.get(key)
        if held is not None and self._clock() - held[0] < self.ttl:
            return held[1]
        value = await fetch(key)
        cache[key] = (self._clock(), value)
        return value

    async def _user_info(self, user: str) -> dict[str, Any]:
        try:
            return (await self.client.users_info(user=user))["user"]
        except SlackApiError as exc:
            log.warning("users.info failed (%s): the user may not act", _why(exc))
            return {"is_restricted": True}

    async def _channel_members(self, channel: str) -> set[str]:
        members: set[str] = set()
        cursor = None
        while True:
            page = await self.client.conversations_members(
                channel=channel, cursor=cursor, limit=1000
            )
            members.update(page["members"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members


def guard(
    gatekeeper: Gatekeeper, tell: Callable[[str, str, str], Awaitable[None]]
) -> Callable[..., Awaitable[None]]:
    """A Bolt middleware refusing commands and interactions from those who may not act.

    `tell(channel, user, text)` shows a refused button press or shortcut its refusal.
    """

    async def who_may_act(
        body: dict[str, Any],
        next: Callable[[], Awaitable[None]],  # the name Bolt passes it by
    ) -> BoltResponse | None:
        if "command" in body:
            user = read(SlashCommand, body).user_id
        elif body.get("type") in _GUARDED:
            user = read(User, body.get("user")).id
        else:
            return await next()
        reason = await gatekeeper.refusal(user)
        if reason is None:
            return await next()
        log.info("refused a %s from a user who may not act", body.get("type") or "command")
        # Not calling next() ends the request here, with this as Slack's answer.
        if "command" in body:
            return ephemeral(reason)
        if body.get("type") == "view_submission":
            return view_errors(body, reason)
        channel = channel_of(body)
        if channel is not None:
            await tell(channel, user, reason)
        return BoltResponse(status=200, body="")

    return who_may_act


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )


def ephemeral(text: str) -> BoltResponse:
    """The answer to a slash command that only its author sees."""
    return _json({"response_type": "ephemeral", "text": text})


def view_errors(body: dict[str, Any], reason: str) -> BoltResponse:
    """A modal's answer showing `reason` on its first input (or just closing it)."""
    view = body.get("view")
    for block in (view.get("blocks") or []) if isinstance(view, dict) else []:
        if isinstance(block, dict) and block.get("type") == "input":
            block_id = block.get("block_id")
            if isinstance(block_id, str):
                return _json({"response_action": "errors", "errors": {block_id: reason}})
    return BoltResponse(status=200, body="")


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return type(exc).__name__
