"""A throwaway certificate authority so loopback fakes can speak HTTPS.

The Vonage SDK only builds `https://` URLs, so its stand-in has to serve TLS that the
SDK (through `requests`) will trust. `trustme` makes a private CA and a server
certificate for the loopback names; clients trust it through `REQUESTS_CA_BUNDLE`
(requests) or `client_ssl_context()` (aiohttp).
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import cast

import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class TestTls:
    """A private CA and a loopback server certificate, made in memory on creation."""

    __test__ = False  # the name starts with "Test"; tell pytest it is not a test class

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name="smschat-bridge fakes")
        self.server_cert = self.ca.issue_cert(*LOOPBACK_NAMES)

    def server_ssl_context(self) -> ssl.SSLContext:
        """A context for a server presenting the loopback certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context

    def client_ssl_context(self) -> ssl.SSLContext:
        """A context for a client (aiohttp, httpx) that trusts only this CA."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        return context

    def ca_bundle_path(self, directory: str | Path) -> Path:
        """Write the CA certificate as PEM into `directory` and return the file's path.

        Point `REQUESTS_CA_BUNDLE` (or `SSL_CERT_FILE`) at it so `requests` trusts the fake.
        """
        path = Path(directory) / "fakes-ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return path


class TrackedProtocol(asyncio.Protocol):
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
