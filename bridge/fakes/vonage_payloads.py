"""What Vonage sends the bridge, built as Vonage builds it: inbound texts and delivery
receipts of the SMS API (signed form fields), and the Messages API's JSON webhooks with
their signed JWT."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bridge.fakes.vonage_wire import NETWORK_CODE, PRICE_PER_PART, is_gsm7
from bridge.sms.signatures import sign_sms_params


def sign_params(params: Mapping[str, str], *, secret: str, method: str = "md5") -> dict[str, str]:
    """Add `timestamp`, `nonce` and `sig` as Vonage signs webhooks (`method` as configured)."""
    signed = dict(params)
    signed.setdefault("timestamp", str(int(time.time())))
    signed.setdefault("nonce", str(uuid.uuid4()))
    return signed | {"sig": sign_sms_params(signed, secret=secret, method=method)}


def _signed(params: dict[str, str], secret: str | None, method: str) -> dict[str, str]:
    return sign_params(params, secret=secret, method=method) if secret else params


def sms_inbound_params(
    *,
    msisdn: str,
    to: str,
    text: str,
    message_id: str | None = None,
    timestamp: datetime | None = None,
    concat: tuple[str, int, int] | None = None,
    api_key: str = "fake-key",
    signature_secret: str | None = None,
    signature_method: str = "md5",
) -> dict[str, str]:
    """An SMS API inbound-message webhook; `concat` is (ref, total, part) for long texts."""
    when = timestamp or datetime.now(UTC)
    params = {"msisdn": msisdn, "to": to, "messageId": message_id or uuid.uuid4().hex[:16].upper()}
    params |= {"text": text, "type": "text" if is_gsm7(text) else "unicode"}
    params |= {"keyword": (text.split() or [""])[0].upper(), "api-key": api_key}
    params["message-timestamp"] = when.strftime("%Y-%m-%d %H:%M:%S")
    if concat is not None:
        ref, total, part = concat
        params |= {"concat": "true", "concat-ref": ref, "concat-total": str(total)}
        params["concat-part"] = str(part)
    return _signed(params, signature_secret, signature_method)


def sms_receipt_params(
    *,
    message_id: str,
    msisdn: str,
    to: str,
    status: str,
    err_code: str = "0",
    price: str = PRICE_PER_PART,
    client_ref: str | None = None,
    api_key: str = "fake-key",
    signature_secret: str | None = None,
    signature_method: str = "md5",
) -> dict[str, str]:
    """An SMS API delivery receipt: `msisdn` is the recipient, `to` our sender id."""
    now = datetime.now(UTC)
    params = {"msisdn": msisdn, "to": to, "network-code": NETWORK_CODE, "messageId": message_id}
    params |= {"price": price, "status": status, "scts": now.strftime("%y%m%d%H%M")}
    params |= {"err-code": err_code, "api-key": api_key}
    params["message-timestamp"] = now.strftime("%Y-%m-%d %H:%M:%S")
    if client_ref:
        params["client-ref"] = client_ref
    return _signed(params, signature_secret, signature_method)


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def messages_inbound_json(
    *, from_: str, to: str, text: str, message_uuid: str | None = None
) -> dict[str, Any]:
    """A Messages API inbound SMS webhook body."""
    body = {"channel": "sms", "message_uuid": message_uuid or str(uuid.uuid4()), "to": to}
    body |= {"from": from_, "timestamp": _iso_now(), "text": text, "message_type": "text"}
    body["origin"] = {"network_code": NETWORK_CODE}
    body["usage"] = {"currency": "EUR", "price": "0.0057"}
    body["sms"] = {"num_messages": "1", "keyword": (text.split() or [""])[0].upper()}
    return body


def messages_inbound_media_json(
    *, from_: str, to: str, kind: str, url: str, caption: str | None = None, channel: str = "mms"
) -> dict[str, Any]:
    """A Messages API inbound message carrying a file: `{kind: {"url", "caption"}}`."""
    body = {"channel": channel, "message_uuid": str(uuid.uuid4()), "to": to, "from": from_}
    body |= {"timestamp": _iso_now(), "message_type": kind}
    body[kind] = {"url": url} | ({"caption": caption} if caption is not None else {})
    return body


def messages_status_json(
    *,
    message_uuid: str,
    to: str,
    from_: str,
    status: str,
    error: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """A Messages API status webhook; `error` is (code, detail) for rejected/undeliverable."""
    body = {"message_uuid": message_uuid, "to": to, "from": from_, "timestamp": _iso_now()}
    body |= {"status": status, "channel": "sms", "destination": {"network_code": NETWORK_CODE}}
    if status in ("submitted", "delivered"):
        body |= {"usage": {"currency": "EUR", "price": "0.0333"}, "sms": {"count_total": "1"}}
    if error is not None:
        code, detail = error
        error_type = f"https://developer.vonage.com/api-errors/messages#{code}"
        body["error"] = {"type": error_type, "title": code, "detail": detail}
        body["error"]["instance"] = str(uuid.uuid4())
    return body


def messages_webhook_authorization(
    body: bytes, *, signature_secret: str, api_key: str = "fake-key", application_id: str = ""
) -> str:
    """The `Authorization` header Vonage puts on signed Messages API webhooks.

    A HS256 JWT signed with the account's signature secret whose `payload_hash` claim is
    the SHA-256 of the body: https://developer.vonage.com/en/getting-started/concepts/webhooks
    """
    claims = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "iss": "Vonage"}
    claims |= {"payload_hash": hashlib.sha256(body).hexdigest(), "api_key": api_key}
    claims["application_id"] = application_id
    segments = [_b64url({"alg": "HS256", "typ": "JWT"}), _b64url(claims)]
    signing_input = ".".join(segments).encode()
    signature = hmac.new(signature_secret.encode(), signing_input, hashlib.sha256).digest()
    return "Bearer " + ".".join(
        [*segments, base64.urlsafe_b64encode(signature).decode().rstrip("=")]
    )


def _b64url(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
