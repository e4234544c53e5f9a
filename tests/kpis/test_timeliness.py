"""Timeliness rules on the events log (tests/kpis/conftest.py)."""

from __future__ import annotations

from .conftest import kpi


def test_job_interviews_on_time(town):
    # due in 2014: c7 on time, c9 late, c11 on time (the interview before the anchor is
    # ignored); c10 is due in January 2015 and never held
    r = kpi(town, "timeliness")
    assert (r["numerator"], r["denominator"]) == (2, 3)
    assert kpi(town, "timeliness", period="2015")["value"] == 0.0
    assert kpi(town, "timeliness", by=["rule"])["jobsamtale"]["value"] == 66.67
