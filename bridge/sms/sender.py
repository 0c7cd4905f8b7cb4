"""Sending texts through Vonage: the SMS API, or the Messages API when an application is set.

Each send is one HTTP call (`VonageClient`); the request bodies are the SDK's models, so
what goes out is what the SDK would send.
"""

from __future__ import annotations

import asyncio
import logging

from vonage_http_client import Auth
from vonage_messages import MmsImage, MmsResource, Sms
from vonage_sms import SmsMessage

from bridge.config import Settings
from bridge.domain.segments import measure
from bridge.domain.values import PhoneNumber, SentSms
from bridge.errors import SendError
from bridge.sms.client import VonageClient, http_failure
from bridge.sms.codes import describe_send_status
from bridge.store.coordination import LocalRateLimiter, RateLimiter

log = logging.getLogger(__name__)

# https://developer.vonage.com/en/api/sms#send-an-sms (responses): '0' is success.
_SMS_OK = "0"


def vonage_auth(settings: Settings) -> Auth:
    """The account's credentials as the SDK holds them: the application's key, or the API's."""
    if settings.uses_messages_api:
        return Auth(
            application_id=settings.vonage_application_id,
            private_key=settings.private_key_pem(),
            api_key=settings.vonage_api_key,
            api_secret=_secret(settings),
        )
    assert settings.vonage_api_key and settings.vonage_api_secret
    return Auth(api_key=settings.vonage_api_key, api_secret=_secret(settings))


def _secret(settings: Settings) -> str | None:
    secret = settings.vonage_api_secret
    return secret.get_secret_value() if secret is not None else None


class VonageSender:
    """Implements `SmsSender` through the SMS API, or the Messages API when configured."""

    def __init__(
        self, settings: Settings, client: VonageClient, *, limiter: RateLimiter | None = None
    ) -> None:
        self._client = client
        self._messages_api = settings.uses_messages_api
        self._limiter = limiter or LocalRateLimiter()
        self._account = settings.vonage_application_id or settings.vonage_api_key or "account"
        self._rate = settings.vonage_requests_per_second
        self.sends_mms = self._messages_api

    async def send(
        self,
        *,
        to: PhoneNumber,
        sender: PhoneNumber,
        text: str,
        client_ref: str,
        image_url: str | None = None,
    ) -> SentSms:
        # One budget per Vonage account, shared by every instance (SMS API default: 30/s).
        wait = await self._limiter.reserve(
            f"vonage:{self._account}", rate=self._rate, burst=max(1, int(self._rate))
        )
        if wait > 0:
            await asyncio.sleep(wait)
        if image_url is not None:
            if not self.sends_mms:
                raise SendError("MMS needs the Messages API", retryable=False)
            image = MmsResource(url=image_url, caption=text or None)
            return await self._post_message(
                MmsImage(to=_digits(to), from_=_digits(sender), image=image, client_ref=client_ref)
            )
        send = self._send_messages_api if self._messages_api else self._send_sms_api
        return await send(_digits(to), _digits(sender), text, client_ref)

    async def close(self) -> None:
        await self._client.close()

    async def _send_sms_api(self, to: str, sender: str, text: str, client_ref: str) -> SentSms:
        message = SmsMessage(
            to=to, from_=sender, text=text, type=_sms_type(text), client_ref=client_ref
        )
        client = self._client
        status, answer, headers = await client.request(
            "POST",
            client.rest_host,
            "/sms/json",
            credentials="body",
            form=message.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
        if status >= 300:
            raise http_failure(status, headers, "the SMS API")
        # The raw answer keeps each part's status code, which the SDK would fold into prose.
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

    async def _send_messages_api(self, to: str, sender: str, text: str, client_ref: str) -> SentSms:
        return await self._post_message(Sms(to=to, from_=sender, text=text, client_ref=client_ref))

    async def _post_message(self, message: Sms | MmsImage) -> SentSms:
        client = self._client
        status, answer, headers = await client.request(
            "POST",
            client.api_host,
            "/v1/messages",
            credentials="jwt",
            json=message.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
        if status >= 300:
            raise http_failure(status, headers, "the Messages API")
        if not isinstance(answer, dict) or not isinstance(answer.get("message_uuid"), str):
            # Taken (2xx) but unnamed: sending again could send twice; the receipt tells.
            raise SendError("the Messages API answered without a message_uuid", retryable=True)
        return SentSms([answer["message_uuid"]])


def _sms_type(text: str) -> str:
    return "unicode" if measure(text).encoding == "UCS-2" else "text"


def _digits(number: str) -> str:
    # Vonage takes international numbers without the leading '+'.
    return number.removeprefix("+")
