"""A stand-in for Vonage's SMS API and Messages API over TLS on loopback, plus builders
for the webhooks Vonage sends us.

Wire formats follow developer.vonage.com: the SMS API (POST /sms/json, status codes in
https://developer.vonage.com/api-errors/sms, delivery receipts and inbound SMS as form
fields) and the Messages API (POST /v1/messages, RFC 7807 errors, JSON webhooks).
Point the SDK at it with HttpClientOptions(rest_host=fake.host, api_host=fake.host) and
trust `fake.tls` (REQUESTS_CA_BUNDLE=fake.tls.ca_bundle_path(dir)).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

import aiohttp
from aiohttp import web

from bridge.fakes.tls import TestTls
from bridge.fakes.vonage_account import VonageAccount, basic_credentials
from bridge.sms.signatures import sign_sms_params

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class VonageSend:
    """One message the fake accepted, through either API."""

    api: Literal["sms", "messages"]
    to: str
    from_: str
    text: str
    message_ids: list[str]
    at: float
    client_ref: str | None = None


@dataclass(slots=True)
class _Failure:
    sms_status: str | None
    http_status: int | None
    error_text: str | None
    remaining: int


@dataclass(slots=True)
class _Bucket:
    per_second: float
    burst: int
    tokens: float
    stamp: float = field(default_factory=time.monotonic)


class FakeVonage:
    """An aiohttp app over TLS on 127.0.0.1 taking sends as Vonage would.

    Records accepted sends in `sends`; can fail on demand (`fail_next`), rate-limit
    (`rate_limit`) and post SMS API delivery receipts back (`send_receipts_to`).
    """

    def __init__(
        self,
        *,
        api_key: str = "fake-key",
        api_secret: str = "fake-secret",
        application_id: str = "fake-app-id",
        signature_secret: str | None = None,
        signature_method: str = "md5",
        balance: float = 100.0,
        tls: TestTls | None = None,
    ) -> None:
        self.api_key, self.api_secret, self.application_id = api_key, api_secret, application_id
        self.signature_secret, self.signature_method = signature_secret, signature_method
        # Balance, owned numbers and webhook settings, as the account API tells them.
        self.account = VonageAccount(api_key, api_secret, application_id, balance=balance)
        self.tls = tls or TestTls()
        self.sends: list[VonageSend] = []
        self.rate_limited_count = 0
        self._failures: list[_Failure] = []
        self._bucket: _Bucket | None = None
        self._throttle_sms_with_http = False
        self._receipts: tuple[list[str], str, str] | None = None
        self._receipts_sent = 0
        self._receipt_tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.Transport] = set()
        self._port = 0
        self._next_id = 0x0C00_0000_0000_0000  # SMS API ids: 16 hex digits, e.g. 0C000000217B7F02

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/sms/json", self._sms)
        app.router.add_post("/v1/messages", self._messages)
        self.account.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        handler_factory = self._runner.server
        assert handler_factory is not None

        def protocol() -> asyncio.Protocol:
            return _TrackedProtocol(handler_factory(), self._transports)

        ssl_context = self.tls.server_ssl_context()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, sock=sock, ssl=ssl_context)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # A TLS close waits for the client's close_notify, which a pooled `requests` session
        # never sends; abort what is left so no socket outlives the fake (or the test loop).
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        if self._receipt_tasks:
            await asyncio.gather(*self._receipt_tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> FakeVonage:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def host(self) -> str:
        """What the SDK's `rest_host` and `api_host` options take."""
        return f"127.0.0.1:{self._port}"

    def fail_next(
        self,
        *,
        sms_status: str | None = None,
        http_status: int | None = None,
        error_text: str | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next `times` sends: an SMS API status (SMS API only) or an HTTP status."""
        if (sms_status is None) == (http_status is None):
            raise ValueError("give exactly one of sms_status and http_status")
        self._failures.append(_Failure(sms_status, http_status, error_text, times))

    def rate_limit(self, per_second: float, burst: int, *, sms_as_http_429: bool = False) -> None:
        """One account-wide token bucket for both APIs.

        Beyond it the Messages API answers HTTP 429; the SMS API answers status "1"
        Throttled as Vonage documents, or HTTP 429 with `sms_as_http_429=True`.
        """
        self._bucket = _Bucket(per_second, burst, float(burst))
        self._throttle_sms_with_http = sms_as_http_429

    def send_receipts_to(
        self,
        url: str,
        status: str = "delivered",
        err_code: str = "0",
        *,
        also_to: Sequence[str] = (),
    ) -> None:
        """After each send, POST its receipts to `url`: a delivery receipt per part (SMS API)
        or a message status (Messages API), each naming the send's client-ref.

        With `also_to`, receipts take turns among all the URLs and pass over one that does
        not answer, as a load balancer in front of several instances would.
        """
        self._receipts = ([url, *also_to], status, err_code)

    async def wait_for_sends(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 -- a bounded wait is the point of this helper
    ) -> list[VonageSend]:
        """Return `sends` once it holds at least `count`; TimeoutError otherwise."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(self.sends) >= count)
        except TimeoutError:
            got = [(s.api, s.to) for s in self.sends]
            raise TimeoutError(
                f"FakeVonage: wanted {count} send(s) in {timeout}s, got {got}"
            ) from None
        return list(self.sends)

    # -- SMS API -------------------------------------------------------------------------
    async def _sms(self, request: web.Request) -> web.Response:
        params = await _read_params(request)
        failure = self._take_failure("sms")
        if failure is not None and failure.http_status is not None:
            return _problem(failure.http_status, failure.error_text)
        if not self._take_token():
            if self._throttle_sms_with_http:
                return _problem(429)
            return _sms_error("1")
        refused = self._sms_credentials(request, params)
        if refused:
            return _sms_error(refused)
        for name in ("from", "to", "text"):
            if not params.get(name):
                return _sms_error("2", f"Missing {name} param")
        if failure is not None and failure.sms_status is not None:
            return _sms_error(failure.sms_status, failure.error_text)
        text, to = params["text"], params["to"]
        parts = _sms_parts(text, unicode=params.get("type") == "unicode")
        if self.account.balance < parts * float(PRICE_PER_PART):
            return _sms_error("9")
        entries = []
        for _ in range(parts):
            self.account.balance -= float(PRICE_PER_PART)
            self._next_id += 1
            entry = {"to": to, "message-id": f"{self._next_id:016X}", "status": "0"}
            entry |= {"remaining-balance": f"{self.account.balance:.8f}"}
            entry["message-price"] = PRICE_PER_PART
            entry["network"] = NETWORK_CODE
            if params.get("client-ref"):
                entry["client-ref"] = params["client-ref"]
            entries.append(entry)
        ids = [e["message-id"] for e in entries]
        send = VonageSend(
            api="sms",
            to=to,
            from_=params["from"],
            text=text,
            message_ids=ids,
            at=time.time(),
            client_ref=params.get("client-ref"),
        )
        await self._record(send)
        if self._receipts is not None:
            self._post_receipts(params, ids)
        return web.json_response({"message-count": str(parts), "messages": entries})

    def _sms_credentials(self, request: web.Request, params: Mapping[str, str]) -> str | None:
        """None if allowed, else the SMS API status refusing the request."""
        # SDK v4 sends Basic auth; older clients send api_key/api_secret or a signature.
        basic = basic_credentials(request)
        key, secret = basic or (params.get("api_key"), params.get("api_secret"))
        if key and "sig" in params:  # signed request: api_key, timestamp and sig, no secret
            unsigned = {k: v for k, v in params.items() if k != "sig"}
            good = self.signature_secret is not None and hmac.compare_digest(
                sign_sms_params(
                    unsigned, secret=self.signature_secret, method=self.signature_method
                ),
                params["sig"].lower(),
            )
            return None if good and key == self.api_key else "14"
        if not key or not secret:
            return "2"
        return None if (key, secret) == (self.api_key, self.api_secret) else "4"

    def _post_receipts(self, params: Mapping[str, str], message_ids: list[str]) -> None:
        assert self._receipts is not None and self._session is not None
        urls, status, err_code = self._receipts
        for message_id in message_ids:
            form = sms_receipt_params(
                message_id=message_id,
                msisdn=params["to"],
                to=params["from"],
                status=status,
                err_code=err_code,
                client_ref=params.get("client-ref"),
                api_key=self.api_key,
            )
            turn = self._receipts_sent % len(urls)
            self._receipts_sent += 1
            self._post_later(urls[turn:] + urls[:turn], data=form)

    def _post_later(self, urls: list[str], **body: Any) -> None:
        task = asyncio.create_task(self._post_webhook(urls, **body))
        self._receipt_tasks.add(task)
        task.add_done_callback(self._receipt_tasks.discard)

    async def _post_webhook(self, urls: list[str], **body: Any) -> None:
        assert self._session is not None
        for url in urls:
            try:
                async with self._session.post(url, **body) as response:
                    if response.status < 300:
                        return
                    log.warning("FakeVonage: receipt to %s got HTTP %s", url, response.status)
            except (aiohttp.ClientError, TimeoutError) as err:
                log.warning("FakeVonage: receipt to %s failed: %s", url, err)

    # -- Messages API --------------------------------------------------------------------
    async def _messages(self, request: web.Request) -> web.Response:
        failure = self._take_failure("messages")
        if failure is not None:
            return _problem(failure.http_status or 500, failure.error_text)
        if not self._messages_authorized(request):
            return _problem(401)
        if not self._take_token():
            return _problem(429)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _problem(400)
        wanted = {"channel": "sms", "message_type": "text"}
        bad = [name for name, value in wanted.items() if body.get(name) != value]
        bad += [name for name in ("to", "from", "text") if not body.get(name)]
        if bad:
            invalid = [{"name": name, "reason": "missing or not supported"} for name in bad]
            return _problem(422, invalid_parameters=invalid)
        message_uuid = str(uuid.uuid4())
        send = VonageSend(
            api="messages",
            to=body["to"],
            from_=body["from"],
            text=body["text"],
            message_ids=[message_uuid],
            at=time.time(),
            client_ref=body.get("client_ref"),
        )
        await self._record(send)
        if self._receipts is not None:
            urls, status, _err_code = self._receipts
            receipt = messages_status_json(
                message_uuid=message_uuid, to=body["to"], from_=body["from"], status=status
            )
            if body.get("client_ref"):
                receipt["client_ref"] = body["client_ref"]
            self._post_later(urls, json=receipt)
        return web.json_response({"message_uuid": message_uuid}, status=202)

    def _messages_authorized(self, request: web.Request) -> bool:
        """A Bearer JWT whose application_id claim is ours, or our Basic key and secret."""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            return basic_credentials(request) == (self.api_key, self.api_secret)
        if not auth.startswith("Bearer "):
            return False
        # Only the claims are checked: the fake does not hold the application's public key.
        claims = _jwt_claims(auth[7:])
        if claims is None or claims.get("application_id") != self.application_id:
            return False
        return float(claims.get("exp", math.inf)) > time.time()

    # -- shared ----------------------------------------------------------------------------
    async def _record(self, send: VonageSend) -> None:
        self.sends.append(send)
        async with self._changed:
            self._changed.notify_all()

    def _take_failure(self, api: str) -> _Failure | None:
        # An SMS status only makes sense for the SMS API; HTTP failures hit either API.
        failure = next((f for f in self._failures if api == "sms" or f.http_status), None)
        if failure is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
        return failure

    def _take_token(self) -> bool:
        bucket = self._bucket
        if bucket is None:
            return True
        now = time.monotonic()
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.stamp) * bucket.per_second)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        self.rate_limited_count += 1
        return False


