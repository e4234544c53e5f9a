"""One schema declaration (store/schema.py): an embedded DuckDB store made by the previous
release gains the new tables and columns on ``init``/``upgrade`` with its data kept, and a
PostgreSQL database migrated to head has exactly the declared tables and columns (the Alembic
revisions and the declaration cannot drift apart)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sagsindsigt.access import SYSTEM
from sagsindsigt.access.access_log import append, entries
from sagsindsigt.cli import main
from sagsindsigt.ingest import import_file
from sagsindsigt.store import SCHEMA_VERSION, Store, migrations, schema

from ..conftest import PG_ADMIN, _drop_pg, _pg_database, pg_available

RELEASE_3 = Path(__file__).parent / "fixtures" / "release-3"
FIXTURE_SECRET = "fixture-secret-not-for-production"  # the key the fixture was made with
SAME_TARGET = ("- id: frister_sof\n  kpi: deadline_compliance\n  administration: SOF\n"
               "  period: '2014'\n  direction: min\n  value: 80\n# the same target, anew\n")


def release_3_store(path: Path) -> str:
    """The DuckDB file the previous release made (schema version 3), restored from its
    export: the release's own DDL and every table's rows."""
    con = duckdb.connect(str(path))
    for stmt in (RELEASE_3 / "schema.sql").read_text(encoding="utf-8").split(";"):
        if stmt.strip():
            con.execute(stmt)
    for parquet in sorted(RELEASE_3.glob("*.parquet")):
        con.execute(f'INSERT INTO "{parquet.stem}" SELECT * FROM read_parquet(?)',
                    [str(parquet)])
    con.close()
    return str(path)


def columns(store: Store, table: str) -> list[str]:
    return store._engine.column_names(table)


@pytest.fixture
def old_duck(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_SECRET", FIXTURE_SECRET)
    return release_3_store(tmp_path / "release3.duckdb")


def test_the_fixture_is_the_previous_release(old_duck):
    con = duckdb.connect(old_duck, read_only=True)
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert "auditlog" in tables and "access_log" not in tables
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    assert "name" not in [r[0] for r in con.execute("DESCRIBE targets").fetchall()]
    con.close()


def test_init_brings_a_release_3_duckdb_store_up_to_date_with_its_data(old_duck, tmp_path):
    store = Store(old_duck)
    try:
        assert store.init() is False
        names = store._engine.table_names()
        assert "access_log" in names and "auditlog" not in names  # renamed, rows kept
        assert set(schema.TABLES) <= names
        for table, cols in schema.TABLES.items():
            assert columns(store, table) == [c for c, _ in cols] or set(
                columns(store, table)) == {c for c, _ in cols}, table
        assert "name" in columns(store, "targets") and "name" in columns(store, "targets_history")
        assert store.meta("schema_version") == SCHEMA_VERSION == "9"
        # the data of the previous release, all of it
        assert sorted(r[0] for r in store._engine.query("SELECT case_id FROM cases")) == [
            "A1", "A2"]
        assert store._engine.query("SELECT count(*) FROM batches")[0][0] == 5
        assert [e.action for e in entries(store)] == ["log ind"]
        assert store._engine.query(
            "SELECT count(*) FROM complaint_registrations")[0][0] == 1
        assert store._engine.query("SELECT name FROM users")[0][0] == "ida"
        # the same target loaded anew is unchanged: the content hash was brought up to date
        (tmp_path / "maal.yaml").write_text(SAME_TARGET, encoding="utf-8")
        r = import_file(store, "targets", tmp_path / "maal.yaml")
        assert (r.rows_loaded, r.rows_unchanged) == (0, 1)
        # and the new column is used from now on
        named = SAME_TARGET.replace("  value: 80\n", "  value: 80\n  name: Frister i SOF\n")
        (tmp_path / "maal2.yaml").write_text(named, encoding="utf-8")
        assert import_file(store, "targets", tmp_path / "maal2.yaml").rows_loaded == 1
        assert store._engine.query("SELECT name FROM targets")[0][0] == "Frister i SOF"
        append(store, "efter", who=SYSTEM)
        assert [e.action for e in entries(store)][0] == "efter"
        assert store.init() is False  # idempotent
    finally:
        store.close()


def test_upgrade_tells_the_schema_version_on_duckdb(old_duck, capsys):
    assert main(["--db", old_duck, "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "skemaversion 3 → 9" in out


def test_a_new_duckdb_store_has_exactly_the_declared_tables(tmp_path):
    store = Store(str(tmp_path / "ny.duckdb"))
    try:
        store.init()
        assert store._engine.table_names() == set(schema.TABLES)
        for table, cols in schema.TABLES.items():
            assert columns(store, table) == [c for c, _ in cols], table
    finally:
        store.close()


pg = pytest.mark.skipif(not pg_available(), reason=f"PostgreSQL svarer ikke på {PG_ADMIN}: "
                        "PostgreSQL-varianten springes over (DuckDB-varianten kører stadig).")


@pytest.fixture
def pg_url():
    name, url = _pg_database()
    yield url
    _drop_pg(name)


@pg
def test_postgresql_at_head_is_exactly_the_declaration(pg_url):
    """Alembic's autogenerate finds nothing to do: the revisions and store/schema.py agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    migrations.upgrade(pg_url)
    engine = create_engine(migrations.sqlalchemy_url(pg_url))
    try:
        with engine.connect() as con:
            ctx = MigrationContext.configure(con, opts={
                "compare_type": True,
                "include_object": lambda o, n, t, r, c: not (t == "table"
                                                             and n == "alembic_version")})
            assert compare_metadata(ctx, schema.metadata()) == []
    finally:
        engine.dispose()


@pg
def test_revision_0004_keeps_the_data_of_a_version_3_database(pg_url, tmp_path, monkeypatch):
    import psycopg

    monkeypatch.setenv("SAGSINDSIGT_SECRET", FIXTURE_SECRET)
    migrations.upgrade(pg_url, "0003")
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("INSERT INTO auditlog (id, actor, action) VALUES ('1', 'ida', 'log ind')")
        con.execute("CREATE TABLE complaint_registrations (_source VARCHAR, complaint_id "
                    "VARCHAR, version BIGINT, batch BIGINT, action VARCHAR, registered_by "
                    "VARCHAR, registered_at TIMESTAMP, changes VARCHAR)")
        con.execute("INSERT INTO complaint_registrations (complaint_id) VALUES ('KL-1')")
    store = Store(pg_url)
    try:
        (tmp_path / "maal.yaml").write_text(SAME_TARGET, encoding="utf-8")
        with psycopg.connect(pg_url, autocommit=True) as con:  # a version-3 target row
            con.execute(  # its hash of version 3's fields: 0004 recomputes it
                "INSERT INTO targets (_source, _key, _version, _batch, _hash, id, kpi, "
                "administration, period, direction, value) VALUES ('standard', 'frister_sof', "
                "1, 1, 'hash-of-version-3', 'frister_sof', 'deadline_compliance', 'SOF', "
                "'2014', 'min', 80)")
        store.init()
        assert store.schema_revision() == migrations.head()
        assert store.meta("schema_version") == SCHEMA_VERSION
        assert [e.actor for e in entries(store)] == ["ida"]
        assert store._engine.query("SELECT complaint_id FROM complaint_registrations") == [
            ("KL-1",)]
        r = import_file(store, "targets", tmp_path / "maal.yaml")
        assert (r.rows_loaded, r.rows_unchanged) == (0, 1)  # rehashed with the new field
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            store._engine.execute("DELETE FROM access_log")
    finally:
        store.close()
