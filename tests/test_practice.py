"""The registration-practice scorecard on hand-made records (DuckDB and PostgreSQL): every
check of seed 001 has a case that trips it, and the expected figures are in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from sagsindsigt.ingest import import_file
from sagsindsigt.practice import scorecard

from .conftest import load_case_types

TODAY = date(2016, 1, 1)
CASES = """case_id;administration;unit;case_type;received;decided;outcome;complete_on_receipt;deadline;citizen
p1;SOF;U1;T;10-01-2014;01-02-2014;afslag;ja;30 dage;0101701234
p2;SOF;U1;T;01-02-2014;;;;30 dage;
p3;SOF;U1;T;01-12-2014;;;;30 dage;
p4;SOF;U2;T;01-03-2014;05-03-2014;;nej;30 dage;
"""
COMPLAINTS = """complaint_id;administration;unit;case_id;received;closed;kind;points;channel;strengthened_contact;resolved_at_contact;outcome;summary
k1;SOF;U1;p1;05-01-2014;20-01-2014;formalitet;;;;;verserer;
k2;SOF;U1;;01-03-2014;;realitet;;;nej;ja;medhold;
k3;SOF;U2;;01-04-2014;10-04-2014;begge;begrundelse;email;ja;ja;ikke_medhold;Læring: begrund
"""
EVENTS = """case_id;activity;at
p1;visiteret;01-01-2014
p1;journaliseret;15-01-2014
p1;journaliseret;20-01-2014
p2;Journalisering;11-02-2014
p4;afgjort;05-03-2014
"""


@pytest.fixture
def practice_store(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:T")
    for kind, text in (("cases", CASES), ("complaints", COMPLAINTS), ("events", EVENTS)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        r = import_file(store, kind, path, today=TODAY,
                        covers="2014" if kind != "events" else None)
        assert r.rows_rejected == 0, r.rejects
    return store


def test_scorecard_per_unit(practice_store):
    cards = {c.unit: c for c in scorecard(practice_store, "2014", today=TODAY)}
    assert list(cards) == ["U1", "U2"]
    u1, u2 = cards["U1"], cards["U2"]
    assert (u1.complaints, u1.cases, u2.complaints, u2.cases) == (2, 3, 1, 1)
    # k1 is procedural without points; k3 (U2) has its point
    assert (u1.procedural, u1.procedural_without_points, u1.without_points_share) == (1, 1, 100)
    assert (u2.procedural, u2.procedural_without_points) == (1, 0)
    # k1: received 5/1 before its case p1 (10/1), answered but 'verserer';
    # k2: 'medhold' without an answer date, resolved at contact without SB;
    # p1: an event (visiteret 1/1) before the case was received
    assert u1.impossible == {"complaint_before_case": 1, "answered_but_pending": 1,
                             "final_without_answer": 1, "resolved_without_sb": 1,
                             "event_before_case": 1}
    assert u1.impossible_total == 5 and u2.impossible_total == 0
    # open at 31/12/2014: p2 (received 1/2, more than 90 days) and p3 (1/12)
    assert (u1.open_cases, u1.open_past_days, u1.open_past_share) == (2, 1, 50.0)
    assert (u2.open_cases, u2.open_past_days) == (0, 0)
    # journalisation: p1 15/1 - 10/1 = 5 days (first event), p2 11/2 - 1/2 = 10 days
    assert (u1.journal_cases, u1.journal_lag_median) == (2, 7.5)
    assert u2.journal_lag_median is None
    cf = u1.complaint_fields
    assert (cf["unit"], cf["benefit_area"], cf["case_id"], cf["outcome"]) == (100, 0, 50, 100)
    assert cf["closed"] == 0  # k2 has a final outcome and no answer date
    assert cf["points"] == 0 and cf["strengthened_contact"] == 50
    assert cf["resolved_at_contact"] is None  # no complaint of U1 was handled with SB
    assert u1.case_fields == {"outcome": 100, "complete_on_receipt": 33.3, "due": 100,
                              "citizen": 33.3}
    assert u2.case_fields["outcome"] == 0  # p4 decided without an outcome
    assert u2.complaint_fields["resolved_at_contact"] == 100


def test_scorecard_scope_and_period(practice_store):
    only = scorecard(practice_store, "2014", {"unit": "U2"}, today=TODAY)
    assert [c.unit for c in only] == ["U2"]
    q1 = {c.unit: c for c in scorecard(practice_store, "2014-Q1", today=TODAY)}
    # Q1: complaints k1, k2 (U1) and cases p1, p2 (U1), p4 (U2); at 31/3 p2 is 58 days old
    assert (q1["U1"].complaints, q1["U1"].cases, q1["U2"].complaints) == (2, 2, 0)
    assert (q1["U1"].open_cases, q1["U1"].open_past_days) == (1, 0)
    assert scorecard(practice_store, "2012", today=TODAY) == []


def test_practice_cli(tmp_path, capsys, monkeypatch):
    import json

    from sagsindsigt.cli import main

    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "p.duckdb")
    assert main(["--db", db, "init"]) == 0
    (tmp_path / "t.csv").write_text("code;name;administration\nT;T;SOF\n", encoding="utf-8")
    assert main(["--db", db, "import", "case_types", "t.csv"]) == 0
    for kind, text in (("cases", CASES), ("complaints", COMPLAINTS)):
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        assert main(["--db", db, "import", kind, f"{kind}.csv", "--covers", "2014"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "practice", "--period", "2014", "--where", "unit=U1",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["unit"] for r in rows] == ["U1"] and rows[0]["procedural_without_points"] == 1
    assert rows[0]["impossible"]["complaint_before_case"] == 1
    assert main(["--db", db, "practice", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "complaint_points" in header and "event_before_case" in header
    assert main(["--db", db, "practice", "--where", "kind=x"]) == 2
    assert main(["--db", db, "practice", "--period", "i går"]) == 2
    assert "Traceback" not in capsys.readouterr().err

