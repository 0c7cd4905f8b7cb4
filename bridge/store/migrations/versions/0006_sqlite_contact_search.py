"""contact search on SQLite: a full-text trigram index; numbers indexed by contact

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Kept in step with contacts and contact_numbers by triggers; `SqlCases.search`
# (store/cases.py) reads it on SQLite (PostgreSQL has its trigram indexes from 0004).
_TABLE = "contact_search"


# Each contact's row, lower-cased as the search's LIKE compares.
_FILL = f"""INSERT INTO {_TABLE} (rowid, name, email, numbers)
    SELECT id, lower(coalesce(name, '')), lower(coalesce(email, '')),
           coalesce((SELECT group_concat(number, ' ') FROM contact_numbers
                     WHERE contact_id = contacts.id), '')
    FROM contacts"""


def _refresh(contact_id: str) -> str:
    """Statements (for a trigger) that rewrite one contact's row from the tables."""
    return f"DELETE FROM {_TABLE} WHERE rowid = {contact_id}; {_FILL} WHERE id = {contact_id};"


_TRIGGERS = {
    "contact_search_contact_added": f"AFTER INSERT ON contacts BEGIN {_refresh('new.id')} END",
    "contact_search_contact_changed": (
        f"AFTER UPDATE OF name, email ON contacts BEGIN {_refresh('new.id')} END"
    ),
    "contact_search_contact_removed": (
        f"AFTER DELETE ON contacts BEGIN DELETE FROM {_TABLE} WHERE rowid = old.id; END"
    ),
    "contact_search_number_added": (
        f"AFTER INSERT ON contact_numbers BEGIN {_refresh('new.contact_id')} END"
    ),
    "contact_search_number_changed": (
        "AFTER UPDATE ON contact_numbers BEGIN "
        f"{_refresh('old.contact_id')} {_refresh('new.contact_id')} END"
    ),
    "contact_search_number_removed": (
        f"AFTER DELETE ON contact_numbers BEGIN {_refresh('old.contact_id')} END"
    ),
}


def upgrade() -> None:
    # A contact's numbers are looked up by contact: by the triggers below, and everywhere.
    with op.batch_alter_table("contact_numbers") as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_numbers_contact_id"), ["contact_id"])
    if op.get_bind().dialect.name != "sqlite":
        return
    # The trigram tokenizer lets the index answer LIKE '%abc%' (three characters or more).
    op.execute(
        f"CREATE VIRTUAL TABLE {_TABLE} USING fts5(name, email, numbers, tokenize='trigram')"
    )
    op.execute(_FILL)
    for name, body in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute(f"DROP TABLE {_TABLE}")
    with op.batch_alter_table("contact_numbers") as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_numbers_contact_id"))
