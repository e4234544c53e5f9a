"""One suite on three engines (issue 19): every KPI of the registry, the views on top of them
(funnel, control charts, process) and the overview give the same figures on DuckDB,
PostgreSQL and Spark for the same data, figure by figure.

The data are loaded once through the importer into DuckDB (and PostgreSQL); Spark reads the
lake ``sagsindsigt lake export`` writes of the DuckDB store (``--db spark:PATH``), a DuckDB
store with that lake beside it (``--lake``) reads its figures there, and an embedded DuckDB
reads the same lake (``--db lake:PATH``). Like ibis's backend
tests, one parametrised suite, with an explicit mark where an engine cannot. One Spark session
for the test process (the "demo" worker group: one worker, one JVM), small data.
"""

from __future__ import annotations

import math
import os

import pytest

from sagsindsigt.access import SYSTEM, Principal, acting_as, resolve
from sagsindsigt.kpis import Query, all_kpis, compute
from sagsindsigt.kpis.funnel import funnel
from sagsindsigt.kpis.process import ProcessQuery, dfg, variants
from sagsindsigt.privacy import create_secret
from sagsindsigt.store import Store, StoreError
from sagsindsigt.store.lake import export

from ..conftest import make_store, pg_available, spark_or_skip
from .conftest import TODAY, load_town

pytestmark = pytest.mark.xdist_group("demo")  # one worker: one Spark session, one demo store

ENGINES = ["duckdb", "postgres", "spark", "duckdb+lake", "parquet"]
KPIS = [k.id for k in all_kpis()]


@pytest.fixture(scope="module")
def town_stores(tmp_path_factory):
    """The town of tests/kpis/conftest.py on every engine: engine → store (None where the
    engine is missing, with the reason)."""
    path = tmp_path_factory.mktemp("engines")
    create_secret(path / "t.secret")
    old = os.environ.get("SAGSINDSIGT_SECRET_FILE")
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(path / "t.secret")
    stores, closers = {}, []
    try:
        duck, close = make_store("duckdb", path)
        closers.append(close)
        (path / "d").mkdir()
        load_town(duck, path / "d")
        stores["duckdb"] = duck
        if pg_available():
            pg, close = make_store("postgres", path)
            closers.append(close)
            (path / "p").mkdir()
            load_town(pg, path / "p")
            stores["postgres"] = pg
        export(duck, path / "lake")
        stores["lake"] = path / "lake"
        stores["secret"] = path / "t.secret"
        yield stores
    finally:
        for close in closers:
            close()
        if old is None:
            os.environ.pop("SAGSINDSIGT_SECRET_FILE", None)
        else:
            os.environ["SAGSINDSIGT_SECRET_FILE"] = old


