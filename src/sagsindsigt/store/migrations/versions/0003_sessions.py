"""Sign-in sessions kept on the server, so sign-out ends them (schema version 3).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Frozen: the column list is a copy of ACCESS_TABLES["sessions"] as it was.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = [("id", "VARCHAR"), ("name", "VARCHAR"), ("via", "VARCHAR"),
           ("created_at", "TIMESTAMP"), ("ended_at", "TIMESTAMP")]


def upgrade() -> None:
    body = ", ".join(f'"{c}" {t}' for c, t in COLUMNS)
    op.execute(f'CREATE TABLE IF NOT EXISTS "sessions" ({body})')
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute('DROP TABLE "sessions"')
    op.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
