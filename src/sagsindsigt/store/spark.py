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

import os
import threading
from pathlib import Path

from .. import lazy
from . import lake, schema
from .engines import StoreError
from .lake import LakeEngine

ibis = lazy.module("ibis")

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


class SparkLake(LakeEngine):
    """A lake read by Spark: every lake table a temporary view of its Parquet folder."""

    name = "spark"

    def __init__(self, path: str):
        super().__init__(path)
        self.raw = None
        self._session = None

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

        folder = lake.files(self.path, table)
        if folder is not None:
            df = session.read.option("basePath", str(folder)).parquet(str(folder))
        else:
            df = session.createDataFrame([], ", ".join(
                f"`{c}` {_spark_type(t)}" for c, t in schema.columns(table)))
        cols = []
        for c, t, how, what in lake.reading(table, set(df.columns)):
            if how == "column":
                col = F.col(f"`{c}`")
            elif how == "key":
                col = F.concat_ws("|", *[F.col(f"`{k}`").cast("string") for k in what])
            else:
                col = F.lit(what)
            cols.append(col.cast(_spark_type(t)).alias(c))
        df.select(*cols).createOrReplaceTempView(table)

    def close(self) -> None:
        self._ibis = None  # the process's Spark session stays for the next lake
        self._session = None


def _spark_type(declared: str) -> str:
    return {"VARCHAR": "string", "BIGINT": "bigint", "DATE": "date", "BOOLEAN": "boolean",
            "TIMESTAMP": "timestamp", "DOUBLE": "double"}[declared]


def run(backend, sql: str):
    """The rows of Spark SQL as an Arrow table."""
    return backend._session.sql(sql).toArrow()
