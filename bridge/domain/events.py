"""What the webhooks take in, kept in the inbox until the router decides about it.

A webhook is answered once its event is durable; routing happens after, in batches. Each
event names its conversation (events of one conversation are routed in the order the inbox
took them) and a key that its repeats share (a carrier's retry of the same webhook).
The payload is JSON a store can hold: a text's cut surrogate halves travel as code units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.domain.email import InboundEmail, email_key
from bridge.domain.media import InboundMedia
from bridge.domain.text import split_edges, with_edges
from bridge.domain.values import ConcatPart, DeliveryReceipt, InboundSms, MessageStatus, PhoneNumber

SMS_INBOUND = "sms.inbound"
SMS_STATUS = "sms.status"
MEDIA_INBOUND = "sms.media"  # a text that carries a picture or a file
EMAIL_INBOUND = "email.inbound"
VOICE_EVENT = "voice.event"


@dataclass(frozen=True, slots=True)
class InboxEvent:
    kind: str
    key: str
    conversation: str
    payload: dict[str, Any]
    received_at: datetime  # when the inbox took it: the moment rules about hours apply to


def inbound_event(sms: InboundSms, *, at: datetime) -> InboxEvent:
    head, text, tail = split_edges(sms.text)
    part = sms.part
    return InboxEvent(
        kind=SMS_INBOUND,
        key=f"{SMS_INBOUND}|{sms.provider_message_id}",
        conversation=text_conversation(sms.sender, sms.recipient),
        payload={
            "id": sms.provider_message_id,
            "from": sms.sender,
            "to": sms.recipient,
            "text": text,
            "head": head,
            "tail": tail,
            "at": sms.received_at.isoformat(),
            "part": [part.ref, part.total, part.number] if part else None,
        },
        received_at=at,
    )


def inbound_of(event: InboxEvent) -> InboundSms:
    p = event.payload
    part = p["part"]
    return InboundSms(
        provider_message_id=p["id"],
        sender=PhoneNumber(p["from"]),
        recipient=PhoneNumber(p["to"]),
        text=with_edges(p["head"], p["text"], p["tail"]),
        received_at=datetime.fromisoformat(p["at"]),
        part=ConcatPart(part[0], part[1], part[2]) if part else None,
    )


def media_event(sms: InboundSms, media: InboundMedia, *, at: datetime) -> InboxEvent:
    """A contact's message with a file: kept as a text is, with where the file waits."""
    event = inbound_event(sms, at=at)
    payload = event.payload | {"media": {"kind": media.kind, "url": media.url}}
    # The carrier's id is one message whatever it carries: a repeat is still one event.
    return InboxEvent(MEDIA_INBOUND, event.key, event.conversation, payload, at)


def media_of(event: InboxEvent) -> tuple[InboundSms, InboundMedia]:
    media = event.payload["media"]
    return inbound_of(event), InboundMedia(kind=media["kind"], url=media["url"])


def receipt_event(receipt: DeliveryReceipt, *, at: datetime) -> InboxEvent:
    return InboxEvent(
        kind=SMS_STATUS,
        # A repeat of the same word on the same part changes nothing: one is enough.
        key=f"{SMS_STATUS}|{receipt.provider_message_id}|{receipt.status}",
        conversation=receipt_conversation(receipt),
        payload={
            "id": receipt.provider_message_id,
            "status": receipt.status.value,
            "code": receipt.error_code,
            "error": receipt.error_text,
            "blocked": receipt.recipient_blocked,
            "ref": receipt.client_ref,
        },
        received_at=at,
    )


def receipt_conversation(receipt: DeliveryReceipt) -> str:
    """The receipts of one send (every part's) are one conversation, named by its client-ref:
    a send interrupted before its answer looks there for receipts not yet routed."""
    if receipt.client_ref:
        return send_conversation(receipt.client_ref)
    return f"receipt|{receipt.provider_message_id}"


def text_conversation(sender: str, recipient: str) -> str:
    """A contact's texts (and pictures) to one of our numbers: routed in arrival order, and
    a long text's flush looks there for parts kept but not yet routed."""
    return f"{sender}|{recipient}"


def send_conversation(client_ref: str) -> str:
    return f"send|{client_ref}"


def receipt_of(event: InboxEvent) -> DeliveryReceipt:
    p = event.payload
    return DeliveryReceipt(
        provider_message_id=p["id"],
        status=MessageStatus(p["status"]),
        error_code=p["code"],
        error_text=p["error"],
        recipient_blocked=p["blocked"],
        client_ref=p["ref"],
    )


def email_event(email: InboundEmail, *, at: datetime) -> InboxEvent:
    return InboxEvent(
        kind=EMAIL_INBOUND,
        key=f"{EMAIL_INBOUND}|{email_key(email.message_id)}",
        # One sender's emails are routed in order, as one phone's texts are.
        conversation=f"email|{email.sender}"[:80],
        payload={
            "id": email.message_id,
            "from": email.sender,
            "name": email.sender_name,
            "to": list(email.recipients),
            "subject": email.subject,
            "text": email.text,
            "answers": list(email.answers),
            "at": email.received_at.isoformat(),
            "automated": email.automated,
        },
        received_at=at,
    )


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Vonage's word on a call it placed: ringing, answered, completed (with its length), ..."""

    call_uuid: str
    status: str
    duration: int | None = None  # seconds, on completed


def call_event(event: CallEvent, *, at: datetime) -> InboxEvent:
    return InboxEvent(
        kind=VOICE_EVENT,
        key=f"{VOICE_EVENT}|{event.call_uuid}|{event.status}",  # each state shown once
        conversation=f"call|{event.call_uuid}",
        payload={"uuid": event.call_uuid, "status": event.status, "duration": event.duration},
        received_at=at,
    )


def email_of(event: InboxEvent) -> InboundEmail:
    p = event.payload
    return InboundEmail(
        message_id=p["id"],
        sender=p["from"],
        sender_name=p["name"],
        recipients=tuple(p["to"]),
        subject=p["subject"],
        text=p["text"],
        answers=tuple(p["answers"]),
        received_at=datetime.fromisoformat(p["at"]),
        automated=p["automated"],
    )


def call_event_of(event: InboxEvent) -> CallEvent:
    p = event.payload
    return CallEvent(call_uuid=p["uuid"], status=p["status"], duration=p["duration"])
