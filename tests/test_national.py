"""National synthetic data (issue 19): N municipalities of Copenhagen's shape scaled by
population, written as a lake by the fast path and loaded into a store through the importer
or directly, the same rows every way."""

from __future__ import annotations

import duckdb
import pyarrow.dataset as ds
import pytest
from click.testing import CliRunner

from sagsindsigt import national
from sagsindsigt.access import SYSTEM, acting_as
from sagsindsigt.cli import cli
from sagsindsigt.privacy import create_secret
from sagsindsigt.store import Store, lake

SCALE = 0.01  # Copenhagen ≈ 2.300 cases a year, Aarhus ≈ 1.300


def test_the_98_municipalities():
    every = national.all_municipalities()
    assert len(every) == 98 and len({m.code for m in every}) == 98
    assert every[0].code == "0101" and every[0].name == "København"
    assert every[1].name == "Aarhus"  # then by population
    pops = [m.population for m in every[1:]]
    assert pops == sorted(pops, reverse=True)
    assert 5_900_000 < sum(m.population for m in every) < 6_000_000
    assert all(len(m.code) == 4 and m.code.isdigit() for m in every)
    with pytest.raises(ValueError):
        national.municipalities(99)


@pytest.fixture(scope="module")
def fast_lake(tmp_path_factory):
    """A lake of two municipalities, its citizens pseudonymised with a key file of its own."""
    root = tmp_path_factory.mktemp("lake")
    key = root.parent / "lake.secret"
    create_secret(key)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAGSINDSIGT_SECRET_FILE", str(key))
        doc = national.build_lake(root, 2, years=1, scale=SCALE, echo=lambda _: None)
    return root, doc, key


def _read(root, table: str) -> duckdb.DuckDBPyRelation:
    con = duckdb.connect()
    return con, con.sql(f"SELECT * FROM read_parquet('{root}/{table}/**/*.parquet', "
                        "hive_partitioning=true)")


def test_the_fast_path_writes_every_table_with_the_stores_columns(fast_lake):
    root, doc, _ = fast_lake
    assert lake.read_manifest(root)["municipalities"] == 2
    for table in lake.tables():
        want = lake.arrow_schema(table)
        got = ds.dataset(root / table, format="parquet", partitioning="hive").schema
        parts = lake.partition_columns(table)  # columns of the path (Hive), after the files'
        assert got.names == [c for c in want.names if c not in parts] + parts, table
        for f in want:
            assert got.field(f.name).type == f.type, (table, f.name)
        con, rel = _read(root, table)
        n = con.sql(f"SELECT count(*) FROM read_parquet('{root}/{table}/**/*.parquet', "
                    "hive_partitioning=true)").fetchone()[0]
        assert n == doc["tables"][table]["rows"], table
        assert rel.columns == got.names
    for table in ("cases", "events", "complaints", "reviews", "volumes"):
        assert doc["tables"][table]["rows"] > 0, table


def test_municipalities_have_their_own_source_ids_and_units(fast_lake):
    root, _, _ = fast_lake
    con, _ = _read(root, "cases")
    q = f"read_parquet('{root}/cases/**/*.parquet', hive_partitioning=true)"
    sources = {r[0] for r in con.sql(f"SELECT DISTINCT _source FROM {q}").fetchall()}
    assert sources == {"kommune-0101", "kommune-0751"}
    dup = con.sql(f"SELECT count(*) - count(DISTINCT case_id) FROM {q}").fetchone()[0]
    assert dup == 0  # case ids are unique across municipalities, not only within a source
    bad = con.sql(f"SELECT count(*) FROM {q} WHERE NOT starts_with(case_id, "
                  "substr(_source, 9) || '-') OR NOT starts_with(unit, substr(_source, 9) || '-')"
                  ).fetchone()[0]
    assert bad == 0
    for table in ("events", "complaints", "reviews", "timeliness_items"):
        t = f"read_parquet('{root}/{table}/**/*.parquet', hive_partitioning=true)"
        key = "case_id, rule" if table == "timeliness_items" else "_source, _key"
        assert con.sql(f"SELECT count(*) - count(DISTINCT ({key})) FROM {t}").fetchone()[0] \
            == 0, table
    org = f"read_parquet('{root}/organisation/*.parquet')"
    names = dict(con.sql(f"SELECT code, name FROM {org}").fetchall())
    assert names["0751-YCK"] == "Aarhus: Ydelsescenter Aarhus"
    assert names["0101-JCA"] == "København: Jobcenter Amager"
    assert names["BIF"] == "Beskæftigelses- og Integrationsforvaltningen"


def test_sizes_follow_population_and_about_five_events_a_case(fast_lake):
    root, _, _ = fast_lake
    con = duckdb.connect()
    q = "read_parquet('{}/{}/**/*.parquet', hive_partitioning=true)"
    n = dict(con.sql(f"SELECT _source, count(*) FROM {q.format(root, 'cases')} GROUP BY 1")
             .fetchall())
    cph, aar = (m.population for m in national.municipalities(2))
    ratio = n["kommune-0751"] / n["kommune-0101"]
    assert ratio == pytest.approx(aar / cph, rel=0.05)
    # Copenhagen at this scale: one percent of the demo's yearly case-level cases
    assert n["kommune-0101"] == pytest.approx(2300, rel=0.1)
    events = con.sql(f"SELECT count(*) FROM {q.format(root, 'events')}").fetchone()[0]
    assert 4.5 < events / sum(n.values()) < 6


