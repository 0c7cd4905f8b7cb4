"""email as a channel beside SMS: each case's email thread, each email's Message-ID

Revision ID: 0011e
Revises: 0008
Create Date: 2026-12-02 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011e"
down_revision = "0010b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_threads",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("reply_channel", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_email_threads_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_email_threads")),
        sa.UniqueConstraint("token", name=op.f("uq_email_threads_token")),
    )
    op.create_table(
        "email_messages",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("rfc_message_id", sa.Text(), nullable=False),
        sa.Column("rfc_key", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_email_messages_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint("rfc_key", name=op.f("uq_email_messages_rfc_key")),
    )
    op.create_index("ix_email_messages_address", "email_messages", ["address"])


def downgrade() -> None:
    op.drop_index("ix_email_messages_address", table_name="email_messages")
    op.drop_table("email_messages")
    op.drop_table("email_threads")
