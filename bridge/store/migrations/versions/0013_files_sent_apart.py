"""several files to a staff message: media_files no longer one per message, and the sends
made for a message's further files (messages.files_of_id)

Revision ID: 0013f
Revises: 0012c
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013f"
down_revision = "0012c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_files") as batch:
        batch.drop_constraint(op.f("uq_media_files_message_id"), type_="unique")
        batch.create_index(op.f("ix_media_files_message_id"), ["message_id"], unique=False)
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("files_of_id", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_messages_files_of_id"), ["files_of_id"], unique=False)
        batch.create_foreign_key(
            op.f("fk_messages_files_of_id_messages"), "messages", ["files_of_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("fk_messages_files_of_id_messages"), type_="foreignkey")
        batch.drop_index(op.f("ix_messages_files_of_id"))
        batch.drop_column("files_of_id")
    with op.batch_alter_table("media_files") as batch:
        batch.drop_index(op.f("ix_media_files_message_id"))
        batch.create_unique_constraint(op.f("uq_media_files_message_id"), ["message_id"])
