"""What Slack and Vonage call back, stood in for on loopback: Vonage's delivery receipts
(held back a moment, as a real network would, then passed on unchanged to the bridge's
`/vonage/status`) and Slack's `response_url`."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bridge.sandbox import wire
from bridge.tasks import TaskKeeper

# Delivery receipts come back seconds after a send on a real network; the fake posts them
# at once, so the relay holds each one back a little before passing it on.
RECEIPT_DELAY = 0.6
FORM = "application/x-www-form-urlencoded"

# (path, body, headers) → the bridge's (status, answer text).
PostToBridge = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, str]]]


def loopback_socket() -> socket.socket:
    """A listening socket on a free loopback port: its address is known before the app
    that will answer on it is built."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def serve_on_loopback(
    app: web.Application, sock: socket.socket | None = None
) -> tuple[web.AppRunner, str]:
    """Serve `app` on `sock`, or on a free loopback port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock) if sock else web.TCPSite(runner, "127.0.0.1", 0)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class CallbackRelay:
    def __init__(
        self,
        *,
        post: PostToBridge,
        on_receipt: Callable[[dict[str, str], int, str], Awaitable[None]],
        on_response: Callable[[str, list[Any]], Awaitable[None]],
        tasks: TaskKeeper,
    ) -> None:
        self.post = post
        self.on_receipt = on_receipt
        self.on_response = on_response
        self.tasks = tasks
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/vonage/status", self._receipt)
        app.router.add_post("/slack/respond/{token}", self._response)
        self._runner, self.url = await serve_on_loopback(app)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def response_url(self) -> str:
        """A fresh `response_url` for a command or an action."""
        return f"{self.url}/slack/respond/{uuid.uuid4().hex}"

    async def _receipt(self, request: web.Request) -> web.Response:
        """A delivery receipt from the fake Vonage, passed on to the bridge unchanged."""
        body = await request.read()
        content_type = request.headers.get("Content-Type", FORM)
        params = dict(request.query)
        if body and "json" not in content_type:
            params |= dict(parse_qsl(body.decode()))
        self.tasks.spawn(self._forward(body, content_type, params), name="receipt")
        return web.Response(status=200)

    async def _forward(self, body: bytes, content_type: str, params: dict[str, str]) -> None:
        await asyncio.sleep(RECEIPT_DELAY)
        status, answer = await self.post("/vonage/status", body, {"Content-Type": content_type})
        await self.on_receipt(params, status, answer)

    async def _response(self, request: web.Request) -> web.Response:
        """What the app posts to a command's or an action's `response_url`."""
        try:
            answer = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        text, blocks = wire.answer_content(answer)
        await self.on_response(text, blocks)
        return web.Response(text="ok")
