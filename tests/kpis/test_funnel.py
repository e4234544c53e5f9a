"""The funnel view of a rate KPI: limits against an independent computation with scipy's
binomial, flags on a real store (DuckDB and PostgreSQL), and the CLI's `--view funnel`."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from scipy.stats import binom

from sagsindsigt.cli import main
from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import KpiUsageError, Query
from sagsindsigt.kpis.funnel import funnel

from ..conftest import load_case_types

TODAY = date(2016, 1, 1)


def independent_limit(q: float, n: int, p: float) -> float:
    """Spiegelhalter (2005): r = smallest r with P(X <= r) >= q, found by walking the pmf
    (not by binom.ppf), then interpolate between r - 1 and r."""
    cdf, r = 0.0, 0
    while True:
        cdf += binom.pmf(r, n, p)
        if cdf >= q - 1e-15:
            break
        r += 1
    below = cdf - binom.pmf(r, n, p)
    alpha = (cdf - q) / (cdf - below)
    return min(1.0, max(0.0, (r - alpha) / n))


# unit -> (cases decided with a known deadline, of which on time)
UNITS = {"A": (400, 380), "B": (400, 250), "C": (60, 50), "D": (15, 12), "E": (900, 760)}


@pytest.fixture
def decided(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:T")
    lines = ["case_id;administration;unit;case_type;received;decided;deadline"]
    i = 0
    for unit, (n, ok) in UNITS.items():
        for j in range(n):
            i += 1
            received = date(2014, 1, 1) + timedelta(days=j % 300)
            late = j >= ok
            decided_on = received + timedelta(days=40 if late else 5)
            lines.append(f"c{i};SOF;{unit};T;{received:%d-%m-%Y};{decided_on:%d-%m-%Y};"
                         "30 dage")
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = import_file(store, "cases", path, today=TODAY, covers="2014")
    assert r.rows_rejected == 0, r.rejects[:3]
    return store


def test_limits_match_an_independent_binomial_computation(decided):
    # cases decided in 2014 only (received up to late October + at most 40 days)
    f = funnel(decided, Query.make("deadline_compliance", "2014", ["unit"]))
    rows = {r["unit"]: r for r in f.as_json()["rows"]}
    n_all = sum(n for n, _ in UNITS.values())
    ok_all = sum(ok for _, ok in UNITS.values())
    p0 = ok_all / n_all
    assert f.centre == pytest.approx(100 * p0, abs=1e-4)
    for unit, (n, ok) in UNITS.items():
        r = rows[unit]
        assert (r["numerator"], r["denominator"]) == (ok, n)
        for key, q in (("lower95", 0.025), ("upper95", 0.975), ("lower998", 0.001),
                       ("upper998", 0.999)):
            assert r[key] == pytest.approx(100 * independent_limit(q, n, p0), abs=1e-3), \
                (unit, key)
        rate = ok / n
        expected = ("markant_over" if rate > independent_limit(0.999, n, p0) else
                    "markant_under" if rate < independent_limit(0.001, n, p0) else None)
        assert r["flag"] == expected, unit
    # the fixture is built so that both flags and the unflagged case occur
    assert rows["A"]["flag"] == "markant_over" and rows["B"]["flag"] == "markant_under"
    assert rows["D"]["flag"] is None and "tilfældigheder" in rows["D"]["flag_text"]


@pytest.mark.parametrize("n,p", [(10, 0.3), (57, 0.05), (250, 0.77), (1000, 0.026),
                                 (3, 0.5)])
def test_curve_points_are_exact_binomial_limits(n, p):
    from sagsindsigt.kpis.funnel import _curve

    point = next(c for c in _curve(p, [n], 40) if c["n"] == n)
    assert point["lower95"] == pytest.approx(100 * independent_limit(0.025, n, p), abs=1e-3)
    assert point["upper998"] == pytest.approx(100 * independent_limit(0.999, n, p), abs=1e-3)
    assert point["lower95"] <= 100 * p <= point["upper95"]
    assert point["lower998"] <= point["lower95"] and point["upper95"] <= point["upper998"]


def test_only_rates_have_a_funnel(decided):
    with pytest.raises(KpiUsageError, match="kræver en andel"):
        funnel(decided, Query.make("cases_received", "2014", ["unit"]))
    with pytest.raises(KpiUsageError, match="opregnes"):
        funnel(decided, Query.make("deadline_compliance", "2014", ["unit"], annualise=True))


def test_cli_funnel_view(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "f.duckdb")
    lines = ["case_id;administration;unit;case_type;received;decided;deadline"]
    for i in range(60):
        unit = "X" if i < 30 else "Y"
        late = (unit == "X" and i % 10 == 0) or (unit == "Y" and i % 2 == 0)
        lines.append(f"c{i};SOF;{unit};T;01-03-2014;{'20' if late else '05'}-03-2014;10 dage")
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text("code;name;administration\nT;T;SOF\n", encoding="utf-8")
    assert main(["--db", db, "init"]) == 0
    assert main(["--db", db, "import", "case_types", "t.csv"]) == 0
    assert main(["--db", db, "import", "cases", "c.csv", "--covers", "2014"]) == 0
    capsys.readouterr()
    code = main(["--db", db, "kpi", "deadline_compliance", "--period", "2014", "--view",
                 "funnel", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["view"] == "funnel" and out["by"] == ["unit"]
    assert out["centre"] == pytest.approx(100 * 42 / 60, abs=1e-4)
    row = {r["unit"]: r for r in out["rows"]}["X"]
    assert {"lower95", "upper95", "lower998", "upper998", "flag"} <= set(row)
    assert row["value"] == 90.0 and row["lower95"] < row["upper95"]
    code = main(["--db", db, "kpi", "cases_received", "--view", "funnel"])
    err = capsys.readouterr().err
    assert code == 2 and "kræver en andel" in err and "Traceback" not in err
