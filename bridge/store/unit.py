"""Units of work: one transaction, its parts by concern (the ports of bridge/routing/ports)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bridge.clock import Clock, SystemClock
from bridge.store.broadcasts import SqlBroadcasts
from bridge.store.cases import SqlCases
from bridge.store.contacts import SqlContacts
from bridge.store.controls import HashKey, SqlCalls, SqlMutes
from bridge.store.db import Database, unavailable_as_such
from bridge.store.emails import SqlEmails
from bridge.store.erasure import SqlErasure
from bridge.store.inbox import SqlInbox
from bridge.store.jobs import SqlJobs
from bridge.store.media import SqlMedia
from bridge.store.messages import SqlMessages, SqlReads
from bridge.store.opt_outs import SqlOptOuts
from bridge.store.parts import SqlParts
from bridge.store.reports import SqlChatSettings, SqlReports
from bridge.store.schedules import SqlAutoReplies, SqlSchedules
from bridge.store.sends import SqlSends
from bridge.store.sql import lock


class SqlUnit:
    """The store as one transaction sees it."""

    def __init__(self, session: AsyncSession, clock: Clock, key: HashKey | None = None) -> None:
        self.session = session
        key = key or HashKey()
        now = clock.now
        self.cases = SqlCases(session)
        self.messages = SqlMessages(session, now)
        self.reads = SqlReads(session)
        self.sends = SqlSends(session, now)
        self.parts = SqlParts(session)
        self.opt_outs = SqlOptOuts(session, now, key)
        self.contacts = SqlContacts(session)
        self.schedules = SqlSchedules(session)
        self.auto_replies = SqlAutoReplies(session)
        self.jobs = SqlJobs(session, now)
        self.chat_settings = SqlChatSettings(session)
        self.reports = SqlReports(session)
        self.arrivals = SqlInbox(session)
        self.media = SqlMedia(session, now)
        self.broadcasts = SqlBroadcasts(session, now)
        self.emails = SqlEmails(session, now)
        self.mutes = SqlMutes(session)
        self.erasure = SqlErasure(session, key)
        self.calls = SqlCalls(session)

    async def lock_conversation(self, contact_number: str, our_number: str) -> None:
        await self.lock(f"conversation|{contact_number}|{our_number}")

    async def lock(self, key: str) -> None:
        await lock(self.session, key)


class Store:
    """Units of work over the database; wakes the dispatcher when one commits new jobs."""

    def __init__(
        self, db: Database, clock: Clock | None = None, *, erasure_key: bytes | None = None
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.key = HashKey(erasure_key)
        self._listeners: list[Callable[[int], None]] = []
        self._schedulers: list[Callable[[datetime], None]] = []

    def on_enqueued(self, listener: Callable[[int], None]) -> None:
        """`listener(n)` is called after a unit of work committed new jobs due now in n
        queues."""
        self._listeners.append(listener)

    def on_scheduled(self, listener: Callable[[datetime], None]) -> None:
        """`listener(moment)` is called after a unit of work committed jobs due later, the
        first of them at `moment`."""
        self._schedulers.append(listener)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnit]:
        with unavailable_as_such():
            async with self.db.transaction() as session:
                unit = SqlUnit(session, self.clock, self.key)
                yield unit
        if unit.jobs.queues:
            for listener in self._listeners:
                listener(len(unit.jobs.queues))
        if unit.jobs.later is not None:
            for scheduler in self._schedulers:
                scheduler(unit.jobs.later)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlUnit]:
        """A unit for reads only (on SQLite it does not take the write lock)."""
        with unavailable_as_such():
            async with self.db.reading() as session:
                yield SqlUnit(session, self.clock, self.key)
