"""SQLAlchemy models, for SQLite and PostgreSQL alike; migrations follow every change here
and in the model modules beside it (models_*.py), which bridge/store/__init__.py loads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLite's full-text index for contact search (migration 0006), a virtual table with
# shadow tables of its own: kept up to date by triggers, not described by a model.
CONTACT_SEARCH = "contact_search"


def is_modelled(name: str | None, type_: str, _parent_names: Any) -> bool:
    """For Alembic's comparisons: every table is a model's, but the search index's."""
    return not (type_ == "table" and name is not None and name.startswith(CONTACT_SEARCH))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Contact(Base):
    """A person we text with; may hold several numbers."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    numbers: Mapped[list[ContactNumber]] = relationship(
        back_populates="contact", order_by="ContactNumber.id", lazy="selectin"
    )


class ContactNumber(Base):
    __tablename__ = "contact_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(32), unique=True)  # E.164 with '+'
    label: Mapped[str] = mapped_column(String(40), default="Mobile")

    contact: Mapped[Contact] = relationship(back_populates="numbers")


def _trigram_index(name: str, expression: Any) -> Index:
    """A GIN trigram index on PostgreSQL (pg_trgm), which answers `LIKE '%x%'`.

    Search looks for any part of a name, an email or a number; a B-tree cannot help there,
    so SQLite gets no index.
    """
    return Index(
        name,
        expression.label("searched"),
        postgresql_using="gin",
        postgresql_ops={"searched": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


_trigram_index("ix_contacts_name_trgm", func.lower(Contact.name))
_trigram_index("ix_contacts_email_trgm", func.lower(Contact.email))
_trigram_index("ix_contact_numbers_number_trgm", ContactNumber.number)


class Case(Base):
    """One conversation with one contact number through one of our numbers; a Slack thread.

    The case id is also its short human reference (`#12`).
    """

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_lookup", "contact_number", "our_number", "status"),
        UniqueConstraint("channel", "thread_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    contact_number: Mapped[str] = mapped_column(String(32))
    our_number: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))  # the header message's ts
    previous_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    assignee: Mapped[str | None] = mapped_column(String(32))
    unread: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When staff last wrote in the case: automated texts wait for a quiet period after it.
    last_staff_activity_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# Search finds contacts first, then their cases: without this it would scan every case.
Index("ix_cases_contact_id", Case.contact_id)


class Message(Base):
    """Every text in and out, and every staff note: the messaging log."""

    __tablename__ = "messages"
    __table_args__ = (
        # Idempotency: a carrier's message id is stored once, a Slack message is relayed once.
        UniqueConstraint("provider_message_id"),
        UniqueConstraint("origin_channel", "origin_ts"),
        Index("ix_messages_created_at", "created_at"),
        # The message counter: one person's replies of one day.
        Index("ix_messages_author_created_at", "author", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))
    contact_number: Mapped[str] = mapped_column(String(32))
    our_number: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)  # as the phone sees it
    source_text: Mapped[str | None] = mapped_column(Text)  # a staff reply as Slack had it
    author: Mapped[str | None] = mapped_column(String(32))  # Slack user id for staff texts
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(8))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    origin_channel: Mapped[str | None] = mapped_column(String(32))
    origin_ts: Mapped[str | None] = mapped_column(String(32))
    # A forwarded text: the inbound text it passes on to a manager's phone.
    forwarded_from_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # A send made for a staff message's further files (one MMS per picture, their links in
    # one SMS): the message they were shared with, which goes first.
    files_of_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    # The carrier `client-ref` of a send started (committed before the call) and when: while
    # the text is still queued, a send may have gone out unrecorded and its receipts name it.
    send_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    send_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CaseMessage(Base):
    """A message as it appears in one case's thread (a text may reach several open cases)."""

    __tablename__ = "case_messages"
    __table_args__ = (UniqueConstraint("case_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    slack_ts: Mapped[str | None] = mapped_column(String(32))


class SentPart(Base):
    """One carrier message id of an outbound text; long texts are sent as several."""

    __tablename__ = "sent_parts"

    provider_message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))


class EarlyReceipt(Base):
    """A delivery receipt that arrived before its send was recorded; applied when it is."""

    __tablename__ = "early_receipts"

    provider_message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_text: Mapped[str | None] = mapped_column(Text)
    recipient_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The send it answers (our `client-ref`): how a send cut off before it was recorded is found.
    client_ref: Mapped[str | None] = mapped_column(String(40), index=True)


class OptOut(Base):
    """A contact number that asked one of our numbers to stop texting it."""

    __tablename__ = "opt_outs"

    contact_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    our_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class InboundPart(Base):
    """One part of a long inbound text, waiting in the store until the whole is here."""

    __tablename__ = "inbound_parts"
    __table_args__ = (
        UniqueConstraint("provider_message_id"),
        Index("ix_inbound_parts_group", "contact_number", "our_number", "concat_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_number: Mapped[str] = mapped_column(String(32))
    our_number: Mapped[str] = mapped_column(String(32))
    concat_ref: Mapped[str] = mapped_column(String(32))
    part: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # Half of a surrogate pair a part boundary cut off at the part's start or end (a UTF-16
    # code unit): no store can hold one alone, joining the parts makes the character whole.
    head_unit: Mapped[int | None] = mapped_column(Integer)
    tail_unit: Mapped[int | None] = mapped_column(Integer)
    provider_message_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Assembled parts stay as the record of their carrier ids, so a late repeat is known.
    assembled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class InboxEventRow(Base):
    """What a webhook brought, durable before its answer, routed (and deleted) after: a
    repeat shares its `key` and is kept once; a `conversation`'s events go in id order."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        Index("ix_inbox_events_status_id", "status", "id"),
        Index("ix_inbox_events_conversation_id", "conversation", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    conversation: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxJob(Base):
    """Durable work for the outside world: a Slack call or an SMS send.

    Jobs sharing a `queue` run one at a time in id order; a job in backoff holds the
    later jobs of its queue back, which keeps each conversation in order.
    """

    __tablename__ = "outbox_jobs"
    __table_args__ = (
        Index("ix_outbox_ready", "status", "run_after"),
        Index("ix_outbox_queue", "queue", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    run_after: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChatSetting(Base):
    """A chat setting changed by an admin in Slack; it overrides the start-up default."""

    __tablename__ = "chat_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SettingChange(Base):
    """The audit log of chat settings: who changed what, when, from what to what."""

    __tablename__ = "setting_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class ForwardingSchedule(Base):
    """While active, every inbound text is passed on to these people and phones.

    Active on `days` (0 = Monday) from `start_time` to `end_time` ("HH:MM", end
    inclusive of its minute) in `time_zone` (an IANA name such as Europe/London).
    """

    __tablename__ = "forwarding_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    days: Mapped[list[int]] = mapped_column(JSON)
    start_time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))
    time_zone: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CaseRead(Base):
    """How far one person has read a case (for per-person unread counts)."""

    __tablename__ = "case_reads"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The case's texts up to this link (case_messages.id) are read: ids, unlike the
    # carrier's timestamps, grow in the order texts reached the case.
    read_up_to: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AutoReplySent(Base):
    """An auto-response given in a case, so each goes at most once per case per window."""

    __tablename__ = "auto_replies_sent"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Which window: "case" for the first-text reply, the window's start for after-hours.
    window: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))


class SeenToken(Base):
    """A signed request already accepted (a Slack signature, a Vonage JWT id): a replay of it
    within its validity window is refused, by every instance sharing the store."""

    __tablename__ = "seen_tokens"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha-256 hex of the token
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
