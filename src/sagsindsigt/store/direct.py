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
pl = lazy.module("polars")
pc = lazy.module("pyarrow.compute")
pq = lazy.module("pyarrow.parquet")

ROW_GROUP = 500_000  # rows a partition buffers before it writes a row group


class Versioner:
    """Version 1 of new records, as a lake or store table holds them."""

    def __init__(self, threads: int = 2):
        import duckdb

        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {int(threads)}")

    def rows(self, table: str, staged: pl.DataFrame, batch: int | None = None) -> pa.Table:
        """``staged`` (``_source``, ``_key``, the kind's fields and derived columns, or the
        columns of a derived table) with every column of ``table`` in the schema's order and
        types: ``_version`` 1, ``_batch`` = ``batch``, and for a record kind ``_hash``, the
        content hash the importer computes (:meth:`Store._content_hash`)."""
        cols = schema.columns(table)
        df = staged.select(
            pl.col(c).cast(_POLARS[t]) if c in staged.columns
            else pl.lit(None, dtype=_POLARS[t]).alias(c)
            for c, t in cols if c not in ("_version", "_batch", "_hash"))
        if table in KINDS:
            df = df.with_columns(_version=pl.lit(1, dtype=pl.Int64),
                                 _batch=pl.lit(batch, dtype=pl.Int64),
                                 _hash=self._hashes(KINDS[table], df))
        return df.select(c for c, _ in cols).to_arrow().cast(lake.arrow_schema(table))

    def _hashes(self, kind, df: pl.DataFrame) -> pl.Series:
        """md5 over the fields as the engine casts them to text, ``\\x1f`` between them and
        ``\\N`` for null: the text is made by polars (fast, in parallel) where it writes
        what DuckDB's CAST writes, and the digest by DuckDB; otherwise the importer's own
        SQL expression over the fields."""
        types = dict(schema.kind_columns(kind, False))
        parts = [_as_text(pl.col(f.name), types[f.name], df[f.name]) for f in kind.fields]
        if all(p is not None for p in parts):
            text = df.select(pl.concat_str(parts, separator="\x1f").alias("t")).to_arrow()
            sql = "SELECT md5(t) AS h FROM _staged"
        else:
            text = df.select(f.name for f in kind.fields).to_arrow()
            sql = f"SELECT {Store._content_hash(None, kind)} AS h FROM _staged"
        self.con.register("_staged", text)
        try:
            out = self.con.execute(sql).arrow()
            if isinstance(out, pa.RecordBatchReader):  # DuckDB ≥ 1.4: read it while registered
                out = out.read_all()
        finally:
            self.con.unregister("_staged")
        return pl.Series("_hash", out.column("h").combine_chunks(), dtype=pl.Utf8)

    def close(self) -> None:
        self.con.close()


_POLARS = {"VARCHAR": pl.Utf8, "BIGINT": pl.Int64, "DATE": pl.Date, "BOOLEAN": pl.Boolean,
           "TIMESTAMP": pl.Datetime("us"), "DOUBLE": pl.Float64}
NULL = "\\N"


def _as_text(col: pl.Expr, declared: str, values: pl.Series) -> pl.Expr | None:
    """A column as DuckDB's ``CAST(... AS VARCHAR)`` writes it (None where polars would
    write it differently: doubles, timestamps with fractions of a second)."""
    if declared == "VARCHAR":
        return col.fill_null(NULL)
    if declared == "BIGINT":
        return col.cast(pl.Utf8).fill_null(NULL)
    if declared == "DATE":
        return col.dt.strftime("%Y-%m-%d").fill_null(NULL)
    if declared == "BOOLEAN":
        return pl.when(col.is_null()).then(pl.lit(NULL)).when(col).then(pl.lit("true")) \
            .otherwise(pl.lit("false"))
    if declared == "TIMESTAMP" and not (values.dt.microsecond() != 0).any():
        return col.dt.strftime("%Y-%m-%d %H:%M:%S").fill_null(NULL)
    return None


class _Part:
    """One partition folder of a lake table: row groups of ``ROW_GROUP`` rows, files of at
    most ``lake.ROWS_PER_FILE`` rows (``part-0.parquet``, ``part-1.parquet`` ...)."""

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
    as wanted, in the layout of :mod:`.lake` (Hive partitions, ``part-N.parquet`` files of at
    most ``lake.ROWS_PER_FILE`` rows). Nothing is visible in ``root`` until :meth:`finish`,
    which replaces the tables' folders and writes the manifest last.

    Several processes can write one lake: each a :meth:`worker` appender over the same
    folder, with file names of its own, closed with :meth:`close`; then the first appender's
    :meth:`finish` puts them all in place."""

    def __init__(self, root: str | Path, tmp: Path | None = None, prefix: str = "part-"):
        self.root = Path(root)
        self.prefix = prefix
        if tmp is None:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / lake.MANIFEST).unlink(missing_ok=True)  # incomplete until finish()
            tmp = self.root / f".append-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
        self.tmp = tmp
        self.parts: dict[tuple[str, str], _Part] = {}
        self.rows = dict.fromkeys(lake.tables(), 0)

    def worker(self, name: str) -> LakeAppender:
        """An appender for another process, writing ``part-NAME-N.parquet`` files."""
        return LakeAppender(self.root, self.tmp, f"part-{name}-")

    def close(self) -> dict[str, int]:
        """Close this appender's files; returns its rows per table."""
        for part in self.parts.values():
            part.close()
        return self.rows

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
