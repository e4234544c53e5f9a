"""Audit KPIs on hand-computed reviews (tests/kpis/conftest.py)."""

from __future__ import annotations

import pytest

from .conftest import kpi


def test_correct_rate_with_wilson_and_light(town):
    r = kpi(town, "audit_correct_rate")  # r1, r4, r5 correct of five intern reviews
    assert (r["numerator"], r["denominator"], r["value"], r["light"]) == (3, 5, 60.0, "red")
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((23.07, 88.24), abs=0.01)
    by_round = kpi(town, "audit_correct_rate", by=["round"])
    assert by_round["2014-Q1"]["value"] == 50.0 and by_round["2014-Q2"]["light"] == "green"
    q1 = kpi(town, "audit_correct_rate", period="2014-Q1")
    assert q1["denominator"] == 4
    assert kpi(town, "audit_correct_rate", period="2014-Q3")["value"] is None


def test_error_statistics(town):
    checks = kpi(town, "audit_check_error_rate", by=["check"])
    assert {c: r["value"] for c, r in checks.items()} == {"c1": 20.0, "c2": 0.0, "c3": 25.0}
    cats = kpi(town, "audit_check_error_rate", by=["category"])
    assert cats["formalia"]["denominator"] == 4 and cats["noeglekontrol"]["value"] == 20.0


def test_agreement_and_kappa(town):
    r = kpi(town, "audit_agreement")
    # six (case, check) pairs, five agree; kappa = (5/6 - 15/36) / (1 - 15/36) = 0.714
    assert r["value"] == 83.33 and r["n"] == 6 and r["kappa"] == 0.714


def test_external_reviews_only_when_asked(town):
    r = kpi(town, "audit_correct_rate", where=["reviewer_role=ekstern"])
    assert r["denominator"] == 2 and r["numerator"] == 0
