"""Vonage webhook parsing: recorded payloads in, domain values (or a clear 4xx) out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.domain.values import ConcatPart, DeliveryReceipt, InboundSms, MessageStatus
from bridge.errors import InvalidInput
from bridge.sms.codes import (
    RECEIPT_ERROR_CODES,
    SEND_STATUS_CODES,
    describe_receipt_error,
    describe_send_status,
)
from bridge.sms.requests import LENIENT, WebhookRequest, form_params, webhook_params
from bridge.sms.webhooks import (
    BINARY_PLACEHOLDER,
    AddressKind,
    address_kind,
    is_messages_api,
    normalise_address,
    parse_inbound,
    parse_receipt,
)

FIXTURES = Path(__file__).parent / "fixtures" / "vonage"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
NOON = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
UUID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def fixture(name: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A recorded payload, with some fields changed; a value of None removes the field."""
    params = json.loads((FIXTURES / f"{name}.json").read_text())
    for key, value in (changes or {}).items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    return params


def table(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Labelled rows (label, *values) as keyword arguments for pytest.mark.parametrize."""
    values = [row[1] if len(row) == 2 else row[1:] for row in rows]
    return {"argvalues": values, "ids": [row[0] for row in rows]}


def req(
    method: str, ctype: str = "", body: bytes = b"", query: dict | None = None
) -> WebhookRequest:
    return WebhookRequest(method, ctype, query or {}, body, {})


SMS = fixture("sms_inbound")

# --- webhook_params: the SMS API's GET, form and JSON shapes, and the Messages API's JSON --

# fmt: off
PARAMS_OK = [
    ("get-query", req("GET", query=SMS), SMS),
    ("get-ignores-body", req("GET", "text/plain", b"junk", SMS), SMS),
    ("post-form", req("POST", FORM, urlencode(SMS).encode()), SMS),
    ("post-form-charset", req("POST", f"{FORM}; charset=UTF-8", b"t=caf%C3%A9"), {"t": "café"}),
    ("post-form-empty-text", req("POST", FORM, b"text="), {"text": ""}),
    ("post-json", req("POST", JSON, json.dumps(SMS).encode()), SMS),
    ("json-nested", req("POST", f"{JSON}; charset=utf-8", b'{"u": {"p": 1}}'), {"u": {"p": 1}}),
    ("post-empty-body-uses-query", req("POST", "", b"", SMS), SMS),
    ("query-and-body-merge", req("POST", JSON, b'{"b": "2"}', {"a": "1"}), {"a": "1", "b": "2"}),
    ("method-lower-case", req("post", JSON, b"{}"), {}),
    # Never refused for a byte: Vonage would retry the same bytes for a day, in vain.
    ("form-bad-escape-replaced", req("POST", FORM, b"a=%FF"), {"a": "\ufffd"}),
    ("form-unknown-charset-read-as-utf8", req("POST", f"{FORM}; charset=nope", b"a=%C3%A9"),
     {"a": "é"}),
    ("form-surrogate-half-kept", req("POST", FORM, b"a=%ED%A0%BD"), {"a": "\ud83d"}),
    # Codecs Python knows that are no character set: the body is read as UTF-8.
    *[
        (f"form-codec-{codec}-read-as-utf8", req("POST", f"{FORM}; charset={codec}", b"a=%C3%A9"),
         {"a": "é"})
        for codec in ("undefined", "base64", "rot13", "idna", "unicode-escape", "punycode")
    ],
]
PARAMS_BAD = [
    ("malformed-json", req("POST", JSON, b"{not json"), 400, "not valid JSON"),
    ("json-array", req("POST", JSON, b"[1, 2]"), 400, "must be an object"),
    ("json-not-utf8", req("POST", JSON, b'{"a": "\xff"}'), 400, "not valid JSON"),
    ("text-plain", req("POST", "text/plain", b"hello"), 415, "unsupported content type"),
    ("no-content-type", req("POST", "", b"a=b"), 415, "unsupported content type"),
    ("form-duplicate-key", req("POST", FORM, b"a=1&a=2"), 400, "more than once"),
    ("query-body-conflict", req("POST", JSON, b'{"to": "1"}', {"to": "2"}), 400, "differs"),
    ("put", req("PUT", JSON, b"{}"), 405, "not allowed"),
]
# fmt: on


@pytest.mark.parametrize(("request_", "expected"), **table(PARAMS_OK))
def test_webhook_params_accepts(request_: WebhookRequest, expected: dict) -> None:
    assert webhook_params(request_) == expected


@pytest.mark.parametrize(("request_", "status", "reason"), **table(PARAMS_BAD))
def test_webhook_params_refuses(request_: WebhookRequest, status: int, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        webhook_params(request_)
    assert caught.value.status == status
    assert reason in caught.value.reason


# --- parse_inbound -------------------------------------------------------------------------

ME, THEM = "+447700900000", "+447700900001"
LONG = "second part of a long text"
# fmt: off
INBOUND_OK = [
    ("sms-api-text", "sms_inbound",
     InboundSms("0A0000000123ABCD1", THEM, ME, "Hello world", NOON)),
    ("sms-api-concat-part", "sms_inbound_concat_part",
     InboundSms("0A0000000123ABCD2", THEM, ME, LONG, NOON, ConcatPart("1", 3, 2))),
    ("sms-api-binary-placeholder", "sms_inbound_binary",
     InboundSms("0A0000000123ABCD3", THEM, ME, BINARY_PLACEHOLDER, NOON)),
    ("messages-api-sms", "messages_inbound_sms",
     InboundSms(UUID, THEM, ME, "Hello from Vonage!", NOON.replace(hour=14))),
]
INBOUND_VARIANTS = [
    ("unicode-type", {"type": "unicode", "text": "¿Qué? 👋"}, "text", "¿Qué? 👋"),
    ("missing-text-is-empty", {"text": None}, "text", ""),
    ("whitespace-text-kept", {"text": "  "}, "text", "  "),
    ("missing-type-is-text", {"type": None}, "text", "Hello world"),
    ("sender-with-plus", {"msisdn": "+447700900001"}, "sender", THEM),
    ("alphanumeric-sender-kept", {"msisdn": "AcmeBank"}, "sender", "AcmeBank"),
    ("short-code-sender-kept", {"msisdn": "61234"}, "sender", "61234"),
    ("short-code-recipient", {"to": "88222"}, "recipient", "88222"),
    ("unix-timestamp-fallback", {"message-timestamp": None}, "received_at", NOON),
    ("concat-flag-case", {"concat": "TRUE", "concat-ref": "9", "concat-total": "2",
                          "concat-part": "2"}, "part", ConcatPart("9", 2, 2)),
    ("unknown-type-shown-as-such", {"type": "wappush"}, "text", "[wappush message not shown]"),
]
CONCAT = {"concat": "true", "concat-ref": "1", "concat-total": "2", "concat-part": "1"}
INBOUND_BAD = [
    ("no-sender", {"msisdn": None}, "missing field(s): msisdn"),
    ("no-id-or-number", {"messageId": None, "to": ""}, "missing field(s): to, messageId"),
    ("no-timestamps", {"message-timestamp": None, "timestamp": None}, "message-timestamp"),
    ("bad-timestamp", {"message-timestamp": "01/01/2020 12:00"}, "YYYY-MM-DD"),
    ("alphanumeric-recipient", {"to": "AcmeInc"}, "'to'"),
    ("garbage-sender", {"msisdn": "<script>alert(1)</script>"}, "'sender'"),
    ("non-text-field", {"msisdn": ["447700900001"]}, "must be text"),
    ("concat-no-ref", {**CONCAT, "concat-ref": None}, "concat-ref"),
    ("concat-total-one", {**CONCAT, "concat-total": "1"}, "at least 2"),
    ("concat-part-zero", {**CONCAT, "concat-part": "0"}, "between 1"),
    ("concat-part-past-total", {**CONCAT, "concat": None, "concat-part": "3"}, "between 1"),
    ("concat-not-int", {**CONCAT, "concat-total": "two"}, "whole number"),
    ("concat-total-past-255", {**CONCAT, "concat-total": "256"}, "up to 255"),
    ("message-id-too-long", {"messageId": "M" * 65}, "longer than 64"),
    ("concat-ref-too-long", {**CONCAT, "concat-ref": "R" * 33}, "longer than 32"),
]
MESSAGES_BAD = [
    ("no-from", {"from": None}, "missing field(s): from"),
    ("no-timestamp", {"timestamp": None}, "missing field(s): timestamp"),
    ("bad-timestamp", {"timestamp": "yesterday"}, "ISO 8601"),
]
# fmt: on


@pytest.mark.parametrize(("name", "expected"), **table(INBOUND_OK))
def test_parse_inbound_recorded_payloads(name: str, expected: InboundSms) -> None:
    assert parse_inbound(fixture(name)) == expected


@pytest.mark.parametrize(("changes", "attr", "expected"), **table(INBOUND_VARIANTS))
def test_parse_inbound_variants(changes: dict, attr: str, expected: object) -> None:
    assert getattr(parse_inbound(fixture("sms_inbound", changes)), attr) == expected


@pytest.mark.parametrize(("changes", "reason"), **table(INBOUND_BAD))
def test_parse_inbound_refuses(changes: dict, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_inbound(fixture("sms_inbound", changes))
    assert caught.value.status == 400
    assert reason in caught.value.reason


MEDIA = "https://api.nexmo.com/v3/media"
# fmt: off
MESSAGES_TAKEN = [
    ("whatsapp-channel", {"channel": "whatsapp"}, "Hello from Vonage!"),
    ("location-shown-as-such", {"message_type": "location", "text": None},
     "[location message not shown]"),
    ("image-caption-is-the-text",
     {"message_type": "image", "text": None, "image": {"url": f"{MEDIA}/1", "caption": "Look"}},
     "Look"),
]
# fmt: on


@pytest.mark.parametrize(("changes", "text"), **table(MESSAGES_TAKEN))
def test_parse_messages_api_inbound_takes_what_it_cannot_show(changes: dict, text: str) -> None:
    assert parse_inbound(fixture("messages_inbound_sms", changes)).text == text


@pytest.mark.parametrize(("changes", "reason"), **table(MESSAGES_BAD))
def test_parse_messages_api_inbound_refuses(changes: dict, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_inbound(fixture("messages_inbound_sms", changes))
    assert caught.value.status == 400
    assert reason in caught.value.reason


# fmt: off
ADDRESSES = [
    ("e164-digits", "447700900001", THEM, AddressKind.E164),
    ("e164-spaces", " 44 7700 900001 ", THEM, AddressKind.E164),
    ("short-code", "12345", "12345", AddressKind.SHORT_CODE),
    ("alphanumeric", "Acme Inc", "Acme Inc", AddressKind.ALPHANUMERIC),
    ("national-format-kept-as-name", "07700900001", "07700900001", AddressKind.ALPHANUMERIC),
]
BAD_ADDRESSES = [("short-plus", "+12"), ("19-digits", "4477009000011234567"),
                 ("long-name", "x" * 21), ("empty", "")]
# fmt: on


@pytest.mark.parametrize(("raw", "value", "kind"), **table(ADDRESSES))
def test_normalise_address(raw: str, value: str, kind: AddressKind) -> None:
    normalised = normalise_address(raw, field="sender", allow_alphanumeric=True)
    assert (normalised, address_kind(normalised)) == (value, kind)


@pytest.mark.parametrize("raw", **table(BAD_ADDRESSES))
def test_normalise_address_refuses(raw: str) -> None:
    with pytest.raises(InvalidInput, match="not a phone number"):
        normalise_address(raw, field="sender", allow_alphanumeric=True)


# --- parse_receipt -------------------------------------------------------------------------

DLR, STATUS, REJECTED = (
    "sms_delivery_receipt",
    "messages_status_submitted",
    "messages_status_rejected",
)
# fmt: off
RECEIPTS = [
    ("sms-api-delivered", DLR, {}, "DELIVERED", None, None),
    ("sms-api-failed-call-barred", "sms_delivery_receipt_failed", {}, "FAILED", "4",
     "Call Barred by User: "),
    ("sms-api-accepted-ignores-err-code", DLR, {"status": "accepted", "err-code": "1"},
     "SUBMITTED", None, None),
    ("sms-api-buffered", DLR, {"status": "buffered"}, "SUBMITTED", None, None),
    ("sms-api-expired", DLR, {"status": "expired", "err-code": "2"}, "EXPIRED", "2",
     "Absent Subscriber - Temporary: "),
    ("sms-api-rejected-upper-case", DLR, {"status": "REJECTED", "err-code": "6"}, "REJECTED", "6",
     "Anti-Spam Rejection: "),
    ("sms-api-unknown-no-error", DLR, {"status": "unknown"}, "SUBMITTED", None, None),
    ("sms-api-unknown-with-error", DLR, {"status": "unknown", "err-code": "99"}, "FAILED", "99",
     "General Error: "),
    ("sms-api-unlisted-err-code", DLR, {"status": "failed", "err-code": "77"}, "FAILED", "77",
     "Unknown error: "),
    ("messages-api-submitted", STATUS, {}, "SUBMITTED", None, None),
    ("messages-api-rejected", REJECTED, {}, "REJECTED", "1050", "Number barred - The number"),
    ("messages-api-undeliverable", STATUS, {"status": "undeliverable"}, "FAILED", None, None),
    ("messages-api-read", STATUS, {"status": "read"}, "DELIVERED", None, None),
]
RECEIPTS_BAD = [
    ("sms-api-no-message-id", DLR, {"messageId": None}, "missing field(s): messageId"),
    ("sms-api-no-status", DLR, {"status": None}, "missing field(s): status"),
    ("sms-api-odd-status", DLR, {"status": "teleported"}, "teleported"),
    ("messages-api-odd-status", STATUS, {"status": "seen"}, "seen"),
    ("messages-api-error-not-object", REJECTED, {"error": "oops"}, "'error' must be an object"),
]
# fmt: on


@pytest.mark.parametrize(("name", "changes", "status", "code", "text"), **table(RECEIPTS))
def test_parse_receipt(
    name: str, changes: dict, status: str, code: str | None, text: str | None
) -> None:
    receipt = parse_receipt(fixture(name, changes))
    assert isinstance(receipt, DeliveryReceipt)
    expected_id = UUID if is_messages_api(fixture(name)) else fixture(name)["messageId"]
    assert (receipt.provider_message_id, receipt.status) == (expected_id, MessageStatus[status])
    assert receipt.error_code == code
    if text is None:
        assert receipt.error_text is None
    else:
        assert receipt.error_text is not None and receipt.error_text.startswith(text)


@pytest.mark.parametrize(("name", "changes", "reason"), **table(RECEIPTS_BAD))
def test_parse_receipt_refuses(name: str, changes: dict, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_receipt(fixture(name, changes))
    assert caught.value.status == 400
    assert reason in caught.value.reason


def test_is_messages_api_tells_the_shapes_apart() -> None:
    shapes = ["messages_inbound_sms", STATUS, "sms_inbound", DLR]
    assert [is_messages_api(fixture(name)) for name in shapes] == [True, True, False, False]


# --- codes ---------------------------------------------------------------------------------


def test_code_tables_cover_the_documented_codes() -> None:
    assert sorted(SEND_STATUS_CODES) == [*range(13), 14, 15, 22, 23, 29, 32, 33]
    assert sorted(RECEIPT_ERROR_CODES) == [*range(17), 50, 51, 52, 53, 54, 99]
    blocked = [
        code for code, info in sorted(RECEIPT_ERROR_CODES.items()) if info.means_recipient_blocked
    ]
    assert blocked == [4, 9, 53]


# fmt: off
SEND_LOOKUPS = [
    ("throttled-retryable", 1, "Throttled", True, True),
    ("barred-final", "7", "Number Barred", False, True),
    ("out-of-credit-not-retried", 9, "Partner Quota Violation", False, True),
    ("unlisted", 13, "Unknown status", False, False),
    ("garbage", "abc", "Unknown status", False, False),
    ("none", None, "Unknown status", False, False),
]
RECEIPT_LOOKUPS = [
    ("consent-blocked", "53", "Consent Filter", True, False, True),
    ("busy-retry", " 7 ", "Handset Busy", False, True, True),
    ("anti-spam-not-recipient", 6, "Anti-Spam Rejection", False, False, True),
    ("unlisted", 1000, "Unknown error", False, False, False),
    ("bool-is-not-a-code", True, "Unknown error", False, False, False),
]
# fmt: on


@pytest.mark.parametrize(("code", "name", "retryable", "known"), **table(SEND_LOOKUPS))
def test_describe_send_status_never_raises(
    code: Any, name: str, retryable: bool, known: bool
) -> None:
    info = describe_send_status(code)
    assert (info.name, info.retryable, info.known) == (name, retryable, known)
    assert info.words


@pytest.mark.parametrize(("code", "name", "blocked", "retry", "known"), **table(RECEIPT_LOOKUPS))
def test_describe_receipt_error_never_raises(
    code: Any, name: str, blocked: bool, retry: bool, known: bool
) -> None:
    info = describe_receipt_error(code)
    assert (info.name, info.means_recipient_blocked, info.retry_may_help, info.known) == (
        name,
        blocked,
        retry,
        known,
    )
    assert info.words


# Pieces a form body is made of, the awkward ones included: escapes cut short or invalid,
# a surrogate's UTF-8 bytes, NUL, '+' for a space, empty pairs and keys given twice.
_FORM_PIECES = st.sampled_from(
    [*"ab=&%+ é\x00;", "%ZZ", "%E2%82", "%ED%A0%BD", "%C3%A9", "%2", "==", "%26", "%3D"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_FORM_PIECES, max_size=30).map("".join), st.sampled_from(["utf-8", "latin-1"]))
def test_a_form_body_reads_as_the_standard_library_reads_it(text: str, charset: str) -> None:
    pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors=LENIENT)
    if len({key for key, _ in pairs}) < len(pairs):
        with pytest.raises(InvalidInput, match="appears more than once"):
            form_params(text, charset=charset)
    else:
        assert form_params(text, charset=charset) == dict(pairs)
