"""A Vonage webhook's HTTP request as the parsers read it, and its parameters.

Vonage retries any webhook it got no 2xx for, for a day: what a request carries is read
leniently (an undecodable byte never refuses a text), while its shape is checked strictly.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from bridge.errors import InvalidInput

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"


def _lenient(error: UnicodeError) -> tuple[str, int]:
    """A decoding error handler that never fails: a UTF-8-encoded surrogate passes through as
    that surrogate (Vonage sends each half of an emoji that a part boundary split this way,
    and joining the parts puts it together again); any other undecodable byte becomes U+FFFD.

    Vonage retries a webhook it got no 2xx for, for a day: refusing a genuine text for a
    stray byte would refuse every retry too, and the text would never arrive.
    """
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.start + 3]
    if len(chunk) == 3 and chunk[0] == 0xED and 0xA0 <= chunk[1] <= 0xBF and 0x80 <= chunk[2]:
        unit = ((chunk[0] & 0x0F) << 12) | ((chunk[1] & 0x3F) << 6) | (chunk[2] & 0x3F)
        return chr(unit), error.start + 3
    return "\ufffd", error.start + 1


LENIENT = "smschat-lenient"
codecs.register_error(LENIENT, _lenient)


@dataclass(frozen=True)
class WebhookRequest:
    """The parts of an HTTP request a Vonage webhook needs; built by the web handler."""

    method: str
    content_type: str
    query: Mapping[str, str]
    body: bytes
    headers: Mapping[str, str]


def _media_type(content_type: str) -> tuple[str, str]:
    media, _, rest = content_type.partition(";")
    charset = "utf-8"
    for param in rest.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip().strip('"')
    return media.strip().lower(), charset


# Codecs Python knows that turn text into something other than a character set's bytes.
_NOT_CHARSETS = {"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape"}


def _character_set(name: str) -> str:
    """`name` when it is a character set's; else UTF-8: a charset nobody knows, or no
    charset at all (`base64`, `undefined`), and the bytes are still percent escapes."""
    try:
        codec = codecs.lookup(name)
        "".encode(codec.name)  # refuses the codecs of bytes to bytes (base64, zlib)
    except (LookupError, UnicodeError):
        return "utf-8"
    return "utf-8" if codec.name in _NOT_CHARSETS else codec.name


def _body_params(request: WebhookRequest) -> dict[str, object]:
    media, charset = _media_type(request.content_type)
    if media == FORM_CONTENT_TYPE:
        charset = _character_set(charset)
        return form_params(request.body.decode(charset, LENIENT), charset=charset)
    if media == JSON_CONTENT_TYPE:
        try:
            decoded = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise InvalidInput("body is not valid JSON") from None
        if not isinstance(decoded, dict):
            raise InvalidInput("JSON body must be an object")
        return decoded
    shown = media or "none"
    raise InvalidInput(
        f"unsupported content type {shown[:80]!r}; expected {FORM_CONTENT_TYPE} or "
        f"{JSON_CONTENT_TYPE}",
        status=415,
    )


def form_params(text: str, *, charset: str = "utf-8") -> dict[str, object]:
    """`a=1&b=2` (a query string or a form body) as a dict; a key given twice is refused.

    Read as `urllib.parse.parse_qsl(keep_blank_values=True)` reads it, at half its cost:
    it was the largest part of a webhook's own CPU.
    """
    params: dict[str, object] = {}
    for pair in text.split("&") if text else ():
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = _form_unquote(raw_key, charset)
        if key in params:
            raise InvalidInput(f"parameter {key[:40]!r} appears more than once")
        params[key] = _form_unquote(raw_value, charset)
    return params


def _form_unquote(text: str, charset: str) -> str:
    text = text.replace("+", " ")
    return unquote(text, encoding=charset, errors=LENIENT) if "%" in text else text


def webhook_params(request: WebhookRequest) -> dict[str, object]:
    """Merge the query string and the body into one dict of parameters.

    The SMS API can use GET (query string), POST form or POST JSON; the Messages API posts
    JSON. Vonage says mixing query and body parameters is unsupported, so a key present in
    both with different values is refused rather than silently picking one.
    """
    params: dict[str, object] = dict(request.query)
    if _method(request) == "GET" or not request.body:
        return params
    for key, value in _body_params(request).items():
        if key in params and params[key] != value:
            raise InvalidInput(f"parameter {key[:40]!r} differs between query string and body")
        params[key] = value
    return params


def body_params(request: WebhookRequest) -> dict[str, object]:
    """The parameters of a request's body alone: all that a Messages API JWT signs."""
    _method(request)
    return _body_params(request) if request.body else {}


def _method(request: WebhookRequest) -> str:
    method = request.method.upper()
    if method not in ("GET", "POST"):
        raise InvalidInput(f"method {method[:10]} not allowed; use GET or POST", status=405)
    return method
