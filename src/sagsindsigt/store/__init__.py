"""The store: versioned records on any engine, with "current" tables for the KPI layer.

For every record kind there are two tables:

* ``<kind>_history`` — every version of every record ever loaded, append-only. A record's
  identity is (source, key); a newer extract with a changed record adds version n+1.
* ``<kind>`` — the current version of each record, a derived snapshot that the KPI layer reads
  (plus derived columns such as a case's deadline date). It can be rebuilt from the history.

Plus ``batches`` (one row per import), ``rejects`` (every rejected row with its reasons) and
``meta`` (schema version, key fingerprint).

The schema comes about in two ways. On PostgreSQL (server mode) it is the Alembic revisions in
``migrations/``, so an upgrade keeps the data; the column lists below must then agree with the
newest revision (tests/store/test_migrations.py checks that). An embedded DuckDB store (one
process, the demo) creates its missing tables from the lists below.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pyarrow as pa

from ..access import restrict, scope_key
from ..contract import KINDS, Kind
from .engines import ARROW_TYPES, Engine, StoreError, connect

SCHEMA_VERSION = "3"  # 2: access tables; 3: sessions; on PostgreSQL the version of migration head
META_COLUMNS = [("_source", "VARCHAR"), ("_key", "VARCHAR"), ("_version", "BIGINT"),
                ("_batch", "BIGINT"), ("_hash", "VARCHAR")]
# Columns the store derives for the current table of a kind (see derive.py).
DERIVED = {
    "cases": [("benefit_area", "VARCHAR"), ("due", "DATE")],
}
BATCH_COLUMNS = [
    ("id", "BIGINT"), ("kind", "VARCHAR"), ("source", "VARCHAR"), ("file", "VARCHAR"),
    ("sha256", "VARCHAR"), ("covers_start", "DATE"), ("covers_end", "DATE"),
    ("covers_declared", "BOOLEAN"), ("rows_read", "BIGINT"), ("rows_loaded", "BIGINT"),
    ("rows_unchanged", "BIGINT"), ("rows_rejected", "BIGINT"), ("status", "VARCHAR"),
    ("strict", "BOOLEAN"), ("loaded_at", "TIMESTAMP"), ("message", "VARCHAR"),
]
REJECT_COLUMNS = [("batch", "BIGINT"), ("file", "VARCHAR"), ("row", "BIGINT"),
                  ("field", "VARCHAR"), ("value", "VARCHAR"), ("reason", "VARCHAR"),
                  ("record", "VARCHAR")]
TIMELINESS_ITEMS = [("rule", "VARCHAR"), ("case_id", "VARCHAR"), ("_source", "VARCHAR"),
                    ("administration", "VARCHAR"), ("unit", "VARCHAR"), ("case_type", "VARCHAR"),
                    ("benefit_area", "VARCHAR"), ("anchor", "DATE"), ("due", "DATE"),
                    ("done", "DATE")]
# Tables of the quality-audit workflow (audits/): rounds with their seed, drawn samples,
# every answer given in the review form (append-only), and the round's history.
AUDIT_TABLES = {
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
# Tables of access and trust (access/): users with argon2 password hashes, API tokens stored
# hashed, and the append-only audit log of who saw, downloaded or changed what.
ACCESS_TABLES = {
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
    # sign-in sessions (schema version 3): the cookie names one; sign-out, a new password or
    # a removed user ends it on the server, so a copied cookie stops working too
    "sessions": [("id", "VARCHAR"), ("name", "VARCHAR"), ("via", "VARCHAR"),
                 ("created_at", "TIMESTAMP"), ("ended_at", "TIMESTAMP")],
}


@dataclass
class WriteResult:
    loaded: int
    unchanged: int


class Store:
    """One store, on DuckDB or PostgreSQL, opened by URL."""

    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = connect(url)
        self.ibis = self.engine.ibis
        self._tables: dict[str, ibis.Table] = {}
        self._cache: dict = {}
        self._cache_version: tuple | None = None
        self._writes = 0  # bumped by every write through this Store object

    # -- caches ---------------------------------------------------------------------------
    def data_version(self) -> tuple:
        """Changes whenever data changes: every import adds a batch, and every write through
        this object bumps a counter (writes by other processes always come with a batch)."""
        rows = self.engine.query("SELECT count(*), coalesce(max(id), 0) FROM batches")
        return (int(rows[0][0]), int(rows[0][1]), self._writes)

    def touch(self) -> None:
        """Mark the data as changed (drops what :meth:`cached` holds)."""
        self._writes += 1
        self._cache.clear()

    def check_version(self) -> None:
        """Forget what :meth:`cached` holds if the data changed since (one small query)."""
        v = self.data_version()
        if v != self._cache_version:
            self._cache.clear()
            self._cache_version = v

    def cached(self, key: tuple, compute):
        """A value derived from the data (coverage, members), kept until the data changes
        (call :meth:`check_version` first, once per unit of work)."""
        key = (scope_key(), *key)  # cached values are made of the rows the caller may see
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- schema ---------------------------------------------------------------------------
    def _columns(self, kind: Kind, current: bool) -> list[tuple[str, str]]:
        cols = META_COLUMNS + [(f.name, self.engine.sql_type(f.type)) for f in kind.fields]
        if current:
            cols += DERIVED.get(kind.name, [])
        return cols

    def _create(self, name: str, cols: list[tuple[str, str]], existing: set[str]) -> None:
        if name not in existing:
            body = ", ".join(f'"{c}" {t}' for c, t in cols)
            self.engine.execute(f'CREATE TABLE "{name}" ({body})')

    def init(self) -> bool:
        """Bring the schema up to date: on PostgreSQL by running the pending migrations, on
        DuckDB by creating every table that is missing. Returns True when the store was new."""
        existing = self.engine.table_names()
        new = "meta" not in existing
        if self.engine.name == "postgres":
            self._migrate()
            return new
        with self.engine.transaction():
            self._create("meta", [("key", "VARCHAR"), ("value", "VARCHAR")], existing)
            self._create("batches", BATCH_COLUMNS, existing)
            self._create("rejects", REJECT_COLUMNS, existing)
            self._create("timeliness_items", TIMELINESS_ITEMS, existing)
            for name, cols in {**AUDIT_TABLES, **ACCESS_TABLES}.items():
                self._create(name, cols, existing)
            for kind in KINDS.values():
                self._create(f"{kind.name}_history", self._columns(kind, False), existing)
                self._create(kind.name, self._columns(kind, True), existing)
            if new:
                self.engine.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                                    [SCHEMA_VERSION])
            else:  # the missing tables of a newer version were just created
                self.engine.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' "
                                    "AND value <> ?", [SCHEMA_VERSION, SCHEMA_VERSION])
        return new

    def _migrate(self) -> None:
        """Run the pending migrations (PostgreSQL). Alembic uses a connection of its own, so
        this connection must hold no locks: it is outside any transaction here."""
        from . import migrations

        if migrations.revision(self.engine) == migrations.head():
            return
        from psycopg.pq import TransactionStatus

        if self.engine.raw.info.transaction_status != TransactionStatus.IDLE:
            raise StoreError("Databasens skema kan ikke opdateres midt i en transaktion: "
                             "kør 'sagsindsigt upgrade'.")
        migrations.upgrade(self.url)
        self._tables.clear()  # table schemas may have changed
        self.touch()

    def schema_revision(self) -> str | None:
        """The migration revision of a PostgreSQL store (None on DuckDB or before the first
        migration)."""
        if self.engine.name != "postgres":
            return None
        from . import migrations

        return migrations.revision(self.engine)

    def drop_all(self) -> None:
        """Drop every table of the store (the demo's --fresh; never used on real data)."""
        ours = {"meta", "batches", "rejects", "timeliness_items"}
        ours |= {n for k in KINDS for n in (k, f"{k}_history")}
        ours |= set(AUDIT_TABLES) | set(ACCESS_TABLES)
        ours |= {"complaint_registrations"}  # the registration log of complaints/
        self._tables.clear()
        self.touch()
        if self.engine.name == "postgres":
            ours |= {"alembic_version"}  # the migrations start over with the next init
        with self.engine.transaction():
            for name in self.engine.table_names() & ours:
                self.engine.execute(f'DROP TABLE "{name}"')
            if self.engine.name == "postgres":  # the auditlog trigger's function (0002)
                self.engine.execute("DROP FUNCTION IF EXISTS auditlog_append_only()")

    def is_initialised(self) -> bool:
        return "meta" in self.engine.table_names()

    def require(self) -> None:
        if not self.is_initialised():
            raise StoreError(
                f"Databasen {self.url} er ikke oprettet endnu: kør først 'sagsindsigt init'."
            )

    def meta(self, key: str) -> str | None:
        rows = self.engine.query("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.engine.transaction():
            self.engine.execute("DELETE FROM meta WHERE key = ?", [key])
            self.engine.execute("INSERT INTO meta VALUES (?, ?)", [key, value])

    # -- reading --------------------------------------------------------------------------
    def table(self, name: str) -> ibis.Table:
        """An Ibis table over a current table (or batches, rejects, ...). Looked up once per
        name: the schema lookup costs more than many queries."""
        t = self._tables.get(name)
        if t is None:
            t = self._tables[name] = self.ibis.table(name)
        return restrict(t)  # the acting principal's scope, below every reader

    def next_batch_id(self) -> int:
        rows = self.engine.query("SELECT max(id) FROM batches")
        return (rows[0][0] or 0) + 1

    def find_loaded_batch(self, kind: str, source: str, sha256: str) -> int | None:
        rows = self.engine.query(
            "SELECT id FROM batches WHERE kind = ? AND source = ? AND sha256 = ? "
            "AND status = 'indlæst' ORDER BY id LIMIT 1", [kind, source, sha256])
        return rows[0][0] if rows else None

    # -- writing --------------------------------------------------------------------------
    def record_batch(self, batch: dict, rejects: pa.Table | None) -> None:
        """Append a batch row and its rejected rows (call inside a transaction)."""
        names = [c for c, _ in BATCH_COLUMNS]
        self.engine.load_arrow("batches", pa.Table.from_pylist([{n: batch.get(n) for n in names}],
                                                               schema=_arrow_schema(BATCH_COLUMNS)))
        if rejects is not None and rejects.num_rows:
            self.engine.load_arrow("rejects", rejects)

    def write_records(self, kind: Kind, batch_id: int, staged: pa.Table) -> WriteResult:
        """Add new versions for staged records whose content changed (call inside a transaction).

        ``staged`` carries ``_source``, ``_key``, the kind's fields and its derived columns.
        The content hash is computed by the engine, so the same file always hashes the same.
        """
        if staged.num_rows == 0:
            return WriteResult(0, 0)
        self.touch()
        e = self.engine
        fields = [f.name for f in kind.fields]
        derived = [c for c, _ in DERIVED.get(kind.name, []) if c in staged.column_names]
        cols = [("_source", "VARCHAR"), ("_key", "VARCHAR")] + [
            (c, t) for c, t in self._columns(kind, True) if c in fields or c in derived]
        content = " || '\x1f' || ".join(
            f"coalesce(CAST({_q(f)} AS VARCHAR), '\\N')" for f in fields)
        cur, changed = _q(kind.name), f"_changed_{kind.name}"
        flist = ", ".join(_q(f) for f in fields)
        dlist = "".join(", " + _q(d) for d in derived)
        with e.staged(f"_stage_{kind.name}", cols, staged) as stage:
            # one pass: content hash, the version it would get, and whether it changed
            e.execute(f'DROP TABLE IF EXISTS "{changed}"')
            e.execute(
                f'CREATE TEMP TABLE "{changed}" AS SELECT s.*, coalesce(c._version, 0) + 1 '
                f'AS _version FROM (SELECT *, md5({content}) AS _hash FROM "{stage}") s '
                f'LEFT JOIN {cur} c ON c._source = s._source AND c._key = s._key '
                f'WHERE c._hash IS NULL OR c._hash <> s._hash')
        try:
            loaded = e.query(f'SELECT count(*) FROM "{changed}"')[0][0]
            if loaded:
                e.execute(
                    f'INSERT INTO "{kind.name}_history" (_source, _key, _version, _batch, '
                    f'_hash, {flist}) SELECT _source, _key, _version, {int(batch_id)}, _hash, '
                    f'{flist} FROM "{changed}"')
                if e.query(f'SELECT count(*) FROM "{changed}" WHERE _version > 1')[0][0]:
                    e.execute(
                        f'DELETE FROM {cur} WHERE EXISTS (SELECT 1 FROM "{changed}" s '
                        f'WHERE s._source = {cur}._source AND s._key = {cur}._key '
                        f'AND s._version > 1)')
                e.execute(
                    f'INSERT INTO {cur} (_source, _key, _version, _batch, _hash, {flist}'
                    f'{dlist}) SELECT _source, _key, _version, {int(batch_id)}, _hash, '
                    f'{flist}{dlist} FROM "{changed}"')
        finally:
            e.execute(f'DROP TABLE IF EXISTS "{changed}"')
        return WriteResult(loaded=loaded, unchanged=staged.num_rows - loaded)

    def update_derived(self, kind: Kind, rows: pa.Table) -> None:
        """Set derived columns of current records from ``rows`` (_source, _key, derived...)."""
        self.touch()
        e = self.engine
        stage = f"_derive_{kind.name}"
        derived = [(c, t) for c, t in DERIVED[kind.name] if c in rows.column_names]
        e.execute(f'DROP TABLE IF EXISTS "{stage}"')
        body = ", ".join(f"{_q(c)} {t}" for c, t in [("_source", "VARCHAR"),
                                                       ("_key", "VARCHAR"), *derived])
        e.execute(f'CREATE TEMP TABLE "{stage}" ({body})')
        e.load_arrow(stage, rows.select(["_source", "_key"] + [c for c, _ in derived]))
        sets = ", ".join(f"{_q(c)} = s.{_q(c)}" for c, _ in derived)
        e.execute(f'UPDATE "{kind.name}" SET {sets} FROM "{stage}" s '
                  f'WHERE s._source = "{kind.name}"._source AND s._key = "{kind.name}"._key')
        e.execute(f'DROP TABLE "{stage}"')

    def replace_table(self, name: str, rows: pa.Table) -> None:
        """Replace a derived table's rows (call inside a transaction)."""
        self.touch()
        self.engine.execute(f'DELETE FROM "{name}"')
        if rows.num_rows:
            self.engine.load_arrow(name, rows)

    def close(self) -> None:
        self.engine.close()


def _q(name: str) -> str:
    return f'"{name}"'


def _arrow_schema(cols: list[tuple[str, str]]) -> pa.Schema:
    return pa.schema([(c, ARROW_TYPES[t]) for c, t in cols])


def open_store(url: str, create: bool = False) -> Store:
    store = Store(url)
    if create:
        store.init()
    return store


__all__ = ["ACCESS_TABLES", "AUDIT_TABLES", "Store", "StoreError", "open_store", "WriteResult",
           "DERIVED", "REJECT_COLUMNS", "TIMELINESS_ITEMS"]
