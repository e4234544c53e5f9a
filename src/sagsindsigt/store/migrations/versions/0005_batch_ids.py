"""Batch ids from a sequence, a primary key on batches, and data versions (schema version 5).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Written by hand: autogenerate sees neither sequences nor the renumbering. Before this revision
a batch id was ``max(id) + 1``, so a CLI import beside registrations in another process could
draw the id a registration drew. Such pairs are renumbered first: the batch loaded later gets
a new id, and so do the rows it wrote, where they can be told apart (its record kind's tables
when the kinds differ, its registration by time, its rejected rows by file). Then the key,
the sequence (starting after the highest id) and ``data_versions`` (one row a table; the store
adds the rows when it opens).

Frozen: the names are written out here, never imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _renumber_shared_ids(bind) -> None:
    tables = set(sa.inspect(bind).get_table_names())
    shared = bind.execute(sa.text(
        "SELECT ctid::text, id, kind, loaded_at, file, first_kind FROM ("
        "  SELECT ctid, id, kind, loaded_at, file,"
        "    row_number() OVER (PARTITION BY id ORDER BY loaded_at, ctid) AS n,"
        "    first_value(kind) OVER (PARTITION BY id ORDER BY loaded_at, ctid) AS first_kind"
        "  FROM batches) b WHERE n > 1 ORDER BY id, n")).all()
    if not shared:
        return
    top = bind.execute(sa.text("SELECT max(id) FROM batches")).scalar()
    for i, (ctid, old, kind, loaded_at, file, first_kind) in enumerate(shared, start=1):
        new = top + i
        bind.execute(sa.text("UPDATE batches SET id = :new WHERE ctid = CAST(:ctid AS tid)"),
                     {"new": new, "ctid": ctid})
        if kind != first_kind and kind in tables and f"{kind}_history" in tables:
            for table in (kind, f"{kind}_history"):
                bind.execute(sa.text(f'UPDATE "{table}" SET _batch = :new WHERE _batch = :old'),
                             {"new": new, "old": old})
        if kind == "complaints" and "complaint_registrations" in tables:
            bind.execute(sa.text(
                "UPDATE complaint_registrations SET batch = :new WHERE batch = :old "
                "AND registered_at = :at"), {"new": new, "old": old, "at": loaded_at})
        bind.execute(sa.text(
            "UPDATE rejects SET batch = :new WHERE batch = :old AND file IS NOT DISTINCT FROM "
            ":file"), {"new": new, "old": old, "file": file})


def upgrade() -> None:
    bind = op.get_bind()
    _renumber_shared_ids(bind)
    op.create_primary_key("batches_pkey", "batches", ["id"])
    start = bind.execute(sa.text("SELECT coalesce(max(id), 0) + 1 FROM batches")).scalar()
    op.execute(f"CREATE SEQUENCE batch_ids START WITH {int(start)}")
    op.create_table("data_versions", sa.Column("name", sa.String(), primary_key=True),
                    sa.Column("version", sa.BigInteger()))
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("data_versions")
    op.execute("DROP SEQUENCE IF EXISTS batch_ids")
    op.drop_constraint("batches_pkey", "batches", type_="primary")
    op.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
