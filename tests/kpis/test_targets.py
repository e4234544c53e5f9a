"""Targets (måltal) set in the form: the importer's validation, status, distance and trend on
the hand-computed town (DuckDB and PostgreSQL), and seed 001's caution on volume targets."""

from __future__ import annotations

import pytest

from sagsindsigt import targets
from sagsindsigt.kpis import Query, compute
from sagsindsigt.store import reads

from .conftest import TODAY


def status(store, tid):
    row = next(t for t in reads.targets(store) if t["id"] == tid)
    return row, targets.evaluate(store, row)


def test_a_form_target_is_evaluated_with_distance_and_trend(town):
    targets.save_target(town, {"id": "klager_sof", "kpi": "complaint_rate",
                               "administration": "SOF", "period": "2014-Q2",
                               "direction": "max", "value": "40,5"}, today=TODAY)
    row, st = status(town, "klager_sof")
    # SOF 2014-Q2: no case received (c6 is December) -> no data, never 0
    assert (st.status, st.target, st.actual) == ("no_data", 40.5, None)
    targets.save_target(town, {"id": "klager_sof", "kpi": "complaint_rate",
                               "administration": "SOF", "period": "2014", "direction": "max",
                               "value": "40,5"}, today=TODAY)
    row, st = status(town, "klager_sof")  # the same id: a new version
    # SOF 2014: complaints k1-k3 / cases c1-c6 = 3 / 6 = 50 %
    assert (st.status, st.actual, st.distance) == ("not_met", 50.0, 9.5)
    trend = targets.trend(row, lambda k, p, w: compute(town, Query.make(k, p, [], w)))
    assert [p for p, _ in trend] == ["2011", "2012", "2013"]
    assert all(v is None for _, v in trend)  # no SOF data before 2014
    assert targets.caution("complaint_rate") and "retssikkerhedsgaranti" in \
        targets.caution("complaints_received")
    assert targets.caution("procedural_complaint_rate") is None


def test_relative_target_and_quarter_trend(town):
    targets.save_target(town, {"id": "halv", "kpi": "procedural_complaint_rate",
                               "administration": "SOF", "period": "2014-Q1",
                               "direction": "max", "relative_period": "2014",
                               "relative_factor": "0,5"}, today=TODAY)
    row, st = status(town, "halv")
    # base 2014: formalitet k1 + begge k3 = 2 / 6 cases = 33,33 %; goal 0,5 x 33,33 = 16,665 %
    # 2014-Q1: 2 / 5 cases (c1-c5) = 40 % -> not met
    assert st.target == pytest.approx(16.665, abs=0.006) and st.actual == 40.0
    assert st.status == "not_met"
    trend = targets.trend(row, lambda k, p, w: compute(town, Query.make(k, p, [], w)), n=2)
    assert [p for p, _ in trend] == ["2013-Q3", "2013-Q4"]


@pytest.mark.parametrize("spec,field,words", [
    ({"kpi": "nope", "value": "1"}, "kpi", "findes ikke"),
    ({"kpi": "complaint_rate"}, "value", "enten en værdi"),
    ({"kpi": "complaint_rate", "value": "1", "relative_period": "2013",
      "relative_factor": "0,5"}, "value", "ikke begge"),
    ({"kpi": "complaint_rate", "relative_period": "2013"}, "relative_period", "både"),
    ({"kpi": "complaint_rate", "value": "1", "period": "sidste år"}, "period", "periode"),
    ({"kpi": "complaint_rate", "value": "1", "direction": "op"}, "direction", "op"),
    ({"kpi": "complaint_rate", "value": "mange"}, "value", "mange"),
])
def test_form_errors_in_plain_danish(town, spec, field, words):
    full = {"id": "x", "period": "2014", "direction": "max", **spec}
    with pytest.raises(targets.TargetError) as info:
        targets.save_target(town, full, today=TODAY)
    reasons = {e["field"]: e["reason"] for e in info.value.errors}
    assert field in reasons and words in reasons[field].lower(), reasons
    assert not [t for t in reads.targets(town) if t["id"] == "x"]
