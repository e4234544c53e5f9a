"""Records written directly, without the importer: the fast path of the national synthetic data
(:mod:`sagsindsigt.national`, issue 19).

The importer reads a file, validates and pseudonymises it, and writes each record as a new
version with the store's columns (``_source``, ``_key``, ``_version``, ``_batch``, ``_hash``
and the derived ones). A generator that makes valid rows itself can skip the file and the
comparison with earlier versions (there are none): :class:`Versioner` gives its rows the same
store columns, with the content hash the importer computes (:meth:`Store._content_hash`, by
DuckDB), :class:`LakeAppender` appends them to a lake's Parquet folders a part at a time (one
generator over all municipalities, bounded memory), and :func:`load` writes them into a
store's current and history tables.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from .. import lazy
from ..contract import KINDS
from . import Store, lake, schema

pa = lazy.module("pyarrow")
pc = lazy.module("pyarrow.compute")
pq = lazy.module("pyarrow.parquet")

ROW_GROUP = 500_000  # rows a partition buffers before it writes a row group


class Versioner:
    """Version 1 of new records, as a lake or store table holds them."""

    def __init__(self, threads: int = 2):
        import duckdb

        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {int(threads)}")

    def rows(self, table: str, staged: pa.Table, batch: int | None = None) -> pa.Table:
        """``staged`` (``_source``, ``_key``, the kind's fields and derived columns, or the
        columns of a derived table) with every column of ``table`` in the schema's order and
        types: ``_version`` 1, ``_batch`` = ``batch``, ``_hash`` over the fields cast to the
        store's types, as the importer computes it."""
        cols = schema.columns(table)
        have = set(staged.column_names)
        typed = ", ".join(
            f'CAST("{c}" AS {t}) AS "{c}"' if c in have else f'CAST(NULL AS {t}) AS "{c}"'
            for c, t in cols if c not in ("_version", "_batch", "_hash"))
        pick = []
        for c, _ in cols:
            if c == "_version":
                pick.append('CAST(1 AS BIGINT) AS "_version"')
            elif c == "_batch":
                pick.append(f'CAST({int(batch)} AS BIGINT) AS "_batch"')
            elif c == "_hash":
                pick.append(f'{Store._content_hash(None, KINDS[table])} AS "_hash"')
            else:
                pick.append(f'"{c}"')
        self.con.register("_staged", staged)
        try:
            out = self.con.execute(
                f"SELECT {', '.join(pick)} FROM (SELECT {typed} FROM _staged) x").arrow()
            if isinstance(out, pa.RecordBatchReader):  # DuckDB ≥ 1.4: read it while registered
                out = out.read_all()
        finally:
            self.con.unregister("_staged")
        return out.cast(lake.arrow_schema(table))

    def close(self) -> None:
        self.con.close()


class _Part:
    """One partition folder of a lake table: row groups of ``ROW_GROUP`` rows, files of at
    most ``lake.ROWS_PER_FILE`` rows (``part-0.parquet``, ``part-1.parquet`` ...)."""

    def __init__(self, folder: Path, schema_: pa.Schema):
        self.folder, self.schema = folder, schema_
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
            if self.writer is None or self.in_file >= lake.ROWS_PER_FILE:
                self._open()
            n = min(t.num_rows - start, lake.ROWS_PER_FILE - self.in_file)
            self.writer.write_table(t.slice(start, n), row_group_size=ROW_GROUP)
            self.in_file += n
            start += n

    def _open(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.folder / f"part-{self.files}.parquet", self.schema)
        self.files += 1
        self.in_file = 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class LakeAppender:
    """Writes a whole lake from rows appended table by table, in any order and as many times
    as wanted, in the layout of :mod:`.lake` (Hive partitions, ``part-N.parquet`` files of at
    most ``lake.ROWS_PER_FILE`` rows). Nothing is visible in ``root`` until :meth:`finish`,
    which replaces the tables' folders and writes the manifest last."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / lake.MANIFEST).unlink(missing_ok=True)  # incomplete until finish()
        self.tmp = self.root / f".append-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir()
        self.parts: dict[tuple[str, str], _Part] = {}
        self.rows = dict.fromkeys(lake.tables(), 0)

    def append(self, table: str, data: pa.Table | pa.RecordBatch) -> None:
        """Rows of ``table`` with its columns (:func:`lake.arrow_schema`, cast if needed)."""
        want = lake.arrow_schema(table)
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        data = data.select(want.names).cast(want)
        if not data.num_rows:
            return
        self.rows[table] += data.num_rows
        names = lake.partition_columns(table)
        if not names:
            self._part(table, "", want).add(data)
            return
        admin, col = lake.PARTITIONS[table]
        year = pc.cast(pc.year(data.column(col)), pa.string())
        keys = [pc.binary_join_element_wise("administration=", data.column(admin), "")] \
            if admin else []
        keys.append(pc.binary_join_element_wise("year=", year, ""))
        path = keys[0] if len(keys) == 1 else pc.binary_join_element_wise(*keys, "/")
        for p in pc.unique(path).to_pylist():
            self._part(table, p, want).add(data.filter(pc.equal(path, p)))

    def _part(self, table: str, path: str, want: pa.Schema) -> _Part:
        part = self.parts.get((table, path))
        if part is None:
            part = self.parts[(table, path)] = _Part(self.tmp / table / path, want)
        return part

    def finish(self, **info) -> dict:
        """Close every file, put the tables in place and write ``_lake.json``."""
        try:
            for part in self.parts.values():
                part.close()
            for table in lake.tables():
                folder = self.tmp / table
                if not any(folder.rglob("*.parquet")):  # no rows: an empty file keeps columns
                    folder.mkdir(parents=True, exist_ok=True)
                    pq.write_table(lake.arrow_schema(table).empty_table(),
                                   folder / "part-0.parquet")
                old = self.root / table
                if old.exists():
                    shutil.rmtree(old)
                folder.rename(old)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return lake.write_manifest(self.root, self.rows, **info)

    def abort(self) -> None:
        for part in self.parts.values():
            if part.writer is not None:
                part.writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def load(store: Store, table: str, rows: pa.Table) -> None:
    """Rows of a lake table (:meth:`Versioner.rows`) into a store: a record kind's current
    table and its history (without the derived columns), or a derived table such as
    ``timeliness_items``. The rows must be new: nothing is compared or replaced."""
    if not rows.num_rows:
        return
    e = store._engine
    if table in KINDS:
        hist = [c for c, _ in schema.columns(f"{table}_history")]
        e.load_arrow(f"{table}_history", rows.select(hist))
        store.touch(table, f"{table}_history")
    else:
        store.touch(table)
    e.load_arrow(table, rows)
