"""Complaint KPIs on hand-computed data (tests/kpis/conftest.py)."""

from __future__ import annotations

import pytest
from scipy.stats import mannwhitneyu

from .conftest import kpi


def test_complaint_rates(town):
    rows = kpi(town, "complaint_rate", by=["administration"])
    assert (rows["SOF"]["numerator"], rows["SOF"]["denominator"], rows["SOF"]["value"]) == \
        (3, 6, 50.0)
    proc = kpi(town, "procedural_complaint_rate", by=["administration"])
    assert proc["SOF"]["value"] == 33.33 and proc["BIF"]["value"] == 100.0


def test_upheld_and_appeal_change(town):
    up = kpi(town, "upheld_rate", by=["administration"])
    assert (up["SOF"]["numerator"], up["SOF"]["denominator"]) == (2, 3)
    assert up["BIF"]["value"] is None and up["BIF"]["denominator"] == 0 and up["BIF"]["note"]
    ch = kpi(town, "appeal_change_rate", by=["administration"])
    assert ch["SOF"]["value"] == 50.0  # stadfæstet + ændret
    assert (ch["BIF"]["numerator"], ch["BIF"]["denominator"]) == (1, 1)  # afvist left out
    # by the board's decision date, as Ankestyrelsen counts: in the first half-year only k3
    # (ændret, decided 20.6) is decided; k2 (decided 15.9) and k5 (1.12) are still pending
    h1 = kpi(town, "appeal_change_rate", period="2014-H1", by=["administration"])
    assert (h1["SOF"]["numerator"], h1["SOF"]["denominator"]) == (1, 1)
    assert h1["BIF"]["denominator"] == 0 and h1["BIF"]["value"] is None
    pending = kpi(town, "appeals_pending", period="2014-H1", by=["administration"])
    assert pending["SOF"]["n"] == 1 and pending["BIF"]["n"] == 1
    assert kpi(town, "appeals_pending", period="2014-Q1")["n"] == 2  # k2 and k3 at 31.3


def test_response_times(town):
    assert kpi(town, "complaint_response_days_median")["value"] == 14.0  # 4, 9, 19, 56
    # 20 arbejdsdage: k2 (3.2 -> 31.3) is late; k5 received on a Sunday, due 30.6 (Whit
    # Monday is a holiday, Grundlovsdag is not), closed 20.6
    r = kpi(town, "complaints_answered_within")
    assert (r["numerator"], r["denominator"]) == (3, 4)


def test_styrket_borgerkontakt(town):
    share = kpi(town, "sb_share", by=["administration"])
    assert share["SOF"]["value"] == 66.67 and share["BIF"]["value"] == 0.0
    assert kpi(town, "sb_resolved_share", where=["administration=SOF"])["value"] == 50.0
    r = kpi(town, "sb_vs_written")
    assert (r["median_with"], r["median_without"]) == (6.5, 37.5)
    assert r["value"] == pytest.approx(-82.7, abs=0.05)
    # full precision in JSON (not rounded to 4 decimals, which turned small p-values into 0.0)
    assert r["p_value"] == pytest.approx(
        mannwhitneyu([9, 4], [56, 19], alternative="two-sided").pvalue, rel=1e-12)


def test_breakdowns(town):
    pts = kpi(town, "complaints_received", by=["points"])
    assert pts["sagsbehandlingstid"]["n"] == 2 and pts["partshoering"]["n"] == 1
    assert kpi(town, "complaints_received", by=["kind"])["realitet"]["n"] == 2
    sc = kpi(town, "complaints_received", by=["strengthened_contact"])
    assert sc[True]["n"] == 2 and sc[False]["n"] == 2 and sc[None]["n"] == 1
    assert kpi(town, "complaints_received", where=["points=partshoering"])["n"] == 1
    two = kpi(town, "complaints_received", by=["administration", "kind"])
    assert two[("SOF", "begge")]["n"] == 1


def test_answered_within_uses_the_configured_closed_days(town, tmp_path, monkeypatch):
    """A complaint answered on the 21st working day is late, unless Grundlovsdag is a closed
    day of the municipality (as for case deadlines)."""
    from datetime import date

    from sagsindsigt.calendar import Deadline
    from sagsindsigt.ingest import import_file

    received = date(2015, 5, 20)
    plain = Deadline(20, "arbejdsdage").due(received)
    closed = Deadline(20, "arbejdsdage").due(received, extra=frozenset({"grundlovsdag"}))
    assert closed > plain  # Grundlovsdag (5.6.2015) lies inside the 20 working days
    (tmp_path / "k.csv").write_text(
        "complaint_id;administration;received;closed;kind\n"
        f"g1;SOF;{received.isoformat()};{closed.isoformat()};realitet\n", encoding="utf-8")
    assert import_file(town, "complaints", tmp_path / "k.csv").rows_rejected == 0
    assert kpi(town, "complaints_answered_within", period="2015")["value"] == 0.0
    monkeypatch.setenv("SAGSINDSIGT_CLOSED_DAYS", '["grundlovsdag"]')
    assert kpi(town, "complaints_answered_within", period="2015")["value"] == 100.0


def test_sb_vs_written_does_not_offer_its_own_comparison_as_a_dimension():
    from sagsindsigt.kpis import get

    assert "strengthened_contact" not in get("sb_vs_written").dims
