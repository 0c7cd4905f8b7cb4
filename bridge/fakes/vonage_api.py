"""A stand-in for Vonage's SMS API and Messages API over TLS on loopback (what Vonage sends
the bridge is built in vonage_payloads.py).

Wire formats follow developer.vonage.com: the SMS API (POST /sms/json, status codes in
https://developer.vonage.com/api-errors/sms, delivery receipts and inbound SMS as form
fields) and the Messages API (POST /v1/messages, RFC 7807 errors, JSON webhooks).
Point the SDK at it with HttpClientOptions(rest_host=fake.host, api_host=fake.host) and
trust `fake.tls` (REQUESTS_CA_BUNDLE=fake.tls.ca_bundle_path(dir)).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from aiohttp import web

from bridge.fakes.tls import TestTls, TrackedProtocol
from bridge.fakes.vonage_account import VonageAccount, basic_credentials
from bridge.fakes.vonage_media import VonageMediaServer
from bridge.fakes.vonage_payloads import messages_status_json, sms_receipt_params
from bridge.fakes.vonage_voice import FakeVoice
from bridge.fakes.vonage_wire import (
    NETWORK_CODE,
    PRICE_PER_PART,
    Bucket,
    Failure,
    jwt_claims,
    problem,
    read_params,
    sms_error,
    sms_parts,
    unfit_message_fields,
)
from bridge.sms.signatures import sign_sms_params

log = logging.getLogger(__name__)


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
    image_url: str | None = None  # an MMS: the picture Vonage fetches


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
        self.voice = FakeVoice(application_id)  # the Voice API: calls it placed in `calls`
        self.tls = tls or TestTls()
        self.media = VonageMediaServer(lambda: self.host, application_id)
        self.sends: list[VonageSend] = []
        self.rate_limited_count = 0
        self._failures: list[Failure] = []
        self._bucket: Bucket | None = None
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
        self.media.add_routes(app)
        self.voice.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        handler_factory = self._runner.server
        assert handler_factory is not None

        def protocol() -> asyncio.Protocol:
            return TrackedProtocol(handler_factory(), self._transports)

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
        self._failures.append(Failure(sms_status, http_status, error_text, times))

    def rate_limit(self, per_second: float, burst: int, *, sms_as_http_429: bool = False) -> None:
        """One account-wide token bucket for both APIs.

        Beyond it the Messages API answers HTTP 429; the SMS API answers status "1"
        Throttled as Vonage documents, or HTTP 429 with `sms_as_http_429=True`.
        """
        self._bucket = Bucket(per_second, burst, float(burst))
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
        params = await read_params(request)
        failure = self._take_failure("sms")
        if failure is not None and failure.http_status is not None:
            return problem(failure.http_status, failure.error_text)
        if not self._take_token():
            if self._throttle_sms_with_http:
                return problem(429)
            return sms_error("1")
        refused = self._sms_credentials(request, params)
        if refused:
            return sms_error(refused)
        for name in ("from", "to", "text"):
            if not params.get(name):
                return sms_error("2", f"Missing {name} param")
        if failure is not None and failure.sms_status is not None:
            return sms_error(failure.sms_status, failure.error_text)
        text, to = params["text"], params["to"]
        parts = sms_parts(text, unicode=params.get("type") == "unicode")
        if self.account.balance < parts * float(PRICE_PER_PART):
            return sms_error("9")
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
            return problem(failure.http_status or 500, failure.error_text)
        if not self._messages_authorized(request):
            return problem(401)
        if not self._take_token():
            return problem(429)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return problem(400)
        if bad := unfit_message_fields(body):
            invalid = [{"name": name, "reason": "missing or not supported"} for name in bad]
            return problem(422, invalid_parameters=invalid)
        message_uuid = str(uuid.uuid4())
        image = body.get("image") or {}
        send = VonageSend(
            api="messages",
            to=body["to"],
            from_=body["from"],
            text=body.get("text") or image.get("caption") or "",
            image_url=image.get("url"),
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
        claims = jwt_claims(auth[7:])
        if claims is None or claims.get("application_id") != self.application_id:
            return False
        return float(claims.get("exp", math.inf)) > time.time()

    # -- shared ----------------------------------------------------------------------------
    async def _record(self, send: VonageSend) -> None:
        self.sends.append(send)
        async with self._changed:
            self._changed.notify_all()

    def _take_failure(self, api: str) -> Failure | None:
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
