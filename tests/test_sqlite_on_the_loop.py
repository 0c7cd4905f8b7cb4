"""SQLite statements run on the event loop's thread; only a writer's BEGIN that must wait
for another process goes through aiosqlite's thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text

from bridge.store.db import Database, migrate


async def statements_seen(db: Database, *, writing: bool) -> dict[str, set[int]]:
    """Each statement SQLite ran for one transaction, with the threads it ran on."""
    seen: dict[str, set[int]] = {}

    def trace(statement: str) -> None:
        seen.setdefault(statement, set()).add(threading.get_ident())

    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.set_trace_callback(trace)
    transaction = db.transaction() if writing else db.reading()
    async with transaction as session:
        await session.execute(text("SELECT count(*) FROM store_keys"))
    return seen


async def test_reads_and_writes_run_on_the_loops_thread(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}"
    await migrate(url)
    db = Database(url)
    try:
        for writing in (False, True):
            seen = await statements_seen(db, writing=writing)
            assert "SELECT count(*) FROM store_keys" in seen
            assert ("BEGIN IMMEDIATE" in seen) == writing
            threads = set().union(*seen.values())
            assert threads == {threading.get_ident()}, f"a trip to aiosqlite's thread: {seen}"
    finally:
        await db.close()


async def test_a_writer_waiting_for_another_process_leaves_the_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate(url)
    db = Database(url)
    other = sqlite3.connect(path, isolation_level=None)  # a command-line import, say
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        other.execute("BEGIN IMMEDIATE")

        async def write() -> None:
            async with db.transaction() as session:
                await session.execute(text("UPDATE store_keys SET value = value"))

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done(), "the other process holds the write lock"
        assert ticks >= 10, "the loop went on while the writer waited"
        other.execute("COMMIT")
        async with asyncio.timeout(5):
            await writing
    finally:
        ticker.cancel()
        other.close()
        await db.close()
