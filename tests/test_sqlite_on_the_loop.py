"""SQLite statements run on the event loop's thread; only a writer's BEGIN, which may wait
for another process, goes through aiosqlite's thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text

from bridge.store.db import Database, migrate


async def threads_seen(db: Database, *, writing: bool) -> tuple[int, int]:
    """(the thread a statement ran on, the loop's thread)."""
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.create_function("thread_id", 0, threading.get_ident)
    transaction = db.transaction() if writing else db.reading()
    async with transaction as session:
        ran_on = await session.scalar(text("SELECT thread_id()"))
    return int(ran_on), threading.get_ident()


async def test_reads_and_writes_run_on_the_loops_thread(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}"
    await migrate(url)
    db = Database(url)
    try:
        for writing in (False, True):
            ran_on, loop_thread = await threads_seen(db, writing=writing)
            assert ran_on == loop_thread, "a statement made the trip to aiosqlite's thread"
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
