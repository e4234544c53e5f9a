"""A lake: the tables the figures read, as Parquet folders any engine can read (issue 19).

Layout of a lake folder (docs/scale.md)::

    LAKE/_lake.json                                    what wrote it, when, the tables and rows
    LAKE/cases/administration=SOF/year=2015/part-0.parquet
    LAKE/events/year=2015/part-0.parquet
    LAKE/case_types/part-0.parquet

One folder per table: the current table of every record kind (the data contract's fields, the
store's ``_source``/``_key``/``_version``/``_batch``/``_hash`` and the derived columns), the
timeliness items, and the import batches (the coverage of each administration's data). Large
tables are partitioned (Hive style) by administration and the year of their date; ``year`` is a
column of the path only, never of the records.

``sagsindsigt lake export`` writes one from a store (:func:`export`); the Spark engine reads one
(:mod:`.spark`); ``sagsindsigt lake check`` validates one written by someone else.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .. import lazy
from ..contract import KINDS
from . import schema
from .engines import DuckDBEngine, Engine, StoreError, arrow_type

ibis = lazy.module("ibis")
pa = lazy.module("pyarrow")
pc = lazy.module("pyarrow.compute")
pq = lazy.module("pyarrow.parquet")

FORMAT = "sagsindsigt-lake"
VERSION = 1
MANIFEST = "_lake.json"
YEAR = "year"  # the partition column of the path (never a column of the records)

# table → (the administration column it is partitioned by or None, the date column of the year)
PARTITIONS: dict[str, tuple[str | None, str]] = {
    "cases": ("administration", "received"),
    "complaints": ("administration", "received"),
    "volumes": ("administration", "period_start"),
    "events": (None, "at"),
}
ROWS_PER_FILE = 2_000_000
ROW_GROUP = 500_000  # rows a partition buffers before it writes a row group


def tables() -> list[str]:
    """The tables of a lake: what the figures read (every record kind's current table, the
    derived timeliness items and the import batches)."""
    return [*KINDS, "timeliness_items", "batches"]


def arrow_schema(table: str) -> pa.Schema:
    """The columns of a lake table as the store declares them (:mod:`.schema`)."""
    return pa.schema([(c, arrow_type(t) or pa.string()) for c, t in schema.columns(table)])


def partition_columns(table: str) -> list[str]:
    admin, _ = PARTITIONS.get(table, (None, None))
    if table not in PARTITIONS:
        return []
    return ([admin] if admin else []) + [YEAR]


# the store's own columns a lake written by another tool may lack: read as these
DEFAULTS = {"_source": "lake", "_version": 1, "_batch": 0, "_hash": ""}


def reading(table: str, have: set[str]) -> list[tuple[str, str, str, object]]:
    """How to read each column of ``table`` from files holding the columns ``have``:
    (column, declared type, how, what) with how ``column`` (read it), ``key`` (the record's
    key fields joined by ``|``, for ``_key``) or ``value`` (a constant, None for null)."""
    kind = KINDS.get(table)
    out = []
    for c, t in schema.columns(table):
        if c in have:
            out.append((c, t, "column", c))
        elif kind is not None and c == "_key":
            out.append((c, t, "key", kind.key))
        else:
            out.append((c, t, "value", DEFAULTS.get(c)))
    return out


def files(root: str | Path, table: str) -> Path | None:
    """The folder of ``table`` if it holds Parquet files."""
    folder = Path(root) / table
    return folder if folder.is_dir() and any(folder.rglob("*.parquet")) else None


class _Part:
    """One partition folder of a lake table: row groups of ``ROW_GROUP`` rows, files of at
    most ``ROWS_PER_FILE`` rows (``part-0.parquet``, ``part-1.parquet`` ...)."""

    def __init__(self, folder: Path, schema_: pa.Schema, prefix: str = "part-"):
        self.folder, self.schema, self.prefix = folder, schema_, prefix
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.files = 0
        self.in_file = 0
        self.writer = None

    def add(self, t: pa.Table) -> None:
        self.buffer.append(t)
        self.buffered += t.num_rows
        if self.buffered >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if not self.buffered:
            return
        t = pa.concat_tables(self.buffer)
        self.buffer, self.buffered = [], 0
        start = 0
        while start < t.num_rows:
            if self.writer is None or self.in_file >= ROWS_PER_FILE:
                self._open()
            n = min(t.num_rows - start, ROWS_PER_FILE - self.in_file)
            self.writer.write_table(t.slice(start, n), row_group_size=ROW_GROUP)
            self.in_file += n
            start += n

    def _open(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.folder / f"{self.prefix}{self.files}.parquet",
                                       self.schema, use_dictionary=_DICTIONARY)
        self.files += 1
        self.in_file = 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


# columns with few distinct values are dictionary-encoded; ids, keys and hashes are not
# (encoding them costs time and gains nothing)
_DICTIONARY = ["_source", "administration", "unit", "case_type", "outcome", "deadline",
               "benefit_area", "activity", "actor", "lifecycle", "kind", "channel", "via",
               "points", "appeal_outcome", "summary", "round", "concept", "reviewer",
               "reviewer_role", "check", "result", "rule", "status", "source", "file"]


class LakeAppender:
    """Writes a whole lake from rows appended table by table, in any order and as many times
    as wanted, in the layout of this module (Hive partitions, ``part-N.parquet`` files of at
    most ``ROWS_PER_FILE`` rows). Nothing is visible in ``root`` until :meth:`finish`,
    which replaces the tables' folders and writes the manifest last.

    Several processes can write one lake: each a :meth:`worker` appender over the same
    folder, with file names of its own, closed with :meth:`close`; then the first appender's
    :meth:`finish` puts them all in place."""

    def __init__(self, root: str | Path, tmp: Path | None = None, prefix: str = "part-"):
        self.root = Path(root)
        self.prefix = prefix
        if tmp is None:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / MANIFEST).unlink(missing_ok=True)  # incomplete until finish()
            tmp = self.root / f".append-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
        self.tmp = tmp
        self.parts: dict[tuple[str, str], _Part] = {}
        self.rows = dict.fromkeys(tables(), 0)

    def worker(self, name: str) -> LakeAppender:
        """An appender for another process, writing ``part-NAME-N.parquet`` files."""
        return LakeAppender(self.root, self.tmp, f"part-{name}-")

    def close(self) -> dict[str, int]:
        """Close this appender's files; returns its rows per table."""
        for part in self.parts.values():
            part.close()
        return self.rows

    def append(self, table: str, data: pa.Table | pa.RecordBatch) -> None:
        """Rows of ``table`` with its columns (:func:`arrow_schema`, cast if needed)."""
        want = arrow_schema(table)
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        data = data.select(want.names).cast(want)
        if not data.num_rows:
            return
        self.rows[table] += data.num_rows
        names = partition_columns(table)
        if not names:
            self._part(table, "", want).add(data)
            return
        admin, col = PARTITIONS[table]
        year = pc.cast(pc.year(data.column(col)), pa.string())
        keys = [pc.binary_join_element_wise("administration=", data.column(admin), "")] \
            if admin else []
        keys.append(pc.binary_join_element_wise("year=", year, ""))
        path = keys[0] if len(keys) == 1 else pc.binary_join_element_wise(*keys, "/")
        if admin:  # a column of the path (Hive), not of the files
            data = data.drop_columns([admin])
            want = want.remove(want.get_field_index(admin))
        for p in pc.unique(path).to_pylist():
            self._part(table, p, want).add(data.filter(pc.equal(path, p)))

    def _part(self, table: str, path: str, want: pa.Schema) -> _Part:
        part = self.parts.get((table, path))
        if part is None:
            part = self.parts[(table, path)] = _Part(self.tmp / table / path, want,
                                                     self.prefix)
        return part

    def finish(self, workers: list[dict[str, int]] = (), **info) -> dict:
        """Close every file, put the tables in place and write ``_lake.json`` (``workers``:
        the rows the worker appenders wrote)."""
        try:
            self.close()
            for rows in workers:
                for t, n in rows.items():
                    self.rows[t] += n
            for table in tables():
                folder = self.tmp / table
                if not any(folder.rglob("*.parquet")):  # no rows: an empty file keeps columns
                    folder.mkdir(parents=True, exist_ok=True)
                    pq.write_table(arrow_schema(table).empty_table(),
                                   folder / "part-0.parquet")
                old = self.root / table
                if old.exists():
                    shutil.rmtree(old)
                folder.rename(old)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return write_manifest(self.root, self.rows, **info)

    def abort(self) -> None:
        for part in self.parts.values():
            if part.writer is not None:
                part.writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_manifest(root: str | Path, rows: dict[str, int], **info) -> dict:
    """``_lake.json``: what the lake holds, written last (a lake without it is incomplete)."""
    doc = {"format": FORMAT, "version": VERSION, "schema": schema.VERSION,
           "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "tables": {t: {"rows": n, "partitioned_by": partition_columns(t)}
                      for t, n in rows.items()}, **info}
    path = Path(root) / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return doc


