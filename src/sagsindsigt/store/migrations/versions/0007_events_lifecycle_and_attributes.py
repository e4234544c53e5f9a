"""Events keep their lifecycle transition and their other attributes, and their trace's
(XES import, issue 15; schema version 7).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

The new fields are part of every event's content hash, so the current events are rehashed
(as 0004 and 0006 do), and the next extract adds versions only for real changes.

Frozen: the column names are written out here, never imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("lifecycle", "attributes", "case_attributes")
# the fields of an event in contract order, as the store's content hash reads them
EVENT_FIELDS = ["case_id", "activity", "at", "unit", "actor", *COLUMNS]


def _hash(fields: list[str]) -> str:
    return "md5(" + " || '\x1f' || ".join(
        f"coalesce(CAST(\"{f}\" AS VARCHAR), '\\N')" for f in fields) + ")"


def upgrade() -> None:
    for table in ("events", "events_history"):
        for column in COLUMNS:
            op.add_column(table, sa.Column(column, sa.String(), autoincrement=False,
                                           nullable=True))
    op.execute(f"UPDATE events SET _hash = {_hash(EVENT_FIELDS)}")
    op.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")


def downgrade() -> None:
    for table in ("events_history", "events"):
        for column in reversed(COLUMNS):
            op.drop_column(table, column)
    op.execute(f"UPDATE events SET _hash = {_hash(EVENT_FIELDS[:-len(COLUMNS)])}")
    op.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
