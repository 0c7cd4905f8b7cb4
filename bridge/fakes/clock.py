"""A clock for tests: real time moved by an offset that tests set, never backwards.

Time still flows (sleeps and leases behave), but rules about hours and days see the
moment a test chose. Only moving forwards keeps jobs queued at real time due.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class ShiftedClock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def on_change(self, listener: Callable[[], None]) -> None:
        """`listener()` is called after the clock moved (e.g. to wake sleeping workers)."""
        self._listeners.append(listener)

    def set(self, moment: datetime) -> None:
        """Make it `moment` now; it must not be earlier than the time the clock shows."""
        if moment.tzinfo is None:
            raise ValueError("give an aware datetime")
        self.advance(moment - self.now())

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the test clock only moves forwards")
        self._offset += delta
        for listener in self._listeners:
            listener()
