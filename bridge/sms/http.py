"""The Vonage webhook endpoints: verify, parse, store, answer. Nothing else happens inside.

Verification decides what a request's parameters are, before any handler sees them: a
signed request's parameters are exactly what its signature covers. An SMS API `sig` is
computed over every parameter, wherever it came from; a Messages API JWT covers only the
body, so such a request may carry no query string. Each JWT is accepted once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import SecretStr

from bridge.clock import Clock
from bridge.config import SignatureMethod
from bridge.domain.events import call_event, inbound_event, media_event, receipt_event
from bridge.errors import InvalidInput
from bridge.metrics import Metrics
from bridge.routing.ports import EventIntake, SeenOnce
from bridge.sms.requests import WebhookRequest, body_params, form_params, webhook_params
from bridge.sms.signatures import JWT_VALIDITY_SECONDS, verify_messages_jwt, verify_sms_signature
from bridge.sms.voice import parse_call_event
from bridge.sms.webhooks import parse_inbound, parse_media, parse_receipt

log = logging.getLogger(__name__)

AUTHORIZATION = "Authorization"


class VonageWebhooks:
    """aiohttp handlers for `/vonage/inbound` and `/vonage/status`."""

    def __init__(
        self,
        *,
        intake: EventIntake,
        metrics: Metrics,
        signature_secret: SecretStr | None,
        signature_method: SignatureMethod,
        seen: SeenOnce,
        clock: Clock,
    ) -> None:
        self.clock = clock
        self.intake = intake
        self.metrics = metrics
        self.signature_secret = signature_secret
        self.signature_method = signature_method
        self.seen = seen

    async def inbound(self, request: web.Request) -> web.Response:
        async def keep_inbound(params: dict[str, Any]) -> None:
            sms, media, at = parse_inbound(params), parse_media(params), self.clock.now()
            event = inbound_event(sms, at=at) if media is None else media_event(sms, media, at=at)
            await self.intake.keep(event)

        return await self._handle(request, "inbound", keep_inbound)

    async def status(self, request: web.Request) -> web.Response:
        async def keep_receipt(params: dict[str, Any]) -> None:
            await self.intake.keep(receipt_event(parse_receipt(params), at=self.clock.now()))

        return await self._handle(request, "status", keep_receipt)

    async def voice_event(self, request: web.Request) -> web.Response:
        """A Voice API call event: signed with the same JWT as the Messages API's webhooks."""

        async def keep_call_event(params: dict[str, Any]) -> None:
            await self.intake.keep(call_event(parse_call_event(params), at=self.clock.now()))

        return await self._handle(request, "voice event", keep_call_event)

    async def _handle(
        self,
        request: web.Request,
        endpoint: str,
        accept: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> web.Response:
        if request.method not in ("GET", "POST"):
            return web.Response(status=405, headers={"Allow": "GET, POST"})
        try:
            params, token = await self.verified_params(await neutral_request(request))
            try:
                await accept(params)
            except Exception:
                # Not kept (the store is away): the carrier's retry must not be a replay.
                if token is not None:
                    try:
                        await self.seen.forget(token)
                    except Exception as exc:
                        log.warning("could not let a signed webhook in again: %s", exc)
                raise
        except InvalidInput as refused:
            self.metrics.webhooks_refused.labels(str(refused.status)).inc()
            log.warning(
                "refused Vonage %s webhook (%s): %s", endpoint, refused.status, refused.reason
            )
            return web.json_response({"error": refused.reason}, status=refused.status)
        return web.Response(status=200)

    async def verified_params(self, request: WebhookRequest) -> tuple[dict[str, Any], str | None]:
        """The parameters a request may be taken by, once it proved where it came from, and
        the token it was accepted by (a JWT is accepted once).

        Raises `InvalidInput` (401 for a signature, 400 for a shape) otherwise.
        """
        secret = self.signature_secret
        if secret is None:
            return webhook_params(request), None  # unsigned mode: the start-up log warned
        authorization = request.headers.get(AUTHORIZATION)
        if authorization is not None:
            if request.query:
                raise InvalidInput(
                    "a signed Messages API webhook carries no query string: its signature "
                    "covers the body alone"
                )
            token = verify_messages_jwt(
                authorization, request.body, secret=secret.get_secret_value(), now=time.time()
            )
            seen_as = f"vonage-jwt:{token}"
            if not await self.seen.first_time(seen_as, ttl=JWT_VALIDITY_SECONDS):
                raise InvalidInput("this signed webhook was already accepted", status=401)
            return body_params(request), seen_as
        params = webhook_params(request)
        verify_sms_signature(
            {k: str(v) for k, v in params.items()},
            secret=secret.get_secret_value(),
            method=self.signature_method,
            now=time.time(),
        )
        return params, None


async def neutral_request(request: web.Request) -> WebhookRequest:
    """The parts of an aiohttp request a webhook needs, decoded the way Vonage encodes them.

    The query string is read raw: aiohttp's decoding would turn what cannot be decoded into
    replacement characters that no signature covers.
    """
    return WebhookRequest(
        method=request.method,
        content_type=request.headers.get("Content-Type", ""),
        query=form_params(urlsplit(request.raw_path).query),
        body=await request.read(),
        headers={AUTHORIZATION: request.headers[AUTHORIZATION]}
        if AUTHORIZATION in request.headers
        else {},
    )
