"""seen signed requests; surrogate halves cut off at the edges of long-text parts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_tokens",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_tokens")),
    )
    op.create_index(op.f("ix_seen_tokens_expires_at"), "seen_tokens", ["expires_at"])
    with op.batch_alter_table("inbound_parts") as batch:
        batch.add_column(sa.Column("head_unit", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tail_unit", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_parts") as batch:
        batch.drop_column("tail_unit")
        batch.drop_column("head_unit")
    op.drop_index(op.f("ix_seen_tokens_expires_at"), table_name="seen_tokens")
    op.drop_table("seen_tokens")
