"""Schema migrations on PostgreSQL (store/migrations/): a new store is at head with the same
tables and columns as an embedded DuckDB store, an upgrade keeps the data, a store made before
migrations is adopted, and the audit log is append-only."""

from __future__ import annotations

import threading

import psycopg
import pytest

from sagsindsigt.access import SYSTEM
from sagsindsigt.access.access_log import append, entries
from sagsindsigt.cli import main
from sagsindsigt.store import ACCESS_TABLES, SCHEMA_VERSION, Store, StoreError, migrations

from ..conftest import PG_ADMIN, _drop_pg, _pg_database, pg_available

pytestmark = pytest.mark.skipif(
    not pg_available(),
    reason=f"PostgreSQL svarer ikke på {PG_ADMIN}: migrationstestene kræver PostgreSQL.")

ORGANISATION = ("code;name;parent;level\nKOM;Kommunen;;kommune\nSOF;Socialforvaltningen;KOM;"
                "forvaltning\nHCK;Handicapcenter;SOF;center\n")
CASE_TYPES = "code;name;administration\nA;Enkeltydelse;SOF\n"
CASES = ("case_id;administration;unit;case_type;received;decided;outcome\n"
         "1;SOF;HCK;A;03-02-2014;28-02-2014;afslag\n2;SOF;HCK;A;05-02-2014;;\n")
# information_schema's PostgreSQL type names as the store's DDL types (DuckDB's names)
PG_TYPES = {"character varying": "VARCHAR", "bigint": "BIGINT", "date": "DATE",
            "boolean": "BOOLEAN", "timestamp without time zone": "TIMESTAMP",
            "double precision": "DOUBLE"}


@pytest.fixture
def pg_url():
    name, url = _pg_database()
    yield url
    _drop_pg(name)


def columns(store: Store) -> dict[str, list[tuple[str, str]]]:
    """Every table of the store with its (column, type) list in order, in DuckDB's names."""
    rows = store._engine.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, typ in rows:
        tables.setdefault(table, []).append((column, PG_TYPES.get(typ, typ.upper())))
    return tables


def old_style(url: str, revision: str = migrations.BASELINE) -> None:
    """A store as the create-missing-tables init made it: the schema, no alembic_version."""
    migrations.upgrade(url, revision)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP TABLE alembic_version")


def import_some(store: Store, tmp_path) -> None:
    """Three batches and their records, as an import of that schema version wrote them (by
    SQL: today's import needs today's schema)."""
    e = store._engine
    for i, kind in enumerate(("organisation", "case_types", "cases"), start=1):
        e.execute("INSERT INTO batches (id, kind, source, status, rows_loaded) "
                  "VALUES (?, ?, 'test', 'indlæst', ?)", [i, kind, (3, 1, 2)[i - 1]])
    for code, name, parent, level in (("KOM", "Kommunen", None, "kommune"),
                                      ("SOF", "Socialforvaltningen", "KOM", "forvaltning"),
                                      ("HCK", "Handicapcenter", "SOF", "center")):
        for table in ("organisation", "organisation_history"):
            e.execute(f"INSERT INTO {table} (_source, _key, _version, _batch, _hash, code, "
                      "name, parent, level) VALUES ('test', ?, 1, 1, 'h', ?, ?, ?, ?)",
                      [code, code, name, parent, level])
    for case_id in ("1", "2"):
        for table in ("cases", "cases_history"):
            e.execute(f"INSERT INTO {table} (_source, _key, _version, _batch, _hash, case_id, "
                      "administration, unit, case_type) VALUES ('test', ?, 1, 3, 'h', ?, "
                      "'SOF', 'HCK', 'A')", [case_id, case_id])


def assert_data_kept(store: Store) -> None:
    assert store._engine.query("SELECT count(*) FROM batches")[0][0] == 3
    assert store._engine.query("SELECT count(*) FROM organisation")[0][0] == 3
    assert sorted(r[0] for r in store._engine.query("SELECT case_id FROM cases")) == ["1", "2"]
    assert store._engine.query("SELECT count(*) FROM cases_history")[0][0] == 2