class _TrackedProtocol(asyncio.Protocol):
    """Passes everything to aiohttp's handler, remembering the transport for `stop()`."""

    def __init__(self, inner: asyncio.Protocol, transports: set[asyncio.Transport]) -> None:
        self._inner, self._transports = inner, transports
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._transports.add(self._transport)
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._transports.discard(self._transport)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


async def _read_params(request: web.Request) -> dict[str, str]:
    """The SMS API takes form fields, JSON or a query string."""
    params = dict(request.query)
    if request.content_type == "application/json":
        params.update({k: str(v) for k, v in (await request.json()).items()})
    else:
        params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


def _jwt_claims(token: str) -> dict[str, Any] | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def _sms_error(status: str, error_text: str | None = None) -> web.Response:
    entry = {"status": status, "error-text": error_text or SMS_ERROR_TEXT.get(status, "Error")}
    return web.json_response({"message-count": "1", "messages": [entry]})


_PROBLEMS = {  # RFC 7807 bodies: https://developer.vonage.com/api-errors
    400: ("invalid-json", "Invalid JSON", "The request body did not contain valid JSON."),
    401: ("unauthorized", "Unauthorized", "You did not provide correct credentials."),
    422: ("invalid-params", "Invalid params", "The value of one or more parameters is invalid."),
    429: ("throttled", "Rate Limit Hit", "Please wait, then retry your request"),
    500: ("internal-error", "Internal Error", "An error occurred in the platform."),
}


def _problem(status: int, detail: str | None = None, **extra: Any) -> web.Response:
    code, title, default = _PROBLEMS.get(status, ("error", "Error", "Request failed."))
    body = {"type": f"https://developer.vonage.com/api-errors#{code}", "title": title}
    body |= {"detail": detail or default, "instance": str(uuid.uuid4())} | extra
    return web.json_response(body, status=status, content_type="application/problem+json")


def _is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def _sms_parts(text: str, *, unicode: bool = False) -> int:
    """Parts a carrier splits `text` into: 160/153 septets (GSM-7) or 70/67 UCS-2 units."""
    if not unicode and _is_gsm7(text):
        septets = len(text) + sum(c in GSM7_EXTENDED for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


# -- what Vonage sends the bridge --------------------------------------------------------
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
    params |= {"text": text, "type": "text" if _is_gsm7(text) else "unicode"}
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
