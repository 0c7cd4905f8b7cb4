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

from bridge.domain.media import FetchedMedia
from bridge.domain.values import ChannelId, SlackTs
from bridge.errors import MediaRefused, SendError
from bridge.slack.mrkdwn import escape_for_slack
from bridge.slack.poster import SlackPoster
from bridge.sms.media import checked_file, read_at_most

log = logging.getLogger(__name__)

FILES_GATE = "files"  # the rate-limit pause the file methods share


class SlackFiles:
    """Implements `ChatFiles`; Slack's errors are sorted by the poster's rules."""

    def __init__(self, poster: SlackPoster) -> None:
        self.poster = poster
        self.client = poster.client

    async def _api(self, method: str, **kwargs: Any) -> Any:
        return await self.poster.call(FILES_GATE, getattr(self.client, method), **kwargs)

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

    async def download(self, file_id: str, *, most: int) -> FetchedMedia:
        # files.info first: a file shared from another workspace (Slack Connect) arrives as a
        # stub (`file_access: check_file_info`) whose details only files.info gives.
        try:
            found = (await self._api("files_info", file=file_id))["file"]
        except SendError as error:
            if error.code == "file_not_found":
                raise MediaRefused("Slack no longer has it") from None
            raise
        url = found.get("url_private_download") or found.get("url_private")
        if not url or found.get("is_external") or found.get("mode") == "external":
            raise MediaRefused("Slack has no copy of it the bridge can fetch")
        if (found.get("size") or 0) > most:
            raise MediaRefused(f"it is larger than {most / 1_000_000:g} MB")
        data, declared = await self._fetch(str(url), most)
        # Without a working token (or files:read) Slack answers 200 with its login page.
        if declared == "text/html" or data.lstrip()[:15].lower().startswith(
            (b"<!doctype", b"<html")
        ):
            raise MediaRefused("Slack answered with its sign-in page, not the file (files:read?)")
        return checked_file("file", declared, data)

    async def _fetch(self, url: str, most: int) -> tuple[bytes, str]:
        token = self.client.token or ""
        timeout = aiohttp.ClientTimeout(total=float(self.client.timeout))
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(
                    url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
                ) as response:
                    if response.status != 200:
                        raise SendError(
                            f"Slack's file answered HTTP {response.status}",
                            retryable=response.status >= 500 or response.status == 429,
                        )
                    declared = response.headers.get("Content-Type", "").split(";")[0].strip()
                    data = await read_at_most(response, most)
                    return data, declared.lower()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"Slack unreachable: {type(exc).__name__}", retryable=True) from None

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
