"""Redis lost while the bridge runs: texts keep flowing, /healthz says what is down, and the
bridge shares its budgets again once Redis is back.

The bridge reaches the real Redis through a TCP proxy the test can cut and restore.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from bridge.fakes.reading import thread_lines
from bridge.fakes.vonage_payloads import sms_inbound_params
from tests.bridge_process import until
from tests.conftest import INBOX, OUR_NUMBER, REDIS_URL, LiveBridge, need_service
from tests.proxy import CuttableProxy

pytestmark = pytest.mark.redis


@pytest.fixture
async def proxy() -> AsyncIterator[CuttableProxy]:
    need_service(REDIS_URL, 6379, "Redis")
    await Redis.from_url(REDIS_URL).flushdb()
    parts = urlsplit(REDIS_URL)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await proxy.open()
    yield proxy
    with contextlib.suppress(Exception):
        await proxy.cut()


async def text_in(live: LiveBridge, text: str, message_id: str) -> None:
    params = sms_inbound_params(
        msisdn="447400123456", to=OUR_NUMBER.removeprefix("+"), text=text, message_id=message_id
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


async def health(live: LiveBridge) -> tuple[int, dict]:
    async with live.http.get(f"{live.url}/healthz") as response:
        return response.status, await response.json()


async def test_texts_flow_while_redis_is_away_and_health_names_it(
    start_live, proxy: CuttableProxy
) -> None:
    database = urlsplit(REDIS_URL).path or "/0"
    live = await start_live(REDIS_URL=f"redis://127.0.0.1:{proxy.port}{database}")
    await text_in(live, "Before", "B1")
    await live.drained()
    assert await health(live) == (200, {"ok": True, "store": "ok", "redis": "ok"})

    await proxy.cut()
    await text_in(live, "While Redis is away", "B2")
    await live.slack.wait_until(lambda: len(live.slack.calls("chat.postMessage")) >= 2)
    await live.drained()
    header = live.slack.messages(INBOX)[0]
    texts = thread_lines(live.slack.thread(INBOX, header["ts"]))
    assert texts == ["Before", "While Redis is away"]
    assert await health(live) == (503, {"ok": False, "store": "ok", "redis": "unreachable"})

    await proxy.open()  # Redis is back, on the same address

    async def shared_again() -> bool:
        return (await health(live))[0] == 200

    await until(shared_again, within=20)
    await text_in(live, "After", "B3")
    await live.slack.wait_until(lambda: len(live.slack.calls("chat.postMessage")) >= 3)
