"""Every table of the store, declared once.

Both ways a schema comes about are made from this module:

* an embedded DuckDB store: ``Store.init`` creates the missing tables, renames the tables in
  :data:`RENAMED` and adds the missing columns (:func:`ddl`), keeping the data;
* PostgreSQL (server mode): the Alembic revisions in ``migrations/versions``. A new revision is
  generated from :func:`metadata` (``make migration m="..."``, Alembic's autogenerate against
  this declaration), and ``tests/store/test_migrations.py`` checks that a database migrated to
  head has exactly these tables and columns, so the two cannot drift apart.

The columns of the record kinds come from the data contract (``contract.KINDS``): a field added
there is a column of ``<kind>`` and ``<kind>_history`` here. Types are named as DuckDB names
them; :func:`pg_type` gives PostgreSQL's name.
"""

from __future__ import annotations

from ..contract import KINDS, Kind
from ..contract.kinds import BOOL, DATE, INT, NUMBER, TIMESTAMP

# The version of the schema: DuckDB stores keep it in meta; on PostgreSQL it is the migration
# head's. 2: access tables; 3: sessions; 4: one declaration (complaint_registrations declared,
# the audit log renamed access_log, targets.name); 5: batches.id a primary key numbered by the
# sequence batch_ids, data_versions; 6: complaints.appeal_decided; 7: events.lifecycle,
# attributes, case_attributes (XES); 8: figures (the KPI results the store keeps); 9:
# process_cases and process_edges (the process analysis's derived paths and steps).
VERSION = "9"

VARCHAR, BIGINT, DATE_, BOOLEAN, TIMESTAMP_, DOUBLE = (
    "VARCHAR", "BIGINT", "DATE", "BOOLEAN", "TIMESTAMP", "DOUBLE")
FIELD_TYPES = {DATE: DATE_, TIMESTAMP: TIMESTAMP_, BOOL: BOOLEAN, INT: BIGINT, NUMBER: DOUBLE}

Columns = list[tuple[str, str]]

# Every history and current table of a record kind starts with these.
META_COLUMNS: Columns = [("_source", VARCHAR), ("_key", VARCHAR), ("_version", BIGINT),
                         ("_batch", BIGINT), ("_hash", VARCHAR)]
# Columns the store derives for the current table of a kind (see derive.py).
DERIVED: dict[str, Columns] = {"cases": [("benefit_area", VARCHAR), ("due", DATE_)]}

