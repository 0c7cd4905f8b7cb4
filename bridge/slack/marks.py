"""Marks on what the bridge posts, and finding a post by its mark.

Message metadata names the case a header opens and the case and messages a post shows, so
a job run again after an interruption finds the post its first run made but never recorded:
https://docs.slack.dev/messaging/message-metadata
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bridge.domain.values import ChannelId, FoundPost, Posting, SlackTs

HEADER_EVENT_TYPE = "smschat_case"
POSTING_EVENT_TYPE = "smschat_posting"
BROADCAST_EVENT_TYPE = "smschat_broadcast"
# conversations.history / .replies page size (Slack allows up to 1000; fewer keeps it small).
SEARCH_PAGE = 200


class FindsMarkedPosts:
    """Looks through a channel or a thread for a marked post (part of `SlackPoster`)."""

    client: AsyncWebClient
    call: Callable[..., Awaitable[Any]]

    async def find_posting(
        self,
        channel: ChannelId,
        thread_ts: SlackTs,
        case_id: int,
        message_id: int,
        *,
        since: datetime,
    ) -> FoundPost | None:
        """Look through the thread's replies since `since` for a post showing the message."""
        return _found_post(
            await self._find(
                self.client.conversations_replies,
                channel,
                POSTING_EVENT_TYPE,
                lambda payload: _shows(payload, case_id, message_id),
                since=since,
                ts=thread_ts,
            )
        )

    async def find_header(
        self, channel: ChannelId, case_id: int, *, since: datetime
    ) -> FoundPost | None:
        """Look through the channel since `since` for the header of case `case_id`."""
        return _found_post(
            await self._find(
                self.client.conversations_history,
                channel,
                HEADER_EVENT_TYPE,
                lambda payload: _shows(payload, case_id),
                since=since,
            )
        )

    async def find_broadcast(
        self, channel: ChannelId, broadcast_id: int, *, since: datetime
    ) -> SlackTs | None:
        """Look through the channel since `since` for the post of broadcast `broadcast_id`."""
        found = await self._find(
            self.client.conversations_history,
            channel,
            BROADCAST_EVENT_TYPE,
            lambda payload: payload.get("broadcast_id") == broadcast_id,
            since=since,
        )
        return found[0] if found else None

    async def _find(
        self,
        method: Callable[..., Awaitable[Any]],
        channel: ChannelId,
        event_type: str,
        wanted: Callable[[dict[str, Any]], bool],
        *,
        since: datetime,
        **where: Any,
    ) -> tuple[SlackTs, dict[str, Any]] | None:
        """The ts and mark of the first message since `since` marked `event_type` with a
        payload that is `wanted`, page by page."""
        cursor: str | None = None
        while True:
            response = await self.call(
                channel,
                method,
                channel=channel,
                oldest=f"{since.timestamp():.6f}",
                inclusive=True,
                include_all_metadata=True,
                limit=SEARCH_PAGE,
                cursor=cursor,
                **where,
            )
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload")
                if (
                    metadata.get("event_type") == event_type
                    and isinstance(payload, dict)
                    and wanted(payload)
                ):
                    return SlackTs(message["ts"]), payload
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None


def mark(event_type: str, posting: Posting) -> dict[str, Any]:
    """Message metadata naming the case and the messages a post shows."""
    payload = {"case_id": posting.case_id, "message_ids": list(posting.message_ids)}
    return {"event_type": event_type, "event_payload": payload}


def marked(payload: Any) -> Posting | None:
    """The case and messages a post's metadata names; posts made before several texts
    could share one post name a single `message_id`."""
    if not isinstance(payload, dict) or not isinstance(payload.get("case_id"), int):
        return None
    ids = payload.get("message_ids", [payload.get("message_id")] if "message_id" in payload else [])
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return None
    return Posting(payload["case_id"], tuple(ids))


def _shows(payload: dict[str, Any], case_id: int, message_id: int | None = None) -> bool:
    shown = marked(payload)
    return (
        shown is not None
        and shown.case_id == case_id
        and (message_id is None or message_id in shown.message_ids)
    )


def _found_post(found: tuple[SlackTs, dict[str, Any]] | None) -> FoundPost | None:
    shown = marked(found[1]) if found else None
    return FoundPost(found[0], shown.message_ids) if found and shown else None
