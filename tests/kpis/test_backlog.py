"""The backlog snapshots open_cases and overdue_open_cases: age bands, never annualised, and
what a period after the data's coverage gives (tests/kpis/conftest.py, hand-computed)."""

from __future__ import annotations

import pytest

from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import KpiUsageError, get
from sagsindsigt.kpis.measures import AGE_BAND_LABELS

from ..conftest import load_case_types
from .conftest import TODAY, kpi

BANDS = ["0–30 dage", "31–90 dage", "91–180 dage", "181–365 dage", "over 1 år"]


def bands(rows: dict) -> dict[str, int | None]:
    return {b: r["n"] for b, r in rows.items()}


def test_age_band_is_a_dimension_of_the_snapshots_only():
    assert AGE_BAND_LABELS == BANDS
    assert "age_band" in get("open_cases").dims and "age_band" in get("overdue_open_cases").dims
    assert "age_band" not in get("cases_received").dims


def test_open_cases_by_age_band_at_period_end(town):
    # 31.12.2014: c5 (received 10.2, 324 days old) and c6 (received 20.12, 11 days old)
    rows = kpi(town, "open_cases", by=["age_band"])
    assert list(rows) == BANDS  # every band, in band order
    assert bands(rows) == {"0–30 dage": 1, "31–90 dage": 0, "91–180 dage": 0,
                           "181–365 dage": 1, "over 1 år": 0}
    # only c5 is overdue (due 10.5.2014); c6 is due in January 2015
    assert bands(kpi(town, "overdue_open_cases", by=["age_band"])) == {
        "0–30 dage": 0, "31–90 dage": 0, "91–180 dage": 0, "181–365 dage": 1, "over 1 år": 0}
    # 31.3.2014: c3, c4 (31.1, 59 days) and c5 (10.2, 49 days) are open
    march = kpi(town, "open_cases", period="2014-03", by=["age_band"])
    assert bands(march)["31–90 dage"] == 3 and sum(bands(march).values()) == 3


def test_age_is_measured_in_whole_days_with_inclusive_upper_bounds(town):
    # c2 (received 6.1.2014, decided 3.3.2014) is 30 days old on 5.2 and 31 days on 6.2
    on_5_feb = kpi(town, "open_cases", period="2014-01-01..2014-02-05", by=["age_band"],
                   where=["unit=SCK"])
    on_6_feb = kpi(town, "open_cases", period="2014-01-01..2014-02-06", by=["age_band"],
                   where=["unit=SCK"])
    assert bands(on_5_feb)["0–30 dage"] == 1 and bands(on_5_feb)["31–90 dage"] == 0
    assert bands(on_6_feb)["0–30 dage"] == 0 and bands(on_6_feb)["31–90 dage"] == 1


def test_age_band_combines_with_other_dimensions_and_filters(town):
    rows = kpi(town, "open_cases", by=["administration", "age_band"])
    assert len(rows) == 2 * len(BANDS)  # BIF and SOF, each with every band
    assert rows[("SOF", "181–365 dage")]["n"] == 1 and rows[("BIF", "181–365 dage")]["n"] == 0
    # a filter on a band: written with the en dash or a plain hyphen
    for band in ("181–365 dage", "181-365 dage"):
        assert kpi(town, "open_cases", where=[f"age_band={band}"])["n"] == 1
    only = kpi(town, "open_cases", by=["age_band"], where=["age_band=0-30 dage"])
    assert bands(only) == {"0–30 dage": 1}
    with pytest.raises(KpiUsageError, match="Ukendt aldersgruppe '1 år'"):
        kpi(town, "open_cases", where=["age_band=1 år"])
    with pytest.raises(KpiUsageError, match="Ukendt dimension 'age_band'"):
        kpi(town, "cases_received", by=["age_band"])


def test_snapshots_are_never_annualised(town):
    # cases cover 2014 only, so 1.7.2013-31.12.2014 is partly covered: counts of flows are
    # scaled, the stock on 31.12.2014 is not
    period = "2013-07-01..2014-12-31"
    flow = kpi(town, "cases_received", period=period, annualise=True)
    assert flow["estimate"] is True
    for k, n in (("open_cases", 2), ("overdue_open_cases", 1)):
        r = kpi(town, k, period=period, annualise=True)
        assert (r["value"], r["estimate"], r["note"]) == (n, False, None), k
        by_band = kpi(town, k, period=period, by=["age_band"], annualise=True)
        assert sum(bands(by_band).values()) == n
        assert not any(r["estimate"] for r in by_band.values())


def test_period_after_the_coverage_is_no_data_not_a_stale_count(town):
    # SOF's c5 and c6 are still open in the store, but the data end on 31.12.2014
    for k in ("open_cases", "overdue_open_cases"):
        r = kpi(town, k, period="2015")
        assert (r["value"], r["note"]) == (None, "ingen data for perioden"), k
        by_band = kpi(town, k, period="2015-03", by=["age_band"])
        assert all(r["value"] is None for r in by_band.values())


def test_period_ending_after_the_coverage_is_the_snapshot_at_the_coverage_end(town):
    r = kpi(town, "open_cases", period="2014-07-01..2015-06-30", where=["administration=SOF"])
    assert r["n"] == 2 and r["estimate"] is False
    # a row that is not one administration names it, as annualisation footnotes do
    assert r["note"] == "SOF: opgjort pr. 31.12.2014, hvor data for perioden slutter"
    sof = kpi(town, "open_cases", period="2014-07-01..2015-06-30", by=["administration"])["SOF"]
    assert sof["note"] == "opgjort pr. 31.12.2014, hvor data for perioden slutter"
    # ages are measured on 31.12.2014, not on 30.6.2015
    by_band = kpi(town, "open_cases", period="2014-07-01..2015-06-30", by=["age_band"])
    assert bands(by_band)["0–30 dage"] == 1 and bands(by_band)["181–365 dage"] == 1


def test_administrations_with_different_coverage_ends(town, tmp_path):
    # TMF delivers only the first half of 2014: t1 (received 1.5) is open on 30.6.2014
    load_case_types(town, tmp_path, "TMF:BY")
    (tmp_path / "tmf.csv").write_text(
        "case_id;administration;unit;case_type;received;decided\n"
        "t1;TMF;BYG;BY;01-05-2014;\n"
        "t2;TMF;BYG;BY;01-02-2014;15-03-2014\n", encoding="utf-8")
    res = import_file(town, "cases", tmp_path / "tmf.csv", covers="2014-H1", today=TODAY)
    assert res.rows_rejected == 0, res.rejects
    rows = kpi(town, "open_cases", by=["administration"])
    assert (rows["TMF"]["n"], rows["SOF"]["n"], rows["BIF"]["n"]) == (1, 2, 0)
    assert rows["TMF"]["note"] == "opgjort pr. 30.6.2014, hvor data for perioden slutter"
    assert rows["SOF"]["note"] is None
    total = kpi(town, "open_cases")
    assert total["n"] == 3
    assert total["note"] == "TMF: opgjort pr. 30.6.2014, hvor data for perioden slutter"
    # t1 is 60 days old on 30.6.2014 (it would be 244 days on 31.12.2014)
    tmf = kpi(town, "open_cases", by=["age_band"], where=["administration=TMF"])
    assert bands(tmf)["31–90 dage"] == 1 and bands(tmf)["181–365 dage"] == 0
    assert kpi(town, "open_cases", period="2014-H2", where=["administration=TMF"])["n"] \
        is None
