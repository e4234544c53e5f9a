"""The appeals board's decision date on complaints (schema version 6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Written by hand, like 0004: a new field is part of every complaint's content hash, so the
current complaints are rehashed (the next extract then adds versions only for real changes).
Omgørelsesprocent counts by this date, as Ankestyrelsen does.

Frozen: the field list is written out here, never imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the fields of a complaint in contract order, as the store's content hash reads them
COMPLAINT_FIELDS = ["complaint_id", "administration", "unit", "benefit_area", "case_type",
                    "case_id", "received", "closed", "kind", "points", "channel", "via",
                    "strengthened_contact", "resolved_at_contact", "outcome", "appeal_outcome",
                    "summary", "appeal_decided"]


def _hash(fields: list[str]) -> str:
    return "md5(" + " || '\x1f' || ".join(
        f"coalesce(CAST(\"{f}\" AS VARCHAR), '\\N')" for f in fields) + ")"


def upgrade() -> None:
    op.add_column("complaints", sa.Column("appeal_decided", sa.Date()))
    op.add_column("complaints_history", sa.Column("appeal_decided", sa.Date()))
    op.execute(f"UPDATE complaints SET _hash = {_hash(COMPLAINT_FIELDS)}")
    op.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_column("complaints_history", "appeal_decided")
    op.drop_column("complaints", "appeal_decided")
    op.execute(f"UPDATE complaints SET _hash = {_hash(COMPLAINT_FIELDS[:-1])}")
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
