"""Background tasks start here: a reference is kept and a crash is logged, never lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from collections import deque
from collections.abc import Coroutine, Iterator
from typing import Any

log = logging.getLogger(__name__)


def stop_requests() -> asyncio.Event:
    """An event set when the process is asked to stop (SIGINT or SIGTERM).

    Taken before anything starts: a stop asked for while the bridge is still starting
    (a deploy that changes its mind) then ends it cleanly once it has started.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


class TaskKeeper:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s crashed", task.get_name(), exc_info=task.exception())

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Foreground:
    """Webhooks a carrier waits on, and the background work (routing batches, outbox jobs)
    that gives way to them in a storm.

    A storm is a webhook being kept, or `burst` of them arriving within `quiet` seconds
    (some 400 a second: a group commit answers many at once, and the next ones may not have
    come in yet when background work asks). While it lasts, background steps go one at a
    time, `spacing` seconds apart, all of them together: the storm is answered first and
    routed after, and routing never stops. Webhooks at the pace of everyday traffic, or of
    a broadcast's receipts, hold background work back no longer than each takes to keep.
    """

    def __init__(self, *, burst: int = 8, quiet: float = 0.02, spacing: float = 0.1) -> None:
        self.quiet = quiet
        self.spacing = spacing
        self._serving = 0
        self._arrivals: deque[float] = deque([-math.inf] * burst, maxlen=burst)
        self._next_turn = -math.inf

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Around keeping one webhook."""
        self._arrivals.append(asyncio.get_running_loop().time())
        self._serving += 1
        try:
            yield
        finally:
            self._serving -= 1

    def _storm_until(self, now: float) -> float | None:
        """Until when the storm lasts at least; None when there is none."""
        if self._serving:
            return now + self.quiet
        calm_at = self._arrivals[0] + self.quiet
        return calm_at if calm_at > now else None

    async def give_way(self) -> bool:
        """Return at once when there is no storm; else at this step's turn, or as soon as
        the storm ends. True when it still lasts (a step had better be short)."""
        # Webhooks already received are read first: a step may hold the loop throughout
        # (SQLite's statements run on it), and a storm shows only in webhooks read.
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._storm_until(now) is None:
            return False
        turn = self._next_turn = max(now, self._next_turn + self.spacing)
        while now < turn:
            storm_until = self._storm_until(now)
            if storm_until is None:
                return False
            await asyncio.sleep(min(turn, storm_until) - now)
            now = loop.time()
        return True
