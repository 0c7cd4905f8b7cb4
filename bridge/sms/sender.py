"""Sending texts with the Vonage SDK, in a small bounded thread pool (the SDK is synchronous).

One SDK client per API: the SDK keeps request headers on the client between calls, so the
SMS API and the Messages API never share one.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from vonage import Auth, HttpClientOptions, Vonage
from vonage_http_client.errors import HttpRequestError
from vonage_messages import Sms
from vonage_sms import SmsMessage

from bridge.config import Settings
from bridge.errors import SendError
from bridge.routing.model import PhoneNumber
from bridge.routing.ports import SentSms
from bridge.routing.segments import measure
from bridge.sms.codes import describe_send_status
from bridge.store.coordination import LocalRateLimiter, RateLimiter

log = logging.getLogger(__name__)

# https://developer.vonage.com/en/api/sms#send-an-sms (responses): '0' is success.
_SMS_OK = "0"
# HTTP answers worth another try: throttling and the server's own trouble.
_RETRYABLE_HTTP = {408, 409, 425, 429, 500, 502, 503, 504}


class VonageSender:
    """Implements `SmsSender` through the SMS API, or the Messages API when configured."""

    def __init__(
        self, settings: Settings, *, limiter: RateLimiter | None = None, threads: int = 4
    ) -> None:
        options: dict[str, Any] = {"timeout": 15, "pool_maxsize": threads}
        if settings.vonage_api_host:
            options["api_host"] = settings.vonage_api_host
        if settings.vonage_rest_host:
            options["rest_host"] = settings.vonage_rest_host
        self._messages_api = settings.uses_messages_api
        if self._messages_api:
            auth = Auth(
                application_id=settings.vonage_application_id,
                private_key=settings.private_key_pem(),
            )
        else:
            assert settings.vonage_api_key and settings.vonage_api_secret
            auth = Auth(
                api_key=settings.vonage_api_key,
                api_secret=settings.vonage_api_secret.get_secret_value(),
            )
        self._client = Vonage(auth, HttpClientOptions(**options))
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vonage")
        self._limiter = limiter or LocalRateLimiter()
        self._account = settings.vonage_application_id or settings.vonage_api_key or "account"
        self._rate = settings.vonage_requests_per_second

    async def send(
        self, *, to: PhoneNumber, sender: PhoneNumber, text: str, client_ref: str
    ) -> SentSms:
        # One budget per Vonage account, shared by every instance (SMS API default: 30/s).
        wait = await self._limiter.reserve(
            f"vonage:{self._account}", rate=self._rate, burst=max(1, int(self._rate))
        )
        if wait > 0:
            await asyncio.sleep(wait)
        loop = asyncio.get_running_loop()
        send = self._send_messages_api if self._messages_api else self._send_sms_api
        return await loop.run_in_executor(
            self._pool, send, _digits(to), _digits(sender), text, client_ref
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _send_sms_api(self, to: str, sender: str, text: str, client_ref: str) -> SentSms:
        message = SmsMessage(
            to=to, from_=sender, text=text, type=_sms_type(text), client_ref=client_ref
        )
        http = self._client.http_client
        # The raw answer keeps each part's status code, which SmsError would fold into prose.
        answer = _guard(
            lambda: http.post(
                http.rest_host,
                "/sms/json",
                message.model_dump(by_alias=True, exclude_none=True),
                "body",
                "form",
            )
        )
        parts = answer.get("messages", []) if isinstance(answer, dict) else []
        failed = [p for p in parts if str(p.get("status")) != _SMS_OK]
        if not parts or failed:
            code = str(failed[0].get("status")) if failed else "5"
            info = describe_send_status(code)
            sent_ids = [p["message-id"] for p in parts if str(p.get("status")) == _SMS_OK]
            if sent_ids:
                # Some parts went out: retrying would send them twice; report instead.
                raise SendError(
                    f"only part of the text was sent: {info.words}", retryable=False, code=code
                )
            raise SendError(info.words, retryable=info.retryable, code=code)
        return SentSms([p["message-id"] for p in parts])

    def _send_messages_api(self, to: str, sender: str, text: str, client_ref: str) -> SentSms:
        sms = Sms(to=to, from_=sender, text=text, client_ref=client_ref)
        answer = _guard(lambda: self._client.messages.send(sms))
        return SentSms([answer.message_uuid])


def _guard(call: Any) -> Any:
    try:
        return call()
    except HttpRequestError as exc:
        status = exc.response.status_code
        retry_after = exc.response.headers.get("Retry-After")
        raise SendError(
            f"Vonage answered HTTP {status}",
            retryable=status in _RETRYABLE_HTTP,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            code=str(status),
        ) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise SendError(f"Vonage unreachable: {type(exc).__name__}", retryable=True) from None


def _sms_type(text: str) -> str:
    return "unicode" if measure(text).encoding == "UCS-2" else "text"


def _digits(number: str) -> str:
    # Vonage takes international numbers without the leading '+'.
    return number.removeprefix("+")
