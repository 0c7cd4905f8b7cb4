"""The tables of the email channel, beside the SMS tables of bridge/store/models.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.models import Base, UtcDateTime, utcnow


class EmailThread(Base):
    """A case's email side: the token of its `reply+<token>@` address, its subject, the
    contact's address and the channel a staff reply goes by (the one the contact last used)."""

    __tablename__ = "email_threads"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(320))
    reply_channel: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class EmailMessage(Base):
    """A message of the log that went or came by email: its Message-ID (what threading and
    idempotency go by), the address at the other end and the subject it had."""

    __tablename__ = "email_messages"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    rfc_message_id: Mapped[str] = mapped_column(Text)
    # sha-256 of the Message-ID: unique and indexable whatever the Message-ID's length.
    rfc_key: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# Search by email address looks for any part of it.
Index("ix_email_messages_address", EmailMessage.address)