def test_importer_and_fast_path_write_the_same_rows(fast_lake, tmp_path, monkeypatch):
    """The fast path's rows are the importer's: the same keys, content hashes, pseudonyms,
    derived deadlines and timeliness items (with the same key file)."""
    root, _, key = fast_lake
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(key))
    store = Store(str(tmp_path / "imported.duckdb"))
    store.init()
    with acting_as(SYSTEM):
        national.build_store(store, 2, years=1, scale=SCALE, via_import=True,
                             echo=lambda _: None)
        lake.export(store, tmp_path / "exported")
    store.close()
    con = duckdb.connect()

    def rel(where, table, skip=("_batch",)):
        cols = [c for c in lake.arrow_schema(table).names if c not in skip]
        return (f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)} FROM read_parquet('{where}/{table}/**/*.parquet', "
                "hive_partitioning=true)")

    for table in lake.tables():
        if table == "batches":
            continue
        a, b = rel(root, table), rel(tmp_path / "exported", table)
        n = con.sql(f"SELECT count(*) FROM ({a})").fetchone()[0]
        assert n == con.sql(f"SELECT count(*) FROM ({b})").fetchone()[0], table
        diff = con.sql(f"SELECT count(*) FROM (({a}) EXCEPT ALL ({b}))").fetchone()[0]
        assert diff == 0, table
    keep = ("kind", "source", "covers_start", "covers_end", "rows_loaded", "status")
    skip = [c for c in lake.arrow_schema("batches").names if c not in keep]
    a, b = rel(root, "batches", skip), rel(tmp_path / "exported", "batches", skip)
    assert con.sql(f"SELECT count(*) FROM (({a}) EXCEPT ALL ({b}))").fetchone()[0] == 0
    assert con.sql(f"SELECT count(*) FROM (({b}) EXCEPT ALL ({a}))").fetchone()[0] == 0


def test_two_municipalities_loaded_directly_into_a_store_give_figures(store):
    """The store path of ``demo --municipalities 2`` (without its ``prepare``, minutes of
    page warm-up), on DuckDB and PostgreSQL: figures for every administration, and the demo
    users' scopes found."""
    from sagsindsigt.access import users
    from sagsindsigt.demo import add_demo_users
    from sagsindsigt.ingest import secret_for
    from sagsindsigt.kpis import Query, compute

    with acting_as(SYSTEM):
        secret_for(store)
        text = national.build_store(store, 2, years=1, scale=SCALE, echo=lambda _: None)
        assert text.startswith("2 kommuner er bygget")
        add_demo_users(store)
        assert users.get(store, "laeser-jca").scope == "0101-JCA"
        res = compute(store, Query.make("deadline_compliance", "2012", ["administration"],
                                        [], False))
        values = {x.dims["administration"]: x.value for x in res.rows}
        assert {a for a, v in values.items() if v is not None} == set(national.ADMINS)
        assert 50 < values["BIF"] < 100
        res = compute(store, Query.make("timeliness", "2012", [], ["administration=BIF"],
                                        False))
        assert 70 < res.rows[0].value < 95
        res = compute(store, Query.make("cases_received", "2012", ["unit"],
                                        ["administration=SOF"], False))
        assert {x.dims["unit"] for x in res.rows} == {
            "0101-SCK", "0101-HCK", "0101-RCK", "0751-SCK", "0751-HCK", "0751-RCK"}


def test_lake_options_are_refused_for_one_municipality(tmp_path):
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.duckdb"), "demo", "--lake",
                                 str(tmp_path / "lake")])
    assert r.exit_code == 2 and "--municipalities større end 1" in r.output


def test_demo_lake_from_the_command_line(tmp_path):
    r = CliRunner().invoke(cli, ["demo", "--municipalities", "2", "--years", "1", "--scale",
                                 "0.002", "--lake", str(tmp_path / "lake")])
    assert r.exit_code == 0, r.output
    assert "Datasøen i" in r.output and lake.read_manifest(tmp_path / "lake")["scale"] == 0.002
    assert not (tmp_path / "sagsindsigt.duckdb").exists()


def test_two_worker_processes_write_the_same_lake(fast_lake, tmp_path, monkeypatch):
    """Shared among processes (each writing files of its own), the lake holds the same rows;
    only the batch ids differ (each worker draws its own)."""
    root, doc, key = fast_lake
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(key))
    other = national.build_lake(tmp_path / "two", 2, years=1, scale=SCALE, workers=2,
                                echo=lambda _: None)
    assert {t: v["rows"] for t, v in other["tables"].items()} == \
        {t: v["rows"] for t, v in doc["tables"].items()}
    files = {p.name for p in (tmp_path / "two" / "events").rglob("*.parquet")}
    assert {"part-w0-0.parquet", "part-w1-0.parquet"} <= files
    con = duckdb.connect()
    for table in lake.tables():
        cols = ", ".join(f'"{c}"' for c in lake.arrow_schema(table).names
                         if c not in ("_batch", "id", "loaded_at"))

        def rel(where, table=table, cols=cols):
            return (f"SELECT {cols} FROM read_parquet('{where}/{table}/**/*.parquet', "
                    "hive_partitioning=true)")

        a, b = rel(root), rel(tmp_path / "two")
        assert con.sql(f"SELECT count(*) FROM (({a}) EXCEPT ALL ({b}))").fetchone()[0] == 0, \
            table
