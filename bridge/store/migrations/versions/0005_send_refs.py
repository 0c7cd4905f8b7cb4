"""client-refs of started sends and of early receipts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("send_ref", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(op.f("ix_messages_send_ref"), ["send_ref"], unique=False)
    with op.batch_alter_table("early_receipts") as batch:
        batch.add_column(sa.Column("client_ref", sa.String(length=40), nullable=True))
        batch.create_index(op.f("ix_early_receipts_client_ref"), ["client_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("early_receipts") as batch:
        batch.drop_index(op.f("ix_early_receipts_client_ref"))
        batch.drop_column("client_ref")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(op.f("ix_messages_send_ref"))
        batch.drop_column("send_started_at")
        batch.drop_column("send_ref")
