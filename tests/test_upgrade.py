"""Jobs a running deployment left in its outbox before the core moved onto its ports still
run after the upgrade: kinds and payload keys are what the store held.

tests/fixtures/upgrade/outbox_before_restructure.json is a store that version's rules made
(its generator, beside it, says how): pending jobs of every kind, with the cases, texts,
schedule and long-text part they name.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select, text

from bridge.domain.work import (
    KINDS,
    DeleteCasePosts,
    DrawBroadcast,
    PaceBroadcast,
    PlaceCall,
    PostMedia,
    RetentionSweep,
    SendEmail,
)
from bridge.store.db import Database
from bridge.store.models import Base, OutboxJob, UtcDateTime
from tests.conftest import ADMIN, INBOX, STAFF

FIXTURE = Path(__file__).parent / "fixtures" / "upgrade" / "outbox_before_restructure.json"
# Kinds of work added after that version: it cannot have left jobs of them.
ADDED_SINCE = {
    PostMedia.kind,
    PaceBroadcast.kind,
    DrawBroadcast.kind,
    SendEmail.kind,
    DeleteCasePosts.kind,
    RetentionSweep.kind,
    PlaceCall.kind,
}
EARLIER_KINDS = set(KINDS) - ADDED_SINCE
REACTED_TS = "1700000000.000100"  # the message the fixture's reaction job names
MANAGER = "U0MANAGER"


async def load(url: str, dump: dict[str, list[dict]]) -> None:
    """The fixture's rows into a migrated, empty store, ids as they were."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            for table in Base.metadata.sorted_tables:
                rows = dump.get(table.name, [])
                dates = [c.name for c in table.columns if isinstance(c.type, UtcDateTime)]
                for row in rows:
                    values = {
                        k: datetime.fromisoformat(v) if k in dates and v else v
                        for k, v in row.items()
                    }
                    await session.execute(insert(table).values(**values))
                if rows and db.dialect == "postgresql" and "id" in table.columns:
                    # Explicit ids leave the sequence behind: the next row must not collide.
                    await session.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
    finally:
        await db.close()


def test_the_fixture_holds_a_pending_job_of_every_kind() -> None:
    dump = json.loads(FIXTURE.read_text(encoding="utf-8"))
    kinds = {job["kind"] for job in dump["outbox_jobs"] if job["status"] == "pending"}
    assert kinds == EARLIER_KINDS


async def test_jobs_left_by_the_earlier_version_all_run(
    start_live, database_url, fake_slack, fake_vonage
) -> None:
    dump = json.loads(FIXTURE.read_text(encoding="utf-8"))
    await load(database_url, dump)
    fake_slack.add_user(MANAGER, "maria")
    await fake_slack.post_as_user(INBOX, STAFF, "// call back tomorrow", ts=REACTED_TS)
    live = await start_live(SETTINGS_ADMINS=ADMIN)
    # The long text's part waited 1 s for the rest: its flush is due at once.
    await live.drained()

    async with live.bridge.db.reading() as session:
        jobs = (await session.execute(select(OutboxJob.id, OutboxJob.kind, OutboxJob.status))).all()
        left = await session.scalar(
            select(func.count()).select_from(OutboxJob).where(OutboxJob.status != "done")
        )
    old = {job["id"] for job in dump["outbox_jobs"]}
    assert {(j.kind, j.status) for j in jobs if j.id in old} == {(k, "done") for k in EARLIER_KINDS}
    assert left == 0, [j for j in jobs if j.status != "done"]
    # What they did reached Slack and Vonage.
    shown = live.shown_texts()
    assert "Hello" in shown and "Are you there?" in shown
    assert any("First half of a long" in t for t in shown), "the flushed part was shown"
    assert {c.params["name"] for c in fake_slack.calls("reactions.add")} >= {"lock"}
    assert len(fake_slack.calls("views.publish")) == 1
    assert len(fake_slack.calls("chat.postEphemeral")) == 2
    # Bob's auto-reply, Alice's text staff started, and the manager's copy of each of the
    # three texts that came while the schedule was on (the flushed part is the third).
    sent_to = sorted(send.to for send in fake_vonage.sends)
    assert sent_to == ["447700900123", "447700900456", *["447700900555"] * 3]