def read_manifest(root: str | Path) -> dict | None:
    path = Path(root) / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def export(store, root: str | Path, progress: Callable[[str, int], None] | None = None
           ) -> dict:
    """Write the current records of ``store`` (whatever the caller's scope: the lake is the
    municipality's, like the store) as a lake in ``root``; returns the manifest."""
    out = LakeAppender(root)
    try:
        for table in tables():
            for batch in store.record_batches(table):
                out.append(table, batch)
            if progress:
                progress(table, out.rows[table])
    except BaseException:
        out.abort()
        raise
    return out.finish(source=store.backend)


# -- reading a lake ---------------------------------------------------------------------------
READ_ONLY = ("En datasø kan kun læses: indlæs data i en DuckDB- eller PostgreSQL-database og "
             "skriv søen med 'sagsindsigt lake export'.")


class LakeEngine(Engine):
    """A lake folder as a read-only engine: every lake table a view of its Parquet folder,
    in the store's column types. Figures only: every write is refused in one sentence."""

    read_only = True

    def __init__(self, path: str):
        Engine.__init__(self)
        # absolute: Spark's JVM resolves a relative path against its own start directory
        self.path = Path(path).absolute()
        if not self.path.is_dir():
            raise StoreError(f"Datasøen {path} findes ikke: skriv den med "
                             "'sagsindsigt lake export' eller ret stien.")
        self.manifest = read_manifest(self.path)
        self._seen: tuple[int, int] | None = None
        self._version = 0

    @property
    def version(self) -> int:
        """The lake's data version: a new export (its manifest) is a new version. Asked
        before every request: the manifest is read again only when its file changed."""
        m = self.path / MANIFEST
        stat = m.stat() if m.exists() else None
        seen = (stat.st_mtime_ns, stat.st_size) if stat else None
        if seen is None or seen != self._seen:
            text = m.read_bytes() if stat else repr(sorted(
                (str(p), p.stat().st_mtime_ns) for p in self.path.iterdir())).encode()
            self._seen, self._version = seen, int(hashlib.sha256(text).hexdigest()[:12], 16)
        return self._version

    def table_names(self) -> set[str]:
        return set(tables())

    def column_names(self, table: str) -> list[str]:
        return [c for c, _ in schema.columns(table)]

    def execute(self, sql, params=()):
        raise StoreError(READ_ONLY)

    def query(self, sql, params=()):
        raise StoreError(READ_ONLY)

    def side_query(self, sql):
        raise StoreError(READ_ONLY)

    def load_arrow(self, table, data):
        raise StoreError(READ_ONLY)

    def transaction(self):
        raise StoreError(READ_ONLY)


