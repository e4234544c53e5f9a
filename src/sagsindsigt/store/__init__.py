"""The store: versioned records on any engine, with "current" tables for the KPI layer.

For every record kind there are two tables:

* ``<kind>_history`` — every version of every record ever loaded, append-only. A record's
  identity is (source, key); a newer extract with a changed record adds version n+1.
* ``<kind>`` — the current version of each record, a derived snapshot that the KPI layer reads
  (plus derived columns such as a case's deadline date). It can be rebuilt from the history.

Plus ``batches`` (one row per import), ``rejects`` (every rejected row with its reasons) and
``meta`` (schema version, key fingerprint).

Every table is declared once, in :mod:`.schema`; reads go through :meth:`Store.table` and
:mod:`.reads`, which apply the acting principal's scope.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import lazy
from ..access import restrict, scope_conditions, scope_key
from ..contract import KINDS, Kind
from . import schema
from .deps import changed_names, drop_stale, frozen, note, tracking
from .engines import Engine, StoreError, arrow_type, connect, run_expr, run_keyed
from .schema import ACCESS_TABLES, AUDIT_TABLES, DERIVED, META_COLUMNS

ibis = lazy.module("ibis")
pl = lazy.module("polars")
pa = lazy.module("pyarrow")

SCHEMA_VERSION = schema.VERSION
# advisory lock ids of serialised writers (PostgreSQL)
PG_LOCKS = {"complaints": 5_240_001, "process_tables": 5_240_002}
CACHE_SIZE = 8192  # values kept by Store.cached (coverage, members, query results)
# the tables touched in the transaction in progress (their versions are bumped as it commits)
_log = logging.getLogger("sagsindsigt.store")
_DIGEST = re.compile(r"[a-p]{64}")  # kpis.keep's digests, in letters
_PENDING: ContextVar[set[str] | None] = ContextVar("pending_touches", default=None)


@dataclass
class WriteResult:
    loaded: int
    unchanged: int


class Store:
    """One store, on DuckDB or PostgreSQL, opened by URL.

    The engine is private: every read goes through :meth:`table` (the acting principal's
    scope applied below every reader) and the readers of :mod:`sagsindsigt.store.reads`; every
    write through the methods below, whose table and column names are checked against the
    one schema (:mod:`sagsindsigt.store.schema`). A lint rule keeps other rooms off the engine.
    """

    def __init__(self, url: str, lake: str | None = None):
        self.url = url
        self.lake_url = lake or None
        self._engine: Engine = connect(url)
        # the tables of the figures read from a lake beside the store (--lake spark:PATH)
        self._lake: Engine | None = None
        if lake:
            if not lake.startswith(("spark:", "lake:")):
                self._engine.close()
                raise StoreError(f"Datasøen '{lake}' skal angives som spark:MAPPE (Spark) "
                                 "eller lake:MAPPE (DuckDB).")
            if self._engine.read_only:
                self._engine.close()
                raise StoreError("--lake bruges sammen med en DuckDB- eller PostgreSQL-"
                                 "database (--db); en datasø alene angives med --db spark:MAPPE.")
            try:
                self._lake = connect(lake)
            except Exception:
                self._engine.close()
                raise
        # the lake the figures' tables are read from, and those tables
        from .lake import tables

        if self._lake is not None:
            self._lake_tables = (self._lake, frozenset(tables()) - {"batches"})
        elif self._engine.read_only:
            self._lake_tables = (self._engine, frozenset(tables()))
        else:
            self._lake_tables = (None, frozenset())
        self._tables: dict[str, ibis.Table] = {}
        # key → (the tables the value read, the value), the least recently used dropped first
        self._cache: OrderedDict[tuple, tuple[frozenset[str], Any]] = OrderedDict()
        self._cache_version: dict[str, int] | None = None
        self._cache_lock = threading.Lock()
        self._figures_table: bool | None = None
        # one connection per Store: the threads of a process take turns on it (the web app's
        # requests, concurrent writers); hold it for a whole unit of work
        self.lock = threading.RLock()

    @property
    def backend(self) -> str:
        """``duckdb``, ``postgres``, or a lake on its own (read-only): ``spark`` or
        ``duckdb-lake``."""
        return self._engine.name

    @property
    def read_only(self) -> bool:
        """A lake opened on its own (``spark:PATH``): figures only, no writes."""
        return self._engine.read_only

    @property
    def figures_engine(self) -> str:
        """The engine that computes the figures: the lake's when one is beside the store."""
        return (self._lake or self._engine).name

    # -- caches ---------------------------------------------------------------------------
    def data_version(self) -> dict[str, int]:
        """The data version of every table (one small query, on a connection of its own so
        that it never waits behind a long query): each write bumps the tables it changed, in
        its transaction, so every process sees what changed when it commits."""
        v = {} if self.read_only else {n: int(v) for n, v in self._engine.side_query(
            "SELECT name, version FROM data_versions")}
        lake, names = self._lake_tables
        if lake is not None:  # a new export of the lake is a new version of its tables
            version = lake.version
            v.update(dict.fromkeys(names, version))
        return v

    def touch(self, *tables: str) -> None:
        """Mark tables as changed: their data versions are bumped in one statement when the
        write's transaction commits (at once outside one), and what this object derived from
        them is dropped now."""
        names = set(tables)
        with self._cache_lock:
            drop_stale(self._cache, names)
        pending = _PENDING.get()
        if pending is not None:
            pending.update(names)
        else:
            self._bump(names)

    def _bump(self, names: set[str]) -> None:
        names = names - {"figures"}
        if names:
            marks = ", ".join("?" for _ in names)
            self._engine.execute("UPDATE data_versions SET version = version + 1 "
                                 f"WHERE name IN ({marks})", sorted(names))
            if self._keeps_figures():  # the kept results that read a changed table go
                self._engine.execute(
                    "DELETE FROM figures WHERE " + " OR ".join("reads LIKE ?" for _ in names),
                    [f'%"{n}":%' for n in sorted(names)])

    # -- kept figures (kpis.keep) ---------------------------------------------------------
    def _keeps_figures(self) -> bool:
        """Whether the schema has ``figures`` (a store made before version 8 answers every
        query by computing until it is upgraded)."""
        if self._figures_table is None:
            self._figures_table = "figures" in self._engine.table_names()
        return self._figures_table

    def kept_figure(self, key: str) -> tuple[dict[str, int], str] | None:
        """The kept result of ``key`` (a digest of the query, the caller's scope and what
        else decides it) as (the versions of the tables it read, its JSON), if one is kept
        and every one of those versions still holds (:meth:`check_version` gives them);
        read on the side connection, so it never waits behind a computation."""
        if not self._keeps_figures():
            return None
        if not _DIGEST.fullmatch(key):
            raise ValueError("a kept figure's key is a digest in the letters a-p")
        # written into the statement (a digest in letters, checked above): a parameter makes
        # the DuckDB driver import pandas, a second of a one-shot command's time
        rows = self._engine.side_query(f"SELECT reads, value FROM figures WHERE key = '{key}'")
        if not rows:
            return None
        reads, value = json.loads(rows[0][0]), rows[0][1]
        current = self._cache_version or self.data_version()
        if any(current.get(t) != v for t, v in reads.items()):
            return None
        return reads, value

    def keep_figure(self, key: str, reads: dict[str, int], value: str) -> None:
        """Keep a result computed from the data at the versions ``reads`` (replacing one
        kept under the same key). Best effort: a store that cannot be written to (a
        read-only role) still answers, by computing."""
        if not self._keeps_figures():
            return
        if not _DIGEST.fullmatch(key):
            raise ValueError("a kept figure's key is a digest in the letters a-p")
        # literals, not parameters (a parameter makes the DuckDB driver import pandas): the
        # key a digest in letters, the rest JSON text made here, quoted as SQL quotes ('' for ')
        values = ", ".join(_quoted(v) for v in (
            key, json.dumps(reads, sort_keys=True), value,
            datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")))
        try:
            with self.lock, self._engine.transaction():
                self._engine.execute(f"DELETE FROM figures WHERE key = '{key}'")
                self._engine.execute("INSERT INTO figures (key, reads, value, computed_at) "
                                     f"VALUES ({values})")
        except Exception as exc:  # noqa: BLE001 — keeping is a courtesy, never a failure
            _log.debug("Figure not kept: %s", exc)

    def forget_figures(self) -> int:
        """Delete every kept result (``sagsindsigt figures --forget``); returns how many."""
        if not self._keeps_figures():
            return 0
        with self.lock, self._engine.transaction():
            n = self._engine.query("SELECT count(*) FROM figures")[0][0]
            self._engine.execute("DELETE FROM figures")
        return int(n)

    def check_version(self) -> dict[str, int]:
        """Forget what :meth:`cached` holds of the tables that changed since (one small
        query); returns the data versions."""
        v = self.data_version()
        with self._cache_lock:
            changed = changed_names(self._cache_version, v)
            if changed is None or changed:  # a new object only on a change (see cached)
                drop_stale(self._cache, changed)
                self._cache_version = v
        return v

    def cached(self, key: tuple, compute):
        """A value derived from the data (coverage, members), kept until a table it read
        changes (call :meth:`check_version` first, once per unit of work)."""
        key = (scope_key(), *key)  # cached values are made of the rows the caller may see
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is not None:
            note(hit[0])
            return hit[1]
        since = self._cache_version
        with tracking() as seen:
            value = compute()
        with self._cache_lock:
            if self._cache_version is not since:  # a newer write was seen meanwhile
                return value
            self._cache[key] = (frozen(seen), value)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    # -- schema ---------------------------------------------------------------------------
    def init(self) -> bool:
        """Bring the schema up to date, keeping the data: on PostgreSQL by running the pending
        migrations, on DuckDB from the declaration (:mod:`.schema`): missing tables created,
        renamed tables renamed, missing columns added. Returns True when the store was new."""
        existing = self._engine.table_names()
        new = "meta" not in existing
        if self.backend == "postgres":
            self._migrate()
            self._ensure_versions()
            return new
        added: set[str] = set()
        with self._engine.transaction():
            for old, name in schema.RENAMED.items():
                if old in existing and name not in existing:
                    self._engine.execute(f'ALTER TABLE "{old}" RENAME TO "{name}"')
                    existing = (existing - {old}) | {name}
            for name, cols in schema.TABLES.items():
                if name not in existing:
                    self._engine.execute(schema.ddl(name))
                    continue
                have = self._engine.column_names(name)
                for col, typ in cols:
                    if col not in have:
                        self._engine.execute(f'ALTER TABLE "{name}" ADD COLUMN "{col}" {typ}')
                        added.add(name)
            for kind in KINDS.values():  # a new field changes every record's content hash
                if kind.name in added and kind.name in existing:
                    self._rehash(kind)
            self._ensure_keys()
            self._ensure_versions()
            if new:
                self._engine.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                                     [SCHEMA_VERSION])
            else:
                self._engine.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' "
                                     "AND value <> ?", [SCHEMA_VERSION, SCHEMA_VERSION])
        self._tables.clear()
        self._forget()
        return new

    def _ensure_keys(self) -> None:
        """DuckDB: the declared primary keys and sequences on a store made before them. Batch
        ids were drawn under the store's lock by its one writing process, so two batches
        never share one here; if they do, the upgrade stops and names them."""
        e = self._engine
        for table, cols in schema.PRIMARY_KEYS.items():
            if e.query("SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? AND "
                       "constraint_type = 'PRIMARY KEY'", [table])[0][0]:
                continue
            key = ", ".join(f'"{c}"' for c in cols)
            twice = e.query(f'SELECT {key} FROM "{table}" GROUP BY {key} HAVING count(*) > 1 '
                            f"ORDER BY 1 LIMIT 5")
            if twice:
                raise StoreError(
                    f"Databasen kan ikke opdateres: {table} har flere rækker med samme "
                    f"{'/'.join(cols)} ({', '.join(str(r[0]) for r in twice)}).")
            e.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY ({key})')
        for seq, (table, col) in schema.SEQUENCES.items():
            start = int(e.query(f'SELECT coalesce(max("{col}"), 0) + 1 FROM "{table}"')[0][0])
            e.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq} START WITH {start}")

    def _ensure_versions(self) -> None:
        """A data version row for every table of the schema (a new table gets one here)."""
        names = sorted(schema.TABLES)
        self._engine.execute(
            "INSERT INTO data_versions (name, version) VALUES "
            + ", ".join("(?, 0)" for _ in names) + " ON CONFLICT (name) DO NOTHING", names)

    def _forget(self) -> None:
        """Drop everything this object derived (the schema changed, or the store was emptied)."""
        self._figures_table = None
        with self._cache_lock:
            self._cache.clear()
            self._cache_version = None

    def _migrate(self) -> None:
        """Run the pending migrations (PostgreSQL). Alembic uses a connection of its own, so
        this connection must hold no locks: it is outside any transaction here."""
        from . import migrations

        if migrations.revision(self._engine) == migrations.head():
            return
        from psycopg.pq import TransactionStatus

        if self._engine.raw.info.transaction_status != TransactionStatus.IDLE:
            raise StoreError("Databasens skema kan ikke opdateres midt i en transaktion: "
                             "kør 'sagsindsigt upgrade'.")
        migrations.upgrade(self.url)
        self._tables.clear()  # table schemas may have changed
        self._forget()

    def schema_revision(self) -> str | None:
        """The migration revision of a PostgreSQL store (None on DuckDB or before the first
        migration)."""
        if self.backend != "postgres":
            return None
        from . import migrations

        return migrations.revision(self._engine)

    def drop_all(self) -> None:
        """Drop every table of the store (the demo's --fresh; never used on real data)."""
        ours = set(schema.TABLES) | set(schema.RENAMED)
        self._tables.clear()
        self._forget()
        if self.backend == "postgres":
            ours |= {"alembic_version"}  # the migrations start over with the next init
        with self._engine.transaction():
            for name in self._engine.table_names() & ours:
                self._engine.execute(f'DROP TABLE "{name}"')
            for seq in schema.SEQUENCES:
                self._engine.execute(f"DROP SEQUENCE IF EXISTS {seq}")
            if self.backend == "postgres":  # the access log trigger's functions
                self._engine.execute("DROP FUNCTION IF EXISTS auditlog_append_only()")
                self._engine.execute("DROP FUNCTION IF EXISTS access_log_append_only()")

    def is_initialised(self) -> bool:
        if self.read_only:
            return self._engine.manifest is not None
        return "meta" in self._engine.table_names()

    def require(self) -> None:
        if self.read_only and not self.is_initialised():
            raise StoreError(f"{self.url} er ikke en datasø: mappen mangler _lake.json "
                             "(skriv den med 'sagsindsigt lake export').")
        if not self.is_initialised():
            raise StoreError(
                f"Databasen {self.url} er ikke oprettet endnu: kør først 'sagsindsigt init'."
            )

    def meta(self, key: str) -> str | None:
        if self.read_only:  # a lake's manifest tells what it holds
            m = self._engine.manifest or {}
            return {"schema_version": m.get("schema")}.get(key, m.get(key))
        rows = self._engine.query("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._engine.transaction():
            self._engine.execute("DELETE FROM meta WHERE key = ?", [key])
            self._engine.execute("INSERT INTO meta VALUES (?, ?)", [key, value])

    # -- reading: the one door --------------------------------------------------------------
    def table(self, name: str) -> ibis.Table:
        """An Ibis table over a current table, with the acting principal's scope applied
        (:func:`sagsindsigt.access.restrict`): the rows outside it do not exist for the caller."""
        return restrict(self._raw(name))

    def rows(self, name: str, columns: list[str], scoped: bool = True) -> pl.DataFrame:
        """Some columns of a current table as a Polars frame, inside the acting principal's
        scope (``scoped``; the same rule as :meth:`table`), read by SQL without Ibis: an
        import reads the codes it checks rows against this way, so that the importing
        process loads neither Ibis nor pandas (issue 16). For small tables (the rows come
        as tuples); not for a lake's tables."""
        types = dict(schema.columns(name))
        cols = ", ".join(_q(c) for c in columns if types[c])
        conds = []
        for col, values in (scope_conditions(types) if scoped else []):
            conds.append(f"{_q(col)} IN ({', '.join(_quoted(v) for v in sorted(values))})"
                         if values else "FALSE")
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        note((name,))
        sql = f"SELECT {cols} FROM {_q(name)}{where}"
        # rows as tuples (small tables: the organisation, case types), not through Arrow,
        # which would load pyarrow
        return pl.DataFrame(self._engine.query(sql), orient="row",
                            schema={c: _polars_type(types[c]) for c in columns})

    def scoped(self, expr: ibis.Table) -> ibis.Table:
        """The scope rule applied to a derived expression (a join that brings an
        administration or unit to rows that carry none of their own)."""
        return restrict(expr)

    def _raw(self, name: str, tracked: bool = True) -> ibis.Table:
        """The table without the scope: for the store's own derivations and writes only.
        Looked up once per name: the schema lookup costs more than many queries. ``tracked``:
        a cached value computed now depends on it (deps.py)."""
        if tracked:
            note((name,))
        t = self._tables.get(name)
        if t is None:
            lake, names = self._lake_tables
            engine = lake if name in names else self._engine
            t = self._tables[name] = engine.ibis.table(name)
        return t

    def batch_facts(self) -> ibis.Table:
        """The batches as facts about the rows that name them (``_batch``): a batch row is
        written once, with its records, so a read that joins it to a table's rows depends on
        that table only, not on every later batch (coverage). Unscoped: batches carry no
        administration; the joined rows bring the scope."""
        if self._lake is not None:  # the batches that wrote the lake's rows
            return self._lake.ibis.table("batches")
        return self._raw("batches", tracked=False)

    def run(self, expr: ibis.Table) -> pl.DataFrame:
        """The rows of a table expression, its SQL compiled once per expression shape."""
        return run_expr(expr)

    def run_keyed(self, key: tuple, build: Callable[[], ibis.Table]) -> pl.DataFrame:
        """The rows of ``build()``, built and compiled only the first time ``key`` is seen
        (the caller promises that the key determines the expression)."""
        return run_keyed((self._lake or self._engine).ibis, key, build)

    def record_batches(self, table: str):
        """Every row of a table the figures read, unscoped, as Arrow record batches in the
        schema's column order (``lake export``: the lake is the municipality's, like the
        store)."""
        from .lake import arrow_schema, tables

        if table not in tables():
            raise KeyError(f"{table!r} is not a table of a lake")
        cols = ", ".join(_q(c) for c, _ in schema.columns(table))
        return self._engine.stream(f"SELECT {cols} FROM {_q(table)}", arrow_schema(table))

    def organisation_tree(self) -> list:
        """The whole organisation tree, whoever asks: scopes are resolved against it
        (:func:`sagsindsigt.access.resolve`). Pages use the scoped ``reads.organisation``."""
        from ..access import SYSTEM, acting_as
        from .reads import organisation

        with acting_as(SYSTEM):
            return organisation(self)

    def has_rows(self, table: str) -> bool:
        schema.columns(table)
        return bool(self._engine.query(f'SELECT count(*) FROM "{table}"')[0][0])

    def next_batch_id(self) -> int:
        """A new batch id from the sequence ``batch_ids``: never one a concurrent writer drew
        (ids of rolled-back imports are skipped)."""
        return int(self._engine.query("SELECT nextval('batch_ids')")[0][0])

    def find_loaded_batch(self, kind: str, source: str, sha256: str) -> int | None:
        rows = self._engine.query(
            "SELECT id FROM batches WHERE kind = ? AND source = ? AND sha256 = ? "
            "AND status = 'indlæst' ORDER BY id LIMIT 1", [kind, source, sha256])
        return rows[0][0] if rows else None

    # -- identities of versioned records (whatever the caller's scope) -----------------------
    def key_exists(self, kind: str, source: str, key: str) -> bool:
        """Whether a record (source, key) was ever loaded: ids are unique across scopes."""
        return bool(self._engine.query(
            f'SELECT count(*) FROM "{KINDS[kind].name}_history" WHERE _source = ? AND _key = ?',
            [source, key])[0][0])

    def keys_with_prefix(self, kind: str, source: str, prefix: str) -> list[str]:
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [r[0] for r in self._engine.query(
            f'SELECT DISTINCT _key FROM "{KINDS[kind].name}_history" WHERE _source = ? '
            "AND _key LIKE ? ESCAPE '\\'", [source, like])]

    def latest_version(self, kind: str, source: str, key: str) -> int | None:
        rows = self._engine.query(
            f'SELECT max(_version) FROM "{KINDS[kind].name}_history" WHERE _source = ? '
            "AND _key = ?", [source, key])
        return rows[0][0] if rows else None

    # -- writing: the workflows' tables -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A unit of writes: all or nothing, the data versions of the tables it touched bumped
        as it commits (one statement, so writers of other tables never wait on each other)."""
        with self._versioned(), self._engine.transaction():
            yield
            self._flush_touches()

    @contextmanager
    def _versioned(self) -> Iterator[None]:
        if _PENDING.get() is not None:  # inside another transaction: it bumps
            yield
            return
        token = _PENDING.set(set())
        try:
            yield
        finally:
            _PENDING.reset(token)

    def _flush_touches(self) -> None:
        pending = _PENDING.get()
        if pending:
            self._bump(pending)
            pending.clear()

    @contextmanager
    def serialised(self, name: str) -> Iterator[None]:
        """A transaction in which writers of ``name`` take turns: across the threads of this
        process (one lock per store) and, on PostgreSQL, across processes (an advisory lock
        held until the transaction ends). DuckDB has one writing process."""
        with self.lock, self.transaction():
            if self.backend == "postgres":
                self._engine.execute("SELECT pg_advisory_xact_lock(?)", [PG_LOCKS[name]])
            yield

    def append(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Append rows (dicts by column name; missing columns are NULL) to a table of the
        schema, in bulk."""
        if not rows:
            return
        cols = schema.columns(table)
        unknown = set().union(*rows) - {c for c, _ in cols}
        if unknown:
            raise KeyError(f"{table} has no column {sorted(unknown)[0]!r}")
        self._engine.load_arrow(table, pa.Table.from_pylist(
            [{c: r.get(c) for c, _ in cols} for r in rows], schema=_arrow_schema(cols)))
        self.touch(table)

    def update(self, table: str, values: dict[str, Any], where: dict[str, Any]) -> None:
        """``UPDATE table SET values WHERE where`` (equality on every key of ``where``)."""
        sets = self._named(table, values, ", ")
        conds = self._named(table, where, " AND ")
        self._engine.execute(f'UPDATE "{table}" SET {sets} WHERE {conds}',
                             [*values.values(), *where.values()])
        self.touch(table)

    def delete(self, table: str, where: dict[str, Any]) -> None:
        conds = self._named(table, where, " AND ")
        self._engine.execute(f'DELETE FROM "{table}" WHERE {conds}', list(where.values()))
        self.touch(table)

    def next_id(self, table: str, column: str = "id") -> int:
        self._named(table, {column: None}, "")
        return int(self._engine.query(
            f'SELECT coalesce(max("{column}"), 0) + 1 FROM "{table}"')[0][0])

    @staticmethod
    def _named(table: str, values: dict[str, Any], sep: str) -> str:
        known = {c for c, _ in schema.columns(table)}
        for c in values:
            if c not in known:
                raise KeyError(f"{table} has no column {c!r}")
        return sep.join(f'"{c}" = ?' for c in values)

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Many imports in a row (the demo): DuckDB checkpoints once at the end instead of
        after every import."""
        if self.backend != "duckdb":
            yield
            return
        self._engine.execute("SET checkpoint_threshold = '4GB'")
        try:
            yield
        finally:
            self._engine.execute("CHECKPOINT")
            self._engine.execute("RESET checkpoint_threshold")

    # -- writing: versioned records ----------------------------------------------------------
    def record_batch(self, batch: dict, rejects: pa.Table | pl.DataFrame | None) -> None:
        """Append a batch row and its rejected rows, an Arrow table or a Polars frame (call
        inside a transaction)."""
        cols = [n for n, _ in schema.columns("batches")]
        self._engine.execute(  # one row: its values as literals on DuckDB (no pandas)
            f"INSERT INTO batches ({', '.join(_q(n) for n in cols)}) "
            f"VALUES ({', '.join('?' for _ in cols)})", [batch.get(n) for n in cols])
        self.touch("batches")
        if isinstance(rejects, pl.DataFrame):
            if rejects.height:
                self._engine.load_frame("rejects", rejects)
                self.touch("rejects")
        elif rejects is not None and rejects.num_rows:
            self._engine.load_arrow("rejects", rejects)
            self.touch("rejects")

    def _content_hash(self, kind: Kind) -> str:
        """The SQL of a record's content hash: md5 over its fields, computed by the engine, so
        the same file always hashes the same: each field as text (``\\N`` for null), ``\\x1f``
        between them. One ``concat`` of them all, not a chain of ``||`` (which copies the text
        made so far at each step, a third of the hash's time on DuckDB): the same text, as no
        argument is null (``concat`` would skip it)."""
        return "md5(concat(" + ", '\x1f', ".join(
            f"coalesce(CAST({_q(f.name)} AS VARCHAR), '\\N')" for f in kind.fields) + "))"

    def _rehash(self, kind: Kind) -> None:
        """Recompute the content hash of every current record of a kind (after a field was
        added to the kind): the next extract then adds versions only for real changes."""
        self._engine.execute(f"UPDATE {_q(kind.name)} SET _hash = {self._content_hash(kind)}")

    @contextmanager
    def staging(self, kind: Kind, derived: list[str], memory_mb: int | None = None
                ) -> Iterator[Staging]:
        """A temporary table for the rows of one import read in parts (:class:`Staging`),
        dropped at the end of the block; ``write_records`` then writes its good rows. On
        DuckDB ``memory_mb`` bounds the engine's memory for the block (what does not fit is
        kept in its temporary directory); PostgreSQL keeps temporary tables on disk anyway."""
        name = f"_import_{kind.name}"
        fields = {f.name for f in kind.fields}
        cols = [("_row", "BIGINT"), ("_ok", "BOOLEAN"), ("_source", "VARCHAR"),
                ("_key", "VARCHAR"), ("_hash", "VARCHAR")] + [
            (c, t) for c, t in schema.kind_columns(kind, True) if c in fields or c in derived]
        e = self._engine
        stage: Staging | None = None
        with self.memory_bounded(memory_mb):
            try:
                e.execute(f'DROP TABLE IF EXISTS "{name}"')
                e.execute(f'CREATE TEMP TABLE "{name}" ('
                          + ", ".join(f'"{c}" {e.ddl_type(t)}' for c, t in cols) + ")")
                # the parts are small statements between our Python's checks: one engine
                # thread each (a second one costs CPU and saves no time); the whole-file
                # statements after the parts (Staging.parts_done) get the threads back
                threads = None
                if self.backend == "duckdb":
                    threads = int(e.query("SELECT current_setting('threads')")[0][0])
                    e.execute("SET threads = 1")
                stage = Staging(self, kind, name, cols, threads)
                try:
                    yield stage
                except Exception as exc:
                    if type(exc).__name__ != "OutOfMemoryException":
                        raise
                    raise StoreError(
                        f"Importen løb tør for hukommelse i databasen (højst {memory_mb} MB); "
                        "sæt SAGSINDSIGT_IMPORT_MEMORY_MB højere, eller del filen op.") from exc
            finally:
                e.execute(f'DROP TABLE IF EXISTS "{name}"')
                if stage is not None:
                    stage.parts_done()

    @contextmanager
    def memory_bounded(self, memory_mb: int | None) -> Iterator[None]:
        """On DuckDB, the engine's memory bounded to ``memory_mb`` for the block (what does not
        fit is kept in its temporary directory); nothing on PostgreSQL (it spills anyway)."""
        e = self._engine
        if not memory_mb or self.backend != "duckdb":
            yield
            return
        limit = e.query("SELECT current_setting('memory_limit'), "
                        "current_setting('preserve_insertion_order')")[0]
        e.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
        # rows need no order in a table (every reader sorts), and without it DuckDB writes a
        # large insert in a stream instead of holding it (out of memory at 10 M)
        e.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            e.execute(f"SET memory_limit = '{limit[0]}'")
            e.execute(f"SET preserve_insertion_order = {bool(limit[1])}")

    def write_records(self, kind: Kind, batch_id: int, staged: pa.Table | Staging
                      ) -> WriteResult:
        """Add new versions for staged records whose content changed (call inside a transaction).

        ``staged`` carries ``_source``, ``_key``, the kind's fields and its derived columns:
        an Arrow table, or the good rows of a :class:`Staging` table.
        """
        if isinstance(staged, Staging):
            return self._write_staged(kind, batch_id, staged)
        if staged.num_rows == 0:
            return WriteResult(0, 0)
        fields = [f.name for f in kind.fields]
        derived = [c for c, _ in DERIVED.get(kind.name, []) if c in staged.column_names]
        cols = [("_source", "VARCHAR"), ("_key", "VARCHAR")] + [
            (c, t) for c, t in schema.kind_columns(kind, True) if c in fields or c in derived]
        with self._engine.staged(f"_stage_{kind.name}", cols, staged) as stage:
            return self._write_versions(kind, batch_id, _q(stage), staged.num_rows, derived)

    def _write_versions(self, kind: Kind, batch_id: int, source: str, rows: int,
                        derived: list[str]) -> WriteResult:
        """Write the rows of ``source`` (a table's quoted name or a subquery) that are new or
        changed as their next versions."""
        if rows == 0:
            return WriteResult(0, 0)
        self.touch(kind.name, f"{kind.name}_history")
        e = self._engine
        fields = [f.name for f in kind.fields]
        cur, changed = _q(kind.name), f"_changed_{kind.name}"
        flist = ", ".join(_q(f) for f in fields)
        dlist = "".join(", " + _q(d) for d in derived)
        # one pass: content hash, the version it would get, and whether it changed
        e.execute(f'DROP TABLE IF EXISTS "{changed}"')
        e.execute(
            f'CREATE TEMP TABLE "{changed}" AS SELECT s.*, coalesce(c._version, 0) + 1 '
            f'AS _version FROM (SELECT _source, _key, {flist}{dlist}, '
            f'{self._content_hash(kind)} AS _hash FROM {source} x) s '
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
        return WriteResult(loaded=loaded, unchanged=rows - loaded)

    def _write_staged(self, kind: Kind, batch_id: int, staged: Staging) -> WriteResult:
        """Write the good rows of an import's staging table that are new or changed as their
        next versions: the content hash computed once, in the staging table; when the
        source has no current records of this kind yet (a first load), every good row is
        version 1 and goes straight into the history and the current table; else the rows
        that changed are found by one join with the current table, kept as row numbers and
        versions only (16 bytes a row), and written from the staging table by them."""
        rows = staged.good_rows()
        if rows == 0:
            return WriteResult(0, 0)
        self.touch(kind.name, f"{kind.name}_history")
        e, st, cur = self._engine, _q(staged.name), _q(kind.name)
        changed = _q(f"_changed_{kind.name}")  # the changed rows' numbers and versions
        fields = [f.name for f in kind.fields]
        flist = ", ".join(_q(f) for f in fields)
        derived = [c for c, _ in DERIVED.get(kind.name, []) if c in staged.columns]
        dlist = "".join(", " + _q(d) for d in derived)
        # hashed as staged on DuckDB (Staging.append); on PostgreSQL here
        if self.backend != "duckdb":
            e.execute(f"UPDATE {st} SET _hash = {self._content_hash(kind)} WHERE _ok")
        seen = e.query(f"SELECT count(*) FROM (SELECT 1 FROM {cur} c WHERE c._source IN "
                       f"(SELECT DISTINCT _source FROM {st}) LIMIT 1) x")[0][0]
        if not seen:  # a first load of this source: nothing to compare with
            picked, version = f"{st} s WHERE s._ok", "1"
            loaded = rows
        else:
            e.execute(f"DROP TABLE IF EXISTS {changed}")
            e.execute(
                f"CREATE TEMP TABLE {changed} AS SELECT s._row, coalesce(c._version, 0) + 1 "
                f"AS _version FROM {st} s LEFT JOIN {cur} c ON c._source = s._source "
                "AND c._key = s._key WHERE s._ok AND (c._hash IS NULL OR c._hash <> s._hash)")
            picked, version = f"{st} s JOIN {changed} v ON v._row = s._row", "v._version"
            loaded = e.query(f"SELECT count(*) FROM {changed}")[0][0]
        try:
            if loaded:
                sel = ", ".join(f"s.{_q(f)}" for f in fields)
                e.execute(
                    f'INSERT INTO "{kind.name}_history" (_source, _key, _version, _batch, '
                    f"_hash, {flist}) SELECT s._source, s._key, {version}, {int(batch_id)}, "
                    f"s._hash, {sel} FROM {picked}")
                if seen and e.query(f"SELECT count(*) FROM {changed} "
                                    "WHERE _version > 1")[0][0]:
                    e.execute(
                        f"DELETE FROM {cur} WHERE EXISTS (SELECT 1 FROM {st} s JOIN "
                        f"{changed} v ON v._row = s._row WHERE v._version > 1 "
                        f"AND s._source = {cur}._source AND s._key = {cur}._key)")
                dsel = "".join(", s." + _q(d) for d in derived)
                e.execute(
                    f"INSERT INTO {cur} (_source, _key, _version, _batch, _hash, {flist}"
                    f"{dlist}) SELECT s._source, s._key, {version}, {int(batch_id)}, s._hash, "
                    f"{sel}{dsel} FROM {picked}")
        finally:
            if seen:
                e.execute(f"DROP TABLE IF EXISTS {changed}")
        return WriteResult(loaded=loaded, unchanged=rows - loaded)

    def update_derived(self, kind: Kind, rows: pa.Table) -> None:
        """Set derived columns of current records from ``rows`` (_source, _key, derived...)."""
        self.touch(kind.name)
        e = self._engine
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
        self.touch(name)
        self._engine.execute(f'DELETE FROM "{name}"')
        if rows.num_rows:
            self._engine.load_arrow(name, rows)

    def close(self) -> None:
        self._engine.close()
        if self._lake is not None:
            self._lake.close()


def _quoted(text: str) -> str:
    """A text as an SQL string literal (standard quoting, as DuckDB and PostgreSQL read it)."""
    if "\x00" in text:
        raise ValueError("a NUL character cannot be stored")
    return "'" + text.replace("'", "''") + "'"


class Staging:
    """The rows of one import, typed, kept in a temporary table while the file is read in
    parts (``Store.staging``): every row with its row number and whether it passed the
    checks of its part (``_ok``), so that what needs the whole file — ids unique in the file,
    the period it covers — is found by the engine, never by holding the file in memory."""

    def __init__(self, store: Store, kind: Kind, name: str, cols: list[tuple[str, str]],
                 threads: int | None = None):
        self._store, self.kind, self.name = store, kind, name
        self._cols = cols
        self.columns = [c for c, _ in cols]
        self._threads = threads  # the engine's threads, given back after the parts

    def append(self, rows: pl.DataFrame) -> None:
        """Add rows, a Polars frame (the staging table's columns; a missing derived column
        is NULL), through :meth:`Engine.load_frame` (no pandas on DuckDB)."""
        if rows.height:
            # the content hash computed by DuckDB as it loads the part (an UPDATE of the
            # whole table later would hold every changed row in memory: out of memory at
            # 10 M rows); elsewhere when the rows are written (Store._write_staged)
            self._store._engine.load_frame(self.name, rows.select([
                (pl.col(c) if c in rows.columns else pl.lit(None)).cast(_polars_type(t))
                .alias(c) for c, t in self._cols if c != "_hash"]),
                {"_hash": self._store._content_hash(self.kind)})

    def parts_done(self) -> None:
        """Every part is appended: the engine gets its threads back for the statements over
        the whole table (called by every method below)."""
        if self._threads is not None:
            self._store._engine.execute(f"SET threads = {int(self._threads)}")
            self._threads = None

    def duplicates(self, limit: int) -> tuple[int, int, pl.DataFrame | None]:
        """The rows whose id (the kind's key fields) occurs more than once in the file: how
        many, how many of them passed their part's checks, and (when there are at most
        ``limit``) the rows themselves, every staged column and ``_n``, how often the id
        occurs. Those rows are marked as not good."""
        self.parts_done()
        keys = [*self.kind.key, *self.kind.key_optional]
        klist = ", ".join(_q(k) for k in keys)
        on = " AND ".join(f"s.{_q(k)} IS NOT DISTINCT FROM d.{_q(k)}" for k in keys)
        e = self._store._engine
        e.execute('DROP TABLE IF EXISTS "_import_twice"')
        if self._store.backend == "duckdb":
            # by a 64-bit hash of the key first (8 bytes a row in the engine's memory, not the
            # text), then exactly among the few rows whose hash occurs more than once (NULL
            # keys hash alike and count as the same, as IS NOT DISTINCT FROM does)
            e.execute(
                f'CREATE TEMP TABLE "_import_twice" AS SELECT s.*, count(*) OVER '
                f"(PARTITION BY {klist}) AS _n FROM {_q(self.name)} s WHERE hash({klist}) IN "
                f"(SELECT hash({klist}) AS _h FROM {_q(self.name)} GROUP BY _h "
                "HAVING count(*) > 1) QUALIFY _n > 1")
        else:
            e.execute(f'CREATE TEMP TABLE "_import_twice" AS SELECT s.*, d._n FROM '
                      f'{_q(self.name)} s JOIN (SELECT {klist}, count(*) AS _n FROM '
                      f'{_q(self.name)} GROUP BY {klist} HAVING count(*) > 1) d ON {on}')
        try:
            n, ok = e.query('SELECT count(*), count(CASE WHEN _ok THEN 1 END) '
                            'FROM "_import_twice"')[0]
            if not n:
                return 0, 0, None
            rows = None
            if n <= limit:
                names = [*self.columns, "_n"]
                got = e.query(f'SELECT {", ".join(_q(c) for c in names)} FROM "_import_twice" '
                              "ORDER BY _row")
                rows = pl.DataFrame([dict(zip(names, r, strict=True)) for r in got],
                                    schema={c: _polars_type(t) for c, t in
                                            [*self._cols, ("_n", "BIGINT")]})
            e.execute(f'UPDATE {_q(self.name)} SET _ok = false WHERE _ok AND _row IN '
                      '(SELECT _row FROM "_import_twice")')
            return int(n), int(ok), rows
        finally:
            e.execute('DROP TABLE IF EXISTS "_import_twice"')

    def span(self, columns: list[str]) -> tuple[Any, Any]:
        """The first and last day in ``columns`` over the good rows (None where none)."""
        self.parts_done()
        cols = [c for c in columns if c in self.columns]
        if not cols:
            return None, None
        parts = ", ".join(f"CAST(min({_q(c)}) AS DATE), CAST(max({_q(c)}) AS DATE)"
                          for c in cols)
        row = self._store._engine.query(f"SELECT {parts} FROM {_q(self.name)} WHERE _ok")[0]
        lows = [v for v in row[0::2] if v is not None]
        highs = [v for v in row[1::2] if v is not None]
        return (min(lows) if lows else None), (max(highs) if highs else None)

    def good_rows(self) -> int:
        self.parts_done()
        return int(self._store._engine.query(
            f"SELECT count(*) FROM {_q(self.name)} WHERE _ok")[0][0])


def _polars_type(declared: str):
    """A SQL column type of the schema as a Polars type (made at use: Polars is imported on
    first use)."""
    return {"VARCHAR": pl.Utf8, "BIGINT": pl.Int64, "DATE": pl.Date, "BOOLEAN": pl.Boolean,
            "TIMESTAMP": pl.Datetime("us"), "DOUBLE": pl.Float64}[declared]


def _q(name: str) -> str:
    return f'"{name}"'


def _arrow_schema(cols: list[tuple[str, str]]) -> pa.Schema:
    return pa.schema([(c, arrow_type(t)) for c, t in cols])


def open_store(url: str, create: bool = False) -> Store:
    store = Store(url)
    if create:
        store.init()
    return store


__all__ = ["ACCESS_TABLES", "AUDIT_TABLES", "DERIVED", "META_COLUMNS", "SCHEMA_VERSION",
           "Staging", "Store", "StoreError", "WriteResult", "open_store"]
