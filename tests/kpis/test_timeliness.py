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


def test_cases_arriving_after_their_events(town, tmp_path):
    # c9 had only events (unit from the rule's administration, no case type); its case record
    # arrives later and the timeliness figures follow it to its unit and case type
    from sagsindsigt.ingest import import_file

    from .conftest import TODAY

    assert "J9" not in kpi(town, "timeliness", by=["unit"])
    (tmp_path / "late.csv").write_text(
        "case_id;administration;unit;case_type;received\nc9;BIF;J9;X;2014-03-09\n",
        encoding="utf-8")
    assert import_file(town, "cases", tmp_path / "late.csv", today=TODAY).rows_rejected == 0
    by_unit = kpi(town, "timeliness", by=["unit"])
    assert (by_unit["J9"]["numerator"], by_unit["J9"]["denominator"]) == (0, 1)
    assert kpi(town, "timeliness", by=["case_type"])["X"]["denominator"] == 2  # c7 and c9
