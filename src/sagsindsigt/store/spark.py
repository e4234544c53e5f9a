"""Spark as an engine of the KPI layer: a lake (:mod:`.lake`) read through Ibis's PySpark
backend (issue 19).

``--db spark:PATH`` opens a lake on its own, read-only: figures from the CLI (``kpi``,
``overview``, ``report``). ``--db STORE --lake spark:PATH`` (or ``SAGSINDSIGT_LAKE``) keeps
users, sessions, registrations and audits in STORE and reads the tables of the figures from
the lake. Either way the figures are the registry's one Ibis expression per KPI, compiled to
Spark SQL; nothing is written twice.

Where Spark runs: ``local[*]`` on this machine by default; ``SAGSINDSIGT_SPARK_MASTER`` names
a cluster's master (``spark://host:7077``, ``yarn``) or, starting with ``sc://``, a Spark
Connect server (Databricks, Fabric). One Spark session per process; each lake opened gets a
session of its own over it (its own table names), so a process can hold several lakes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from .. import lazy
from ..contract import KINDS
from . import lake, schema
from .engines import Engine, StoreError

ibis = lazy.module("ibis")

READ_ONLY = ("En datasø (spark:) kan kun læses: indlæs data i en DuckDB- eller "
             "PostgreSQL-database og skriv søen med 'sagsindsigt lake export'.")
NO_SPARK = ("Spark kræver pyspark og Java 17: installér dem med 'uv sync --extra spark' (eller "
            "'pip install \"sagsindsigt[spark]\"') og 'apt-get install openjdk-17-jre-headless'.")

LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
_root = None
_root_lock = threading.Lock()


def master() -> str:
    return os.environ.get("SAGSINDSIGT_SPARK_MASTER", "local[*]")


def root_session():
    """The process's Spark session, started at first use (about 10 s for a local one)."""
    global _root
    with _root_lock:
        if _root is not None:
            return _root
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise StoreError(NO_SPARK) from exc
        where = master()
        builder = SparkSession.builder.appName("sagsindsigt")
        if where.startswith("sc://"):
            builder = builder.remote(where)
        else:
            if where.startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            builder = (builder.master(where)
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.driver.extraJavaOptions",
                               f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}")
                       .config("spark.driver.memory",
                               os.environ.get("SAGSINDSIGT_SPARK_MEMORY", "4g")))
        builder = (builder
                   .config("spark.sql.session.timeZone", "UTC")
                   # administration codes stay text, whatever they look like
                   .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
                   .config("spark.sql.shuffle.partitions",
                           os.environ.get("SAGSINDSIGT_SPARK_PARTITIONS", "8")))
        try:
            _root = builder.getOrCreate()
        except Exception as exc:  # no Java, or no cluster at the address
            raise StoreError(f"Spark kunne ikke startes ({where}): {_first_line(exc)} "
                             + NO_SPARK) from exc
        if hasattr(_root, "sparkContext") and not where.startswith("sc://"):
            _root.sparkContext.setLogLevel("ERROR")
        return _root


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class SparkLake(Engine):
    """A lake folder as an engine: every lake table a view of its Parquet folder."""

    name = "spark"
    read_only = True

    def __init__(self, path: str):
        super().__init__()
        self.path = Path(path)
        if not self.path.is_dir():
            raise StoreError(f"Datasøen {path} findes ikke: skriv den med "
                             "'sagsindsigt lake export' eller ret stien.")
        self.manifest = lake.read_manifest(self.path)
        self.raw = None
        self._session = None

    @property
    def version(self) -> int:
        """The lake's data version: a new export (its manifest) is a new version."""
        m = self.path / lake.MANIFEST
        text = m.read_bytes() if m.exists() else repr(sorted(
            (str(p), p.stat().st_mtime_ns) for p in self.path.iterdir())).encode()
        return int(hashlib.sha256(text).hexdigest()[:12], 16)

    def _attach_ibis(self):
        session = root_session()
        session = session.newSession() if hasattr(session, "newSession") else session
        self._session = session
        for table in lake.tables():
            self._view(session, table)
        return ibis.pyspark.connect(session)

    def _view(self, session, table: str) -> None:
        """``table`` as a temporary view of its folder, in the store's column types (a
        column a foreign lake lacks: null, or its default for the store's own columns)."""
        from pyspark.sql import functions as F

        want = schema.columns(table)
        folder = self.path / table
        if folder.is_dir() and any(folder.rglob("*.parquet")):
            df = session.read.option("basePath", str(folder)).parquet(str(folder))
        else:
            df = session.createDataFrame([], ", ".join(f"`{c}` {_spark_type(t)}"
                                                       for c, t in want))
        have = set(df.columns)
        kind = KINDS.get(table)
        cols = []
        for c, t in want:
            if c in have:
                cols.append(F.col(f"`{c}`").cast(_spark_type(t)).alias(c))
            elif kind is not None and c == "_key":
                cols.append(F.concat_ws("|", *[F.col(k).cast("string") for k in kind.key])
                            .alias(c))
            else:
                default = {"_source": F.lit("lake"), "_version": F.lit(1),
                           "_batch": F.lit(0), "_hash": F.lit("")}.get(c, F.lit(None))
                cols.append(default.cast(_spark_type(t)).alias(c))
        df.select(*cols).createOrReplaceTempView(table)

    def table_names(self) -> set[str]:
        return set(lake.tables())

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

    def close(self) -> None:
        self._ibis = None  # the process's Spark session stays for the next lake
        self._session = None


def _spark_type(declared: str) -> str:
    return {"VARCHAR": "string", "BIGINT": "bigint", "DATE": "date", "BOOLEAN": "boolean",
            "TIMESTAMP": "timestamp", "DOUBLE": "double"}[declared]


def run(backend, sql: str):
    """The rows of Spark SQL as an Arrow table."""
    return backend._session.sql(sql).toArrow()
