"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bridge.store.db import Database
from bridge.store.models import Base


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def differences(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with db.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == []
