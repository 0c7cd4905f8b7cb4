"""Background tasks start here: a reference is kept and a crash is logged, never lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
    """Webhooks being kept, which a carrier waits on: background work (routing, the outbox)
    gives way to them for a bounded while, so that a storm of texts is answered first and
    routed after, without routing ever stopping."""

    def __init__(self, *, most: float = 0.2) -> None:
        self.most = most  # seconds a background step waits for webhooks at most
        self._serving = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        self._serving += 1
        self._clear.clear()
        try:
            yield
        finally:
            self._serving -= 1
            if not self._serving:
                self._clear.set()

    async def give_way(self) -> None:
        """Return once no webhook is being kept, or after `most` seconds."""
        if self._serving:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._clear.wait(), self.most)
