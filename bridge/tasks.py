"""Background tasks start here: a reference is kept and a crash is logged, never lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
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
    """Webhooks being kept, which a carrier waits on, and the background work (routing
    batches, outbox jobs) that gives way to them.

    While webhooks keep coming (one is being kept, or two arrived within `quiet` seconds),
    background steps go one at a time, `spacing` seconds apart, all of them together: a
    storm is answered first and routed after, and routing never stops. A lone webhook
    holds nothing back once it is answered, so a quiet day's text is routed at once.
    """

    def __init__(self, *, quiet: float = 0.02, spacing: float = 0.1) -> None:
        self.quiet = quiet
        self.spacing = spacing
        self._serving = 0
        self._clear = asyncio.Event()
        self._clear.set()
        self._arrivals = (-math.inf, -math.inf)  # loop times of the two latest webhooks
        self._next_turn = -math.inf

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        self._arrivals = (self._arrivals[1], asyncio.get_running_loop().time())
        self._serving += 1
        self._clear.clear()
        try:
            yield
        finally:
            self._serving -= 1
            if not self._serving:
                self._clear.set()

    def _pressed_until(self, now: float) -> float | None:
        """While webhooks keep coming: until when at least (None: not now)."""
        if self._serving:
            return now + self.quiet
        calm_at = self._arrivals[0] + self.quiet
        return calm_at if calm_at > now else None

    async def give_way(self) -> bool:
        """Return at once when webhooks are not coming; else at this step's turn, or as soon
        as they stop. True when webhooks were still coming (a step had better be short)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._pressed_until(now) is None:
            return False
        turn = self._next_turn = max(now, self._next_turn + self.spacing)
        while now < turn:
            pressed_until = self._pressed_until(now)
            if pressed_until is None:
                return False
            if self._serving:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._clear.wait(), turn - now)
            else:
                await asyncio.sleep(min(turn, pressed_until) - now)
            now = loop.time()
        return True
