"""The only engine-specific code: connecting, DDL types, transactions and bulk loading.

Everything that computes a figure goes through Ibis and is written once for every engine; this
module only moves rows in and out in the fastest way each engine offers.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb

from .. import lazy
from ..access import scope_key
from .deps import EVERYTHING, frozen, note, tracking

ibis = lazy.module("ibis")
pl = lazy.module("polars")
pa = lazy.module("pyarrow")
pacsv = lazy.module("pyarrow.csv")


def arrow_type(declared: str):
    """A SQL column type of the schema as an Arrow type, for moving rows in and out in bulk
    (None for a type it does not name)."""
    make = {"VARCHAR": pa.string, "BIGINT": pa.int64, "DATE": pa.date32, "BOOLEAN": pa.bool_,
            "TIMESTAMP": lambda: pa.timestamp("us"), "DOUBLE": pa.float64}.get(declared)
    return make() if make else None


class StoreError(RuntimeError):
    """A store problem told in one Danish sentence."""


class Engine:
    name = "?"
    raw: object  # the driver's connection (duckdb, psycopg)
    read_only = False  # a lake (spark:) is

    def __init__(self):
        self._ibis = None
        self._ibis_lock = threading.Lock()
        self._side = None  # a second connection for small reads (side_query)
        self._side_lock = threading.Lock()

    @property
    def ibis(self):
        """The Ibis backend over the same connection, made at first use: a figure the store
        keeps (``figures``) or a write needs only the driver, so a one-shot command that
        computes nothing new never imports Ibis (issue 16)."""
        if self._ibis is None:
            with self._ibis_lock:
                if self._ibis is None:
                    self._ibis = self._attach_ibis()
        return self._ibis

    def _attach_ibis(self):
        raise NotImplementedError

    def side_query(self, sql: str) -> list[tuple]:
        """A small read on a second connection of its own, so it never waits behind a long
        query on the main one (a worker checks the data versions before every request while
        another request computes figures)."""
        with self._side_lock:
            if self._side is None:
                self._side = self._open_side()
            return self._side.execute(sql).fetchall()

    def _open_side(self):
        raise NotImplementedError

    def ddl_type(self, declared: str) -> str:
        """A type of the schema declaration (DuckDB's names) as this engine names it."""
        return declared

    def execute(self, sql: str, params: tuple | list = ()):
        raise NotImplementedError

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        raise NotImplementedError

    def load_arrow(self, table: str, data: pa.Table) -> None:
        raise NotImplementedError

    def load_frame(self, table: str, data: pl.DataFrame,
                   computed: dict[str, str] | None = None) -> None:
        """Append a Polars frame's rows (its columns by name) to ``table``. ``computed``:
        more columns as SQL expressions over the frame's columns, where the engine can
        compute them as it loads (DuckDB; elsewhere they are left NULL)."""
        self.load_arrow(table, data.to_arrow())

    def stream(self, sql: str, schema: pa.Schema, rows: int = 250_000):
        """The rows of ``sql`` as Arrow record batches of ``schema``, a part at a time (a
        table larger than memory leaves the engine in bounded memory)."""
        raise NotImplementedError

    def table_names(self) -> set[str]:
        return {r[0] for r in self.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")}

    def column_names(self, table: str) -> list[str]:
        return [r[0] for r in self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position", [table])]

    @contextmanager
    def transaction(self):
        raise NotImplementedError
        yield

    @contextmanager
    def staged(self, name: str, cols: list[tuple[str, str]], data: pa.Table):
        """``data`` as a table ``name`` with the given (column, SQL type) list, for the
        duration of the block: a temporary table filled in bulk."""
        body = ", ".join(f'"{c}" {self.ddl_type(t)}' for c, t in cols)
        self.execute(f'DROP TABLE IF EXISTS "{name}"')
        self.execute(f'CREATE TEMP TABLE "{name}" ({body})')
        self.load_arrow(name, data.select([c for c, _ in cols]))
        try:
            yield name
        finally:
            self.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        with self._side_lock:
            if self._side is not None:
                self._side.close()
                self._side = None
        if self._ibis is not None:
            self._ibis.disconnect()
        else:
            self.raw.close()


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, path: str):
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__()
        try:
            target = path if path == ":memory:" else str(Path(path).absolute())
            self.raw = duckdb.connect(target)
        except Exception as exc:  # the file is locked by another process, or not a database
            raise StoreError(f"Databasen {path} kan ikke åbnes: {exc}") from exc
        # what Ibis sets when it connects, set now: raw statements run before it attaches
        self.raw.execute("SET TimeZone = 'UTC'")
        self.raw.execute("SET python_enable_replacements = false")

    def _attach_ibis(self):
        return ibis.duckdb.from_connection(self.raw)

    def execute(self, sql, params=()):
        inlined = literal_sql(sql, params)
        if inlined is None:
            self.raw.execute(sql, list(params))
        else:
            self.raw.execute(inlined)

    def query(self, sql, params=()):
        inlined = literal_sql(sql, params)
        if inlined is None:
            return self.raw.execute(sql, list(params)).fetchall()
        return self.raw.execute(inlined).fetchall()

    def _open_side(self):
        return self.raw.cursor()  # a connection of its own to the same database

    @contextmanager
    def staged(self, name, cols, data):
        # DuckDB reads the Arrow table in place: no copy into a temporary table
        data = data.select([c for c, _ in cols])
        data = data.cast(pa.schema([(c, arrow_type(t) or data.schema.field(c).type)
                                    for c, t in cols]))
        self.raw.register(name, data)
        try:
            yield name
        finally:
            self.raw.unregister(name)

    def stream(self, sql, schema, rows=250_000):
        reader = self.raw.cursor().execute(sql).to_arrow_reader(rows)
        for b in reader:
            yield pa.RecordBatch.from_arrays(
                [b.column(i).cast(f.type) for i, f in enumerate(schema)], schema=schema)

    def load_frame(self, table, data, computed=None):
        # through a Parquet file that Polars writes and DuckDB reads, named in the statement:
        # an Arrow table handed to DuckDB's Python client (or made by pyarrow) imports pandas,
        # a second of CPU and 50 MB of every importing process (issue 16)
        if not data.height:
            return
        fd, path = tempfile.mkstemp(prefix="sagsindsigt-", suffix=".parquet")
        os.close(fd)
        try:
            data.write_parquet(path, compression="uncompressed", statistics=False)
            cols = ", ".join(f'"{c}"' for c in [*data.columns, *(computed or {})])
            values = ", ".join([f'"{c}"' for c in data.columns] + list((computed or {}).values()))
            where = path.replace("'", "''")
            self.raw.execute(f'INSERT INTO "{table}" ({cols}) SELECT {values} '
                             f"FROM read_parquet('{where}')")
        finally:
            os.unlink(path)

    def load_arrow(self, table, data):
        name = f"_arrow_{table}"
        self.raw.register(name, data)
        try:
            cols = ", ".join(f'"{c}"' for c in data.column_names)
            self.raw.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{name}"')
        finally:
            self.raw.unregister(name)

    @contextmanager
    def transaction(self):
        self.raw.begin()
        try:
            yield
        except BaseException:
            self.raw.rollback()
            raise
        else:
            self.raw.commit()


def literal(value) -> str | None:
    """A parameter as a DuckDB SQL literal, or None for a value not written as one (a NUL in
    a text, a float that is not finite, a type not listed here)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST({value!r} AS DOUBLE)" if math.isfinite(value) else None
    if isinstance(value, str):
        return None if "\x00" in value else "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return None
        return f"CAST('{value.isoformat(sep=' ')}' AS TIMESTAMP)"
    if isinstance(value, date):
        return f"CAST('{value.isoformat()}' AS DATE)"
    return None


def literal_sql(sql: str, params) -> str | None:
    """``sql`` with its ``?`` placeholders replaced by the parameters as literals, or None
    when there is nothing to replace or a value has no literal here. Any bound parameter
    makes DuckDB's Python client import pandas (a second of CPU and 50 MB, issue 16); a
    literal does not. Standard SQL quoting ('' for ') is what DuckDB reads, and a ``?``
    inside a quoted text or name is left alone."""
    params = list(params)
    if not params:
        return None
    values = [literal(v) for v in params]
    if any(v is None for v in values):
        return None
    out, n, quote = [], 0, None
    for ch in sql:
        if quote:
            quote = None if ch == quote else quote
            out.append(ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            if n >= len(values):
                return None
            out.append(values[n])
            n += 1
        else:
            out.append(ch)
    return "".join(out) if n == len(values) else None


def pg_params(url: str) -> dict:
    """A ``postgresql://`` URL as connection parameters, with the defaults of every
    connection the store makes (localhost:5432, database postgres)."""
    u = urlparse(url)
    return {"host": u.hostname or "localhost", "port": u.port or 5432,
            "user": unquote(u.username) if u.username else None,
            "password": unquote(u.password) if u.password else None,
            "database": (u.path or "/").lstrip("/") or "postgres"}


class PostgresEngine(Engine):
    name = "postgres"

    def ddl_type(self, declared: str) -> str:
        return "DOUBLE PRECISION" if declared == "DOUBLE" else declared

    def __init__(self, url: str):
        import psycopg

        super().__init__()
        params = pg_params(url)
        self._params = params
        try:
            # autocommit, as Ibis opens it; transaction() adds blocks
            self.raw = psycopg.connect(**self._psycopg_params(), autocommit=True)
        except Exception as exc:
            raise StoreError(f"Kan ikke forbinde til PostgreSQL på {params['host']}: "
                             f"{exc}") from exc
        self.execute("SET TIMEZONE = UTC")  # as Ibis sets it when it attaches

    def _psycopg_params(self) -> dict:
        return {("dbname" if k == "database" else k): v for k, v in self._params.items()
                if v is not None}

    def _attach_ibis(self):
        return ibis.postgres.from_connection(self.raw)

    def _open_side(self):
        import psycopg

        return psycopg.connect(**self._psycopg_params(), autocommit=True)

    def execute(self, sql, params=()):
        with self.raw.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params) or None)

    def query(self, sql, params=()):
        with self.raw.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params) or None)
            rows = cur.fetchall()
        return rows

    def stream(self, sql, schema, rows=250_000):
        import psycopg

        with psycopg.connect(**self._psycopg_params()) as con, \
                con.cursor(name=f"stream_{id(self)}") as cur:  # a server-side cursor
            cur.execute(sql)
            while chunk := cur.fetchmany(rows):
                cols = list(zip(*chunk, strict=True))
                yield pa.RecordBatch.from_arrays(
                    [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)],
                    schema=schema)

    def load_arrow(self, table, data):
        # CSV through COPY: one round trip, and NULL (unquoted empty) stays distinct from text.
        buf = io.BytesIO()
        pacsv.write_csv(data, buf, pacsv.WriteOptions(include_header=False,
                                                       quoting_style="needed"))
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        with self.raw.cursor() as cur:
            with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN WITH (FORMAT csv)') as copy:
                copy.write(buf.getvalue())

    @contextmanager
    def transaction(self):
        with self.raw.transaction():
            yield


# -- running Ibis expressions --------------------------------------------------------------
_COMPILED: OrderedDict[tuple, tuple[str, pa.Schema]] = OrderedDict()
_COMPILED_MAX = 2048
_COMPILED_LOCK = threading.Lock()


def run_expr(expr: ibis.Table) -> pl.DataFrame:
    """Run a table expression and return its rows as a polars frame.

    Compiling an expression to SQL costs more than running most of our queries, so the SQL is
    kept per expression (Ibis expressions compare by structure: the same KPI query with the
    same period and filters is the same expression) and backend, like a prepared statement.
    """
    backend = expr._find_backend()
    return run_keyed(backend, (backend.name, expr.op()), lambda: expr)


def run_keyed(backend, key: tuple, build) -> pl.DataFrame:
    """Run the expression ``build()`` returns, built and compiled only the first time ``key``
    is seen: the caller promises that the key determines the expression. Building an Ibis
    expression with joins costs more than running it."""
    # the scope is part of the expression (Store.table filters by it): part of the key too
    key = (backend.name, scope_key(), *key)
    with _COMPILED_LOCK:
        hit = _COMPILED.get(key)
        if hit is not None:
            _COMPILED.move_to_end(key)
    if hit is None:
        with tracking() as seen:  # the tables the expression reads, noted as it is built
            expr = build()
        hit = (str(backend.compile(expr)), expr.schema().to_pyarrow(), frozen(seen))
        with _COMPILED_LOCK:
            _COMPILED[key] = hit
            if len(_COMPILED) > _COMPILED_MAX:
                _COMPILED.popitem(last=False)
    sql, schema, deps = hit
    if deps != EVERYTHING:  # built from an expression made before (run_expr): noted then
        note(deps)
    if backend.name == "pyspark":
        from .spark import run

        data = run(backend, sql).rename_columns(schema.names).cast(schema)
    elif backend.name == "duckdb":
        data = backend.con.execute(sql).arrow()
        if isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        data = data.rename_columns(schema.names)
    else:
        with backend.con.cursor() as cur:
            cur.execute(sql)
            rows = cur.fetchall()
        data = pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows],
                                    schema=schema)
    return pl.from_arrow(data)


def connect(url: str) -> Engine:
    """Open a store by URL: a DuckDB file path or duckdb:// URL, postgresql://, or a lake
    folder, read-only, read by Spark (spark:PATH) or by an embedded DuckDB (lake:PATH)."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(url)
    if url.startswith("spark:"):
        from .spark import SparkLake

        return SparkLake(url[len("spark:"):].removeprefix("//") or ".")
    if url.startswith("lake:"):
        from .lake import ParquetLake

        return ParquetLake(url[len("lake:"):].removeprefix("//") or ".")
    if url.startswith("duckdb://"):
        url = url[len("duckdb://"):] or ":memory:"
    if "://" in url:
        raise StoreError(
            f"Ukendt database-URL '{url}': brug en DuckDB-fil, postgresql://bruger@vært/db "
            "eller en datasø: spark:MAPPE eller lake:MAPPE.")
    return DuckDBEngine(url)
