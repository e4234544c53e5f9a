"""Control charts over time (kpis/spc.py, stats.xmr_limits/laney_limits/spc_signals).

References:
* Laney, D.B. (2002). Improved control charts for attributes. *Quality Engineering* 14(4),
  531–537: p̄ = Σx/Σn, σ_pi = √(p̄(1 − p̄)/n_i), z_i = (p_i − p̄)/σ_pi, σ_z = mR̄(z)/1.128,
  limits p̄ ± 3σ_pi·σ_z; with equal subgroup sizes the p′ chart *is* the XmR chart of the
  proportions, and for truly binomial data σ_z ≈ 1 (the p′ chart becomes the p chart).
* Wheeler, D.J. (2000), *Understanding Variation*: XmR natural process limits
  x̄ ± 2,66·mR̄ (3/d2 with d2 = 1,128).
* NHS England / NHS Improvement (2019), *Making Data Count*: the special-cause rules (a point
  outside the limits; 7 or more on one side of the mean; 7 rising or falling; 2 of 3 near a
  limit) and the variation and assurance icons.

Every expected figure is computed in the test by hand with numpy, not by the code under test.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest

from sagsindsigt.cli import main
from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import KpiUsageError, Query, compute
from sagsindsigt.kpis import get as get_kpi
from sagsindsigt.kpis.spc import (
    MIN_POINTS,
    Target,
    assurance,
    chart_of,
    check,
    spc,
    window,
)
from sagsindsigt.present.tables import getter
from sagsindsigt.stats import laney_limits, spc_signals, xmr_limits

from ..conftest import load_case_types

TODAY = date(2016, 1, 1)


# -- XmR --------------------------------------------------------------------------------------

def test_xmr_limits_by_hand():
    x = [21.0, 19.5, 23.0, 20.0, 18.0, 22.5, 24.0, 20.5, 19.0, 21.5, 22.0, 20.0]
    mean = sum(x) / len(x)
    mr = sum(abs(b - a) for a, b in zip(x, x[1:], strict=False)) / (len(x) - 1)
    lim = xmr_limits(x)
    assert lim["centre"] == pytest.approx(mean)
    assert lim["mr_bar"] == pytest.approx(mr)
    # Wheeler's 2,66 is 3/1,128 rounded
    assert lim["upper"] == pytest.approx(mean + 3 / 1.128 * mr)
    assert lim["lower"] == pytest.approx(mean - 2.6596 * mr, abs=1e-3 * mr)
    with pytest.raises(ValueError):
        xmr_limits([1.0])


# -- Laney p′ ---------------------------------------------------------------------------------

def independent_laney(x, n):
    x, n = np.array(x, float), np.array(n, float)
    p = x / n
    pbar = x.sum() / n.sum()
    s = np.sqrt(pbar * (1 - pbar) / n)
    z = (p - pbar) / s
    sz = np.abs(np.diff(z)).mean() / 1.128
    return pbar, sz, np.clip(pbar - 3 * s * sz, 0, 1), np.clip(pbar + 3 * s * sz, 0, 1)


def test_laney_limits_by_hand_with_large_varying_denominators():
    rng = np.random.default_rng(2002)
    n = rng.integers(3_000, 35_000, size=24)
    # overdispersed: each month's own rate varies around 2,5 %
    x = rng.binomial(n, np.clip(rng.normal(0.025, 0.003, size=24), 0, 1))
    pbar, sz, lo, hi = independent_laney(x, n)
    lim = laney_limits(x, n)
    assert lim["centre"] == pytest.approx(pbar)
    assert lim["sigma_z"] == pytest.approx(sz)
    assert lim["lower"] == pytest.approx(list(lo))
    assert lim["upper"] == pytest.approx(list(hi))
    assert sz > 2  # the binomial p chart would be far too narrow here (Laney's point)


def test_laney_with_equal_subgroups_is_the_xmr_chart_of_the_proportions():
    """Laney (2002): with equal n the p′ chart reduces to the individuals (XmR) chart."""
    n = [500] * 15
    x = [40, 52, 47, 38, 61, 45, 50, 43, 49, 55, 41, 46, 58, 44, 50]
    lim = laney_limits(x, n)
    xmr = xmr_limits([a / 500 for a in x])
    assert lim["centre"] == pytest.approx(xmr["centre"])
    assert lim["upper"][0] == pytest.approx(xmr["upper"])
    assert lim["lower"][0] == pytest.approx(xmr["lower"])


def test_laney_sigma_z_is_about_one_for_binomial_data():
    """Laney (2002): without extra-binomial variation σ_z ≈ 1 and p′ = the p chart."""
    rng = np.random.default_rng(14)
    zs = [laney_limits(rng.binomial(n, 0.2), n)["sigma_z"]
          for n in (rng.integers(200, 2000, size=24) for _ in range(400))]
    assert np.mean(zs) == pytest.approx(1.0, abs=0.03)


def test_laney_degenerate_rate():
    lim = laney_limits([0, 0, 0], [10, 20, 30])
    assert lim["centre"] == 0 and lim["upper"] == [0, 0, 0]


# -- the rules --------------------------------------------------------------------------------

def flat(k: int) -> list[float]:
    """Alternating values around 10: no run, no trend, nothing beyond 2 sigma (= 1)."""
    return [10.5 if i % 2 else 9.5 for i in range(k)]


def rules_at(values, sigma=1.0, centre=10.0):
    return [None if s is None else (s["side"], s["rules"])
            for s in spc_signals(values, centre, sigma)]


def test_no_signal_in_common_cause_variation():
    assert rules_at(flat(20)) == [None] * 20


def test_one_point_outside_the_limits():
    v = flat(15)
    v[7] = 13.5
    v[11] = 6.4
    got = rules_at(v)
    assert got[7] == ("high", ["outside"]) and got[11] == ("low", ["outside"])
    assert sum(g is not None for g in got) == 2


def test_seven_in_a_row_above_the_mean_is_a_shift_six_is_not():
    v = flat(20)
    for i in range(5, 12):  # 7 points above
        v[i] = 10.6
    got = rules_at(v)
    assert [i for i, g in enumerate(got) if g] == list(range(5, 12))
    assert got[5] == ("high", ["shift"])
    v[11] = 9.5  # now 6
    assert rules_at(v) == [None] * 20
    v[11] = 10.0  # a point on the mean ends the run
    assert rules_at(v) == [None] * 20


def test_seven_below_the_mean():
    v = flat(12)
    v[:7] = [9.4] * 7
    assert [g[0] if g else None for g in rules_at(v)][:8] == ["low"] * 7 + [None]


def test_seven_rising_is_a_trend_six_is_not():
    v = flat(20)
    v[3:10] = [9.1, 9.3, 9.5, 9.7, 9.9, 10.1, 10.3]  # 7 rising, around the mean
    got = rules_at(v)
    assert [i for i, g in enumerate(got) if g] == list(range(3, 10))
    assert all(g == ("high", ["trend"]) for g in got[3:10])
    v[3] = 10.5  # 6 rising
    assert rules_at(v) == [None] * 20
    v[3:10] = [10.3, 10.1, 9.9, 9.7, 9.7, 9.3, 9.1]  # a repeated value ends a fall
    assert rules_at(v) == [None] * 20
    v[3:10] = [10.3, 10.1, 9.9, 9.7, 9.5, 9.3, 9.1]  # 7 falling
    assert all(g == ("low", ["trend"]) for g in rules_at(v)[3:10])


def test_two_of_three_beyond_two_sigma_on_the_same_side():
    v = flat(15)
    v[6], v[8] = 12.3, 12.4  # 2 of 3 (points 6, 7, 8) beyond +2 sigma
    got = rules_at(v)
    assert got[6] == ("high", ["two_of_three"]) and got[8] == ("high", ["two_of_three"])
    assert got[7] is None  # the point in between is not near the limit
    v[8] = 7.6  # one each side: no signal
    assert rules_at(v) == [None] * 15
    v[8] = 12.0  # exactly 2 sigma is not beyond
    assert rules_at(v) == [None] * 15


def test_two_of_three_uses_each_points_own_sigma():
    v = flat(10)
    sig = [1.0] * 10
    v[4], v[5] = 12.5, 12.5
    sig[5] = 2.0  # a small month: 12,5 is within its 2 sigma
    got = rules_at(v, sig)
    assert got[4] is None and got[5] is None


# -- the summary ------------------------------------------------------------------------------

def rows_of(values):
    return [{"month": f"2014-{i + 1:02d}" if i < 12 else f"2015-{i - 11:02d}",
             "value": v, "n": 10} for i, v in enumerate(values)]


def test_variation_follows_the_kpis_good_direction():
    v = flat(14)
    v[-1] = 14.0  # the latest month far above
    times = get_kpi("processing_days_median")  # lower is better
    ch = chart_of(times, "2015", [], rows_of(v))
    assert ch.chart == "xmr" and ch.rows[-1]["signal"] == "concern"
    assert ch.variation == "concern" and ch.variation_text() == "Bekymring"
    v[-1] = 6.0
    ch = chart_of(times, "2015", [], rows_of(v))
    assert ch.variation == "improvement" and ch.side == "low"
    # a count is neither good nor bad: a special cause without a judgement
    volume = get_kpi("cases_decided")
    assert volume.better is None
    ch = chart_of(volume, "2015", [], rows_of(v))
    assert ch.variation == "special_cause" and ch.variation_text() == \
        "Særlig variation (lavere)"
    ch = chart_of(times, "2015", [], rows_of(flat(14)))
    assert ch.variation == "common_cause" and "almindelige variation" in ch.sentence()


def test_too_few_months_give_no_limits():
    ch = chart_of(get_kpi("processing_days_median"), "2014", [], rows_of(flat(MIN_POINTS - 1)))
    assert ch.variation is None and ch.centre is None
    assert ch.note == "For få måneder med data til kontrolgrænser: 11 af mindst 12."
    assert all(r["upper"] is None and r["signal"] is None for r in ch.rows)


@pytest.mark.parametrize("direction,goal,expected", [
    ("max", 25.0, "consistently_met"), ("max", 20.0, "hit_and_miss"),
    ("max", 15.0, "consistently_missed"), ("min", 15.0, "consistently_met"),
    ("min", 20.0, "hit_and_miss"), ("min", 25.0, "consistently_missed"),
    ("max", 24.0, "consistently_met"), ("min", 16.0, "consistently_met")])
def test_assurance_against_the_latest_limits(direction, goal, expected):
    # limits 16-24: a target of at most 24 is met by every value inside them
    assert assurance(Target(goal, direction), 16.0, 24.0) == expected


def test_window_is_the_24_months_up_to_the_periods_end():
    w = window("2014-H1")
    assert len(w) == 24 and w[0] == "2012-07" and w[-1] == "2014-06"
    assert window("2014-03", 3) == ["2014-01", "2014-02", "2014-03"]


# -- on a store (DuckDB and PostgreSQL) --------------------------------------------------------

# month index (0 = January 2013) -> (cases decided with a known deadline, of which on time);
# 18 months, the last four far better than before
MONTHS = [(40 + 3 * (i % 5), 30 + (i % 3)) for i in range(14)] + [(50, 49), (48, 48),
                                                                    (52, 51), (45, 45)]


def month_start(i: int) -> date:
    return date(2013 + i // 12, i % 12 + 1, 1)


@pytest.fixture
def monthly(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:T")
    lines = ["case_id;administration;unit;case_type;received;decided;deadline"]
    k = 0
    for i, (n, ok) in enumerate(MONTHS):
        for j in range(n):
            k += 1
            decided = month_start(i) + timedelta(days=j % 25)
            received = decided - timedelta(days=5 if j < ok else 40)
            lines.append(f"c{k};SOF;U1;T;{received:%d-%m-%Y};{decided:%d-%m-%Y};30 dage")
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = import_file(store, "cases", path, today=TODAY, covers="2012-11-01..2014-06-30")
    assert r.rows_rejected == 0, r.rejects[:3]
    return store


def test_p_prime_chart_on_a_store_matches_an_independent_computation(monthly):
    ch = spc(getter(monthly), "deadline_compliance", "2014-H1", ["unit=U1"])
    data = ch.as_json()
    assert data["chart"] == "p_prime" and data["view"] == "spc"
    rows = data["rows"]
    # the window is July 2012 - June 2014; the data begin in January 2013
    assert [r["month"] for r in rows] == [f"{month_start(i):%Y-%m}" for i in range(18)]
    x = [ok for _, ok in MONTHS]
    n = [d for d, _ in MONTHS]
    assert [(r["numerator"], r["denominator"]) for r in rows] == list(zip(x, n, strict=True))
    # each month's value is the KPI of that month
    one = compute(monthly, Query.make("deadline_compliance", "2013-05", [], ["unit=U1"]))
    assert rows[4]["value"] == one.rows[0].value
    pbar, sz, lo, hi = independent_laney(x, n)
    assert data["centre"] == pytest.approx(100 * pbar, abs=1e-4)
    assert data["sigma_z"] == pytest.approx(sz, abs=1e-6)
    assert [r["lower"] for r in rows] == pytest.approx(list(100 * lo), abs=1e-4)
    assert [r["upper"] for r in rows] == pytest.approx(list(100 * hi), abs=1e-4)
    # the last four months: better than ever (higher is better), the latest among them
    assert rows[-1]["signal"] == "improvement" and data["variation"] == "improvement"
    assert data["better"] == "higher" and data["assurance"] is None


def test_cli_spc_view_json_and_table(monthly, capsys, tmp_path):
    db = monthly.url if hasattr(monthly, "url") else None
    if db is None:
        pytest.skip("the store has no address for the CLI")
    code = main(["--db", db, "kpi", "deadline_compliance", "--period", "2014-H1", "--view",
                 "spc", "--where", "unit=U1", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["view"] == "spc" and len(out["rows"]) == 18
    assert {"month", "value", "centre", "lower", "upper", "signal"} <= set(out["rows"][0])
    assert out["variation"] == "improvement" and out["assurance"] is None
    direct = spc(getter(monthly), "deadline_compliance", "2014-H1", ["unit=U1"]).as_json()
    assert out["rows"] == json.loads(json.dumps(direct["rows"], default=str))
    code = main(["--db", db, "kpi", "deadline_compliance", "--period", "2014-H1", "--view",
                 "spc", "--where", "unit=U1"])
    text = capsys.readouterr().out
    assert code == 0 and "Variation: Forbedring" in text and "p′-kort" in text
    code = main(["--db", db, "kpi", "deadline_compliance", "--view", "spc", "--by", "unit"])
    err = capsys.readouterr().err
    assert code == 2 and "én serie" in err and "Traceback" not in err


def test_assurance_with_a_target_of_the_scope(monthly, capsys):
    from sagsindsigt.targets import save_target

    save_target(monthly, {"id": "frist", "name": "Frister", "kpi": "deadline_compliance",
                          "administration": "SOF", "period": "2014", "direction": "min",
                          "value": "50"})
    db = monthly.url
    main(["--db", db, "kpi", "deadline_compliance", "--period", "2014-H1", "--view", "spc",
          "--where", "administration=SOF", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["target"] == 50.0 and out["target_direction"] == "min"
    lower = out["rows"][-1]["lower"]
    assert lower >= 50 and out["assurance"] == "consistently_met"


def test_spc_refuses_a_breakdown_and_annualised_figures():
    k = get_kpi("deadline_compliance")
    with pytest.raises(KpiUsageError, match="én serie"):
        check(k, ["unit"], False)
    with pytest.raises(KpiUsageError, match="opregnes"):
        check(k, [], True)


def test_api_spc_view_agrees_with_the_cli(monthly, capsys):
    """``/api/kpi/{id}?view=spc`` on DuckDB and PostgreSQL: the same JSON as the CLI."""
    from fastapi.testclient import TestClient

    from sagsindsigt.web import create_app

    app = create_app(monthly, warm=False, auth=False, secure_cookies=False)
    with TestClient(app) as c:
        r = c.get("/api/kpi/deadline_compliance", params={
            "period": "2014-H1", "view": "spc", "where": "unit=U1"})
        refused = c.get("/api/kpi/deadline_compliance", params={"view": "spc", "by": "unit"})
    assert r.status_code == 200
    body = r.json()
    main(["--db", monthly.url, "kpi", "deadline_compliance", "--period", "2014-H1", "--view",
          "spc", "--where", "unit=U1", "--format", "json"])
    cli = json.loads(capsys.readouterr().out)
    assert body["rows"] == cli["rows"] and body["variation"] == cli["variation"] == \
        "improvement"
    assert body["assurance"] is None and body["scope"]
    assert refused.status_code == 400 and "én serie" in refused.json()["error"]


def test_months_not_wholly_covered_by_every_administration_are_no_points():
    from sagsindsigt.kpis.spc import covered_months

    kpi = get_kpi("complaint_rate")  # complaints and cases
    months = window("2014-H1", 6)
    cov = {"complaints": {"SOF": [(date(2013, 1, 1), date(2014, 3, 15))],
                          "BIF": [(date(2014, 1, 1), date(2014, 1, 31)),
                                  (date(2014, 2, 1), date(2014, 6, 30))],
                          "OLD": [(date(2010, 1, 1), date(2010, 12, 31))]},
           "cases": {"SOF": [(date(2013, 1, 1), date(2014, 6, 30))]}}
    # SOF's complaints end in mid-March; BIF's two batches join; OLD ends before the window
    assert covered_months(kpi, months, [], cov.get) == {"2014-01", "2014-02"}
    assert covered_months(kpi, months, ["administration=BIF"], cov.get) == set(months)


def test_a_partly_covered_month_keeps_its_counts_without_a_value(monthly):
    from sagsindsigt.store import reads

    # coverage ends 30.6.2014: ask for the chart up to December
    ch = spc(getter(monthly), "deadline_compliance", "2014", ["unit=U1"],
             coverage=lambda t: reads.coverage(monthly, t))
    assert ch.rows[-1]["month"] == "2014-06" and ch.points == 18
    cut = {"cases": {"SOF": [(date(2012, 11, 1), date(2014, 5, 20))]}}
    ch = spc(getter(monthly), "deadline_compliance", "2014-H1", ["unit=U1"],
             coverage=cut.get)
    last = ch.rows[-1]
    assert last["month"] == "2014-06" and last["value"] is None
    assert last["numerator"] == 45 and last["note"] == "måneden er ikke helt dækket af data"
    assert ch.points == 16 and ch.latest["month"] == "2014-04"
    assert "Månederne efter apr. 2014 er ikke helt dækket af data" in ch.sentence()


@pytest.mark.parametrize("kpi", ["deadline_compliance", "processing_days_median",
                                 "refusal_rate"])
def test_one_query_by_month_gives_the_kpis_own_monthly_rows(monthly, kpi):
    """``month_rows`` (one query grouped by month) against ``compute`` for each month: the
    same values, counts and notes, and so the same chart."""
    from sagsindsigt.kpis.spc import month_rows
    from sagsindsigt.store import reads

    def cov(table):
        return reads.coverage(monthly, table)

    for where in ([], ["unit=U1"], ["administration=SOF"]):
        fast = spc(getter(monthly), kpi, "2014", where, coverage=cov,
                   series=lambda m, w=where: month_rows(monthly, kpi, m, w)).as_json()
        slow = spc(getter(monthly), kpi, "2014", where, coverage=cov).as_json()
        # refusal_rate: the fixture's cases have no outcome, every month "nævneren er 0"
        assert fast == slow and fast["points"] == (0 if kpi == "refusal_rate" else 18), \
            (kpi, where)
    assert month_rows(monthly, "complaint_rate", window("2014"), []) is None  # per month
