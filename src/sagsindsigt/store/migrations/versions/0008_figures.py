"""The KPI results the store keeps for every process (schema version 8).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

A figure is computed once when the data change (an import, the demo, ``serve`` before it
listens) and kept here with the data versions of the tables it read; a new process answers
from it without computing (issue 16). Derived data: dropping it loses nothing.

Frozen: the columns are written out here, never imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "figures",
        sa.Column("key", sa.String(), primary_key=True, autoincrement=False),
        sa.Column("reads", sa.String()),
        sa.Column("value", sa.String()),
        sa.Column("computed_at", sa.DateTime()),
    )
    op.execute("INSERT INTO data_versions (name, version) VALUES ('figures', 0) "
               "ON CONFLICT (name) DO NOTHING")
    op.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("figures")
    op.execute("DELETE FROM data_versions WHERE name = 'figures'")
    op.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
