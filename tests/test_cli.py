"""The command-line contract of shared/spec/cli.md: commands, JSON output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from sagsindsigt.cli import main

CASES = ("case_id;administration;case_type;received;decided;outcome\n"
         "1;SOF;A;03-02-2014;28-02-2014;afslag\n2;SOF;A;05-02-2014;;\n"
         "3;SOF;A;31-02-2014;;\n")


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases.csv").write_text(CASES, encoding="utf-8")
    (tmp_path / "types.csv").write_text("code;name;administration\nA;A;SOF\n", encoding="utf-8")
    url = str(tmp_path / "cli.duckdb")
    assert main(["--db", url, "init"]) == 0
    assert main(["--db", url, "init"]) == 0  # idempotent
    assert main(["--db", url, "import", "case_types", "types.csv"]) == 0
    return url


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_exit_codes_and_rejects(db, capsys):
    code, out, err = run(capsys, "--db", db, "import", "cases", "cases.csv", "--covers", "2014")
    assert code == 3
    assert "2 nye eller ændrede" in out and "1 afvist" in out
    assert "cases.csv, række 4, felt received" in err and "Traceback" not in err
    code, out, _ = run(capsys, "--db", db, "import", "cases", "cases.csv")
    assert code == 0 and "allerede indlæst" in out
    code, out, _ = run(capsys, "--db", db, "rejects", "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0] == "batch,file,row,field,value,reason,record" and len(lines) == 2
    code, out, _ = run(capsys, "--db", db, "batches", "--format", "json")
    b = json.loads(out)[-1]  # after the case types of the fixture
    assert b["kind"] == "cases"
    assert (b["rows_read"], b["rows_loaded"], b["rows_rejected"]) == (3, 2, 1)
    assert len(b["sha256"]) == 64 and str(b["covers_start"]) == "2014-01-01"


def test_strict_exit_code(db, capsys):
    code, _, err = run(capsys, "--db", db, "import", "cases", "cases.csv", "--strict")
    assert code == 3 and "intet indlæst" in err and "1 række blev" in err, err
    code, out, _ = run(capsys, "--db", db, "kpi", "cases_received", "--period", "2014",
                       "--format", "json")
    assert json.loads(out)["rows"][0]["n"] is None


def test_kpi_json_matches_contract(db, capsys):
    run(capsys, "--db", db, "import", "cases", "cases.csv", "--covers", "2014")
    code, out, _ = run(capsys, "--db", db, "kpi", "refusal_rate", "--period", "2014", "--by",
                       "administration", "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "kpi": "refusal_rate", "period": "2014", "by": ["administration"],
        "rows": [{"administration": "SOF", "value": 100.0, "numerator": 1, "denominator": 1,
                  "estimate": False, "note": None}]}
    code, out, _ = run(capsys, "--db", db, "kpi", "cases_received", "--period", "2014",
                       "--format", "json")
    assert json.loads(out)["rows"][0] == {"value": 2, "n": 2, "estimate": False, "note": None}
    code, out, _ = run(capsys, "--db", db, "kpi", "cases_received", "--period", "2014",
                       "--format", "csv")
    assert out.splitlines()[:2] == ["value,n,estimate,note", "2,2,false,"]
    code, out, _ = run(capsys, "--db", db, "kpi", "refusal_rate", "--period", "2014")
    assert code == 0 and "100,0 %" in out


@pytest.mark.parametrize("args,fragment", [
    (["kpi", "no_such_kpi"], "Ukendt nøgletal"),
    (["kpi", "open_cases", "--period", "2014-Q5"], "Ukendt periode"),
    (["kpi", "open_cases", "--by", "colour"], "Ukendt dimension"),
    (["kpi", "open_cases", "--where", "colour"], "DIMENSION=VÆRDI"),
    (["import", "potatoes", "cases.csv"], "Ukendt datatype"),
])
def test_usage_errors_exit_2(db, capsys, args, fragment):
    code, _, err = run(capsys, "--db", db, *args)
    assert code == 2 and fragment in err and "Traceback" not in err


def test_other_errors_exit_1_in_one_sentence(db, capsys, tmp_path):
    code, _, err = run(capsys, "--db", db, "import", "cases", "missing.csv")
    assert code == 1 and err.strip() == "Fejl: Filen missing.csv findes ikke."
    code, _, err = run(capsys, "--db", str(tmp_path / "new.duckdb"), "kpi", "open_cases")
    assert code == 1 and "kør først 'sagsindsigt init'" in err


def test_kpi_list_covers_the_registry(db, capsys):
    from sagsindsigt.kpis import all_kpis

    code, out, _ = run(capsys, "kpi", "--list", "--format", "json")
    assert code == 0
    assert [k["id"] for k in json.loads(out)] == [k.id for k in all_kpis()]


def test_installed_script_and_env_db(db, tmp_path):
    env = {"SAGSINDSIGT_DB": db, "PATH": "/usr/bin:/bin",
           "SAGSINDSIGT_SECRET_FILE": str(tmp_path / "test.secret")}
    p = subprocess.run([sys.executable, "-m", "sagsindsigt.cli", "kpi", "open_cases",
                        "--format", "json"], capture_output=True, text=True, env=env,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["kpi"] == "open_cases"


def test_demo_checks_its_options_before_dropping_anything(db, capsys):
    from sagsindsigt.store import Store

    run(capsys, "--db", db, "import", "cases", "cases.csv", "--covers", "2014")
    s = Store(db)
    s.set_meta("demo", "1 år fra 2012, seed 1")  # pretend this is a demo store
    s.close()
    code, _, err = run(capsys, "--db", db, "demo", "--fresh", "--years", "0")
    assert code == 2 and "1 til 10 år" in err
    s = Store(db)
    assert s._engine.query("SELECT count(*) FROM batches WHERE kind = 'cases'")[0][0] == 1
    s.close()


def test_upgrade_on_duckdb_runs_init(db, capsys, tmp_path):
    from sagsindsigt.store import Store

    s = Store(db)  # a version-1 store: no access tables yet
    for name in ("users", "api_tokens", "access_log"):
        s._engine.execute(f'DROP TABLE "{name}"')
    s.set_meta("schema_version", "1")
    s.close()
    code, out, _ = run(capsys, "--db", db, "upgrade")
    assert code == 0 and "bringes ajour af 'sagsindsigt init'" in out
    assert "skemaversion 1 → 9" in out
    s = Store(db)
    assert {"users", "api_tokens", "access_log"} <= s._engine.table_names()
    s.close()
    code, out, err = run(capsys, "--db", str(tmp_path / "ny.duckdb"), "upgrade")
    assert code == 1 and "kør først 'sagsindsigt init'" in err


@pytest.mark.parametrize("args,expected", [
    (["kpi", "cases_received", "--bogus"], "Ukendt tilvalg --bogus."),
    (["findesikke"], "Ukendt kommando 'findesikke'"),
    (["import", "cases"], "Mangler argumentet 'FILE'"),
    (["kpi", "cases_received", "--period"], "Tilvalget --period mangler en værdi."),
    (["demo", "--years", "x"], "Ugyldig værdi for '--years': 'x' er ikke et heltal."),
])
def test_usage_errors_are_danish(db, capsys, args, expected):
    code, _, err = run(capsys, "--db", db, *args)
    assert code == 2 and expected in err, err
    assert "Traceback" not in err


PROCESS_CASES = ("case_id;administration;unit;case_type;received;decided\n"
                 "1;SOF;SCK;A;03-02-2014;28-02-2014\n2;SOF;HCK;A;05-02-2014;\n"
                 "3;SOF;SCK;A;10-02-2015;20-02-2015\n")
PROCESS_EVENTS = ("case_id,activity,at\n1,modtaget,2014-02-03 09:00:00\n"
                  "1,afgørelse,2014-02-28 12:00:00\n2,modtaget,2014-02-05 10:00:00\n"
                  "3,modtaget,2015-02-10 08:00:00\n3,afgørelse,2015-02-11 08:00:00\n")


@pytest.fixture
def process_db(db, tmp_path):
    (tmp_path / "pc.csv").write_text(PROCESS_CASES, encoding="utf-8")
    (tmp_path / "pe.csv").write_text(PROCESS_EVENTS, encoding="utf-8")
    assert main(["--db", db, "import", "cases", "pc.csv", "--source", "s"]) == 0
    assert main(["--db", db, "import", "events", "pe.csv", "--source", "s"]) == 0
    return db


def test_process_dfg_and_variants_json(process_db, capsys):
    code, out, _ = run(capsys, "--db", process_db, "process", "dfg", "--format", "json")
    assert code == 0
    rows = json.loads(out)["rows"]
    # ▶ → modtaget: 9, 10 and 8 hours after receipt; modtaget → afgørelse: 603 and 24 hours;
    # afgørelse → ■: the decision's day after the last event's day (0 and 9 days)
    assert rows == [
        {"from": "▶", "to": "modtaget", "count": 3, "median_hours": 9.0, "p90_hours": 9.8},
        {"from": "afgørelse", "to": "■", "count": 2, "median_hours": 108.0,
         "p90_hours": 194.4},
        {"from": "modtaget", "to": "afgørelse", "count": 2, "median_hours": 313.5,
         "p90_hours": 545.1},
        {"from": "modtaget", "to": "■", "count": 1, "median_hours": None, "p90_hours": None}]
    code, out, _ = run(capsys, "--db", process_db, "process", "variants", "--period", "2014",
                       "--format", "json")
    assert json.loads(out) == {"rows": [  # as many cases each: by the sequence
        {"variant": ["modtaget"], "cases": 1, "share": 50.0, "median_days": 0.0},
        {"variant": ["modtaget", "afgørelse"], "cases": 1, "share": 50.0, "median_days": 25.12}]}
    code, out, _ = run(capsys, "--db", process_db, "process", "variants", "--where",
                       "unit=HCK", "--format", "csv")
    assert out.splitlines() == ["variant,cases,share,median_days", "modtaget,1,100.0,0.0"]
    code, out, _ = run(capsys, "--db", process_db, "process", "dfg")
    assert code == 0 and "modtaget" in out and "603" not in out


def test_process_bottlenecks_and_stalled(process_db, capsys):
    # case 1 (type A without a published deadline) has no due date: no late cases
    code, out, _ = run(capsys, "--db", process_db, "process", "bottlenecks", "--format", "json")
    assert code == 0 and json.loads(out) == {"rows": []}
    # case 2 is open; its last event is on 5 February 2014 and the data end on 28 February
    # 2015 (the cases' received dates span whole calendar months, up to February 2015)
    code, out, _ = run(capsys, "--db", process_db, "process", "stalled", "--days", "30",
                       "--format", "json")
    rows = json.loads(out)["rows"]
    assert [(r["case_id"], r["last_activity"], r["idle_days"]) for r in rows] == [
        ("2", "modtaget", 388)]
    code, out, _ = run(capsys, "--db", process_db, "process", "stalled", "--period",
                       "2014-02", "--format", "json")
    assert json.loads(out)["rows"] == []  # on 28 February 2014 it was idle 23 days


@pytest.mark.parametrize("args,fragment", [
    (["process", "dfg", "--where", "farve=rød"], "Ukendt dimension 'farve'"),
    (["process", "variants", "--period", "2014-13"], "2014-13"),
    (["process", "stalled", "--days", "0"], "--days"),
    (["process", "flow"], "Ukendt kommando"),
])
def test_process_usage_errors(process_db, capsys, args, fragment):
    code, _, err = run(capsys, "--db", process_db, *args)
    assert code == 2 and fragment in err and "Traceback" not in err, err


ONE_SHOT = """
import json, sys
from sagsindsigt.cli import main
code = main(["--db", sys.argv[1], "kpi", "cases_received", "--period", "2014", "--by",
             "administration", "--format", "json"])
