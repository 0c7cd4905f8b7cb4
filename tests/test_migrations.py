"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from bridge.app import build_bridge
from bridge.config import Settings
from bridge.errors import ConfigError
from bridge.store.db import Database, migrate
from bridge.store.models import Base, is_modelled
from tests.conftest import reset_postgres


# The trigram indexes are PostgreSQL's only; SQLite cannot reflect expression indexes anyway.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def differences(connection):
        context = MigrationContext.configure(connection, opts={"include_name": is_modelled})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == []


@pytest.mark.postgres
async def test_run_refuses_a_postgres_schema_that_is_behind(postgres_url: str) -> None:
    await reset_postgres(postgres_url)  # an empty database: never migrated
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-test",
        slack_signing_secret="s" * 32,
        slack_channel="C0INBOX",
        vonage_api_key="key",
        vonage_api_secret="secret",
        vonage_numbers="+447700900000",
        database_url=postgres_url,
    )
    with pytest.raises(ConfigError, match="run `smschat-bridge migrate` first"):
        await build_bridge(settings)
    await migrate(postgres_url)
    bridge = await build_bridge(settings)  # migrated: it starts
    assert bridge.db.dialect == "postgresql"
    # A newer version migrated the schema further: this one still starts (rolling upgrade).
    async with bridge.db.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))
    await bridge.close()
    newer = await build_bridge(settings)
    await newer.close()
