"""Turn Vonage webhooks into domain values: pure functions over a neutral `WebhookRequest`.

The web handler builds the request and checks its signature (`signatures.py`). Both APIs:

* SMS API inbound message and delivery receipt, as GET query string, form POST or JSON POST
  (https://developer.vonage.com/en/messaging/sms/guides/inbound-sms,
  https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts,
  https://developer.vonage.com/en/api/sms).
* Messages API inbound message (channel `sms`) and message status, as JSON POST
  (https://developer.vonage.com/en/api/messages,
  https://developer.vonage.com/en/messages/concepts/messages-status-callbacks).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from bridge.domain import limits
from bridge.domain.media import MEDIA_KINDS, InboundMedia
from bridge.domain.values import ConcatPart, DeliveryReceipt, InboundSms, MessageStatus, PhoneNumber
from bridge.errors import InvalidInput
from bridge.sms.codes import describe_receipt_error

log = logging.getLogger(__name__)

Params = Mapping[str, object]

# A binary SMS (`type=binary`, hex `data` + `udh`) is accepted, so Vonage stops retrying it
# and staff see that something arrived, but its bytes are not shown: they are usually
# ringtones, WAP pushes or SIM updates, not words a person wrote.
BINARY_PLACEHOLDER = "[binary message not shown]"
# A genuine webhook of a kind we cannot show is still taken (a refusal would be retried by
# Vonage for a day, in vain), and staff see that something came.
UNSUPPORTED_PLACEHOLDER = "[{kind} message not shown]"
# SMS API inbound `type` values (https://developer.vonage.com/en/messaging/sms/guides/inbound-sms).
SMS_API_TEXT_TYPES = frozenset({"text", "unicode"})
SMS_API_BINARY_TYPE = "binary"
# SMS API `message-timestamp`: UTC, "YYYY-MM-DD HH:MM:SS" (read by hand: `strptime` costs
# some 17 µs, a fortieth of a webhook's CPU).
SMS_API_TIMESTAMP = re.compile(r"(\d{4})-(\d\d?)-(\d\d?) (\d\d?):(\d\d?):(\d\d?)")

# E.164: a country code that never starts with 0, at most 15 digits in all. Vonage sends
# numbers as digits without the '+' (https://developer.vonage.com/en/api/sms, "Numbers are
# specified in E.164 format"); the smallest real numbers (e.g. Niue, +683 xxxx) have 7.
E164_DIGITS = re.compile(r"[1-9][0-9]{6,14}")
E164_MAX_DIGITS = 15
# Short codes are 3-6 digits; they can text us, and we may rent one.
SHORT_CODE = re.compile(r"[0-9]{3,6}")
# Alphanumeric sender IDs are at most 11 characters (GSM 03.40 TP-OA); a few carriers pass
# other printable names through, so anything printable up to 20 characters is accepted.
ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 .&'_-]{1,20}")


class AddressKind(enum.StrEnum):
    E164 = "e164"  # '+' and digits: a phone we can text back
    SHORT_CODE = "short_code"  # digits, no '+': may be texted back on the same network
    ALPHANUMERIC = "alphanumeric"  # a sender name such as "AcmeBank": cannot be replied to


def is_messages_api(params: Params) -> bool:
    """True for a Messages API webhook (it carries `message_uuid`), False for the SMS API."""
    return "message_uuid" in params


def _message_text(params: Params) -> str:
    """The words of a text; an empty SMS is a valid SMS. NUL (which a GSM-7 '@' can arrive
    as, and which PostgreSQL cannot store) is shown as the replacement character."""
    raw = params.get("text")
    return raw.replace("\x00", "\ufffd") if isinstance(raw, str) else ""


def _text_field(params: Params, key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidInput(f"field {key!r} must be text")
    text = str(value).strip()
    return text or None


# Fields that name something we store, and the longest each may be.
_LONGEST = {
    "messageId": limits.PROVIDER_ID,
    "message_uuid": limits.PROVIDER_ID,
    "concat-ref": limits.CONCAT_REF,
    "err-code": limits.ERROR_CODE,
    "title": limits.ERROR_CODE,
}


def _bounded(key: str, value: str | None) -> str | None:
    longest = _LONGEST.get(key)
    if value is not None and longest is not None and len(value) > longest:
        raise InvalidInput(f"field {key!r} is longer than {longest} characters")
    return value


def _require(params: Params, *keys: str) -> dict[str, str]:
    found = {key: _bounded(key, _text_field(params, key)) for key in keys}
    missing = [key for key, value in found.items() if value is None]
    if missing:
        raise InvalidInput(f"missing field(s): {', '.join(missing)}")
    return {key: value for key, value in found.items() if value is not None}


def address_kind(address: str) -> AddressKind:
    """Classify an address produced by `normalise_address` (or stored from one)."""
    if address.startswith("+"):
        return AddressKind.E164
    if SHORT_CODE.fullmatch(address):
        return AddressKind.SHORT_CODE
    return AddressKind.ALPHANUMERIC


def normalise_address(raw: str, *, field: str, allow_alphanumeric: bool) -> PhoneNumber:
    """Vonage digits → '+E.164'; short codes stay digits; sender names stay as sent.

    Alphanumeric senders are kept (they are real texts, e.g. from a bank) but cannot be
    replied to; `address_kind` tells the core so. Our own number must be a number.
    """
    value = raw.strip()
    digits = value.removeprefix("+").replace(" ", "")
    if E164_DIGITS.fullmatch(digits):
        return PhoneNumber("+" + digits)
    if not value.startswith("+") and SHORT_CODE.fullmatch(digits):
        return PhoneNumber(digits)
    too_long_for_a_number = digits.isdigit() and len(digits) > E164_MAX_DIGITS
    if allow_alphanumeric and ALPHANUMERIC_SENDER.fullmatch(value) and not too_long_for_a_number:
        return PhoneNumber(value)
    raise InvalidInput(f"field {field!r} is not a phone number, short code or sender name")


def _parse_iso_timestamp(raw: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"field {field!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _parse_sms_api_time(params: Params) -> datetime:
    raw = _text_field(params, "message-timestamp")
    if raw is not None:
        found = SMS_API_TIMESTAMP.fullmatch(raw)
        if found is not None:
            with contextlib.suppress(ValueError):  # a day or an hour that does not exist
                return datetime(*(int(field) for field in found.groups()), tzinfo=UTC)
        raise InvalidInput("field 'message-timestamp' is not 'YYYY-MM-DD HH:MM:SS'")
    unix = _text_field(params, "timestamp")
    if unix is None:
        raise InvalidInput("missing field(s): message-timestamp")
    try:
        return datetime.fromtimestamp(int(unix), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput("field 'timestamp' is not a unix time") from None


def _concat_number(params: Params, key: str) -> int:
    raw = _require(params, key)[key]
    if not raw.isdigit() or int(raw) > limits.CONCAT_PARTS:
        raise InvalidInput(f"field {key!r} must be a whole number up to {limits.CONCAT_PARTS}")
    return int(raw)


def _parse_concat(params: Params) -> ConcatPart | None:
    """The SMS API sends each part of a long text separately, tagged with `concat-*`."""
    flag = _text_field(params, "concat")
    keys = ("concat-ref", "concat-total", "concat-part")
    if (flag or "").lower() != "true" and not any(key in params for key in keys):
        return None
    ref = _require(params, "concat-ref")["concat-ref"]
    total = _concat_number(params, "concat-total")
    number = _concat_number(params, "concat-part")
    if total < 2:
        raise InvalidInput("field 'concat-total' must be at least 2")
    if not 1 <= number <= total:
        raise InvalidInput("field 'concat-part' must be between 1 and 'concat-total'")
    return ConcatPart(ref=ref, total=total, number=number)


def _inbound_addresses(sender: str, recipient: str) -> tuple[PhoneNumber, PhoneNumber]:
    from_ = normalise_address(sender, field="sender", allow_alphanumeric=True)
    to = normalise_address(recipient, field="to", allow_alphanumeric=False)
    if address_kind(from_) is not AddressKind.E164:
        log.info("inbound SMS from a %s sender; replies cannot reach it", address_kind(from_))
    return from_, to


def _parse_sms_api_inbound(params: Params) -> InboundSms:
    found = _require(params, "msisdn", "to", "messageId")
    sender, recipient = _inbound_addresses(found["msisdn"], found["to"])
    kind = (_text_field(params, "type") or "text").lower()
    if kind == SMS_API_BINARY_TYPE:
        text = BINARY_PLACEHOLDER
    elif kind in SMS_API_TEXT_TYPES:
        text = _message_text(params)
    else:
        text = UNSUPPORTED_PLACEHOLDER.format(kind=kind[:20])
    return InboundSms(
        provider_message_id=found["messageId"],
        sender=sender,
        recipient=recipient,
        text=text,
        received_at=_parse_sms_api_time(params),
        part=_parse_concat(params),
    )


def _parse_messages_api_inbound(params: Params) -> InboundSms:
    found = _require(params, "message_uuid", "from", "to", "timestamp")
    sender, recipient = _inbound_addresses(found["from"], found["to"])
    kind = (_text_field(params, "message_type") or "text")[:20]
    if kind == "text":
        text = _message_text(params)
    elif kind in MEDIA_KINDS:
        text = _media_object(params, kind).get("caption") or ""
    else:
        text = UNSUPPORTED_PLACEHOLDER.format(kind=kind)
    # The Messages API joins the parts of a long SMS before calling us (`sms.num_messages`),
    # so there is never a ConcatPart here.
    return InboundSms(
        provider_message_id=found["message_uuid"],
        sender=sender,
        recipient=recipient,
        text=text,
        received_at=_parse_iso_timestamp(found["timestamp"], "timestamp"),
    )


# The longest media URL taken (Vonage's are about 80 characters).
MEDIA_URL_MAX = 2000


def _media_object(params: Params, kind: str) -> dict[str, str]:
    """The `{"url": ..., "caption": ...}` object a media message carries under its kind."""
    found = params.get(kind)
    if not isinstance(found, Mapping):
        raise InvalidInput(f"a {kind} message needs an object {kind!r} with its 'url'")
    url = _text_field(found, "url")
    if url is None or len(url) > MEDIA_URL_MAX or not url.startswith("https://"):
        raise InvalidInput(f"field '{kind}.url' must be an https URL")
    caption = _text_field(found, "caption")
    return {"url": url, "caption": caption.replace("\x00", "\ufffd") if caption else ""}


def parse_media(params: Params) -> InboundMedia | None:
    """The file a Messages API inbound message carries, None for a text."""
    kind = _text_field(params, "message_type") if is_messages_api(params) else None
    if kind not in MEDIA_KINDS:
        return None
    return InboundMedia(kind=kind, url=_media_object(params, kind)["url"])


def parse_inbound(params: Params) -> InboundSms:
    """An inbound SMS from either API; InvalidInput(400) names what is missing or wrong."""
    if is_messages_api(params):
        return _parse_messages_api_inbound(params)
    return _parse_sms_api_inbound(params)


# SMS API delivery receipt `status` → our status.
# https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts#dlr-status-messages
# `accepted` and `buffered` mean the carrier has it but has not delivered yet. `unknown`
# ("no useful information available") is decided by `err-code` in `_sms_api_status`.
SMS_API_STATUSES: dict[str, MessageStatus] = {
    "delivered": MessageStatus.DELIVERED,
    "expired": MessageStatus.EXPIRED,
    "failed": MessageStatus.FAILED,
    "rejected": MessageStatus.REJECTED,
    "accepted": MessageStatus.SUBMITTED,
    "buffered": MessageStatus.SUBMITTED,
}
SMS_API_UNKNOWN_STATUS = "unknown"
# Statuses for which Vonage says to ignore `err-code` ("If status is accepted ignore the
# value of error-code", https://developer.vonage.com/en/api/sms).
_IGNORE_ERROR_CODE = frozenset({MessageStatus.SUBMITTED, MessageStatus.DELIVERED})

# Messages API status → our status.
# https://developer.vonage.com/en/messages/concepts/messages-status-callbacks
# `undeliverable` means Vonage could not reach the provider at all: a failure to send.
# `read` (an OTT channel's read receipt) implies delivery.
MESSAGES_API_STATUSES: dict[str, MessageStatus] = {
    "submitted": MessageStatus.SUBMITTED,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "rejected": MessageStatus.REJECTED,
    "undeliverable": MessageStatus.FAILED,
}


def _sms_api_status(raw: str, err_code: str | None) -> MessageStatus:
    if raw in SMS_API_STATUSES:
        return SMS_API_STATUSES[raw]
    if raw == SMS_API_UNKNOWN_STATUS:
        # "A non-zero code indicates that the message could not be delivered"; with code 0
        # or none we only know the carrier took it.
        failed = err_code is not None and err_code != "0"
        return MessageStatus.FAILED if failed else MessageStatus.SUBMITTED
    raise InvalidInput(f"unknown delivery receipt status {raw!r}")


# Our client-refs are at most 40 characters (the Messages API's documented limit); a longer
# one cannot be ours, so it is dropped rather than stored.
CLIENT_REF_MAX = 40


def _client_ref(params: Params, key: str) -> str | None:
    """The reference a send carried (`client-ref` in the SMS API, `client_ref` in the
    Messages API), echoed back in its receipts."""
    ref = _text_field(params, key)
    return ref if ref is not None and len(ref) <= CLIENT_REF_MAX else None


def _parse_sms_api_receipt(params: Params) -> DeliveryReceipt:
    found = _require(params, "messageId", "status")
    err_code = _bounded("err-code", _text_field(params, "err-code"))
    status = _sms_api_status(found["status"].lower(), err_code)
    client_ref = _client_ref(params, "client-ref")
    if status in _IGNORE_ERROR_CODE or err_code is None or err_code == "0":
        return DeliveryReceipt(
            provider_message_id=found["messageId"], status=status, client_ref=client_ref
        )
    info = describe_receipt_error(err_code)
    return DeliveryReceipt(
        provider_message_id=found["messageId"],
        status=status,
        error_code=info.code,
        error_text=f"{info.name}: {info.words}",
        recipient_blocked=info.means_recipient_blocked,
        client_ref=client_ref,
    )


def _parse_messages_api_receipt(params: Params) -> DeliveryReceipt:
    found = _require(params, "message_uuid", "status")
    raw = found["status"].lower()
    if raw not in MESSAGES_API_STATUSES:
        raise InvalidInput(f"unknown message status {raw!r}")
    error = params.get("error")
    if error is not None and not isinstance(error, Mapping):
        raise InvalidInput("field 'error' must be an object")
    error_code = error_text = None
    if error:
        # `title` carries the code (e.g. 1050), `detail` the words, `type` a docs link.
        error_code = _bounded("title", _text_field(error, "title"))
        error_text = _text_field(error, "detail") or _text_field(error, "type")
    return DeliveryReceipt(
        provider_message_id=found["message_uuid"],
        status=MESSAGES_API_STATUSES[raw],
        error_code=error_code,
        error_text=error_text,
        client_ref=_client_ref(params, "client_ref"),
    )


def parse_receipt(params: Params) -> DeliveryReceipt:
    """A delivery receipt (SMS API) or message status (Messages API) as a DeliveryReceipt."""
    if is_messages_api(params):
        return _parse_messages_api_receipt(params)
    return _parse_sms_api_receipt(params)
