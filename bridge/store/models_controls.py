"""Tables of the conversation controls and data protection: muted cases, erasures kept as
content-free audit rows, opt-outs that outlive an erasure as keyed hashes, the hash key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.models import Base, UtcDateTime, utcnow


class CaseMute(Base):
    """A muted case: no notices, broadcasts, forwarding or auto-responses for its texts."""

    __tablename__ = "case_mutes"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    muted_by: Mapped[str] = mapped_column(String(32))
    muted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseErasure(Base):
    """A case deleted: who, when, why and which number, never what it held."""

    __tablename__ = "case_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer)  # the case is gone: no foreign key
    erased_by: Mapped[str] = mapped_column(String(32))  # a Slack user, or the command line
    cause: Mapped[str] = mapped_column(String(16))  # deleted, erased or retention
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class ErasedOptOut(Base):
    """An opt-out of an erased number, kept as a keyed hash so that STOP is still honoured."""

    __tablename__ = "erased_opt_outs"

    number_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    our_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StoreKey(Base):
    """A key the store made for itself (the opt-out hash key when ERASURE_KEY is unset)."""

    __tablename__ = "store_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class StaffPhone(Base):
    """The phone a staff member is called on when they press Call."""

    __tablename__ = "staff_phones"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StaffCall(Base):
    """A call the bridge placed to a staff member's phone, to connect them to a case's contact.

    `call_uuid` is Vonage's, once the call was taken; its events find the case through it.
    """

    __tablename__ = "staff_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    call_uuid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The call's states shown in its thread so far, comma-separated: each is shown once.
    shown: Mapped[str] = mapped_column(String(400), default="", server_default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
