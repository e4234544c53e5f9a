"""The process analysis's derived tables (schema version 9).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``process_cases`` (each case's path through its events) and ``process_edges`` (each
directly-follows step with its hours) are rebuilt from ``events`` and ``cases`` by every import
of either (issue 15). Derived data: dropping them loses nothing; until the next import or
``prepare`` rebuilds them, the analysis computes from the events as before.

Frozen: the columns are written out here, never imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_cases",
        sa.Column("_source", sa.String()), sa.Column("case_id", sa.String()),
        sa.Column("variant", sa.String()), sa.Column("first_activity", sa.String()),
        sa.Column("last_activity", sa.String()), sa.Column("events", sa.BigInteger()),
        sa.Column("first_at", sa.DateTime()), sa.Column("last_at", sa.DateTime()),
        sa.Column("administration", sa.String()), sa.Column("unit", sa.String()),
        sa.Column("case_type", sa.String()), sa.Column("benefit_area", sa.String()),
        sa.Column("received", sa.Date()), sa.Column("decided", sa.Date()),
        sa.Column("due", sa.Date()), sa.Column("split", sa.Boolean()),
        sa.Column("case_start", sa.Date()),
    )
    op.create_table(
        "process_edges",
        sa.Column("_source", sa.String()), sa.Column("case_id", sa.String()),
        sa.Column("src", sa.String()), sa.Column("dst", sa.String()),
        sa.Column("hours", sa.Double()), sa.Column("administration", sa.String()),
        sa.Column("unit", sa.String()), sa.Column("case_type", sa.String()),
        sa.Column("benefit_area", sa.String()), sa.Column("case_start", sa.Date()),
        sa.Column("late", sa.Boolean()),
    )
    op.execute("INSERT INTO data_versions (name, version) VALUES ('process_cases', 0), "
               "('process_edges', 0) ON CONFLICT (name) DO NOTHING")
    op.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("process_edges")
    op.drop_table("process_cases")
    op.execute("DELETE FROM data_versions WHERE name IN ('process_cases', 'process_edges')")
    op.execute("DELETE FROM meta WHERE key = 'process_tables'")
    op.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
