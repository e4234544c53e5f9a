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
    f = funnel(decided, Query.make("deadline_compliance", "2014", ["unit"]),
               overdispersion="none")
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
    # deadline compliance is better when higher: over is good, under is bad
    assert rows["A"]["judgement"] == "better" and rows["B"]["judgement"] == "worse"
    assert "Bedre end forventet" in rows["A"]["flag_text"]


def independent_overdispersion(x, n):
    """Spiegelhalter (2005), Qual Saf Health Care 14:347-351, written out by hand: z-scores
    around p0 = Σx/Σn, winsorised at the 10th and 90th percentiles (linear interpolation
    between order statistics, computed here without numpy.percentile), φ = mean z_w², the χ²
    test of Iφ on I − 1 df, τ² = (Iφ − (I − 1)) / (Σw − Σw²/Σw)."""
    from scipy.stats import chi2

    p0 = sum(x) / sum(n)
    s = [(p0 * (1 - p0) / ni) ** 0.5 for ni in n]
    z = [(xi / ni - p0) / si for xi, ni, si in zip(x, n, s, strict=True)]
    srt = sorted(z)

    def pct(q):
        h = (len(srt) - 1) * q
        lo = int(h)
        return srt[lo] + (h - lo) * (srt[min(lo + 1, len(srt) - 1)] - srt[lo])

    lo, hi = pct(0.1), pct(0.9)
    zw = [min(max(v, lo), hi) for v in z]
    i = len(z)
    phi = sum(v * v for v in zw) / i
    w = [1 / si ** 2 for si in s]
    tau2 = max(0.0, (i * phi - (i - 1)) / (sum(w) - sum(v * v for v in w) / sum(w)))
    return p0, s, phi, chi2.sf(i * phi, i - 1), tau2


def test_overdispersed_units_get_additive_random_effects_limits(decided):
    """The fixture's units differ far more than chance allows: ``auto`` widens the limits
    additively, p0 ± z·√(s² + τ²), and fewer units are flagged than with exact limits."""
    f = funnel(decided, Query.make("deadline_compliance", "2014", ["unit"]))
    out = f.as_json()
    x = [ok for _, ok in UNITS.values()]
    n = [tot for tot, _ in UNITS.values()]
    p0, s, phi, p, tau2 = independent_overdispersion(x, n)
    assert out["phi"] == pytest.approx(phi, rel=1e-9)
    assert out["tau2"] == pytest.approx(tau2, rel=1e-9)
    assert out["overdispersion_p_value"] == pytest.approx(p, rel=1e-6)
    assert p < 0.05 and out["adjustment"] == "additive"
    rows = {r["unit"]: r for r in out["rows"]}
    for (unit, (tot, ok)), si in zip(UNITS.items(), s, strict=True):
        sd = (si ** 2 + tau2) ** 0.5
        assert rows[unit]["lower998"] == pytest.approx(100 * max(0, p0 - 3.090232 * sd),
                                                       abs=1e-3)
        assert rows[unit]["upper95"] == pytest.approx(100 * min(1, p0 + 1.959964 * sd),
                                                      abs=1e-3)
        expected = ("markant_over" if ok / tot > p0 + 3.090232 * sd else "markant_under"
                    if ok / tot < p0 - 3.090232 * sd else None)
        assert rows[unit]["flag"] == expected
    exact = funnel(decided, Query.make("deadline_compliance", "2014", ["unit"]),
                   overdispersion="none")
    assert len(f.flagged()) < len(exact.flagged())
    assert "φ = " in f.explanation() and "bredere" in f.explanation()
    multi = funnel(decided, Query.make("deadline_compliance", "2014", ["unit"]),
                   overdispersion="multiplicative").as_json()
    assert multi["adjustment"] == "multiplicative"
    a = {r["unit"]: r for r in multi["rows"]}["A"]
    assert a["lower998"] == pytest.approx(100 * (p0 - 3.090232 * (phi * s[0] ** 2) ** 0.5),
                                          abs=1e-3)
    assert a["upper998"] == 100.0  # clipped to a proportion


