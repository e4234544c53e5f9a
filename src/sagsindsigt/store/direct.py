"""Records written directly, without the importer: the fast path of the national synthetic data
(:mod:`sagsindsigt.national`, issue 19).

The importer reads a file, validates and pseudonymises it, and writes each record as a new
version with the store's columns (``_source``, ``_key``, ``_version``, ``_batch``, ``_hash``
and the derived ones). A generator that makes valid rows itself can skip the file and the
comparison with earlier versions (there are none): :class:`Versioner` gives its rows the same
store columns, with the content hash the importer computes (:meth:`Store._content_hash`, by
DuckDB), :class:`.lake.LakeAppender` appends them to a lake's Parquet folders a part at a time
(one generator over all municipalities, bounded memory), and :func:`load` writes them into a
store's current and history tables.
"""

from __future__ import annotations

from .. import lazy
from ..contract import KINDS
from . import Store, lake, schema

pa = lazy.module("pyarrow")
pl = lazy.module("polars")


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
