"""Opening the database: engine options per backend and bringing the schema up to date."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bridge.domain.text import storable
from bridge.errors import StoreUnavailable

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
READ_ONLY = "bridge_read_only"
BEGIN_WRITING = "BEGIN IMMEDIATE"
BUSY_TIMEOUT_MS = 30_000  # how long SQLite lets a writer wait for another process


def create_engine(url: str) -> AsyncEngine:
    """An engine tuned for the backend: SQLite in WAL mode with writers that queue politely."""
    if url.startswith("sqlite"):
        sqlite_url = make_url(url)
        if sqlite_url.query:  # driver options in the URL: aiosqlite's own connect reads them
            engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        else:
            database = sqlite_url.database or ":memory:"
            engine = create_async_engine(
                url, async_creator=partial(_connect_sqlite, database), hide_parameters=True
            )
        _tune_sqlite(engine)
    else:
        # hide_parameters: SQL errors must not carry numbers and texts into the logs.
        engine = create_async_engine(url, pool_size=10, max_overflow=10, hide_parameters=True)
        _ping_after_idle(engine)
    event.listen(engine.sync_engine, "before_cursor_execute", _storable_parameters, retval=True)
    return engine


# A connection back in the pool for less than this is taken as alive: a ping at every
# checkout (`pool_pre_ping`) cost a round trip per transaction and a sixth of a text's CPU.
# One idle longer (a restarted server, a proxy's idle timeout) is pinged, and replaced
# when dead; one dropped sooner fails its statement and the pool drops the others with it.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "bridge_idle_since"


def _ping_after_idle(engine: AsyncEngine) -> None:
    pool_of = engine.sync_engine  # pool events are listened for on the engine

    @event.listens_for(pool_of, "connect")
    @event.listens_for(pool_of, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool_of, "checkout")
    def _alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, -math.inf) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the connection was dropped while idle") from exc


def _storable_parameters(
    _connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
) -> tuple[str, Any]:
    """Every text bound to a statement, made storable (bridge.domain.text): whatever path
    a NUL or a lone surrogate took from outside, it never reaches the driver as an error."""
    return statement, [_storable(p) for p in parameters] if many else _storable(parameters)


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_storable(item) for item in value)
    return value


class _SqliteOnTheLoop(aiosqlite.Connection):
    """aiosqlite's connection, its statements run on the event loop's own thread.

    aiosqlite hands each call to a thread of its own and back: on a 2-core machine that
    costs some 300 µs of CPU a statement, where SQLite itself takes a few microseconds. In
    WAL mode a reader never waits, and this process's writers wait in `WriterTurns`; only
    `BEGIN IMMEDIATE` may wait for another process (a command-line import). So it is tried
    on the loop without waiting, and only when another process writes does it wait on
    aiosqlite's thread, as opening and closing do.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if args and args[0] == BEGIN_WRITING:
            try:
                return self._begin_without_waiting(fn, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
            return await super()._execute(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def _begin_without_waiting(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        assert connection is not None
        connection.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        finally:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


async def _connect_sqlite(database: str) -> aiosqlite.Connection:
    # Opened on aiosqlite's thread, used on the loop's: sqlite3 must allow both.
    connector = partial(sqlite3.connect, database, timeout=30, check_same_thread=False)
    connection = _SqliteOnTheLoop(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does: a stuck close never hangs exit
    return await connection


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # WAL readers never wait for writers
            return
        # IMMEDIATE takes the write lock up front: two writers never both read a stale
        # snapshot and then fail to upgrade, which is what makes check-and-insert safe.
        connection.exec_driver_sql(BEGIN_WRITING)


class WriterTurns:
    """One writer at a time, in order of arrival, urgent writers before the others."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        if self._busy:
            waiting = asyncio.get_running_loop().create_future()
            line = self._urgent if urgent else self._others
            line.append(waiting)
            try:
                await waiting
            except asyncio.CancelledError:
                if waiting.done() and not waiting.cancelled():
                    self._pass_on()  # the turn came as the wait was cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):  # passed over already
                        line.remove(waiting)
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        for line in (self._urgent, self._others):
            while line:
                waiting = line.popleft()
                if not waiting.done():
                    waiting.set_result(None)  # still busy: the turn is handed over
                    return
        self._busy = False


class Database:
    """The engine and its session factory; passed in wherever the store is needed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time. Waiting for it here, in order, is much cheaper
        # than SQLite's busy handler, which sleeps and polls in each waiting connection.
        self._one_writer = WriterTurns() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A write transaction; on SQLite an `urgent` one (a webhook waits on it) takes the
        writer's turn before the others waiting."""
        async with contextlib.AsyncExitStack() as stack:
            if self._one_writer is not None:
                await stack.enter_async_context(self._one_writer.turn(urgent=urgent))
            session = await stack.enter_async_context(self.sessions())
            await stack.enter_async_context(session.begin())
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only; on SQLite it does not take the write lock."""
        async with self._readers() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


@contextmanager
def unavailable_as_such() -> Iterator[None]:
    """A store that cannot be reached (or is locked, or lost its connection) says so as
    `StoreUnavailable`: worth trying again later, unlike a bug."""
    try:
        yield
    except (OperationalError, InterfaceError, ConnectionError, TimeoutError) as exc:
        raise _unavailable(exc) from exc
    except DBAPIError as exc:
        if not exc.connection_invalidated:  # a lost connection mid-statement says only this
            raise
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> StoreUnavailable:
    said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return StoreUnavailable(f"the store is unavailable: {said}")


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")


async def schema_behind(db: Database) -> str | None:
    """Why the database is behind this version's schema, or None when it is not.

    A revision this version does not know belongs to a newer version: migrations only
    add, so an older instance keeps running beside it during a rolling upgrade.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(db.url))
    head = script.get_current_head()
    async with db.engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    known = {revision.revision for revision in script.walk_revisions()}
    if current == head:
        return None
    if current is not None and current not in known:
        log.warning("the database schema (%s) is newer than this version (%s)", current, head)
        return None
    return f"the database schema is at {current or 'nothing'}, this version needs {head}"


async def migrate(url: str) -> None:
    """Bring the schema to the newest migration (alembic runs its own event loop)."""
    await asyncio.to_thread(_upgrade, url)
