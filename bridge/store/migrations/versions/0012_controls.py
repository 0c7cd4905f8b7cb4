"""conversation controls: muted cases, erasure audit, hashed opt-outs, the store's keys,
staff phones and the calls placed to them

Revision ID: 0012c
Revises: 0008
Create Date: 2026-12-02 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012c"
down_revision = "0011e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_mutes",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("muted_by", sa.String(length=32), nullable=False),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_mutes_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_mutes")),
    )
    op.create_table(
        "case_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("erased_by", sa.String(length=32), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_erasures")),
    )
    op.create_index(
        op.f("ix_case_erasures_erased_at"), "case_erasures", ["erased_at"], unique=False
    )
    op.create_table(
        "erased_opt_outs",
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("our_number", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number_hash", "our_number", name=op.f("pk_erased_opt_outs")),
    )
    op.create_table(
        "store_keys",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_keys")),
    )
    op.create_table(
        "staff_phones",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_phones")),
    )
    op.create_table(
        "staff_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("call_uuid", sa.String(length=64), nullable=True),
        sa.Column("shown", sa.String(length=400), server_default="", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_staff_calls_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_calls")),
        sa.UniqueConstraint("call_uuid", name=op.f("uq_staff_calls_call_uuid")),
    )
    op.create_index(op.f("ix_staff_calls_case_id"), "staff_calls", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_calls_case_id"), table_name="staff_calls")
    op.drop_table("staff_calls")
    op.drop_table("staff_phones")
    op.drop_table("store_keys")
    op.drop_table("erased_opt_outs")
    op.drop_index(op.f("ix_case_erasures_erased_at"), table_name="case_erasures")
    op.drop_table("case_erasures")
    op.drop_table("case_mutes")
