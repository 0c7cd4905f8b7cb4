"""Whether the store and Redis answer, and the schema is this version's."""

from __future__ import annotations

import os
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from bridge.domain.checks import Check, failed, passed, skipped
from bridge.store.db import Database, schema_behind


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def sqlite_unwritable(url: str) -> str | None:
    """Why the SQLite file cannot be created or written there; None when it can."""
    path = sqlite_path(url)
    if path is None:
        return None
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else f"{path} is not writable"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    return None if os.access(folder, os.W_OK) else f"the folder {folder} is not writable"


async def store_checks(database_url: str) -> list[Check]:
    unwritable = sqlite_unwritable(database_url)
    if unwritable is not None:
        return [failed("Database: SQLite cannot keep its file", f"{unwritable}; fix DATABASE_URL")]
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        return [passed(f"Database: SQLite will create {path} on the first run")]
    db = Database(database_url)
    try:
        await db.ping()
        behind = await schema_behind(db)
    except (SQLAlchemyError, OSError) as exc:
        what = f"Database does not answer ({type(exc).__name__})"
        return [failed(what, "check DATABASE_URL and that the server runs")]
    finally:
        await db.close()
    if behind is None:
        return [passed("Database: it answers and its schema is current")]
    if path is not None:
        return [passed(f"Database: it answers; `run` brings its schema up to date ({behind})")]
    return [failed(f"Database: {behind}", "run `smschat-bridge migrate`")]


async def redis_check(redis_url: str | None) -> Check:
    if not redis_url:
        return skipped("Redis: not set", "one instance keeps what Redis would share")
    redis = Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        return failed(f"Redis does not answer ({type(exc).__name__})", "check REDIS_URL")
    finally:
        await redis.aclose()
    return passed("Redis: it answers")
