"""Case flow KPIs on hand-computed data (tests/kpis/conftest.py)."""

from __future__ import annotations

import pytest

from .conftest import kpi


def test_counts(town):
    assert {a: r["n"] for a, r in kpi(town, "cases_received", by=["administration"]).items()} \
        == {"SOF": 6, "BIF": 1}
    assert {a: r["n"] for a, r in kpi(town, "cases_decided", by=["administration"]).items()} \
        == {"SOF": 4, "BIF": 2}
    assert kpi(town, "open_cases", by=["administration"])["SOF"]["n"] == 2  # c5, c6
    assert kpi(town, "open_cases", by=["administration"])["BIF"]["n"] == 0
    # c5 (due 10.5.2014) is overdue at 31.12.2014; c6 (due in January 2015) is not
    assert kpi(town, "overdue_open_cases")["n"] == 1
    # at the end of March 2014, c5 is open and within its deadline; c1..c4 partly open
    assert kpi(town, "open_cases", period="2014-03", where=["administration=SOF"])["n"] == 3


def test_processing_time_percentiles(town):
    # days: c1 14, c2 56, c3 89, c4 90, c7 10, c8 35 -> median 45.5, P80 89, P90 89.5
    assert kpi(town, "processing_days_median")["value"] == 45.5
    assert kpi(town, "processing_days_p90")["value"] == 89.5
    # P80: position 0.8 × 5 = 4 of the sorted days, exactly 89
    assert kpi(town, "processing_days_p80")["value"] == 89.0
    assert kpi(town, "processing_days_median", by=["unit"])["HCK"]["value"] == 89.5


def test_deadline_compliance_boundaries(town):
    rows = kpi(town, "deadline_compliance", by=["administration"])
    # c1 on time, c2 late (20 arbejdsdage from 6.1 = 3.2), c3 decided on its due date
    # (31.1 + 3 måneder = 30.4, on time), c4 one day late
    assert (rows["SOF"]["numerator"], rows["SOF"]["denominator"]) == (2, 4)
    assert rows["SOF"]["value"] == 50.0
    # c7 has its own 10-day deadline (on time); c8 has none and is left out
    assert (rows["BIF"]["numerator"], rows["BIF"]["denominator"]) == (1, 1)
    by_type = kpi(town, "deadline_compliance", by=["case_type"])
    assert by_type["B"]["value"] == 50.0
    assert kpi(town, "deadline_compliance", by=["benefit_area"])["Handicap"]["denominator"] == 2


def test_refusal_and_incomplete(town):
    rows = kpi(town, "refusal_rate", by=["administration"])
    assert rows["SOF"]["value"] == 50.0 and rows["BIF"]["value"] == 0.0
    inc = kpi(town, "incomplete_on_receipt_rate", where=["administration=SOF"])
    assert (inc["numerator"], inc["denominator"], inc["value"]) == (1, 3, 33.33)


def test_no_data_is_null_with_reason_not_zero(town):
    r = kpi(town, "cases_received", period="2012")
    assert r["value"] is None and r["n"] is None and r["note"] == "ingen data for perioden"
    r = kpi(town, "deadline_compliance", period="2012")
    assert r["value"] is None and r["note"]


@pytest.mark.parametrize("period,expected", [("2014-Q1", 5), ("2014-H1", 5), ("2014-01", 4),
                                             ("2014-01-01..2014-01-31", 4), ("2014", 6)])
def test_periods(town, period, expected):
    assert kpi(town, "cases_received", period=period, where=["administration=SOF"])["n"] \
        == expected


def test_volumes_fill_case_types_without_case_rows(town, tmp_path):
    # SOF reports volumes for case type A (which has case rows: ignored) and for case type C
    # (no case rows: counted); one volume straddles the year end and lies outside 2014.
    (tmp_path / "v.csv").write_text(
        "administration;unit;case_type;period_start;period_end;cases_received\n"
        "SOF;SCK;A;2014-01-01;2014-06-30;500\n"
        "SOF;RCK;C;2014-01-01;2014-06-30;40\n"
        "SOF;RCK;C;2014-07-01;2014-12-31;60\n"
        "SOF;RCK;C;2014-12-01;2015-01-31;99\n", encoding="utf-8")
    from sagsindsigt.ingest import import_file

    from .conftest import TODAY

    assert import_file(town, "volumes", tmp_path / "v.csv", today=TODAY).rows_rejected == 0
    rows = kpi(town, "cases_received", by=["administration"])
    assert rows["SOF"]["n"] == 6 + 40 + 60
    by_type = kpi(town, "cases_received", by=["case_type"])
    assert by_type["A"]["n"] == 3 and by_type["C"]["n"] == 100
    assert kpi(town, "cases_received", by=["unit"])["RCK"]["n"] == 100


def test_volumes_follow_benefit_area_filters_and_breakdowns(town, tmp_path):
    """Volumes carry no benefit area: it comes from their case type, and a volume whose
    case type is outside a benefit-area filter is not counted."""
    from sagsindsigt.ingest import import_file

    from .conftest import TODAY

    (tmp_path / "ct.csv").write_text(
        "code;name;administration;benefit_area;deadline\n"
        "C;Boligændring;SOF;Hjælpemidler;8 uger\n", encoding="utf-8")
    (tmp_path / "v.csv").write_text(
        "administration;unit;case_type;period_start;period_end;cases_received\n"
        "SOF;RCK;C;2014-01-01;2014-12-31;40\n", encoding="utf-8")
    for kind, name in (("case_types", "ct.csv"), ("volumes", "v.csv")):
        assert import_file(town, kind, tmp_path / name, today=TODAY).rows_rejected == 0
    areas = kpi(town, "cases_received", by=["benefit_area"])
    assert areas["Hjælpemidler"]["n"] == 40
    assert areas["Enkeltydelser"]["n"] == 3 and areas["Handicap"]["n"] == 3
    assert kpi(town, "cases_received", where=["benefit_area=Handicap",
                                              "administration=SOF"])["n"] == 3
    assert kpi(town, "cases_received", where=["benefit_area=Hjælpemidler"])["n"] == 40
    # and the administration total counts them once
    assert kpi(town, "cases_received", by=["administration"])["SOF"]["n"] == 6 + 40
