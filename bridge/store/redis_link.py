"""What several instances share through Redis, and what each does while Redis is away.

Redis only makes instances agree (one rate budget, one replay memory, wake-ups); it holds
nothing that is not also safe in the store. So a lost connection is not an outage: each
call falls back to what one instance can do alone (its own buckets and pauses, the
store's replay memory), `/healthz` says Redis is unreachable, and a watcher reconnects
with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.store.coordination import (
    WAKEUP_CHANNEL,
    LocalPauses,
    LocalRateLimiter,
    token_key,
)
from bridge.store.seen import StoreSeenOnce

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often a lost Redis is tried again: from the first to the longest wait.
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 8.0


class RedisLink:
    """One instance's Redis client, and whether Redis answers it now."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.up = True
        self._back = asyncio.Event()
        self._back.set()

    def lost(self, exc: BaseException) -> None:
        if self.up:
            log.warning(
                "Redis does not answer (%s): instances no longer share budgets", type(exc).__name__
            )
        self.up = False
        self._back.clear()

    async def call(
        self, shared: Callable[[], Awaitable[T]], alone: Callable[[], Awaitable[T]]
    ) -> T:
        """`shared()` through Redis while it answers, else `alone()`."""
        if self.up:
            try:
                return await shared()
            except (RedisError, OSError) as exc:
                self.lost(exc)
        return await alone()

    async def back(self) -> None:
        """Return once Redis answers (at once while it does)."""
        await self._back.wait()

    async def watch(self) -> None:
        """Ping a lost Redis, waiting longer each time, until it answers (runs until
        cancelled)."""
        wait = RECONNECT_FIRST_SECONDS
        while True:
            if self.up:
                await asyncio.sleep(RECONNECT_MAX_SECONDS)
                wait = RECONNECT_FIRST_SECONDS
                try:
                    await self.redis.ping()
                except (RedisError, OSError) as exc:
                    self.lost(exc)
                continue
            await asyncio.sleep(wait)
            try:
                await self.redis.ping()
            except (RedisError, OSError):
                wait = min(RECONNECT_MAX_SECONDS, wait * 2)
                continue
            log.warning("Redis answers again: instances share budgets again")
            self.up = True
            self._back.set()

    async def close(self) -> None:
        await self.redis.aclose()


# The same bucket as LocalRateLimiter in Redis, atomically, on Redis's clock so instances'
# clocks don't matter. Tokens may go below zero: each caller reserves its place and waits.
_RESERVE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class RedisRateLimiter:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._script = link.redis.register_script(_RESERVE)
        self._alone = LocalRateLimiter()

    async def reserve(self, key: str, *, rate: float, burst: int) -> float:
        async def shared() -> float:
            return float(await self._script(keys=[f"smschat:bucket:{key}"], args=[rate, burst]))

        return await self._link.call(
            shared, lambda: self._alone.reserve(key, rate=rate, burst=burst)
        )


class RedisPauses:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._alone = LocalPauses()

    async def pause(self, key: str, seconds: float) -> None:
        async def shared() -> None:
            await self._link.redis.set(f"smschat:pause:{key}", b"1", px=max(1, int(seconds * 1000)))

        await self._alone.pause(key, seconds)  # kept here too, for when Redis is away
        await self._link.call(shared, _nothing)

    async def remaining(self, key: str) -> float:
        async def shared() -> float:
            left = await self._link.redis.pttl(f"smschat:pause:{key}")
            return max(0, left) / 1000

        return await self._link.call(shared, lambda: self._alone.remaining(key))


class RedisSeenOnce:
    """`SeenOnce` in Redis; while Redis is away, in the store (`alone`)."""

    def __init__(self, link: RedisLink, alone: StoreSeenOnce) -> None:
        self._link = link
        self._alone = alone

    async def first_time(self, token: str, *, ttl: float) -> bool:
        async def shared() -> bool:
            stored = await self._link.redis.set(
                "smschat:seen:" + token_key(token), b"1", nx=True, px=max(1, int(ttl * 1000))
            )
            return bool(stored)

        return await self._link.call(shared, lambda: self._alone.first_time(token, ttl=ttl))

    async def forget(self, token: str) -> None:
        async def shared() -> None:
            await self._link.redis.delete("smschat:seen:" + token_key(token))

        await self._link.call(shared, lambda: self._alone.forget(token))


async def _nothing() -> None:
    return None


class RedisWakeups:
    """Tells every instance that work was committed (jobs, or inbox events), through pub/sub."""

    def __init__(
        self,
        link: RedisLink,
        notify_local: Callable[[int], None],
        *,
        channel: str = WAKEUP_CHANNEL,
    ) -> None:
        self._link = link
        self._notify_local = notify_local
        self._channel = channel

    async def publish(self) -> None:
        # A lost wake-up costs only latency: the dispatchers also look when work is due.
        await self._link.call(lambda: self._link.redis.publish(self._channel, b"1"), _nothing)

    async def listen(self) -> None:
        """Wake this instance when another commits work; subscribe again after Redis was
        away (runs until cancelled)."""
        while True:
            await self._link.back()
            pubsub = self._link.redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._notify_local(1)
            except (RedisError, OSError) as exc:
                self._link.lost(exc)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass
