"""Acceptance (a): the table of seed 000 rebuilt from raw records.

SOF delivers only the first half-year, KFF has complaints but no case volume, ØKF nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from sagsindsigt.contract.codes import ADMINISTRATIONS
from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import Query, compute
from sagsindsigt.present.seed import overview as overview_table

from ..conftest import load_case_types

TODAY = date(2020, 1, 1)


def _dates(n: int, start: date, days: int) -> list[date]:
    return [start + timedelta(days=i % days) for i in range(n)]


def _cases(admin: str, n: int, start: date, days: int) -> pl.DataFrame:
    return pl.DataFrame({
        "case_id": [f"{admin}-{i}" for i in range(n)], "administration": admin,
        "case_type": "X", "received": _dates(n, start, days),
    })


def _complaints(admin: str, n: int, start: date, days: int) -> pl.DataFrame:
    kinds = ["formalitet", "realitet", "begge"]
    return pl.DataFrame({
        "complaint_id": [f"K-{admin}-{i}" for i in range(n)], "administration": admin,
        "received": _dates(n, start, days), "kind": [kinds[i % 3] for i in range(n)],
    })


@pytest.fixture
def seed_store(store, tmp_path):
    d = tmp_path
    pl.DataFrame({"code": list(ADMINISTRATIONS), "name": list(ADMINISTRATIONS.values()),
                  "level": "forvaltning"}).write_csv(d / "org.csv")
    import_file(store, "organisation", d / "org.csv", today=TODAY)
    load_case_types(store, d, "BIF:X", "SUF:X", "SOF:X")
    year = date(2014, 1, 1)
    # BIF and SUF: whole year, case level. SOF: first half-year only.
    pl.concat([_cases("BIF", 154_440, year, 365), _cases("SUF", 16_249, year, 365)]).write_csv(
        d / "cases.csv", date_format="%d-%m-%Y", separator=";")
    r = import_file(store, "cases", d / "cases.csv", source="fagsystem", covers="2014",
                    today=TODAY)
    assert r.rows_rejected == 0, r.rejects[:3]
    _cases("SOF", 24_387, year, 181).write_parquet(d / "sof.parquet")
    import_file(store, "cases", d / "sof.parquet", source="sofus", covers="2014-H1", today=TODAY)
    # TMF: only an aggregate case volume
    pl.DataFrame({"administration": ["TMF"], "period_start": ["01.01.2014"],
                  "period_end": ["31.12.2014"], "cases_received": ["96.473"]}).write_csv(
        d / "tmf.csv")
    import_file(store, "volumes", d / "tmf.csv", today=TODAY)
    comp = pl.concat([_complaints("BIF", 4000, year, 365), _complaints("TMF", 595, year, 365),
                      _complaints("SUF", 250, year, 365), _complaints("KFF", 220, year, 365)])
    comp.write_csv(d / "complaints.csv")
    import_file(store, "complaints", d / "complaints.csv", covers="2014", today=TODAY)
    _complaints("SOF", 1298, year, 181).write_csv(d / "sof_k.csv")
    import_file(store, "complaints", d / "sof_k.csv", source="sofus", covers="2014-H1",
                today=TODAY)
    return store


def _by_admin(store, kpi, annualise=False):
    res = compute(store, Query.make(kpi, "2014", ["administration"], [], annualise))
    return {r["administration"]: r for r in res.as_json()["rows"]}


def test_seed_000_complaint_rates(seed_store):
    rows = _by_admin(seed_store, "complaint_rate")
    assert rows["BIF"]["value"] == pytest.approx(2.59, abs=0.005)
    assert (rows["BIF"]["numerator"], rows["BIF"]["denominator"]) == (4000, 154440)
    assert rows["SOF"]["value"] == pytest.approx(5.32, abs=0.005)
    assert rows["TMF"]["value"] == pytest.approx(0.62, abs=0.005)
    assert rows["TMF"]["denominator"] == 96473
    assert rows["SUF"]["value"] == pytest.approx(1.54, abs=0.005)
    assert rows["KFF"]["value"] is None and rows["KFF"]["numerator"] == 220
    assert rows["KFF"]["denominator"] is None
    assert rows["KFF"]["note"] == "ingen sagsmængde for perioden"
    assert rows["OEKF"]["value"] is None and rows["OEKF"]["numerator"] is None
    assert not any(r["estimate"] for r in rows.values())


def test_seed_000_annualised_sof(seed_store):
    rows = _by_admin(seed_store, "complaint_rate", annualise=True)
    sof = rows["SOF"]
    assert (sof["numerator"], sof["denominator"]) == (2596, 48774)
    assert sof["value"] == pytest.approx(5.32, abs=0.005)
    assert sof["estimate"] is True
    assert sof["note"] == "beregnet som 2 × tal for 1. halvår 2014"
    assert rows["BIF"]["estimate"] is False and rows["BIF"]["note"] is None
    counts = _by_admin(seed_store, "complaints_received", annualise=True)
    assert counts["SOF"]["n"] == 2596 and counts["SOF"]["estimate"] is True
    plain = _by_admin(seed_store, "complaints_received")
    assert plain["SOF"]["n"] == 1298
    assert plain["OEKF"]["n"] is None and plain["OEKF"]["note"] == "ingen data for perioden"


def test_seed_000_overview_table_text(seed_store):
    table = overview_table(seed_store, "2014")
    by_name = {r[0].rstrip("*"): r for r in table["rows"]}
    pick = {a: by_name[ADMINISTRATIONS[a]] for a in ("BIF", "SOF", "TMF", "SUF", "KFF", "OEKF")}
    assert pick["BIF"][3:] == ["4.000", "154.440", "2,6 %"]
    assert pick["SOF"][3:] == ["2.596", "48.774", "5,3 %"]
    assert pick["TMF"][3:] == ["595", "96.473", "0,6 %"]
    assert pick["SUF"][3:] == ["250", "16.249", "1,5 %"]
    assert pick["KFF"][3:] == ["220", "-", "-"]
    assert pick["OEKF"][3:] == ["-", "-", "-"]
    assert any("2 × tal for 1. halvår 2014" in f for f in table["footnotes"])
    assert any("ikke korrigeret for sæsonudsving" in f for f in table["footnotes"])
    assert by_name[ADMINISTRATIONS["SOF"]][0].endswith("*") or any(
        r[0] == ADMINISTRATIONS["SOF"] + "*" for r in table["rows"])
