"""chat settings, audit log, forwarding, reads, auto-replies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:17:31.795539
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_chat_settings")),
    )
    op.create_table(
        "forwarding_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("phone_numbers", sa.JSON(), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forwarding_schedules")),
    )
    op.create_table(
        "setting_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("changed_by", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setting_changes")),
    )
    with op.batch_alter_table("setting_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_setting_changes_changed_at"), ["changed_at"], unique=False
        )

    op.create_table(
        "auto_replies_sent",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("window", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_auto_replies_sent_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_auto_replies_sent_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("case_id", "kind", "window", name=op.f("pk_auto_replies_sent")),
    )
    op.create_table(
        "case_reads",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("read_up_to", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_reads_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_reads")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_staff_activity_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forwarded_from_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_messages_author_created_at", ["author", "created_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_forwarded_from_id_messages"),
            "messages",
            ["forwarded_from_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_messages_forwarded_from_id_messages"), type_="foreignkey"
        )
        batch_op.drop_index("ix_messages_author_created_at")
        batch_op.drop_column("forwarded_from_id")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("last_staff_activity_at")

    op.drop_table("case_reads")
    op.drop_table("auto_replies_sent")
    with op.batch_alter_table("setting_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_setting_changes_changed_at"))

    op.drop_table("setting_changes")
    op.drop_table("forwarding_schedules")
    op.drop_table("chat_settings")
