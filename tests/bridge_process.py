"""A proxy that keeps back a fake's answer to a bridge process, and where the checkout is."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import aiohttp
from aiohttp import web


async def until(check: Callable[[], Awaitable[bool] | bool], *, within: float = 10.0) -> None:
    """Wait until `check()` (plain or awaitable) holds, looking again every 20 ms."""
    async with asyncio.timeout(within):
        while True:
            result = check()
            if await result if isinstance(result, Awaitable) else result:
                return
            await asyncio.sleep(0.02)


# Run from the checkout, so that the child imports this `bridge/`, not an installed one.
REPO_ROOT = Path(__file__).resolve().parent.parent


class AnswerHolder:
    """A proxy between a bridge and a fake: calls pass through, and once armed the fake's
    answer to the next call `holds` picks (by path and body) is lost on the way back.

    `lose` says how: "never" keeps it back for good (a test kills the process meanwhile),
    "drop" closes the connection instead of answering, a number of seconds answers that
    late (after the client gave up). Either way the call has had its effect but not its
    answer: the one case where a job cannot know whether it did its work.
    """

    def __init__(
        self,
        target: str,
        *,
        holds: Callable[[str, bytes], bool],
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
        reach_target: bool = True,
        lose: Literal["never", "drop"] | float = "never",
    ) -> None:
        self.target = target.rstrip("/")
        self.holds = holds
        self.lose = lose
        # False: the held call never reaches the fake, as if its sender died before it left.
        self.reach_target = reach_target
        self.armed = False
        self.held: list[str] = []
        self._server_ssl, self._client_ssl = server_ssl, client_ssl
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._never = asyncio.Event()
        self.port = 0

    async def __aenter__(self) -> AnswerHolder:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._relay)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._server_ssl)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None and self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        body = await request.read()
        held = self.armed and self.holds(request.path, body)
        if held:
            self.armed = False
            self.held.append(request.path)
            if not self.reach_target:
                await self._never.wait()
        async with self._session.request(
            request.method,
            f"{self.target}{request.rel_url}",
            headers=headers,
            data=body,
            ssl=self._client_ssl,
        ) as answer:
            answered = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k in ("Content-Type", "Retry-After")}
        if held and self.lose == "drop":
            assert request.transport is not None
            request.transport.close()
        elif held and self.lose == "never":
            await self._never.wait()  # until the process (or the test) goes away
        elif held:
            await asyncio.sleep(float(self.lose))
        return web.Response(status=answer.status, body=answered, headers=kept)
