"""Deleting the bot's own posts of an erased case: `conversations.replies` to find them,
`chat.delete` each, `chat.update` to leave the header a tombstone."""

from __future__ import annotations

from typing import Any

from bridge.domain.values import ChannelId, SlackTs
from bridge.errors import SendError
from bridge.slack.marks import SEARCH_PAGE
from bridge.slack.poster import SlackPoster, method_gate

# https://docs.slack.dev/reference/methods/chat.delete#errors: the message is gone already.
_GONE = {"message_not_found", "thread_not_found"}


class SlackEraser:
    """Implements `ChatEraser` through the poster's calls (its rate limits and errors)."""

    def __init__(self, poster: SlackPoster) -> None:
        self.poster = poster
        self._bot_id: str | None = None

    async def _our_bot_id(self, channel: str) -> str:
        if self._bot_id is None:
            said = await self.poster.call(channel, self.poster.client.auth_test)
            self._bot_id = str(said["bot_id"])
        return self._bot_id

    async def own_replies(self, channel: ChannelId, thread_ts: SlackTs) -> list[SlackTs]:
        bot_id = await self._our_bot_id(channel)
        found: list[SlackTs] = []
        cursor: str | None = None
        while True:
            try:
                page: Any = await self.poster.call(
                    channel,
                    self.poster.client.conversations_replies,
                    channel=channel,
                    ts=thread_ts,
                    limit=SEARCH_PAGE,
                    cursor=cursor,
                )
            except SendError as error:
                if error.code in _GONE:
                    return found
                raise
            for message in page.get("messages", []):
                if message["ts"] != thread_ts and message.get("bot_id") == bot_id:
                    found.append(SlackTs(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def delete(self, channel: ChannelId, ts: SlackTs) -> None:
        try:
            await self.poster.call(
                method_gate("chat.delete"), self.poster.client.chat_delete, channel=channel, ts=ts
            )
        except SendError as error:
            if error.code not in _GONE:
                raise

    async def tombstone(self, channel: ChannelId, ts: SlackTs, text: str) -> None:
        block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        await self.poster.edit(channel, ts, text=text, blocks=[block])
