"""A mail server that records what it takes (aiosmtpd on loopback), and can refuse."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class FakeSmtp:
    """`received` holds each message taken, parsed; `refuse(n, code)` turns the next n away."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._refusals: list[str] = []
        self._controller: Controller | None = None
        self._changed = asyncio.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None

    def refuse(self, times: int, reply: str = "451 4.3.0 Try again later") -> None:
        self._refusals.extend([reply] * times)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._refusals:
            return self._refusals.pop(0)
        raw: Any = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        self.received.append(parsed)  # type: ignore[arg-type]
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop)
        return "250 2.0.0 OK: queued"

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)
        return self.received

    @property
    def url(self) -> str:
        assert self._controller is not None
        return f"smtp://127.0.0.1:{self._controller.port}"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # aiosmtpd serves from its own thread and loop.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._controller = Controller(self, hostname="127.0.0.1", port=port)
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
