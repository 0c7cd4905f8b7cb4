"""indexes for contact search: trigrams (PostgreSQL), cases by contact

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# name, table, indexed expression: what `SqlCases.search` (store/cases.py) matches with
# LIKE '%x%'.
_INDEXES = (
    ("ix_contacts_name_trgm", "contacts", "lower(name)"),
    ("ix_contacts_email_trgm", "contacts", "lower(email)"),
    ("ix_contact_numbers_number_trgm", "contact_numbers", "number"),
)


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_contact_id"), ["contact_id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite searches by scanning; a B-tree cannot answer LIKE '%x%'
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in _INDEXES:
        op.create_index(
            name,
            table,
            [sa.text(f"{expression} gin_trgm_ops")],
            postgresql_using="gin",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _expression in _INDEXES:
            op.drop_index(name, table_name=table)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_contact_id"))
