"""What several instances share beyond the database: wake-ups and rate-limit buckets.

Without `REDIS_URL` one process does everything and these live in memory; with it, every
instance wakes when any commits work, and all of them together keep to one budget per
Slack channel and per carrier account.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from bridge.tasks import TaskKeeper

log = logging.getLogger(__name__)

WAKEUP_CHANNEL = "smschat:outbox"


class RateLimiter(Protocol):
    """A token bucket per key: `reserve` takes one token and says how long to wait for it."""

    async def reserve(self, key: str, *, rate: float, burst: int) -> float: ...


class LocalRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def reserve(self, key: str, *, rate: float, burst: int) -> float:
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate) - 1
        self._buckets[key] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate


# The same bucket in Redis, atomically, on Redis's clock so instances' clocks don't matter.
# Tokens may go below zero: each caller reserves its place and waits its turn.
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
    def __init__(self, redis: object) -> None:
        self._script = redis.register_script(_RESERVE)  # type: ignore[attr-defined]

    async def reserve(self, key: str, *, rate: float, burst: int) -> float:
        wait = await self._script(keys=[f"smschat:bucket:{key}"], args=[rate, burst])
        return float(wait)


class Wakeups:
    """Tells every instance's dispatcher that work was committed."""

    def __init__(
        self,
        notify_local: Callable[[int], None],
        redis: object | None = None,
        *,
        tasks: TaskKeeper | None = None,
    ) -> None:
        self._notify_local = notify_local
        self._redis = redis
        self._tasks = tasks or TaskKeeper()

    def committed(self, jobs: int = 1) -> None:
        self._notify_local(jobs)
        if self._redis is not None:
            self._tasks.spawn(self._publish(), name="outbox-wakeup")

    async def _publish(self) -> None:
        try:
            await self._redis.publish(WAKEUP_CHANNEL, b"1")  # type: ignore[union-attr]
        except Exception as exc:
            # A lost wake-up costs only latency: the dispatcher also wakes when work is due.
            log.warning("could not publish a wake-up: %s", exc)

    async def listen(self) -> None:
        """Wake this instance when another commits work (runs until cancelled)."""
        if self._redis is None:
            return
        pubsub = self._redis.pubsub()  # type: ignore[attr-defined]
        await pubsub.subscribe(WAKEUP_CHANNEL)
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._notify_local(1)
        finally:
            await pubsub.aclose()


class SeenOnce(Protocol):
    """Remembers tokens (a request's signature, a JWT id) so that each is accepted once."""

    async def first_time(self, token: str, *, ttl: float) -> bool:
        """True the first time `token` is shown within `ttl` seconds, False on a replay."""
        ...

    async def forget(self, token: str) -> None:
        """Let `token` in again: what it brought could not be taken after all."""
        ...


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RedisSeenOnce:
    def __init__(self, redis: object) -> None:
        self._redis = redis

    async def first_time(self, token: str, *, ttl: float) -> bool:
        stored = await self._redis.set(  # type: ignore[attr-defined]
            "smschat:seen:" + token_key(token), b"1", nx=True, px=max(1, int(ttl * 1000))
        )
        return bool(stored)

    async def forget(self, token: str) -> None:
        await self._redis.delete("smschat:seen:" + token_key(token))  # type: ignore[attr-defined]


class Pauses(Protocol):
    """Keys told to wait (a Slack channel after a 429): until when, shared by instances."""

    async def pause(self, key: str, seconds: float) -> None: ...

    async def remaining(self, key: str) -> float: ...


class LocalPauses:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    async def pause(self, key: str, seconds: float) -> None:
        self._until[key] = max(self._until.get(key, 0.0), self._clock() + seconds)

    async def remaining(self, key: str) -> float:
        return max(0.0, self._until.get(key, 0.0) - self._clock())


class RedisPauses:
    def __init__(self, redis: object) -> None:
        self._redis = redis

    async def pause(self, key: str, seconds: float) -> None:
        await self._redis.set(  # type: ignore[attr-defined]
            f"smschat:pause:{key}", b"1", px=max(1, int(seconds * 1000))
        )

    async def remaining(self, key: str) -> float:
        left = await self._redis.pttl(f"smschat:pause:{key}")  # type: ignore[attr-defined]
        return max(0, left) / 1000