_CONTROL: dict[str, Columns] = {
    "meta": [("key", VARCHAR), ("value", VARCHAR)],
    # one row a table, its version bumped by every write to it (in the writer's transaction):
    # the caches of every process drop just what read a changed table (deps.py)
    "data_versions": [("name", VARCHAR), ("version", BIGINT)],
    # one row per import
    "batches": [
        ("id", BIGINT), ("kind", VARCHAR), ("source", VARCHAR), ("file", VARCHAR),
        ("sha256", VARCHAR), ("covers_start", DATE_), ("covers_end", DATE_),
        ("covers_declared", BOOLEAN), ("rows_read", BIGINT), ("rows_loaded", BIGINT),
        ("rows_unchanged", BIGINT), ("rows_rejected", BIGINT), ("status", VARCHAR),
        ("strict", BOOLEAN), ("loaded_at", TIMESTAMP_), ("message", VARCHAR)],
    # every rejected row with its reasons (the quarantine)
    "rejects": [("batch", BIGINT), ("file", VARCHAR), ("row", BIGINT), ("field", VARCHAR),
                ("value", VARCHAR), ("reason", VARCHAR), ("record", VARCHAR)],
    # derived: KPI results kept for every process (kpis.keep): the query's key, the data
    # versions of the tables the result read (JSON), the result (JSON). A write deletes the
    # results that read a table it changed; a result is used only while its versions hold.
    "figures": [("key", VARCHAR), ("reads", VARCHAR), ("value", VARCHAR),
                ("computed_at", TIMESTAMP_)],
    # derived: one row per (timeliness rule, case), rebuilt from events, rules and cases
    "timeliness_items": [
        ("rule", VARCHAR), ("case_id", VARCHAR), ("_source", VARCHAR),
        ("administration", VARCHAR), ("unit", VARCHAR), ("case_type", VARCHAR),
        ("benefit_area", VARCHAR), ("anchor", DATE_), ("due", DATE_), ("done", DATE_)],
    # derived (derive.refresh_process): one row per case of the events log, its path through
    # its analysed events (variant: activities joined by \x1f), its facts and scope columns
    # (split: its events lie in more than one unit)
    "process_cases": [
        ("_source", VARCHAR), ("case_id", VARCHAR), ("variant", VARCHAR),
        ("first_activity", VARCHAR), ("last_activity", VARCHAR), ("events", BIGINT),
        ("first_at", TIMESTAMP_), ("last_at", TIMESTAMP_), ("administration", VARCHAR),
        ("unit", VARCHAR), ("case_type", VARCHAR), ("benefit_area", VARCHAR),
        ("received", DATE_), ("decided", DATE_), ("due", DATE_), ("split", BOOLEAN),
        ("case_start", DATE_)],
    # derived: every directly-follows step of every case (▶ receipt, ■ decision) with the
    # hours it took, and its case's scope columns, start and whether it was decided late
    "process_edges": [
        ("_source", VARCHAR), ("case_id", VARCHAR), ("src", VARCHAR), ("dst", VARCHAR),
        ("hours", DOUBLE), ("administration", VARCHAR), ("unit", VARCHAR),
        ("case_type", VARCHAR), ("benefit_area", VARCHAR), ("case_start", DATE_),
        ("late", BOOLEAN)],
}
# The quality-audit workflow (audits/): rounds with their seed, drawn samples, every answer
# given in the review form (append-only), and the round's history.
AUDIT_TABLES: dict[str, Columns] = {
    "audit_rounds": [("concept", VARCHAR), ("round", VARCHAR), ("status", VARCHAR),
                     ("seed", BIGINT), ("size", BIGINT), ("stratify", VARCHAR),
                     ("population", BIGINT), ("drawn_at", TIMESTAMP_),
                     ("drawn_by", VARCHAR), ("closed_at", TIMESTAMP_), ("batch", BIGINT)],
    "audit_samples": [("concept", VARCHAR), ("round", VARCHAR), ("position", BIGINT),
                      ("case_id", VARCHAR), ("_source", VARCHAR), ("unit", VARCHAR),
                      ("case_type", VARCHAR), ("decided", DATE_), ("calibration", BOOLEAN)],
    "audit_answers": [("id", BIGINT), ("concept", VARCHAR), ("round", VARCHAR),
                      ("case_id", VARCHAR), ("check", VARCHAR), ("reviewer", VARCHAR),
                      ("reviewer_role", VARCHAR), ("result", VARCHAR), ("note", VARCHAR),
                      ("answered_at", TIMESTAMP_), ("via", VARCHAR)],
    "audit_events": [("id", BIGINT), ("concept", VARCHAR), ("round", VARCHAR),
                     ("at", TIMESTAMP_), ("action", VARCHAR), ("actor", VARCHAR),
                     ("reason", VARCHAR), ("detail", VARCHAR)],
}
# Complaint registration (complaints/): who registered or corrected which version, and how.
COMPLAINT_TABLES: dict[str, Columns] = {
    "complaint_registrations": [
        ("_source", VARCHAR), ("complaint_id", VARCHAR), ("version", BIGINT),
        ("batch", BIGINT), ("action", VARCHAR), ("registered_by", VARCHAR),
        ("registered_at", TIMESTAMP_), ("changes", VARCHAR)],
}
# Access and trust (access/): users with argon2 password hashes, API tokens stored hashed,
# sign-in sessions, and the append-only access log (adgangslog) of who saw, downloaded or
# changed what.
ACCESS_TABLES: dict[str, Columns] = {
    "users": [("name", VARCHAR), ("role", VARCHAR), ("scope", VARCHAR),
              ("password_hash", VARCHAR), ("origin", VARCHAR), ("failures", BIGINT),
              ("locked_until", TIMESTAMP_), ("created_at", TIMESTAMP_),
              ("last_login", TIMESTAMP_)],
    "api_tokens": [("id", VARCHAR), ("name", VARCHAR), ("role", VARCHAR), ("scope", VARCHAR),
                   ("token_hash", VARCHAR), ("created_at", TIMESTAMP_),
                   ("created_by", VARCHAR), ("last_used", TIMESTAMP_),
                   ("revoked_at", TIMESTAMP_)],
    "access_log": [("id", VARCHAR), ("logged_at", TIMESTAMP_), ("actor", VARCHAR),
                   ("role", VARCHAR), ("scope", VARCHAR), ("via", VARCHAR),
                   ("action", VARCHAR), ("object", VARCHAR), ("filters", VARCHAR),
                   ("outcome", VARCHAR), ("address", VARCHAR)],
    "sessions": [("id", VARCHAR), ("name", VARCHAR), ("via", VARCHAR),
                 ("created_at", TIMESTAMP_), ("ended_at", TIMESTAMP_)],
}
# Primary keys (the other tables are append-only logs or snapshots keyed by (source, key)).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {"batches": ("id",), "data_versions": ("name",),
                                            "figures": ("key",)}
