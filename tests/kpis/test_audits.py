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
    # six (case, check) pairs; r2's c3 is "ikke relevant" for both, so five pairs where both
    # judged the check (ok/fejl), four agree. Hand-computed 2×2 table (fejl = positive):
    # a = 1 both fejl, d = 3 both ok, b + c = 1.
    # kappa = (4/5 − (4·3 + 1·2)/25) / (1 − 14/25) = 0.24 / 0.44 = 0.545 (Cohen 1960)
    # PABAK = 2·0.8 − 1 = 0.6 (Byrt, Bishop & Carlin 1993)
    # positive agreement 2a/(2a+b+c) = 2/3, negative 2d/(2d+b+c) = 6/7 (Cicchetti 1990)
    assert r["value"] == 80.0 and r["n"] == 5 and r["kappa"] == 0.545
    assert (r["pabak"], r["positive_agreement"], r["negative_agreement"]) == (0.6, 0.667, 0.857)
    assert (r["pairs"], r["applicability_disagreements"], r["both_not_applicable"]) == (6, 0, 1)


def test_external_reviews_only_when_asked(town):
    r = kpi(town, "audit_correct_rate", where=["reviewer_role=ekstern"])
    assert r["denominator"] == 2 and r["numerator"] == 0