heavy = sorted(m for m in ("ibis", "polars", "pyarrow", "scipy", "pandas") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def one_shot(db: str) -> tuple[dict, dict]:
    """A new process asking one figure: its JSON and which heavy libraries it imported."""
    p = subprocess.run([sys.executable, "-c", ONE_SHOT, db], capture_output=True, text=True,
                       check=True)
    return json.loads(p.stdout), json.loads(p.stderr.strip().splitlines()[-1])


def test_import_prepares_and_a_one_shot_figure_needs_no_heavy_library(db, capsys):
    """Issue 16, point 1: the import computes and keeps the figures; a new process answers
    one from the store with the driver alone, the same figure as computed."""
    code, out, _ = run(capsys, "--db", db, "import", "cases", "cases.csv", "--covers", "2014")
    assert code == 3 and "Tallene er beregnet og gemt" in out
    kept, proc = one_shot(db)
    assert proc == {"code": 0, "heavy": []}
    sof = [r for r in kept["rows"] if r["administration"] == "SOF"]
    assert sof[0]["value"] == 2
    code, out, _ = run(capsys, "--db", db, "import", "cases", "cases.csv", "--no-prepare")
    assert "allerede indlæst" in out


NAMES = """
import json, sys
from sagsindsigt.kpis.keep import latest_year
from sagsindsigt.present.labels import Labels
from sagsindsigt.store import Store
store = Store(sys.argv[1])
out = {"year": latest_year(store), "types": Labels.of(store).case_types}
out["heavy"] = sorted(m for m in ("ibis", "polars", "pyarrow", "pandas") if m in sys.modules)
print(json.dumps(out))
"""


def names(db: str) -> dict:
    """A new process asking the default period and the names of codes (what a one-shot report
    reads besides its figures)."""
    p = subprocess.run([sys.executable, "-c", NAMES, db], capture_output=True, text=True,
                       check=True)
    return json.loads(p.stdout)


def test_the_default_period_and_the_names_are_kept_until_their_data_change(db, capsys,
                                                                            tmp_path):
    """Issue 16, point 4: after an import a one-shot report reads the latest year and the
    names of codes from the store, without the query layer; a change to what they were read
    from makes the next process read them again."""
    code, out, _ = run(capsys, "--db", db, "import", "cases", "cases.csv", "--covers", "2014")
    assert "Tallene er beregnet og gemt" in out
    assert names(db) == {"year": "2014", "types": {"A": "A"}, "heavy": []}
    (tmp_path / "types2.csv").write_text("code;name;administration\nA;Aktivering;SOF\n",
                                         encoding="utf-8")
    assert main(["--db", db, "import", "case_types", "types2.csv", "--no-prepare"]) == 0
    (tmp_path / "later.csv").write_text(CASES.replace("2014", "2015"), encoding="utf-8")
    assert main(["--db", db, "import", "cases", "later.csv", "--source", "b",
                 "--no-prepare"]) == 3  # its 31 February rejected, as in cases.csv
    fresh = names(db)
    assert fresh["year"] == "2015" and fresh["types"] == {"A": "Aktivering"}
    assert "ibis" in fresh["heavy"]  # read again, and kept for the next one
    assert names(db) == {**fresh, "heavy": []}


REPORT = """
import json, sys
from sagsindsigt.cli import main
code = main(["--db", sys.argv[1], "report", "oekonomiudvalg", "-o", sys.argv[2]])
heavy = sorted(m for m in ("ibis", "polars", "pyarrow", "pandas", "vl_convert")
               if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils mangler")
def test_a_one_shot_report_after_an_import_starts_neither_query_layer_nor_chart_engine(
        db, capsys, tmp_path):
    """Issue 16, point 4: the import prepares the default report's figures and draws its
    charts into the store; a new process then lays out the PDF only, and it reads as the
    report drawn afresh."""
    code, out, _ = run(capsys, "--db", db, "import", "cases", "cases.csv", "--covers", "2014")
    assert "Tallene er beregnet og gemt" in out
    kept = tmp_path / "kept.pdf"
    p = subprocess.run([sys.executable, "-c", REPORT, db, str(kept)], capture_output=True,
                       text=True, check=True)
    assert json.loads(p.stderr.strip().splitlines()[-1]) == {"code": 0, "heavy": []}
    from sagsindsigt.access import SYSTEM, acting_as
    from sagsindsigt.reports import build_report, render
    from sagsindsigt.store import Store

    drawn = tmp_path / "drawn.pdf"
    store = Store(db)
    with acting_as(SYSTEM):
        drawn.write_bytes(render(build_report(store, "oekonomiudvalg", "2014"), "pdf"))
    store.close()

    def text(path):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                              capture_output=True, text=True).stdout

    assert "Klager i forhold til sagsmængde" in text(kept) and text(kept) == text(drawn)


def test_no_prepare_leaves_the_figure_to_its_first_query(db, capsys, tmp_path):
    (tmp_path / "more.csv").write_text(CASES.replace("3;SOF", "4;SOF").replace("1;SOF", "5;SOF"),
                                       encoding="utf-8")
    code, out, _ = run(capsys, "--db", db, "import", "cases", "more.csv", "--no-prepare")
    assert "Tallene" not in out
    first, proc = one_shot(db)  # computed (Ibis needed), and kept
    assert proc["code"] == 0 and "ibis" in proc["heavy"]
    again, proc = one_shot(db)
    assert proc["heavy"] == [] and again == first
    code, out, _ = run(capsys, "--db", db, "prepare")
    assert code == 0 and "Tallene er beregnet og gemt" in out
