"""The citizens' processing times (citizen.py, present/open_data.py) on every engine: the
figures of each case type over the 12 months up to the data's end, checked against numpy on
the raw cases; the protection (fewer than 20 decided cases, units only when opted in, case
types held back); the open data files and ``sagsindsigt publish``."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from sagsindsigt import citizen
from sagsindsigt.access import acting_as
from sagsindsigt.cli import cli
from sagsindsigt.ingest import import_file
from sagsindsigt.present import open_data
from sagsindsigt.present.tables import getter

END = date(2014, 12, 31)  # the cases' coverage ends here: the window is 2014
TYPES = """code;name;administration;legal_basis;deadline
A;Hjælp til noget;SOF;Serviceloven § 100;4 uger
B;Lille ydelse;SOF;Serviceloven § 41;8 uger
C;=HYPERLINK("http://x");SOF;@SUM(1);14 dage
D;Holdt tilbage;SOF;Lov om D;2 uger
"""
PUB = open_data.Publication("https://data.example/aabne", "https://kk.example/borger")


def case_rows() -> list[dict]:
    """A: 20 cases decided in 2014 (two units: U1 12, U2 8) and 5 decided in 2013 (outside
    the window); B: 19 decided in 2014; C: 25; D: 30 (held back in one test)."""
    rows, n = [], 0

    def add(t: str, unit: str, received: date, days: int) -> None:
        nonlocal n
        n += 1
        rows.append({"case_id": f"S{n}", "administration": "SOF", "unit": unit,
                     "case_type": t, "received": received.isoformat(),
                     "decided": (received + timedelta(days=days)).isoformat()})

    for i in range(20):
        add("A", "U1" if i < 12 else "U2", date(2014, 1, 6) + timedelta(days=9 * i),
            5 + (i * 7) % 41)
    for i in range(5):
        add("A", "U1", date(2013, 3, 1) + timedelta(days=i), 10)
    for i in range(19):
        add("B", "U1", date(2014, 2, 1) + timedelta(days=10 * i), 20 + i)
    for i in range(25):
        add("C", "U2", date(2014, 1, 2) + timedelta(days=7 * i), 3 + i % 15)
    for i in range(30):
        add("D", "U1", date(2014, 1, 2) + timedelta(days=7 * i), 4)
    return rows


def write_csv(path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";")
        w.writeheader()
        w.writerows(rows)


@pytest.fixture
def town(store, tmp_path):
    path = tmp_path / "sagstyper.csv"
    path.write_text(TYPES, encoding="utf-8")
    assert import_file(store, "case_types", path, source="sagstyper").rows_rejected == 0
    path = tmp_path / "sager.csv"
    write_csv(path, case_rows())
    r = import_file(store, "cases", path, source="sager", covers="2013-01-01..2014-12-31")
    assert r.rows_rejected == 0, r.rejects
    return store


def public(store, **kw) -> citizen.CitizenFigures:
    with acting_as(citizen.PUBLIC):
        return citizen.figures(store, getter(store), **kw)


def expected(t: str, deadline_days: int, unit: str | None = None) -> dict:
    """The figures computed again with numpy from the rows written, not from the store."""
    start = END.replace(year=END.year - 1) + timedelta(days=1)
    days, kept = [], []
    for r in case_rows():
        decided = date.fromisoformat(r["decided"])
        if r["case_type"] != t or not start <= decided <= END or unit not in (None, r["unit"]):
            continue
        received = date.fromisoformat(r["received"])
        days.append((decided - received).days)
        kept.append(decided <= received + timedelta(days=deadline_days))  # no weekend rule
    a = np.array(days, dtype=float)
    return {"n": len(days), "p80": round(float(np.quantile(a, 0.8)), 1),
            "median": round(float(np.median(a)), 1), "kept": 100 * sum(kept) / len(kept)}


def test_the_window_is_the_12_months_up_to_the_datas_end(town):
    data = public(town)
    assert data.windows == {"SOF": (date(2014, 1, 1), END)}
    assert citizen.window(date(2015, 6, 30)) == (date(2014, 7, 1), date(2015, 6, 30))
    assert citizen.window(date(2016, 2, 29)) == (date(2015, 3, 1), date(2016, 2, 29))


def test_figures_equal_numpy_on_the_raw_cases(town):
    rows = {r.case_type: r for r in public(town).rows}
    a = rows["A"]
    want = expected("A", 28)
    assert a.shown and a.decided == want["n"] == 20  # the five cases of 2013 are outside
    assert a.p80_days == pytest.approx(want["p80"])
    assert a.median_days == pytest.approx(want["median"])
    assert a.p80_weeks == math.ceil(want["p80"] / 7)
    assert a.p80_text == citizen.within(want["p80"])
    # due dates move off weekends and holidays: the store's compliance is at least numpy's
    assert a.compliance is not None and a.compliance >= want["kept"] - 1e-9
    assert (a.name, a.legal_basis, a.deadline) == ("Hjælp til noget", "Serviceloven § 100",
                                                   "4 uger")


def test_fewer_than_20_decided_cases_show_no_figure_and_no_count(town):
    rows = {r.case_type: r for r in public(town).rows}
    b = rows["B"]
    assert expected("B", 56)["n"] == 19
    assert not b.shown and b.decided is None and b.p80_days is None and b.compliance is None
    assert citizen.summary(b) == "Der er for få sager til at vise et tal."
    rec = next(r for r in open_data.records(public(town)) if r["case_type"] == "B")
    assert rec["decided_cases"] is None and rec["p80_days"] is None
    assert rec["note"] == citizen.TOO_FEW


def test_units_only_where_the_administration_opts_in_and_each_with_20(town):
    assert all(r.units == () for r in public(town).rows)
    rows = {r.case_type: r for r in public(town, unit_figures={"SOF"}).rows}
    # A: U1 has 12 decided cases in 2014 and U2 8: neither reaches 20
    assert rows["A"].units == ()
    # C: all 25 in U2, which is shown, with the figures of the unit
    (u,) = rows["C"].units
    assert (u.unit, u.decided) == ("U2", 25)
    assert u.p80_days == pytest.approx(expected("C", 14, "U2")["p80"])
    assert rows["B"].units == ()  # a hidden case type shows no units either


def test_case_types_held_back_are_left_out(town):
    assert {r.case_type for r in public(town).rows} == {"A", "B", "C", "D"}
    assert {r.case_type for r in public(town, withheld={"D"}).rows} == {"A", "B", "C"}
    assert {r.case_type for r in public(town, withheld={"SOF:D", "BIF:A"}).rows} == \
        {"A", "B", "C"}


def test_text_for_citizens():
    assert citizen.within(6.2) == "7 dage"
    assert citizen.within(0.4) == "1 dag"
    assert citizen.within(14) == "14 dage"
    assert citizen.within(14.5) == "3 uger"
    assert citizen.within(35) == "5 uger"
    f = citizen.Figure("SOF", "A", "A", None, "4 uger", date(2014, 1, 1), END, 40, 30.0,
                       20.0, 82.5, 40)
    assert f.compliance_text == "83 %"  # half up
    # from the counts, not from the KPI's rounded value: 1.699 of 2.011 is 84,49 %
    g = citizen.Figure("SOF", "A", "A", None, "4 uger", date(2014, 1, 1), END, 2011, 30.0,
                       20.0, 84.5, 2011, 1699)
    assert g.compliance_text == "84 %"
    assert citizen.summary(f) == ("8 ud af 10 får svar inden for 5 uger, halvdelen inden "
                                  "for 3 uger. Fristen blev overholdt i 83 % af sagerne. "
                                  "Bygger på 40 afgjorte sager.")


def test_realism_flags_deadlines_either_way():
    assert citizen.deadline_days("4 uger") == 28
    assert citizen.deadline_days("3 måneder") == 91
    assert citizen.deadline_days("20 arbejdsdage") == 28
    assert citizen.deadline_days("ukendt") is None
    assert citizen.realism("4 uger", 36) == "for_kort"  # 36 > 1,25 × 28 = 35
    assert citizen.realism("4 uger", 35) == "passer"
    assert citizen.realism("4 uger", 14) == "passer"  # 14 = 0,5 × 28
    assert citizen.realism("4 uger", 13.9) == "for_lang"
    assert citizen.realism(None, 10) is None and citizen.realism("4 uger", None) is None


def test_csv_neutralises_formulas_and_json_has_the_same_rows(town):
    data = public(town)
    text = open_data.csv_file(data).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    c = next(r for r in rows if r["Sagstypekode"] == "C")
    assert c["Sagstype"].startswith("'=") and c["Lovgrundlag"] == "'@SUM(1)"
    body = json.loads(open_data.json_bytes(data, PUB))
    assert [r["case_type"] for r in body["rows"]] == [r["Sagstypekode"] for r in rows]
    a_json = next(r for r in body["rows"] if r["case_type"] == "A")
    a_csv = next(r for r in rows if r["Sagstypekode"] == "A")
    assert a_csv["Afgjorte sager"] == str(a_json["decided_cases"]) == "20"
    assert float(a_csv["8 ud af 10 afgjort inden for (dage)"].replace(",", ".")) == \
        a_json["p80_days"]
    assert body["min_cases"] == 20 and body["period_end"] == "2014-12-31"


def test_dcat_metadata_describes_the_dataset(town):
    doc = open_data.dcat(public(town), PUB)
    assert doc["@type"] == "dcat:Catalog"
    (ds,) = doc["dcat:dataset"]
    assert ds["@type"] == "dcat:Dataset"
    assert ds["dct:license"] == {"@id": open_data.DEFAULT_LICENCE}
    assert ds["dct:accrualPeriodicity"]["@id"].endswith("/frequency/MONTHLY")
    assert ds["dct:temporal"]["dcat:startDate"]["@value"] == "2014-01-01"
    assert ds["dct:temporal"]["dcat:endDate"]["@value"] == "2014-12-31"
    assert ds["dcat:landingPage"] == {"@id": "https://kk.example/borger"}
    urls = {d["dcat:downloadURL"]["@id"] for d in ds["dcat:distribution"]}
    assert urls == {"https://data.example/aabne/sagsbehandlingstider.json",
                    "https://data.example/aabne/sagsbehandlingstider.csv"}
    assert all(d["dct:license"] == ds["dct:license"] for d in ds["dcat:distribution"])


def test_publish_writes_the_three_files(town, tmp_path, monkeypatch):
    if town.backend != "duckdb":
        pytest.skip("the command is the same on PostgreSQL; its figures are tested above")
    town.close()  # the command opens the store itself
    out = tmp_path / "aabne"
    monkeypatch.setenv("SAGSINDSIGT_CITIZEN_WITHHELD", '["D"]')
    r = CliRunner().invoke(cli, ["--db", town.url, "publish", str(out), "--base-url",
                                 "https://data.example/aabne"])
    assert r.exit_code == 0, r.output
    assert "3 filer skrevet" in r.output and "2 af 3 sagstyper med tal" in r.output
    assert sorted(p.name for p in out.iterdir()) == sorted(open_data.FILES.values())
    body = json.loads((out / "sagsbehandlingstider.json").read_text(encoding="utf-8"))
    assert {r["case_type"] for r in body["rows"]} == {"A", "B", "C"}
    meta = json.loads((out / "sagsbehandlingstider.jsonld").read_text(encoding="utf-8"))
    assert meta["dcat:dataset"][0]["dcat:distribution"][0]["dcat:downloadURL"]["@id"] \
        .startswith("https://data.example/aabne/")
    bad = CliRunner().invoke(cli, ["--db", town.url, "publish", str(out), "--base-url",
                                   "ftp://x"])
    assert bad.exit_code == 2 and "http(s)-adresse" in bad.output
