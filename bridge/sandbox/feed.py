"""What a stand-in device of the demo shows (a phone, a mailbox): its messages, oldest
first, each change passed on to the page, and a way to wait for one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Generic, TypeVar

Message = TypeVar("Message")
Emit = Callable[[str, dict[str, Any]], None]


class Feed(Generic[Message]):
    """Messages (dataclasses with an `id`) shown on the page as `kind` events."""

    def __init__(self, *, kind: str, emit: Emit) -> None:
        self.kind = kind
        self.emit = emit
        self.messages: list[Message] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    async def wait_until(
        self,
        predicate: Callable[[list[Message]], bool],
        *,
        timeout: float,  # noqa: ASYNC109 -- a bounded wait is the point
    ) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.messages))

    async def _update(self, msg: Message, *, new: bool = False) -> None:
        if new:
            self.messages.append(msg)
        self.emit(self.kind, asdict(msg))  # type: ignore[call-overload]
        async with self._changed:
            self._changed.notify_all()

    async def _answered(self, msg: Message, status: int, answer: str) -> None:
        """What the bridge answered a message sent to it, shown on the message."""
        msg.state = "sent" if status == 200 else "refused"
        msg.detail = "" if status == 200 else f"the bridge answered HTTP {status} {answer}"
        await self._update(msg)

    def _next_id(self) -> str:
        return f"{self.kind[0]}{next(self._ids)}"
