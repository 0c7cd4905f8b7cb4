"""What the media rules and jobs ask of the store, the carrier and the chat (one line each)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bridge.domain.media import FetchedMedia, InboundMedia, MediaRecord
from bridge.domain.records import MessageRecord
from bridge.domain.values import ChannelId, SlackTs


class MediaFiles(Protocol):
    """The store's files: one a contact's message carries, any number a staff message shares."""

    async def announce(self, message_id: int, media: InboundMedia) -> int:
        """Keep that a message carries `media`, not fetched yet; the file's id."""

    async def of_message(self, message_id: int) -> MediaRecord | None:
        """The (first) file a message carries, None for a plain text."""

    async def all_of_message(self, message_id: int) -> list[MediaRecord]:
        """Every file a message carries, in the order they were shared."""

    async def move(self, media_ids: Sequence[int], message_id: int) -> None:
        """The files go with another message (a further send of the one they came with)."""

    async def store(
        self, media_id: int, fetched: FetchedMedia, *, name: str, kind: str | None = None
    ) -> None:
        """Keep the fetched bytes, and what `kind` they turned out to be (a file already
        stored or refused stays as it is)."""

    async def refuse(self, media_id: int, reason: str) -> None:
        """The file will not be shown, for `reason` (one already stored stays)."""

    async def data(self, media_id: int) -> bytes | None:
        """A stored file's bytes."""

    async def kept(self, media_id: int) -> FetchedMedia | None:
        """A stored file's type and bytes, None unless it is stored."""

    async def upload_started(self, media_id: int, case_id: int, file_id: str) -> None:
        """Commit the Slack file id an upload into a case's thread goes by, before it completes."""

    async def upload_of(self, media_id: int, case_id: int) -> str | None:
        """The Slack file id of an upload started into that case's thread, if any."""


class FileSends(Protocol):
    """The messaging log's part for a staff message sharing several files (`Messages`)."""

    async def add_file_send(self, message: MessageRecord, *, at: datetime) -> int:
        """Store, queued, a further send of a staff message's files (it has no text of its own)."""

    async def file_sends(self, message_id: int) -> list[MessageRecord]:
        """The further sends of a staff message's files, in the order they go."""


class MediaSource(Protocol):
    """Fetches a file the carrier keeps; raises `MediaRefused` for one that cannot be
    shown, `SendError` (retryable) when the carrier could not be asked now."""

    async def fetch(self, media: InboundMedia, *, most: int) -> FetchedMedia:
        """The file's bytes, at most `most` of them, checked to be what `media.kind` says."""


class ChatFiles(Protocol):
    """Files in chat threads; raises `SendError` saying whether a retry can help."""

    async def start_upload(self, *, name: str, size: int) -> tuple[str, str]:
        """Reserve an upload: (the URL the bytes go to, the file's id)."""

    async def send_bytes(self, upload_url: str, data: bytes, content_type: str) -> None:
        """Send a reserved upload's bytes."""

    async def complete_upload(
        self, file_id: str, *, title: str, channel: ChannelId, thread_ts: SlackTs, comment: str
    ) -> None:
        """Share the uploaded file in the thread with `comment` as its message's text."""

    async def download(self, file_id: str, *, most: int) -> FetchedMedia:
        """A file shared in the chat, at most `most` bytes; `MediaRefused` if it cannot be had."""

    async def shared_at(self, file_id: str, channel: ChannelId) -> SlackTs | None:
        """The ts of the message sharing the file in `channel`, None when it is not shared."""


class MediaLinks(Protocol):
    """Links to stored files that carriers can fetch, signed and expiring."""

    hours: int  # how long a link works

    def url_for(self, media_id: int) -> str | None:
        """A link to the file, None when the bridge has no public address (`PUBLIC_URL`)."""
