"""What several instances share beyond the database: wake-ups, rate-limit buckets, pauses
and the memory of accepted requests, and how one instance keeps them alone.

Without `REDIS_URL` one process does everything and these live in memory (the accepted
requests in the store); with it (bridge/store/redis_link.py), every instance wakes when any
commits work, and all of them together keep to one budget per Slack channel and per
carrier account.
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
INBOX_CHANNEL = "smschat:inbox"


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


class SharedWakeups(Protocol):
    """Wake-ups passed between instances (Redis pub/sub)."""

    async def publish(self) -> None: ...

    async def listen(self) -> None: ...


class Wakeups:
    """Tells this instance, and through Redis every other, that work was committed."""

    def __init__(
        self,
        notify_local: Callable[[int], None],
        shared: SharedWakeups | None = None,
        *,
        tasks: TaskKeeper | None = None,
    ) -> None:
        self._notify_local = notify_local
        self._shared = shared
        self._tasks = tasks or TaskKeeper()

    def committed(self, jobs: int = 1) -> None:
        self._notify_local(jobs)
        if self._shared is not None:
            self._tasks.spawn(self._shared.publish(), name="outbox-wakeup")

    async def listen(self) -> None:
        """Wake this instance when another commits work (runs until cancelled)."""
        if self._shared is not None:
            await self._shared.listen()


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
