"""One ``store`` fixture over every engine: each test that takes it runs on DuckDB and on
PostgreSQL (a fresh database per test on 127.0.0.1:5432; skipped with a message where none)."""

from __future__ import annotations

import os
import uuid

import pytest

from sagsindsigt.privacy import create_secret
from sagsindsigt.store import Store

PG_ADMIN = os.environ.get("SAGSINDSIGT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_ok: bool | None = None


def pg_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            import psycopg

            psycopg.connect(PG_ADMIN, connect_timeout=3).close()
            _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


def load_case_types(store, tmp_path, *types: str) -> None:
    """Load case types written "SOF:A" (named by their code, no deadline, no benefit area)
    through the importer: a case must name a case type loaded for its administration. One
    source per administration, since a case type's key is its code."""
    from sagsindsigt.ingest import import_file

    by_admin: dict[str, list[str]] = {}
    for admin, code in (t.split(":") for t in types):
        by_admin.setdefault(admin, []).append(code)
    for admin, codes in by_admin.items():
        path = tmp_path / f"sagstyper-{admin}.csv"
        path.write_text("code;name;administration\n"
                        + "".join(f"{c};{c};{admin}\n" for c in codes), encoding="utf-8")
        r = import_file(store, "case_types", path, source=f"sagstyper-{admin}")
        assert r.rows_rejected == 0, r.rejects


@pytest.fixture(autouse=True)
def _secret(tmp_path, monkeypatch):
    path = tmp_path / "test.secret"
    create_secret(path)
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(path))
    return path


def _pg_database():
    import psycopg

    name = f"sagsindsigt_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_pg(name):
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_store(engine: str, tmp_path) -> tuple[Store, callable]:
    if engine == "duckdb":
        s = Store(str(tmp_path / "store.duckdb"))
        s.init()
        return s, s.close
    if not pg_available():
        pytest.skip(f"PostgreSQL svarer ikke på {PG_ADMIN}: PostgreSQL-varianten springes over "
                    "(DuckDB-varianten kører stadig).")
    name, url = _pg_database()
    s = Store(url)
    s.init()

    def close():
        s.close()
        _drop_pg(name)

    return s, close


@pytest.fixture(params=["duckdb", "postgres"])
def store(request, tmp_path):
    s, close = make_store(request.param, tmp_path)
    yield s
    close()


@pytest.fixture
def duck(tmp_path):
    s, close = make_store("duckdb", tmp_path)
    yield s
    close()


DEMO_YEARS = 3  # 2012-2014; SOF's 2014 as the first half-year only


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    """The demo municipality, built once per test worker (tests using it share the xdist
    group "demo", so one worker builds it)."""
    from sagsindsigt.demo import build_demo
    from sagsindsigt.privacy import create_secret
    from sagsindsigt.store import Store

    path = tmp_path_factory.mktemp("demo")
    create_secret(path / "demo.secret")
    old = os.environ.get("SAGSINDSIGT_SECRET_FILE")
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(path / "demo.secret")
    try:
        store = Store(str(path / "demo.duckdb"))
        store.init()
        build_demo(store, years=DEMO_YEARS, seed=2014, echo=lambda _: None)
    finally:
        if old is None:
            os.environ.pop("SAGSINDSIGT_SECRET_FILE", None)
        else:
            os.environ["SAGSINDSIGT_SECRET_FILE"] = old
    store.secret_file = path / "demo.secret"
    return store


_spark_ok: str | None = None


def spark_or_skip() -> None:
    """Skip a Spark test, saying how to get Spark, on a machine without Java or pyspark (the
    DuckDB and PostgreSQL variants still run)."""
    global _spark_ok
    if _spark_ok is None:
        import importlib.util
        import shutil

        if importlib.util.find_spec("pyspark") is None:
            _spark_ok = "pyspark mangler ('uv sync' installerer det med udviklingsværktøjerne)"
        elif shutil.which("java") is None:
            _spark_ok = "Java mangler (apt-get install openjdk-17-jre-headless)"
        else:
            _spark_ok = ""
    if _spark_ok:
        pytest.skip(f"Spark-varianten springes over: {_spark_ok}; DuckDB og PostgreSQL kører "
                    "stadig.")
