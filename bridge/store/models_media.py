"""The files that come with texts, kept in the database beside their messages.

The bytes live in the SQL store, not in a directory: the store is what every instance
shares (any one may serve a file or post it), a file leaves with its message (deleted with
it, exported beside it), and nothing from outside ever becomes a path on disk. Files are
bounded by `MEDIA_MAX_BYTES` (10 MB by default), which both databases hold comfortably.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from bridge.store.models import Base, UtcDateTime, utcnow


class MediaFile(Base):
    """A message's file: announced (with the carrier's URL), then stored or refused."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A staff message may share several files; a contact's message carries one.
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # image, audio, video, file, vcard
    state: Mapped[str] = mapped_column(String(16))
    # Where the carrier keeps it (48 hours); forgotten once the file is stored.
    source_url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(64))  # made by the bridge: image-12.jpg
    refusal: Mapped[str | None] = mapped_column(Text)  # why it is not shown
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MediaUpload(Base):
    """A file's upload into one case's thread, its Slack file id committed before the
    upload is completed: a run after an interruption asks Slack whether it was shared."""

    __tablename__ = "media_uploads"

    media_id: Mapped[int] = mapped_column(
        ForeignKey("media_files.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    slack_file_id: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