@pytest.fixture(scope="module")
def spark_town(town_stores):
    spark_or_skip()
    s = Store(f"spark:{town_stores['lake']}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def lake_town(town_stores, tmp_path_factory):
    """A DuckDB store (users, sessions, ...) with the town's lake beside it."""
    spark_or_skip()
    path = tmp_path_factory.mktemp("beside")
    s = Store(str(path / "beside.duckdb"), lake=f"spark:{town_stores['lake']}")
    s.init()
    yield s
    s.close()


@pytest.fixture(scope="module")
def parquet_town(town_stores):
    """The lake read by an embedded DuckDB (lake:PATH): no Java needed."""
    s = Store(f"lake:{town_stores['lake']}")
    yield s
    s.close()


def engine_store(request, engine: str):
    stores = request.getfixturevalue("town_stores")
    if engine == "spark":
        return request.getfixturevalue("spark_town")
    if engine == "duckdb+lake":
        return request.getfixturevalue("lake_town")
    if engine == "parquet":
        return request.getfixturevalue("parquet_town")
    if engine not in stores:
        pytest.skip("PostgreSQL svarer ikke: PostgreSQL-varianten springes over.")
    return stores[engine]


def queries(kpi_id: str) -> list[Query]:
    """The figures compared for one KPI: two periods, whole and broken down."""
    kpi = next(k for k in all_kpis() if k.id == kpi_id)
    second = next((d for d in ("unit", "rule", "check", "kind") if d in kpi.dims), None)
    bys = [[], ["administration"]] + ([[second]] if second else [])
    out = [Query.make(kpi_id, period, by) for period in ("2014", "2014-Q1") for by in bys]
    if "points" in kpi.dims:  # a list column, exploded or filtered by one of its values
        out += [Query.make(kpi_id, "2014", ["points"]),
                Query.make(kpi_id, "2014", [], ["points=sagsbehandlingstid"])]
    return out


def figures(store, q: Query) -> list[dict]:
    with acting_as(SYSTEM):
        return compute(store, q).as_json()["rows"]


def same(a, b) -> bool:
    """Equal figure by figure (floats to 1e-9 relative: engines sum in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9,
                                                                 abs_tol=1e-9)
    return a == b


@pytest.mark.parametrize("engine", ENGINES[1:])
@pytest.mark.parametrize("kpi_id", KPIS)
def test_every_kpi_is_the_same_on_every_engine(request, town_stores, kpi_id, engine):
    store = engine_store(request, engine)
    for q in queries(kpi_id):
        want, got = figures(town_stores["duckdb"], q), figures(store, q)
        assert same(got, want), (q, got, want)


def test_the_figures_are_not_all_empty(town_stores):
    """The comparison means something: the town has figures for most KPIs."""
    filled = [k for k in KPIS if any(r["value"] not in (None, 0)
                                     for r in figures(town_stores["duckdb"],
                                                      Query.make(k, "2014")))]
    assert len(filled) >= len(KPIS) * 2 // 3, filled


@pytest.mark.parametrize("engine", ["spark", "duckdb+lake"])
def test_views_are_the_same_on_spark(request, town_stores, engine):
    """The funnel and the process analysis compute on the lake through the same registry."""
    store = engine_store(request, engine)
    duck = town_stores["duckdb"]

    def view(s):
        f = funnel(s, Query.make("deadline_compliance", "2014", ["unit"]))
        pq = ProcessQuery.make()
        return {"rows": f.result.as_json()["rows"], "centre": f.centre, "curve": f.curve,
                "phi": f.phi, "dfg": dfg(s, pq), "variants": variants(s, pq)}

    with acting_as(SYSTEM):
        got, want = view(store), view(duck)
    assert want["dfg"] and want["rows"]
    assert same(got, want), (got, want)


def test_a_scoped_reader_sees_only_its_scope_on_the_lake(lake_town, town_stores):
    """--lake: the same access scopes in the same read path."""
    duck = town_stores["duckdb"]
    q = Query.make("cases_received", "2014", ["administration"])
    with acting_as(SYSTEM):
        scope = resolve(duck, "BIF")
    reader = Principal("laeser-bif", "laeser", scope, "lokal")
    with acting_as(reader):
        got = compute(lake_town, q).as_json()["rows"]
        want = compute(duck, q).as_json()["rows"]
    assert same(got, want)
    assert {r["administration"] for r in got} == {"BIF"}


def test_a_lake_is_read_only(spark_town, tmp_path):
    from sagsindsigt.ingest import import_file

    path = tmp_path / "cases.csv"
    path.write_text("case_id;administration;case_type;received\nz1;SOF;A;06-01-2014\n",
                    encoding="utf-8")
    with pytest.raises(StoreError, match="kan kun læses"):
        import_file(spark_town, "cases", path, today=TODAY)


def test_the_web_app_needs_a_store_beside_a_lake(town_stores):
    spark_or_skip()
    from sagsindsigt.web import create_app

    with pytest.raises(StoreError, match="--lake spark:MAPPE"):
        create_app(f"spark:{town_stores['lake']}")


def test_a_missing_lake_is_one_danish_sentence(tmp_path):
    with pytest.raises(StoreError, match="findes ikke"):
        Store(f"spark:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    s = Store(f"spark:{tmp_path / 'empty'}")
    with pytest.raises(StoreError, match="ikke en datasø"):
        s.require()


# -- the demo municipality ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark_demo(demo_store, tmp_path_factory):
    """The demo store's lake, read by Spark."""
    spark_or_skip()
    path = tmp_path_factory.mktemp("demolake")
    export(demo_store, path)
    s = Store(f"spark:{path}")
    yield s
    s.close()


@pytest.mark.parametrize("kpi_id", KPIS)
def test_every_kpi_is_the_same_on_spark_for_the_demo(demo_store, spark_demo, kpi_id):
    kpi = next(k for k in all_kpis() if k.id == kpi_id)
    second = next((d for d in ("unit", "rule", "check", "kind") if d in kpi.dims), None)
    for by in [["administration"]] + ([[second]] if second else []):
        q = Query.make(kpi_id, "2013", by)
        want, got = figures(demo_store, q), figures(spark_demo, q)
        assert same(got, want), (q, got, want)


def test_overview_and_control_chart_months_are_the_same_on_spark(demo_store, spark_demo):
    from sagsindsigt.kpis.spc import month_rows, window
    from sagsindsigt.present.seed import overview

    with acting_as(SYSTEM):
        assert overview(spark_demo, "2013") == overview(demo_store, "2013")
        months = window("2013")
        got = month_rows(spark_demo, "deadline_compliance", months)
        want = month_rows(demo_store, "deadline_compliance", months)
    assert want and same({m: r.__dict__ for m, r in got.items()},
                         {m: r.__dict__ for m, r in want.items()})


# -- the web app on a lake ---------------------------------------------------------------------
PAGES = ["/", "/side/sager?period=2014", "/side/klager?period=2014", "/proces",
         "/side/sammenligning?period=2014"]


def _page_text(client, path: str) -> str:
    """A page's visible text (the parts that are the same whoever renders it)."""
    import re

    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    main = r.text.split("<main", 1)[-1].split("</main>", 1)[0]
    text = re.sub(r"<[^>]+>", " ", main)
    text = re.sub(r"csrf[^ ]*|\s+", " ", text)
    return text.strip()


def test_the_web_app_shows_the_same_pages_on_a_lake_beside_its_store(lake_town, town_stores,
                                                                     monkeypatch):
    """--db STORE --lake spark:PATH: the pages compute on Spark and say what DuckDB says."""
    from fastapi.testclient import TestClient

    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(town_stores["secret"]))
    from sagsindsigt.web import create_app

    lake_app = create_app(lake_town, warm=False, auth=False, secure_cookies=False)
    duck_app = create_app(town_stores["duckdb"], warm=False, auth=False, secure_cookies=False)
    with TestClient(lake_app) as on_lake, TestClient(duck_app) as on_duck:
        for path in PAGES:
            got, want = _page_text(on_lake, path), _page_text(on_duck, path)
            if got != want:
                import difflib

                diff = [d for d in difflib.ndiff(want.split(" "), got.split(" "))
                        if d[0] in "+-"]
                pytest.fail(f"{path} differs on the lake: {' '.join(diff[:40])}")
    assert "Socialforvaltningen" in want
