"""Access: users, API tokens and the append-only audit log (schema version 2).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Frozen: the column lists are copies of ACCESS_TABLES as they were. The tables are created
only where missing: the old ``Store.init`` already made them in stores set up after the
access tables came and before migrations did (such a store is stamped at 0001).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = {
    "users": [("name", "VARCHAR"), ("role", "VARCHAR"), ("scope", "VARCHAR"),
              ("password_hash", "VARCHAR"), ("origin", "VARCHAR"), ("failures", "BIGINT"),
              ("locked_until", "TIMESTAMP"), ("created_at", "TIMESTAMP"),
              ("last_login", "TIMESTAMP")],
    "api_tokens": [("id", "VARCHAR"), ("name", "VARCHAR"), ("role", "VARCHAR"),
                   ("scope", "VARCHAR"), ("token_hash", "VARCHAR"), ("created_at", "TIMESTAMP"),
                   ("created_by", "VARCHAR"), ("last_used", "TIMESTAMP"),
                   ("revoked_at", "TIMESTAMP")],
    "auditlog": [("id", "VARCHAR"), ("logged_at", "TIMESTAMP"), ("actor", "VARCHAR"),
                 ("role", "VARCHAR"), ("scope", "VARCHAR"), ("via", "VARCHAR"),
                 ("action", "VARCHAR"), ("object", "VARCHAR"), ("filters", "VARCHAR"),
                 ("outcome", "VARCHAR"), ("address", "VARCHAR")],
}

# The audit log is append-only: rows can be added, never changed or removed (dropping the
# whole table, as 'demo --fresh' does, is still possible for the table's owner).
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION auditlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Revisionsloggen kan kun tilføjes, ikke ændres.'
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    for name, cols in TABLES.items():
        body = ", ".join(f'"{c}" {t}' for c, t in cols)
        op.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({body})')
    op.execute(APPEND_ONLY)
    op.execute("DROP TRIGGER IF EXISTS auditlog_no_change ON auditlog")
    op.execute("DROP TRIGGER IF EXISTS auditlog_no_truncate ON auditlog")
    op.execute("CREATE TRIGGER auditlog_no_change BEFORE UPDATE OR DELETE ON auditlog "
               "FOR EACH ROW EXECUTE FUNCTION auditlog_append_only()")
    op.execute("CREATE TRIGGER auditlog_no_truncate BEFORE TRUNCATE ON auditlog "
               "FOR EACH STATEMENT EXECUTE FUNCTION auditlog_append_only()")
    op.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.execute(f'DROP TABLE "{name}"')
    op.execute("DROP FUNCTION auditlog_append_only()")
    op.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
