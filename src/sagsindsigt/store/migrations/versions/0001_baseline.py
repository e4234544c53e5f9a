"""Baseline: the store as the create-missing-tables init made it, before access tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Frozen: the column lists below are copies, not imports of the store module. Never edit this
file; change the schema in a new revision. A PostgreSQL store made by the old ``Store.init``
(before migrations) is stamped at this revision, not run through it.
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# the columns every history and current table starts with
META = [("_source", "VARCHAR"), ("_key", "VARCHAR"), ("_version", "BIGINT"),
        ("_batch", "BIGINT"), ("_hash", "VARCHAR")]

TABLES = {
    "meta": [("key", "VARCHAR"), ("value", "VARCHAR")],
    "batches": [
        ("id", "BIGINT"), ("kind", "VARCHAR"), ("source", "VARCHAR"), ("file", "VARCHAR"),
        ("sha256", "VARCHAR"), ("covers_start", "DATE"), ("covers_end", "DATE"),
        ("covers_declared", "BOOLEAN"), ("rows_read", "BIGINT"), ("rows_loaded", "BIGINT"),
        ("rows_unchanged", "BIGINT"), ("rows_rejected", "BIGINT"), ("status", "VARCHAR"),
        ("strict", "BOOLEAN"), ("loaded_at", "TIMESTAMP"), ("message", "VARCHAR"),
    ],
    "rejects": [("batch", "BIGINT"), ("file", "VARCHAR"), ("row", "BIGINT"),
                ("field", "VARCHAR"), ("value", "VARCHAR"), ("reason", "VARCHAR"),
                ("record", "VARCHAR")],
    "timeliness_items": [("rule", "VARCHAR"), ("case_id", "VARCHAR"), ("_source", "VARCHAR"),
                         ("administration", "VARCHAR"), ("unit", "VARCHAR"),
                         ("case_type", "VARCHAR"), ("benefit_area", "VARCHAR"),
                         ("anchor", "DATE"), ("due", "DATE"), ("done", "DATE")],
    "audit_rounds": [("concept", "VARCHAR"), ("round", "VARCHAR"), ("status", "VARCHAR"),
                     ("seed", "BIGINT"), ("size", "BIGINT"), ("stratify", "VARCHAR"),
                     ("population", "BIGINT"), ("drawn_at", "TIMESTAMP"),
                     ("drawn_by", "VARCHAR"), ("closed_at", "TIMESTAMP"), ("batch", "BIGINT")],
    "audit_samples": [("concept", "VARCHAR"), ("round", "VARCHAR"), ("position", "BIGINT"),
                      ("case_id", "VARCHAR"), ("_source", "VARCHAR"), ("unit", "VARCHAR"),
                      ("case_type", "VARCHAR"), ("decided", "DATE"),
                      ("calibration", "BOOLEAN")],
    "audit_answers": [("id", "BIGINT"), ("concept", "VARCHAR"), ("round", "VARCHAR"),
                      ("case_id", "VARCHAR"), ("check", "VARCHAR"), ("reviewer", "VARCHAR"),
                      ("reviewer_role", "VARCHAR"), ("result", "VARCHAR"), ("note", "VARCHAR"),
                      ("answered_at", "TIMESTAMP"), ("via", "VARCHAR")],
    "audit_events": [("id", "BIGINT"), ("concept", "VARCHAR"), ("round", "VARCHAR"),
                     ("at", "TIMESTAMP"), ("action", "VARCHAR"), ("actor", "VARCHAR"),
                     ("reason", "VARCHAR"), ("detail", "VARCHAR")],
}

# the fields of each record kind (PostgreSQL types), in contract order
KINDS = {
    "organisation": [("code", "VARCHAR"), ("name", "VARCHAR"), ("parent", "VARCHAR"),
                     ("level", "VARCHAR")],
    "case_types": [("code", "VARCHAR"), ("name", "VARCHAR"), ("administration", "VARCHAR"),
                   ("benefit_area", "VARCHAR"), ("legal_basis", "VARCHAR"),
                   ("deadline", "VARCHAR")],
    "cases": [("case_id", "VARCHAR"), ("administration", "VARCHAR"), ("unit", "VARCHAR"),
              ("case_type", "VARCHAR"), ("received", "DATE"), ("decided", "DATE"),
              ("outcome", "VARCHAR"), ("deadline", "VARCHAR"),
              ("complete_on_receipt", "BOOLEAN"), ("citizen", "VARCHAR")],
    "volumes": [("administration", "VARCHAR"), ("unit", "VARCHAR"), ("case_type", "VARCHAR"),
                ("period_start", "DATE"), ("period_end", "DATE"),
                ("cases_received", "BIGINT")],
    "events": [("case_id", "VARCHAR"), ("activity", "VARCHAR"), ("at", "TIMESTAMP"),
               ("unit", "VARCHAR"), ("actor", "VARCHAR")],
    "complaints": [("complaint_id", "VARCHAR"), ("administration", "VARCHAR"),
                   ("unit", "VARCHAR"), ("benefit_area", "VARCHAR"), ("case_type", "VARCHAR"),
                   ("case_id", "VARCHAR"), ("received", "DATE"), ("closed", "DATE"),
                   ("kind", "VARCHAR"), ("points", "VARCHAR"), ("channel", "VARCHAR"),
                   ("via", "VARCHAR"), ("strengthened_contact", "BOOLEAN"),
                   ("resolved_at_contact", "BOOLEAN"), ("outcome", "VARCHAR"),
                   ("appeal_outcome", "VARCHAR"), ("summary", "VARCHAR")],
    "concepts": [("id", "VARCHAR"), ("name", "VARCHAR"), ("administration", "VARCHAR"),
                 ("benefit_area", "VARCHAR"), ("frequency", "VARCHAR"),
                 ("sample_size", "BIGINT")],
    "concept_checks": [("concept", "VARCHAR"), ("id", "VARCHAR"), ("text", "VARCHAR"),
                       ("category", "VARCHAR"), ("position", "BIGINT")],
    "reviews": [("round", "VARCHAR"), ("concept", "VARCHAR"), ("case_id", "VARCHAR"),
                ("unit", "VARCHAR"), ("reviewer", "VARCHAR"), ("reviewer_role", "VARCHAR"),
                ("check", "VARCHAR"), ("result", "VARCHAR")],
    "targets": [("id", "VARCHAR"), ("kpi", "VARCHAR"), ("administration", "VARCHAR"),
                ("unit", "VARCHAR"), ("case_type", "VARCHAR"), ("period", "VARCHAR"),
                ("direction", "VARCHAR"), ("value", "DOUBLE PRECISION"),
                ("relative_period", "VARCHAR"), ("relative_factor", "DOUBLE PRECISION")],
    "timeliness_rules": [("id", "VARCHAR"), ("name", "VARCHAR"), ("administration", "VARCHAR"),
                         ("anchor", "VARCHAR"), ("required", "VARCHAR"), ("limit", "VARCHAR")],
}

# columns the store derives on the current table of a kind
DERIVED = {"cases": [("benefit_area", "VARCHAR"), ("due", "DATE")]}


def _tables() -> dict[str, list[tuple[str, str]]]:
    tables = dict(TABLES)
    for kind, fields in KINDS.items():
        tables[f"{kind}_history"] = META + fields
        tables[kind] = META + fields + DERIVED.get(kind, [])
    return tables


def upgrade() -> None:
    for name, cols in _tables().items():
        body = ", ".join(f'"{c}" {t}' for c, t in cols)
        op.execute(f'CREATE TABLE "{name}" ({body})')
    op.execute("INSERT INTO meta VALUES ('schema_version', '1')")


def downgrade() -> None:
    for name in _tables():
        op.execute(f'DROP TABLE "{name}"')