def assert_at_head(store: Store) -> None:
    assert store.schema_revision() == migrations.head()
    assert store.meta("schema_version") == SCHEMA_VERSION
    assert set(ACCESS_TABLES) <= store._engine.table_names()


def test_a_new_store_is_at_head_with_the_tables_of_duckdb(pg_url, tmp_path):
    pg, duck = Store(pg_url), Store(str(tmp_path / "store.duckdb"))
    try:
        assert pg.init() is True and duck.init() is True
        assert pg.init() is False  # nothing pending: no second run
        assert_at_head(pg)
        expected = {t: [(c, typ) for c, typ in cols] for t, cols in columns(duck).items()}
        got = columns(pg)
        assert got.pop("alembic_version") == [("version_num", "VARCHAR")]
        assert sorted(got) == sorted(expected)
        for table, cols in expected.items():
            assert got[table] == cols, f"{table}: migrations and Store.init differ"
        assert pg.meta("schema_version") == duck.meta("schema_version") == SCHEMA_VERSION
    finally:
        pg.close()
        duck.close()


def test_an_upgrade_from_0001_keeps_the_data(pg_url, tmp_path):
    migrations.upgrade(pg_url, "0001")
    store = Store(pg_url)
    try:
        assert store.schema_revision() == "0001" and store.meta("schema_version") == "1"
        assert not set(ACCESS_TABLES) & store._engine.table_names()
        import_some(store, tmp_path)
        assert store.init() is False
        assert_at_head(store)
        assert_data_kept(store)
        append(store, "test", "sag 1", who=SYSTEM)  # the new tables work on the old connection
        assert [e.action for e in entries(store)] == ["test"]
    finally:
        store.close()


def test_batches_sharing_an_id_are_renumbered_with_their_rows(pg_url, tmp_path):
    """Before 0005 a CLI import beside a registration in another process could draw the same
    batch id: the later batch gets a new id, and so do its records, registration and rejects;
    then ids come from a sequence and the key refuses a second batch with the same id."""
    migrations.upgrade(pg_url, "0004")
    store = Store(pg_url)
    try:
        import_some(store, tmp_path)
        e = store._engine
        e.execute("UPDATE batches SET loaded_at = TIMESTAMP '2026-11-30 09:00:00'")
        e.execute("INSERT INTO batches (id, kind, source, file, status, loaded_at) VALUES "
                  "(3, 'complaints', 'app', 'web', 'indlæst', TIMESTAMP '2026-11-30 09:00:05')")
        for table in ("complaints", "complaints_history"):
            e.execute(f"INSERT INTO {table} (_source, _key, _version, _batch, _hash, "
                      "complaint_id) VALUES ('app', 'K1', 1, 3, 'h', 'K1')")
        e.execute("INSERT INTO complaint_registrations (_source, complaint_id, version, batch, "
                  "action, registered_at) VALUES ('app', 'K1', 1, 3, 'oprettet', "
                  "TIMESTAMP '2026-11-30 09:00:05')")
        assert store.init() is False
        assert_at_head(store)
        assert sorted(e.query("SELECT id, kind FROM batches")) == [
            (1, "organisation"), (2, "case_types"), (3, "cases"), (4, "complaints")]
        assert e.query("SELECT DISTINCT _batch FROM cases") == [(3,)]
        assert e.query("SELECT _batch FROM complaints") == [(4,)]
        assert e.query("SELECT _batch FROM complaints_history") == [(4,)]
        assert e.query("SELECT batch FROM complaint_registrations") == [(4,)]
        assert store.next_batch_id() == 5
        with pytest.raises(psycopg.errors.UniqueViolation):
            e.execute("INSERT INTO batches (id, kind) VALUES (4, 'cases')")
    finally:
        store.close()


