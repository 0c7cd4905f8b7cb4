"""Tables of broadcasts: one text to many phones, each recipient texted once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.models import Base, UtcDateTime, utcnow


class Broadcast(Base):
    """One text to a list of numbers from one of ours, released to the outbox as paced."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str | None] = mapped_column(String(32))  # Slack user id; None from the CLI
    our_number: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    # Opted-out numbers of the audience, skipped before it started.
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Its post in the inbox channel, with the live counts and Cancel.
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))


class BroadcastRecipient(Base):
    """A number of a broadcast's audience; `message_id` once its text was handed over."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        # Exactly once: a number is in a broadcast once, a text belongs to one recipient.
        UniqueConstraint("broadcast_id", "contact_number"),
        UniqueConstraint("message_id"),
        Index("ix_broadcast_recipients_waiting", "broadcast_id", "message_id", "not_before"),
        Index("ix_broadcast_recipients_number", "contact_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    contact_number: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # Outside the recipient's sending hours: not handed over before this.
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
