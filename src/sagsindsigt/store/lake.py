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
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from .. import lazy
from ..contract import KINDS
from . import schema
from .engines import DuckDBEngine, Engine, StoreError, arrow_type

ibis = lazy.module("ibis")
pa = lazy.module("pyarrow")
pc = lazy.module("pyarrow.compute")
ds = lazy.module("pyarrow.dataset")

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


def _with_year(table: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    _, col = PARTITIONS[table]
    years = pc.year(batch.column(col)).cast(pa.string())
    return pa.RecordBatch.from_arrays([*batch.columns, years],
                                      names=[*batch.schema.names, YEAR])


def write_table(root: str | Path, table: str, batches: Iterable[pa.RecordBatch]) -> int:
    """Write one table of a lake from record batches in the store's column order; the old
    folder is replaced only when the new one is complete. Returns the rows written."""
    root = Path(root)
    want = arrow_schema(table)
    parts = partition_columns(table)
    written = 0

    def cast() -> Iterator[pa.RecordBatch]:
        nonlocal written
        for b in batches:
            b = pa.RecordBatch.from_arrays(
                [b.column(n).cast(f.type) for n, f in zip(want.names, want, strict=True)],
                schema=want)
            written += b.num_rows
            yield _with_year(table, b) if parts else b

    out_schema = want.append(pa.field(YEAR, pa.string())) if parts else want
    tmp = root / f".{table}-{uuid.uuid4().hex[:8]}"
    try:
        ds.write_dataset(
            cast(), tmp, schema=out_schema, format="parquet",
            partitioning=ds.partitioning(pa.schema([(p, pa.string()) for p in parts]),
                                         flavor="hive") if parts else None,
            basename_template="part-{i}.parquet", max_rows_per_file=ROWS_PER_FILE,
            max_rows_per_group=min(ROWS_PER_FILE, 1_000_000), max_open_files=4096,
            existing_data_behavior="overwrite_or_ignore")
        if not tmp.exists():  # no rows: an empty file keeps the table's columns
            tmp.mkdir(parents=True)
        if not any(tmp.rglob("*.parquet")):
            import pyarrow.parquet as pq

            pq.write_table(want.empty_table(), tmp / "part-0.parquet")
        old = root / table
        if old.exists():
            shutil.rmtree(old)
        tmp.rename(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return written


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
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).unlink(missing_ok=True)  # incomplete until the manifest is written again
    rows = {}
    for table in tables():
        rows[table] = write_table(root, table, store.record_batches(table))
        if progress:
            progress(table, rows[table])
    return write_manifest(root, rows, source=store.backend)


# -- reading a lake ---------------------------------------------------------------------------
READ_ONLY = ("En datasø kan kun læses: indlæs data i en DuckDB- eller PostgreSQL-database og "
             "skriv søen med 'sagsindsigt lake export'.")


class LakeEngine(Engine):
    """A lake folder as a read-only engine: every lake table a view of its Parquet folder,
    in the store's column types. Figures only: every write is refused in one sentence."""

    read_only = True

    def __init__(self, path: str):
        Engine.__init__(self)
        self.path = Path(path)
        if not self.path.is_dir():
            raise StoreError(f"Datasøen {path} findes ikke: skriv den med "
                             "'sagsindsigt lake export' eller ret stien.")
        self.manifest = read_manifest(self.path)

    @property
    def version(self) -> int:
        """The lake's data version: a new export (its manifest) is a new version."""
        m = self.path / MANIFEST
        text = m.read_bytes() if m.exists() else repr(sorted(
            (str(p), p.stat().st_mtime_ns) for p in self.path.iterdir())).encode()
        return int(hashlib.sha256(text).hexdigest()[:12], 16)

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

    execute = LakeEngine.execute
    query = LakeEngine.query
    side_query = LakeEngine.side_query
    load_arrow = LakeEngine.load_arrow
    transaction = LakeEngine.transaction
    table_names = LakeEngine.table_names
    column_names = LakeEngine.column_names