def test_a_store_made_before_migrations_is_stamped_and_upgraded(pg_url, tmp_path):
    old_style(pg_url)
    store = Store(pg_url)
    try:
        assert store.is_initialised() and store.schema_revision() is None
        import_some(store, tmp_path)
        result = migrations.upgrade(pg_url)
        assert (result.before, result.after, result.stamped) == ("0001", migrations.head(), True)
        assert_at_head(store)
        assert_data_kept(store)
    finally:
        store.close()


def test_a_store_made_before_migrations_with_access_tables_is_upgraded(pg_url, tmp_path):
    # the old init made the access tables too, from the commit that added them until the
    # migrations came (schema version 3's tables, the audit log without its trigger)
    old_style(pg_url, "0003")
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP FUNCTION auditlog_append_only() CASCADE")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store = Store(pg_url)
    try:
        import_some(store, tmp_path)
        store._engine.execute("INSERT INTO auditlog (id, action) VALUES ('1', 'før')")
        assert store.init() is False
        assert_at_head(store)
        assert_data_kept(store)
        assert [e.action for e in entries(store)] == ["før"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            store._engine.execute("DELETE FROM access_log")
    finally:
        store.close()


@pytest.mark.parametrize("sql", ["UPDATE access_log SET actor = 'en anden'",
                                 "DELETE FROM access_log", "TRUNCATE access_log"])
def test_the_audit_log_is_append_only(pg_url, sql):
    store = Store(pg_url)
    try:
        store.init()
        append(store, "vis", "sag 1", who=SYSTEM)
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="Adgangsloggen kan kun tilføjes, ikke ændres."):
            store._engine.execute(sql)
        assert [(e.actor, e.action) for e in entries(store)] == [("system", "vis")]
        append(store, "vis", "sag 2", who=SYSTEM)  # adding still works
        assert len(entries(store)) == 2
    finally:
        store.close()


def test_drop_all_and_init_start_over(pg_url):
    store = Store(pg_url)
    try:
        store.init()
        append(store, "vis", who=SYSTEM)
        store.drop_all()  # the demo's --fresh: the append-only log goes with its table
        assert not store._engine.table_names() & {"meta", "access_log", "alembic_version"}
        assert store.init() is True
        assert_at_head(store)
        assert entries(store) == []
    finally:
        store.close()


def test_workers_starting_at_once_migrate_once(pg_url):
    errors: list[BaseException] = []

    def start():
        s = Store(pg_url)
        try:
            s.init()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    store = Store(pg_url)
    try:
        assert_at_head(store)
        assert store._engine.query(
            "SELECT count(*) FROM meta WHERE key = 'schema_version'")[0][0] == 1
    finally:
        store.close()


def test_init_inside_a_transaction_is_refused_before_it_could_wait(pg_url):
    migrations.upgrade(pg_url, "0001")
    store = Store(pg_url)
    try:
        with pytest.raises(StoreError, match="midt i en transaktion"):
            with store._engine.transaction():
                store._engine.query("SELECT count(*) FROM meta")
                store.init()
        assert store.schema_revision() == "0001"
    finally:
        store.close()


def test_a_migration_waiting_for_a_lock_stops_with_a_sentence(pg_url, monkeypatch):
    migrations.upgrade(pg_url, "0001")
    monkeypatch.setattr(migrations, "LOCK_TIMEOUT", "200ms")
    with psycopg.connect(pg_url) as other:  # another session holds meta (0002 updates it)
        other.execute("LOCK TABLE meta IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StoreError, match="en anden forbindelse holder en tabel låst"):
            migrations.upgrade(pg_url)
        other.rollback()
    assert migrations.upgrade(pg_url).after == migrations.head()


def test_cli_upgrade_shows_the_version_before_and_after(pg_url, tmp_path, capsys):
    old_style(pg_url)
    assert main(["--db", pg_url, "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "fra skemaversion 1 til 9 (migration ingen → 0009)" in out
    assert main(["--db", pg_url, "upgrade"]) == 0
    assert "har allerede nyeste skemaversion 9 (migration 0009)" in capsys.readouterr().out
