"""The Vonage webhook endpoints: verify, parse, store, answer. Nothing else happens inside."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from bridge.clock import Clock
from bridge.config import SignatureMethod
from bridge.errors import InvalidInput
from bridge.metrics import Metrics
from bridge.routing.chat_settings import SettingsBook
from bridge.routing.conversations import accept_inbound, accept_receipt
from bridge.sms.signatures import verify_messages_jwt, verify_sms_signature
from bridge.sms.webhooks import (
    WebhookRequest,
    is_messages_api,
    parse_inbound,
    parse_receipt,
    webhook_params,
)
from bridge.store.repo import Store

log = logging.getLogger(__name__)


class VonageWebhooks:
    """aiohttp handlers for `/vonage/inbound` and `/vonage/status`."""

    def __init__(
        self,
        *,
        store: Store,
        metrics: Metrics,
        book: SettingsBook,
        signature_secret: SecretStr | None,
        signature_method: SignatureMethod,
        clock: Clock,
    ) -> None:
        self.clock = clock
        self.store = store
        self.metrics = metrics
        self.book = book
        self.signature_secret = signature_secret
        self.signature_method = signature_method

    async def inbound(self, request: web.Request) -> web.Response:
        async def store_inbound(params: dict[str, Any]) -> None:
            sms = parse_inbound(params)
            async with self.store.unit() as repo:
                result = await accept_inbound(
                    repo, sms, inbox=self.book.inbox, rules=self.book.rules, now=self.clock.now()
                )
            if not result.duplicate:
                self.metrics.messages_in.inc()

        return await self._handle(request, "inbound", store_inbound)

    async def status(self, request: web.Request) -> web.Response:
        async def store_receipt(params: dict[str, Any]) -> None:
            receipt = parse_receipt(params)
            async with self.store.unit() as repo:
                await accept_receipt(repo, receipt, rules=self.book.rules)

        return await self._handle(request, "status", store_receipt)

    async def _handle(
        self,
        request: web.Request,
        endpoint: str,
        accept: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> web.Response:
        if request.method not in ("GET", "POST"):
            return web.Response(status=405, headers={"Allow": "GET, POST"})
        try:
            neutral = WebhookRequest(
                method=request.method,
                content_type=request.headers.get("Content-Type", ""),
                query=dict(request.query),
                body=await request.read(),
                headers=dict(request.headers),
            )
            params = webhook_params(neutral)
            self._verify(params, neutral)
            await accept(params)
        except InvalidInput as refused:
            self.metrics.webhooks_refused.labels(str(refused.status)).inc()
            log.warning(
                "refused Vonage %s webhook (%s): %s", endpoint, refused.status, refused.reason
            )
            return web.json_response({"error": refused.reason}, status=refused.status)
        return web.Response(status=200)

    def _verify(self, params: dict[str, Any], request: WebhookRequest) -> None:
        secret = self.signature_secret
        if secret is None:
            return
        if is_messages_api(params) or "authorization" in {k.lower() for k in request.headers}:
            authorization = next(
                (v for k, v in request.headers.items() if k.lower() == "authorization"), None
            )
            verify_messages_jwt(
                authorization, request.body, secret=secret.get_secret_value(), now=time.time()
            )
            return
        verify_sms_signature(
            {k: str(v) for k, v in params.items()},
            secret=secret.get_secret_value(),
            method=self.signature_method,
            now=time.time(),
        )
