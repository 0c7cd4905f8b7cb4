"""What instances share through Redis (or, alone, in memory): buckets, pauses, wake-ups."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.store.coordination import LocalPauses, LocalRateLimiter, Wakeups
from bridge.store.redis_link import RedisLink, RedisPauses, RedisRateLimiter, RedisWakeups
from tests.conftest import OUR_NUMBER, REDIS_URL, need_service

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    need_service(REDIS_URL, 6379, "Redis")
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_local_bucket_allows_a_burst_then_spaces_callers_out() -> None:
    clock = FrozenClock()
    limiter = LocalRateLimiter(clock)
    waits = [await limiter.reserve("slack:C1", rate=2, burst=3) for _ in range(5)]
    assert waits == [0, 0, 0, 0.5, 1.0]
    assert await limiter.reserve("slack:C2", rate=2, burst=3) == 0, "other keys are free"
    clock.now += 10
    assert await limiter.reserve("slack:C1", rate=2, burst=3) == 0


async def test_redis_bucket_is_one_budget_for_every_instance(redis: Redis) -> None:
    key = f"test:{uuid.uuid4().hex}"
    first, second = RedisRateLimiter(RedisLink(redis)), RedisRateLimiter(RedisLink(redis))
    waits = [await (first, second)[i % 2].reserve(key, rate=2, burst=3) for i in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert 0.4 < waits[3] <= 0.5 and 0.9 < waits[4] <= 1.0


async def assert_pauses_count_down(pauses: LocalPauses | RedisPauses) -> None:
    key = f"slack:C{uuid.uuid4().hex[:6]}"
    assert await pauses.remaining(key) == 0
    await pauses.pause(key, 2)
    assert 1.5 < await pauses.remaining(key) <= 2


async def test_local_pauses_tell_how_long_a_key_must_wait() -> None:
    await assert_pauses_count_down(LocalPauses())


async def test_redis_pauses_tell_how_long_a_key_must_wait(redis: Redis) -> None:
    await assert_pauses_count_down(RedisPauses(RedisLink(redis)))


async def test_work_committed_on_one_instance_wakes_the_others(redis: Redis) -> None:
    woken = asyncio.Event()
    other = RedisLink(Redis.from_url(REDIS_URL))
    listener = Wakeups(lambda _jobs: woken.set(), RedisWakeups(other, lambda _jobs: woken.set()))
    listening = asyncio.create_task(listener.listen())
    try:
        publisher = Wakeups(lambda _jobs: None, RedisWakeups(RedisLink(redis), lambda _jobs: None))
        async with asyncio.timeout(5):
            while not woken.is_set():
                publisher.committed()
                await asyncio.sleep(0.05)  # until the subscription is in place
        assert woken.is_set()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_a_bridge_with_redis_relays_and_keeps_slacks_budget(start_live) -> None:
    need_service(REDIS_URL, 6379, "Redis")
    await Redis.from_url(REDIS_URL).flushdb()
    live = await start_live(REDIS_URL=REDIS_URL, SLACK_POSTS_PER_SECOND="2")
    for n in range(8):  # eight new cases: eight posts, each a header showing its text
        params = sms_inbound_params(
            msisdn=f"44740012{n:04d}",
            to=OUR_NUMBER.removeprefix("+"),
            text=f"text {n}",
            message_id=f"R{n}",
        )
        await live.vonage_webhook("/vonage/inbound", params)
    posts = await live.slack.wait_for("chat.postMessage", count=8, timeout=10)
    # A burst of 3, then one post every half second.
    span = posts[-1].at - posts[0].at
    assert span >= (8 - 3) / 2 - 0.3