# Sequences: name → (table, column) it numbers. A batch id is drawn from its sequence, so
# concurrent writers (an import beside registrations) never share one.
SEQUENCES: dict[str, tuple[str, str]] = {"batch_ids": ("batches", "id")}
# Tables that had another name in an earlier version: old name → new name.
RENAMED: dict[str, str] = {"auditlog": "access_log"}


def kind_columns(kind: Kind, current: bool) -> Columns:
    """The columns of ``<kind>`` (current) or ``<kind>_history``."""
    cols = META_COLUMNS + [(f.name, FIELD_TYPES.get(f.type, VARCHAR)) for f in kind.fields]
    return cols + (DERIVED.get(kind.name, []) if current else [])


def _tables() -> dict[str, Columns]:
    out = {**_CONTROL, **AUDIT_TABLES, **COMPLAINT_TABLES, **ACCESS_TABLES}
    for kind in KINDS.values():
        out[f"{kind.name}_history"] = kind_columns(kind, current=False)
        out[kind.name] = kind_columns(kind, current=True)
    return out


TABLES: dict[str, Columns] = _tables()


def columns(table: str) -> Columns:
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"no table {table!r} in the schema") from None


def pg_type(t: str) -> str:
    return "DOUBLE PRECISION" if t == DOUBLE else t


def ddl(table: str, pg: bool = False) -> str:
    """``CREATE TABLE`` for one table (DuckDB's type names, or PostgreSQL's)."""
    body = ", ".join(f'"{c}" {pg_type(t) if pg else t}' for c, t in columns(table))
    if table in PRIMARY_KEYS:
        body += ", PRIMARY KEY (" + ", ".join(f'"{c}"' for c in PRIMARY_KEYS[table]) + ")"
    return f'CREATE TABLE "{table}" ({body})'


def metadata():
    """The schema as SQLAlchemy metadata, for Alembic (autogenerate, and the drift test).
    Imported on demand: SQLAlchemy is only needed on PostgreSQL."""
    import sqlalchemy as sa

    types = {VARCHAR: sa.String, BIGINT: sa.BigInteger, DATE_: sa.Date, BOOLEAN: sa.Boolean,
             TIMESTAMP_: sa.DateTime, DOUBLE: sa.Double}
    md = sa.MetaData()
    for name, cols in TABLES.items():
        keys = PRIMARY_KEYS.get(name, ())
        sa.Table(name, md, *[sa.Column(c, types[t](), primary_key=c in keys,
                                       autoincrement=False) for c, t in cols])
    return md


__all__ = ["ACCESS_TABLES", "AUDIT_TABLES", "COMPLAINT_TABLES", "DERIVED", "META_COLUMNS",
           "PRIMARY_KEYS", "RENAMED", "SEQUENCES", "TABLES", "VERSION", "columns", "ddl",
           "kind_columns", "metadata"]