def test_units_that_differ_only_by_chance_keep_exact_limits():
    """Thirty units drawn from one binomial: the χ² test does not reject, so ``auto`` keeps
    the exact limits, and φ is near 1."""
    import numpy as np

    from sagsindsigt.stats import overdispersion

    rng = np.random.default_rng(20141)
    n = rng.integers(200, 3000, size=30)
    x = rng.binomial(n, 0.12)
    p0 = x.sum() / n.sum()
    od = overdispersion(x / n, p0, p0 * (1 - p0) / n)
    ref = independent_overdispersion(list(x), list(n))
    assert od.phi == pytest.approx(ref[2], rel=1e-12) and od.tau2 == pytest.approx(ref[4])
    assert od.phi < 1.6 and not od.overdispersed()  # winsorising pulls φ below 1


@pytest.fixture
def mixed(store, tmp_path):
    """Two case types with very different deadline compliance (T1 90 %, T2 50 %) and units
    with very different mixes of them, but every unit at its case types' own rates."""
    load_case_types(store, tmp_path, "SOF:T1", "SOF:T2")
    lines = ["case_id;administration;unit;case_type;received;decided;deadline"]
    mix = {"A": (1000, 0), "B": (0, 1000), "C": (500, 500), "D": (800, 200),
           "E": (200, 800), "F": (600, 400)}
    i = 0
    for unit, counts in mix.items():
        for ct, count, share in (("T1", counts[0], 0.9), ("T2", counts[1], 0.5)):
            for j in range(count):
                i += 1
                late = j >= round(count * share)
                received = date(2014, 1, 1) + timedelta(days=j % 300)
                decided_on = received + timedelta(days=40 if late else 5)
                lines.append(f"c{i};SOF;{unit};{ct};{received:%d-%m-%Y};"
                             f"{decided_on:%d-%m-%Y};30 dage")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = import_file(store, "cases", path, today=TODAY, covers="2014")
    assert r.rows_rejected == 0, r.rejects[:3]
    return store


def test_case_mix_standardisation_explains_a_difference_in_mix(mixed):
    q = Query.make("deadline_compliance", "2014", ["unit"])
    plain = funnel(mixed, q, overdispersion="none")
    assert {r["unit"] for r in plain.flagged()} >= {"A", "B"}
    std = funnel(mixed, Query.make("deadline_compliance", "2014", ["unit"]),
                 overdispersion="none", casemix=True)
    out = std.as_json()
    assert out["standardised"] == "case_type" and std.flagged() == []
    rows = {r["unit"]: r for r in out["rows"]}
    # expected = Σ_c n_ic·p_c / n_i, with p_c the reference rate of each case type
    n1 = 1000 + 0 + 500 + 800 + 200 + 600
    n2 = 0 + 1000 + 500 + 200 + 800 + 400
    p1 = round(0.9 * 1000) + 0 + round(0.9 * 500) + round(0.9 * 800) + round(0.9 * 200) \
        + round(0.9 * 600)
    p2 = 0 + round(0.5 * 1000) + round(0.5 * 500) + round(0.5 * 200) + round(0.5 * 800) \
        + round(0.5 * 400)
    rate1, rate2 = p1 / n1, p2 / n2
    assert rows["D"]["expected"] == pytest.approx(100 * (800 * rate1 + 200 * rate2) / 1000,
                                                  abs=1e-3)
    assert rows["D"]["ratio"] == pytest.approx(1.0, abs=1e-3)
    var_d = (800 * rate1 * (1 - rate1) + 200 * rate2 * (1 - rate2)) / 1000 ** 2
    assert rows["D"]["upper998"] == pytest.approx(
        100 * (rows["D"]["expected"] / 100 + 3.090232 * var_d ** 0.5), abs=1e-3)


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
    assert {"phi", "tau2", "adjustment"} <= set(out)
    assert row["value"] == 90.0 and row["lower95"] < row["upper95"]
    code = main(["--db", db, "kpi", "deadline_compliance", "--period", "2014", "--view",
                 "funnel", "--overdispersion", "multiplicative", "--format", "json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["adjustment"] == "multiplicative"
    code = main(["--db", db, "kpi", "cases_received", "--view", "funnel"])
    err = capsys.readouterr().err
    assert code == 2 and "kræver en andel" in err and "Traceback" not in err
