"""Accepted signed requests, remembered in the store when there is no Redis to share them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from bridge.clock import Clock
from bridge.store.coordination import token_key
from bridge.store.db import Database, unavailable_as_such
from bridge.store.models import SeenToken

# Expired tokens are swept out now and then, by the call that happens to come along.
_SWEEP_EVERY = 200


class StoreSeenOnce:
    """`SeenOnce` in the `seen_tokens` table: every instance on the database refuses a replay."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._calls = 0

    async def first_time(self, token: str, *, ttl: float) -> bool:
        key = token_key(token)
        now = self.clock.now()
        insert = (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(
            SeenToken
        )
        statement = (
            insert.values(key=key, expires_at=now + timedelta(seconds=ttl))
            .on_conflict_do_update(
                index_elements=["key"],
                set_={"expires_at": now + timedelta(seconds=ttl)},
                where=SeenToken.expires_at < now,  # a token long expired may come back
            )
            .returning(SeenToken.key)
        )
        self._calls += 1
        with unavailable_as_such():
            async with self.db.transaction() as session:
                fresh = await session.scalar(statement) is not None
                if self._calls % _SWEEP_EVERY == 0:
                    await session.execute(delete(SeenToken).where(SeenToken.expires_at < now))
        return fresh

    async def forget(self, token: str) -> None:
        with unavailable_as_such():
            async with self.db.transaction() as session:
                await session.execute(delete(SeenToken).where(SeenToken.key == token_key(token)))
