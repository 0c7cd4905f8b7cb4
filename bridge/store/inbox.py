"""The inbox: webhook events kept durably before the webhook is answered, routed after.

`InboxWriter` groups the events of concurrent requests into one transaction (group
commit): each request waits for the commit that holds its event, and a store that cannot
take it fails every request of that batch (the carrier retries them). `SqlInbox` is the
router's side: claim events in order, delete them once routed, set aside one that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.events import InboxEvent
from bridge.store.db import Database, unavailable_as_such
from bridge.store.models import InboxEventRow
from bridge.tasks import Foreground

PENDING, FAILED = "pending", "failed"


class InboxWriter:
    """Implements `EventIntake`: `keep` returns once the event is committed."""

    def __init__(
        self,
        db: Database,
        *,
        window: float = 0.002,
        most: int = 500,
        on_committed: Callable[[int], None] | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.db = db
        self.window = window  # how long a first event waits for others to join its commit
        self.most = most  # events in one commit at most
        self.on_committed = on_committed
        self.foreground = foreground or Foreground()
        self._waiting: list[tuple[InboxEvent, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def keep(self, event: InboxEvent) -> None:
        with self.foreground.serving():
            done = asyncio.get_running_loop().create_future()
            self._waiting.append((event, done))
            if self._writing is None or self._writing.done():
                self._writing = asyncio.create_task(self._write_all(), name="inbox-commit")
            # Shielded: a client that hangs up does not cancel the commit others wait for.
            await asyncio.shield(done)

    async def close(self) -> None:
        """Commit what is waiting, then stop."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing

    async def _write_all(self) -> None:
        await asyncio.sleep(self.window)
        while self._waiting:
            batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            try:
                await self._commit([event for event, _ in batch])
            except Exception as exc:  # each request waiting on it answers for it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            if self.on_committed is not None:
                self.on_committed(len(batch))

    async def _commit(self, events: Sequence[InboxEvent]) -> None:
        rows = [
            {
                "kind": e.kind,
                "key": e.key,
                "conversation": e.conversation,
                "payload": e.payload,
                "received_at": e.received_at,
            }
            for e in events
        ]
        with unavailable_as_such():
            try:
                await self._insert(rows)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # The server dropped the connection (a restart): the pool lets its others go,
                # and a fresh one takes the batch. Should the first commit have landed, its
                # repeat keeps nothing twice.
                await self._insert(rows)

    async def _insert(self, rows: list[dict[str, object]]) -> None:
        async with self.db.transaction(urgent=True) as session:
            await session.execute(_KEEP_ONCE[self.db.dialect], rows)


class SqlInbox:
    """`Arrivals` over one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, most: int) -> list[tuple[int, InboxEvent]]:
        query = (
            select(InboxEventRow)
            .where(InboxEventRow.status == PENDING)
            .order_by(InboxEventRow.id)
            .limit(most)
        )
        if self.session.bind.dialect.name != "postgresql":
            rows = list(await self.session.scalars(query))
        else:
            rows = await self._claim_among_instances(query)
        return [
            (
                row.id,
                InboxEvent(row.kind, row.key, row.conversation, row.payload, row.received_at),
            )
            for row in rows
        ]

    async def _claim_among_instances(self, query: object) -> list[InboxEventRow]:
        """The oldest pending events no other instance holds, each conversation's only as far
        as they run unbroken from its first pending event (a gap is an event another
        instance holds: what follows it waits for that one)."""
        rows = list(await self.session.scalars(query.with_for_update(skip_locked=True)))  # type: ignore[attr-defined]
        if not rows:
            return rows
        pending = await self.session.execute(
            select(InboxEventRow.conversation, InboxEventRow.id)
            .where(
                and_(
                    InboxEventRow.status == PENDING,
                    InboxEventRow.conversation.in_({row.conversation for row in rows}),
                    InboxEventRow.id <= rows[-1].id,
                )
            )
            .order_by(InboxEventRow.id)
        )
        ours = {row.id for row in rows}
        routable: set[int] = set()
        broken: set[str] = set()
        for conversation, event_id in pending:
            if conversation in broken:
                continue
            if event_id in ours:
                routable.add(event_id)
            else:
                broken.add(conversation)
        return [row for row in rows if row.id in routable]

    async def routed(self, event_ids: Sequence[int]) -> None:
        await self.session.execute(_ROUTED, {"event_ids": list(event_ids)})

    async def failed(self, event_id: int, error: str) -> None:
        await self.session.execute(
            update(InboxEventRow)
            .where(InboxEventRow.id == event_id)
            .values(status=FAILED, attempts=InboxEventRow.attempts + 1, last_error=error[:500])
        )

    async def waiting_in(self, conversation: str) -> bool:
        found = await self.session.scalar(
            select(InboxEventRow.id)
            .where(InboxEventRow.conversation == conversation, InboxEventRow.status == PENDING)
            .limit(1)
        )
        return found is not None

    async def pending(self) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(InboxEventRow)
                .where(InboxEventRow.status == PENDING)
            )
            or 0
        )


# Built once, on the table: they run for every batch the webhooks and the router commit.
# A repeat (the carrier retried a webhook whose answer it lost) is kept once.
_KEEP_ONCE = {
    name: dialect.insert(InboxEventRow.__table__).on_conflict_do_nothing(index_elements=["key"])
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_ROUTED = delete(InboxEventRow.__table__).where(
    InboxEventRow.__table__.c.id.in_(bindparam("event_ids", expanding=True))
)