class ParquetLake(LakeEngine, DuckDBEngine):
    """A lake read by an embedded DuckDB (``--db lake:PATH``): no Java, one machine."""

    name = "duckdb-lake"

    def __init__(self, path: str):
        DuckDBEngine.__init__(self, ":memory:")
        LakeEngine.__init__(self, path)
        for table in tables():
            self.raw.execute(f'CREATE VIEW "{table}" AS {self._select(table)}')

    def _select(self, table: str) -> str:
        folder = files(self.path, table)
        if folder is None:
            have: set[str] = set()
            source = "(SELECT 1) WHERE false"
        else:
            glob = str(folder / "**" / "*.parquet").replace("'", "''")
            source = (f"read_parquet('{glob}', hive_partitioning = true, "
                      "hive_types_autocast = false, union_by_name = true)")
            have = {r[0] for r in self.raw.execute(f"DESCRIBE SELECT * FROM {source}")
                    .fetchall()}
        cols = []
        for c, t, how, what in reading(table, have):
            if how == "column":
                expr = f'"{c}"'
            elif how == "key":
                expr = "concat_ws('|', " + ", ".join(f'CAST("{k}" AS VARCHAR)'
                                                     for k in what) + ")"
            elif what is None:
                expr = "NULL"
            else:
                expr = repr(what) if isinstance(what, int) else "'" + str(what) + "'"
            cols.append(f'CAST({expr} AS {t}) AS "{c}"')
        return f"SELECT {', '.join(cols)} FROM {source}"
