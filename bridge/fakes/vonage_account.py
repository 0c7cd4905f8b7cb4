"""The fake Vonage's account side: balance, owned numbers, webhook settings, applications.

Shapes as the Vonage SDK's models read them (vonage_account, vonage_numbers,
vonage_application): https://developer.vonage.com/en/api/account,
https://developer.vonage.com/en/api/numbers, https://developer.vonage.com/en/api/application.v2
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(slots=True)
class OwnedNumber:
    """A number the account rents, and where Vonage sends what comes to it."""

    msisdn: str  # digits, as Vonage writes them
    country: str = "GB"
    mo_http_url: str | None = None  # the number's own inbound SMS webhook (SMS API)
    app_id: str | None = None  # the application it is linked to (Messages API)


@dataclass(slots=True)
class VonageAccount:
    """What `GET /account/...` and `/v2/applications/{id}` answer, held in memory."""

    api_key: str
    api_secret: str
    application_id: str
    balance: float = 100.0
    numbers: dict[str, OwnedNumber] = field(default_factory=dict)
    # The account's default SMS webhooks (inbound, delivery receipts).
    mo_callback_url: str | None = None
    dr_callback_url: str | None = None
    # The application's Messages webhooks.
    inbound_url: str | None = None
    status_url: str | None = None

    def own(self, msisdn: str, **details: Any) -> OwnedNumber:
        number = OwnedNumber(msisdn.removeprefix("+"), **details)
        self.numbers[number.msisdn] = number
        return number

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/account/get-balance", self._balance)
        app.router.add_get("/account/numbers", self._numbers)
        app.router.add_post("/account/settings", self._settings)
        app.router.add_get("/v2/applications/{id}", self._application)

    def _authorized(self, request: web.Request, params: dict[str, str]) -> bool:
        basic = basic_credentials(request)
        given = basic or (params.get("api_key"), params.get("api_secret"))
        return given == (self.api_key, self.api_secret)

    async def _balance(self, request: web.Request) -> web.Response:
        if not self._authorized(request, dict(request.query)):
            return _refused()
        return web.json_response({"value": round(self.balance, 4), "autoReload": False})

    async def _numbers(self, request: web.Request) -> web.Response:
        if not self._authorized(request, dict(request.query)):
            return _refused()
        size = max(1, min(100, int(request.query.get("size") or 10)))
        index = max(1, int(request.query.get("index") or 1))
        owned = sorted(self.numbers.values(), key=lambda n: n.msisdn)
        page = owned[(index - 1) * size : index * size]
        return web.json_response({"count": len(owned), "numbers": [_number_json(n) for n in page]})

    async def _settings(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not self._authorized(request, form):
            return _refused()
        self.mo_callback_url = form.get("moCallbackUrl", self.mo_callback_url)
        self.dr_callback_url = form.get("drCallbackUrl", self.dr_callback_url)
        return web.json_response(
            {
                "mo-callback-url": self.mo_callback_url or "",
                "dr-callback-url": self.dr_callback_url or "",
                "max-outbound-request": 30,
                "max-inbound-request": 30,
                "max-calls-per-second": 30,
            }
        )

    async def _application(self, request: web.Request) -> web.Response:
        if basic_credentials(request) != (self.api_key, self.api_secret):
            return _refused()
        if request.match_info["id"] != self.application_id:
            return web.json_response(
                {"type": "https://developer.vonage.com/api-errors#not-found", "title": "Not Found"},
                status=404,
            )
        webhooks = {
            name: {"address": url, "http_method": "POST"}
            for name, url in (("inbound_url", self.inbound_url), ("status_url", self.status_url))
            if url
        }
        return web.json_response(
            {
                "id": self.application_id,
                "name": "SMS Chat",
                "capabilities": {"messages": {"webhooks": webhooks, "version": "v1"}},
            }
        )


def _number_json(number: OwnedNumber) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "country": number.country,
        "msisdn": number.msisdn,
        "type": "mobile-lvn",
        "features": ["SMS", "VOICE"],
    }
    if number.mo_http_url:
        shown["moHttpUrl"] = number.mo_http_url
    if number.app_id:
        shown |= {"messagesCallbackType": "app", "messagesCallbackValue": number.app_id}
        shown["app_id"] = number.app_id
    return shown


def basic_credentials(request: web.Request) -> tuple[str, str] | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None
    try:
        key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return key, secret


def _refused() -> web.Response:
    body = {"error-code": "401", "error-code-label": "authentication failed"}
    return web.json_response(body, status=401)
