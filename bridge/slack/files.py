"""Files into case threads with Slack's external upload flow (`files.upload` is retired):
`files.getUploadURLExternal` reserves an upload, the bytes are POSTed to the URL it gives,
and `files.completeUploadExternal` shares the file in a thread
(https://docs.slack.dev/messaging/working-with-files#upload). A file is seen by nobody until
it is completed, so an upload interrupted before that leaves nothing in the thread.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bridge.domain.values import ChannelId, SlackTs
from bridge.errors import SendError
from bridge.slack.mrkdwn import escape_for_slack
from bridge.slack.poster import SlackPoster

log = logging.getLogger(__name__)

FILES_GATE = "files"  # the rate-limit pause the file methods share


class SlackFiles:
    """Implements `ChatFiles`; Slack's errors are sorted by the poster's rules."""

    def __init__(self, poster: SlackPoster) -> None:
        self.poster = poster
        self.client = poster.client

    async def _api(self, method: str, **kwargs: Any) -> Any:
        return await self.poster._call(FILES_GATE, getattr(self.client, method), **kwargs)

    async def start_upload(self, *, name: str, size: int) -> tuple[str, str]:
        answer = await self._api("files_getUploadURLExternal", filename=name, length=size)
        return str(answer["upload_url"]), str(answer["file_id"])

    async def send_bytes(self, upload_url: str, data: bytes, content_type: str) -> None:
        timeout = aiohttp.ClientTimeout(total=float(self.client.timeout))
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(
                    upload_url, data=data, headers={"Content-Type": content_type}
                ) as response:
                    if response.status != 200:
                        raise SendError(
                            f"Slack's file upload answered HTTP {response.status}",
                            retryable=response.status >= 500 or response.status == 429,
                        )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"Slack unreachable: {type(exc).__name__}", retryable=True) from None

    async def complete_upload(
        self, file_id: str, *, title: str, channel: ChannelId, thread_ts: SlackTs, comment: str
    ) -> None:
        # The comment is a contact's words: escaped, so it can never mention or broadcast.
        await self._api(
            "files_completeUploadExternal",
            files=[{"id": file_id, "title": title}],
            channel_id=channel,
            thread_ts=thread_ts,
            **({"initial_comment": escape_for_slack(comment)} if comment else {}),
        )

    async def shared_at(self, file_id: str, channel: ChannelId) -> SlackTs | None:
        try:
            answer = await self._api("files_info", file=file_id)
        except SendError as error:
            if error.code == "file_not_found":
                return None
            raise
        shares = answer["file"].get("shares", {})
        for place in ("public", "private"):
            found = shares.get(place, {}).get(channel)
            if found:
                return SlackTs(found[0]["ts"])
        return None
