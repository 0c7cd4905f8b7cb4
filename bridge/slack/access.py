"""Who may act: contacts' numbers and texts are personal data.

Only members of the inbox channels, and workspace admins and owners, may run `/smschat`,
press case buttons, use the shortcut or submit its forms. Guests never may. Slack is asked
(users.info, conversations.members) and the answers are kept for a minute.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge import texts

log = logging.getLogger(__name__)

# Payloads that act on cases; events (thread replies) come only from channel members anyway.
_GUARDED = {"block_actions", "message_action", "shortcut", "view_submission"}


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

    async def refusal(self, user: str) -> str | None:
        """Why `user` may not act, in words for them; None when they may."""
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
            log.warning("users.info failed (%s): the user may not act", exc.response.get("error"))
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
            user = body.get("user_id")
        elif body.get("type") in _GUARDED:
            user = (body.get("user") or {}).get("id")
        else:
            return await next()
        reason = await gatekeeper.refusal(user) if user else texts.MEMBERS_ONLY
        if reason is None:
            return await next()
        log.info("refused a %s from a user who may not act", body.get("type") or "command")
        # Not calling next() ends the request here, with this as Slack's answer.
        if "command" in body:
            return _json({"response_type": "ephemeral", "text": reason})
        if body.get("type") == "view_submission":
            errors = _first_block_error(body, reason)
            return _json({"response_action": "errors", "errors": errors})
        channel = (body.get("channel") or {}).get("id")
        if channel and user:
            await tell(channel, user, reason)
        return BoltResponse(status=200, body="")

    return who_may_act


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )


def _first_block_error(body: dict[str, Any], reason: str) -> dict[str, str]:
    blocks = [b for b in body.get("view", {}).get("blocks", []) if b.get("type") == "input"]
    return {blocks[0]["block_id"]: reason} if blocks else {}
