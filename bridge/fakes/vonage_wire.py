"""The SMS API's and Messages API's answers as Vonage writes them, and how they count parts.

https://developer.vonage.com/api-errors/sms (SMS API status codes), RFC 7807 problems
(https://developer.vonage.com/api-errors) for the Messages API.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# SMS API `status` values and their `error-text`: https://developer.vonage.com/api-errors/sms
SMS_ERROR_TEXT = {
    "1": "Throttled",
    "2": "Missing Parameters",
    "3": "Invalid Parameters",
    "4": "Bad Credentials",
    "5": "Internal Error",
    "6": "Invalid Message",
    "7": "Number Barred",
    "8": "Partner Account Barred",
    "9": "Partner Quota Violation",
    "14": "Invalid Signature",
    "15": "Invalid Sender Address",
}
# GSM 03.38: basic characters take one septet, the extension table two (escape + char).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
PRICE_PER_PART = "0.03330000"
NETWORK_CODE = "23410"


async def read_params(request: web.Request) -> dict[str, str]:
    """The SMS API takes form fields, JSON or a query string."""
    params = dict(request.query)
    if request.content_type == "application/json":
        params.update({k: str(v) for k, v in (await request.json()).items()})
    else:
        params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


def jwt_claims(token: str) -> dict[str, Any] | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def sms_error(status: str, error_text: str | None = None) -> web.Response:
    entry = {"status": status, "error-text": error_text or SMS_ERROR_TEXT.get(status, "Error")}
    return web.json_response({"message-count": "1", "messages": [entry]})


_PROBLEMS = {  # RFC 7807 bodies: https://developer.vonage.com/api-errors
    400: ("invalid-json", "Invalid JSON", "The request body did not contain valid JSON."),
    401: ("unauthorized", "Unauthorized", "You did not provide correct credentials."),
    422: ("invalid-params", "Invalid params", "The value of one or more parameters is invalid."),
    429: ("throttled", "Rate Limit Hit", "Please wait, then retry your request"),
    500: ("internal-error", "Internal Error", "An error occurred in the platform."),
}


def problem(status: int, detail: str | None = None, **extra: Any) -> web.Response:
    code, title, default = _PROBLEMS.get(status, ("error", "Error", "Request failed."))
    body = {"type": f"https://developer.vonage.com/api-errors#{code}", "title": title}
    body |= {"detail": detail or default, "instance": str(uuid.uuid4())} | extra
    return web.json_response(body, status=status, content_type="application/problem+json")


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def sms_parts(text: str, *, unicode: bool = False) -> int:
    """Parts a carrier splits `text` into: 160/153 septets (GSM-7) or 70/67 UCS-2 units."""
    if not unicode and is_gsm7(text):
        septets = len(text) + sum(c in GSM7_EXTENDED for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def unfit_message_fields(body: dict[str, Any]) -> list[str]:
    """The fields of a Messages API send the fake does not take: an SMS (`channel` `sms`,
    `message_type` `text`) or an MMS picture (`mms`, `image` with its `url`)."""
    if body.get("channel") == "mms":
        wanted, needed = {"message_type": "image"}, ("to", "from")
        image = body.get("image")
        bad = [] if isinstance(image, dict) and image.get("url") else ["image.url"]
    else:
        wanted, needed, bad = {"channel": "sms", "message_type": "text"}, ("to", "from", "text"), []
    bad += [name for name, value in wanted.items() if body.get(name) != value]
    return bad + [name for name in needed if not body.get(name)]


# What the fake keeps about failures it was asked for and about its rate limit.
@dataclass(slots=True)
class Failure:
    sms_status: str | None
    http_status: int | None
    error_text: str | None
    remaining: int


@dataclass(slots=True)
class Bucket:
    per_second: float
    burst: int
    tokens: float
    stamp: float = field(default_factory=time.monotonic)
