"""HTTP calls to Vonage, one attempt each, on the bridge's event loop.

The Vonage SDK supplies the credentials (`vonage_http_client.Auth`: basic auth, the
application's JWT) and the request models; the calls themselves go through aiohttp here,
because the SDK's own transport retries by itself: urllib3 retries and a loop that sends a
request again when the connection drops after Vonage took it. A text must not go twice:
whether to try again is the outbox's decision, after it looked for the first attempt's
receipt. (https://developer.vonage.com/en/api/sms, https://developer.vonage.com/en/api/messages)
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp
from vonage_http_client import Auth

from bridge.errors import SendError

log = logging.getLogger(__name__)

REST_HOST = "rest.nexmo.com"  # the SMS API and the account API
API_HOST = "api.nexmo.com"  # the Messages, Voice and Applications APIs
# HTTP answers worth another try: throttling and the server's own trouble.
RETRYABLE_HTTP = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# The application JWT is signed afresh only this often (the SDK's tokens live 15 minutes).
JWT_REUSE_SECONDS = 600

Credentials = Literal["body", "basic", "jwt"]


class VonageClient:
    """Vonage's REST hosts over one aiohttp session; every call is made exactly once."""

    def __init__(
        self,
        auth: Auth,
        *,
        rest_host: str | None = None,
        api_host: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.auth = auth
        self.rest_host = rest_host or REST_HOST
        self.api_host = api_host or API_HOST
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Built now, not at import: it trusts what SSL_CERT_FILE names at start.
        self._ssl = ssl.create_default_context()
        self._session: aiohttp.ClientSession | None = None
        self._jwt: tuple[float, str] | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def bearer(self) -> str:
        """`Bearer <application JWT>`, reused while it is young."""
        now = time.monotonic()
        if self._jwt is None or now - self._jwt[0] > JWT_REUSE_SECONDS:
            self._jwt = (now, self.auth.create_jwt_auth_string().decode())
        return self._jwt[1]

    async def request(
        self,
        method: str,
        host: str,
        path: str,
        *,
        credentials: Credentials,
        form: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """(HTTP status, decoded JSON or None, headers) of one call.

        Raises `SendError(retryable=True)` when no answer came: the call may or may not
        have had its effect.
        """
        headers = {"Accept": "application/json", "User-Agent": "smschat-bridge"}
        if credentials == "basic":
            headers["Authorization"] = self.auth.create_basic_auth_string()
        elif credentials == "jwt":
            headers["Authorization"] = self.bearer()
        elif form is not None:
            form = {**form, "api_key": self.auth.api_key, "api_secret": self.auth.api_secret}
        elif query is not None:
            query = {**query, "api_key": self.auth.api_key, "api_secret": self.auth.api_secret}
        try:
            async with self.session.request(
                method, f"https://{host}{path}", headers=headers, data=form, json=json, params=query
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                return response.status, body, response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"Vonage unreachable: {type(exc).__name__}", retryable=True) from None


def http_failure(status: int, headers: Mapping[str, str], what: str) -> SendError:
    """The `SendError` an HTTP error answer from Vonage stands for."""
    retry_after = headers.get("Retry-After", "")
    return SendError(
        f"{what} answered HTTP {status}",
        retryable=status in RETRYABLE_HTTP,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
        code=str(status),
    )
