"""The lake (issue 19): ``lake export`` writes the tables of the figures as Hive-partitioned
Parquet with a manifest; ``--db spark:PATH`` answers figures from it and refuses writes;
``--db STORE --lake spark:PATH`` answers figures from the lake beside the store."""

from __future__ import annotations

import json

import duckdb
import pytest

from sagsindsigt.cli import main
from sagsindsigt.store import lake

from ..conftest import spark_or_skip
from ..kpis.conftest import load_town

pytestmark = pytest.mark.xdist_group("demo")  # the Spark tests share one worker's session


@pytest.fixture
def town_db(tmp_path, monkeypatch):
    from sagsindsigt.store import Store

    monkeypatch.chdir(tmp_path)
    url = str(tmp_path / "town.duckdb")
    s = Store(url)
    s.init()
    load_town(s, tmp_path)
    s.close()
    return url


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_export_writes_every_table_partitioned_with_a_manifest(town_db, tmp_path, capsys):
    code, out, err = run(capsys, "--db", town_db, "lake", "export", "sø")
    assert code == 0, err
    assert out.startswith("Datasøen i sø er skrevet: 13 tabeller,")
    assert "cases: 8 rækker" in err
    doc = json.loads((tmp_path / "sø" / "_lake.json").read_text(encoding="utf-8"))
    assert doc["format"] == "sagsindsigt-lake" and doc["tables"]["cases"]["rows"] == 8
    assert doc["tables"]["cases"]["partitioned_by"] == ["administration", "year"]
    # Hive partitions: administration and the year of receipt, in the path only
    assert (tmp_path / "sø/cases/administration=BIF/year=2013").is_dir()
    assert (tmp_path / "sø/events/year=2014").is_dir()
    files = list((tmp_path / "sø/cases").rglob("*.parquet"))
    cols = duckdb.sql(f"SELECT * FROM read_parquet('{files[0]}', hive_partitioning = false)"
                    ).columns
    assert "year" not in cols and "administration" not in cols and "due" in cols
    # read back with another engine, every table has the store's rows and columns
    got = duckdb.sql(f"SELECT administration, count(*) FROM read_parquet("
                     f"'{tmp_path}/sø/cases/**/*.parquet', hive_partitioning = true) "
                     "GROUP BY ALL ORDER BY 1").fetchall()
    assert got == [("BIF", 2), ("SOF", 6)]
    empty = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/sø/volumes/*.parquet')")
    assert empty.columns == lake.arrow_schema("volumes").names


def test_a_second_export_replaces_the_first(town_db, tmp_path, capsys):
    assert run(capsys, "--db", town_db, "lake", "export", "sø")[0] == 0
    (tmp_path / "sø/cases/stale.parquet").write_bytes(b"x")
    assert run(capsys, "--db", town_db, "lake", "export", "sø")[0] == 0
    assert not (tmp_path / "sø/cases/stale.parquet").exists()
    assert not [p for p in (tmp_path / "sø").iterdir() if p.name.startswith(".")]


def test_cli_figures_from_a_lake_alone_and_beside_a_store(town_db, tmp_path, capsys,
                                                         monkeypatch):
    spark_or_skip()
    from sagsindsigt.store.spark import root_session

    # Spark started in another directory (as by an earlier command of a long-lived process):
    # the relative lake path below is still this directory's
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    root_session()
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "--db", town_db, "lake", "export", "sø")[0] == 0
    args = ["kpi", "deadline_compliance", "--period", "2014", "--by", "administration",
            "--format", "json"]
    code, want, err = run(capsys, "--db", town_db, *args)
    assert code == 0, err
    code, got, err = run(capsys, "--db", "spark:sø", *args)
    assert code == 0, err
    assert json.loads(got) == json.loads(want)
    beside = str(tmp_path / "beside.duckdb")
    assert run(capsys, "--db", beside, "init")[0] == 0
    code, got, err = run(capsys, "--db", beside, "--lake", "spark:sø", *args)
    assert code == 0, err
    assert json.loads(got) == json.loads(want)
    code, got, err = run(capsys, "--db", "spark:sø", "overview", "--period", "2014")
    assert code == 0 and "Socialforvaltningen" in got, err
    # a report from the lake alone holds the cells the store's report holds
    from openpyxl import load_workbook

    def cells(db, name):
        code, out, err = run(capsys, "--db", db, "report", "oekonomiudvalg", "--period", "2014",
                             "--format", "xlsx", "-o", name)
        assert code == 0, err
        book = load_workbook(tmp_path / name)
        return [[c.value for c in row] for ws in book for row in ws.iter_rows()]

    assert cells("spark:sø", "lake.xlsx") == cells(town_db, "store.xlsx")


def test_a_lake_refuses_writes_in_one_danish_sentence(town_db, tmp_path, capsys):
    spark_or_skip()
    assert run(capsys, "--db", town_db, "lake", "export", "sø")[0] == 0
    (tmp_path / "c.csv").write_text("case_id;administration;case_type;received\n"
                                    "z;SOF;A;06-01-2014\n", encoding="utf-8")
    code, out, err = run(capsys, "--db", "spark:sø", "import", "cases", "c.csv")
    assert code == 1
    assert err.strip().startswith("Fejl: En datasø kan kun læses")
    assert "Traceback" not in err
    code, out, err = run(capsys, "--db", "spark:ingen", "kpi", "cases_received")
    assert code == 1 and "Datasøen ingen findes ikke" in err
    code, out, err = run(capsys, "--db", town_db, "--lake", "sø", "kpi", "cases_received")
    assert code == 1 and "spark:MAPPE" in err

