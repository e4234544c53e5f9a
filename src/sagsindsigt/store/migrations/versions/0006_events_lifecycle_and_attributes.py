"""Events keep their lifecycle transition and their other attributes, and their trace's
(XES import, issue 15; schema version 6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Frozen: the column names are written out here, never imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("lifecycle", "attributes", "case_attributes")


def upgrade() -> None:
    for table in ("events", "events_history"):
        for column in COLUMNS:
            op.add_column(table, sa.Column(column, sa.String(), autoincrement=False,
                                           nullable=True))
    op.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")


def downgrade() -> None:
    for table in ("events_history", "events"):
        for column in reversed(COLUMNS):
            op.drop_column(table, column)
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
