"""The one read path (store/reads.py): whatever a surface asks for, a scoped caller gets the
rows of its scope and nothing else, on DuckDB and PostgreSQL alike. One small municipality:
BIF with two jobcentres (JCA, JCN) and SOF with one centre (HCK)."""

from __future__ import annotations

from datetime import date

import pytest

from sagsindsigt import audits, complaints
from sagsindsigt.access import SYSTEM, Denied, Principal, acting_as, resolve
from sagsindsigt.ingest import import_file
from sagsindsigt.present.labels import Labels
from sagsindsigt.store import reads

TODAY = date(2015, 1, 15)
FILES = {
    "organisation": ("org.csv", "code;name;parent;level\nKK;Kommunen;;kommune\n"
                     "BIF;Beskæftigelses- og Integrationsforvaltningen;KK;forvaltning\n"
                     "SOF;Socialforvaltningen;KK;forvaltning\n"
                     "JCA;Jobcenter Amager;BIF;center\nJCN;Jobcenter Nørrebro;BIF;center\n"
                     "HCK;Handicapcenter København;SOF;center\n"),
    "case_types": ("typer.csv", "code;name;administration;benefit_area;deadline\n"
                   "KH;Kontanthjælp;BIF;Kontanthjælp;4 uger\n"
                   "BIL;Handicapbiler;SOF;Handicap;6 måneder\n"),
    "cases": ("sager.csv", "case_id;administration;unit;case_type;received;decided\n"
              "A1;BIF;JCA;KH;2014-02-03;2014-02-20\nA2;BIF;JCA;KH;2014-03-03;2014-03-20\n"
              "N1;BIF;JCN;KH;2014-02-03;2014-02-25\nN2;BIF;JCN;KH;2014-02-04;2014-02-26\n"
              "N3;BIF;JCN;KH;2014-02-05;2014-02-27\nH1;SOF;HCK;BIL;2014-02-03;2014-05-01\n"),
    "targets": ("maal.yaml", "- {id: kommunen, kpi: cases_received, period: '2014', "
                "direction: max, value: 10}\n"
                "- {id: bif, kpi: cases_received, administration: BIF, period: '2014', "
                "direction: max, value: 10}\n"
                "- {id: jca, kpi: cases_received, administration: BIF, unit: JCA, "
                "period: '2014', direction: max, value: 10, name: Færre sager i JCA}\n"
                "- {id: sof, kpi: cases_received, administration: SOF, period: '2014', "
                "direction: max, value: 10}\n"),
    "concepts": ("kh.yaml", "id: kontanthjaelp\nname: Kontanthjælp\nadministration: BIF\n"
                 "benefit_area: Kontanthjælp\nfrequency: kvartal\nsample_size: 5\nchecks:\n"
                 "- {id: n1, text: Ydelsen er beregnet korrekt, category: noeglekontrol}\n"),
}


@pytest.fixture
def town(store, tmp_path):
    for kind, (name, text) in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        r = import_file(store, kind, tmp_path / name, today=TODAY)
        assert r.rows_rejected == 0, r.rejects
    s = audits.draw(store, "kontanthjaelp", "2014-Q1", seed=1)
    assert {x.case_id for x in s.cases} == {"A1", "A2", "N1", "N2", "N3"}
    for cid in ("A1", "N1"):
        audits.save_answer(store, "kontanthjaelp", "2014-Q1", cid, "n1", "ok", "revisor",
                           "ekstern")
        audits.save_answer(store, "kontanthjaelp", "2014-Q1", cid, "n1", "fejl", "leder")
    for unit, admin in (("JCA", "BIF"), ("JCN", "BIF"), ("HCK", "SOF")):
        complaints.register(store, {"administration": admin, "unit": unit,
                                    "received": "2014-05-01", "kind": "realitet"},
                            "registrator", today=TODAY)
    return store


def as_reader(store, scope: str, role: str = "leder") -> Principal:
    return Principal(f"{role}-{scope}", role, resolve(store, scope), "adgangskode")


def test_a_centre_reads_its_own_rows_only(town):
    with acting_as(as_reader(town, "JCA")):
        assert [t["id"] for t in reads.targets(town)] == ["jca"]
        sample = reads.audit_sample(town, "kontanthjaelp", "2014-Q1")
        assert {x["case_id"] for x in sample} == {"A1", "A2"}
        assert {a["case_id"] for a in reads.audit_answers(town, "kontanthjaelp",
                                                          "2014-Q1")} == {"A1"}
        assert {r["case_id"] for r in reads.decided_cases(
            town, "BIF", "Kontanthjælp", date(2014, 1, 1), date(2014, 12, 31))} == {"A1", "A2"}
        assert [r["complaint_id"] for r in reads.recent_registrations(town)] == [
            "KL-BIF-2014-0001"]
        cases = [b for b in reads.batches(town) if b["kind"] == "cases"]
        assert [b["rows_loaded"] for b in cases] == [2]  # not the file's 6
        assert [b["message"] for b in reads.batches(town) if b["kind"] == "complaints"] == [
            "Klage KL-BIF-2014-0001 oprettet af registrator"]
        assert {n.code for n in reads.organisation(town) if n.derived} == set()
        assert reads.received_span(town) == (date(2014, 2, 3), date(2014, 3, 3))
        assert reads.rejects(town) == []  # rows of files: not a reader's
        assert reads.outside_scope(town, "cases", case_id="N1")
        assert not reads.outside_scope(town, "cases", case_id="A1")
        assert not reads.outside_scope(town, "cases", case_id="findes-ikke")


def test_the_calibration_reads_only_the_own_reviews(town):
    """The leak the issue found: a JCA leader saw JCN's case on the calibration page."""
    with acting_as(SYSTEM):
        assert {r["case_id"] for r in reads.round_reviews(town, "kontanthjaelp", "2014-Q1")} \
            == set()  # not published before the round is closed
    with acting_as(as_reader(town, "JCA")):
        assert {d.case_id for d in audits.disagreements(town, "kontanthjaelp", "2014-Q1")} \
            <= {"A1"}
        assert {a.case_id for a in audits.answers(town, "kontanthjaelp", "2014-Q1")} == {"A1"}


def test_an_administration_reads_its_centres_and_not_the_other_administration(town):
    with acting_as(as_reader(town, "BIF")):
        assert [t["id"] for t in reads.targets(town)] == ["bif", "jca"]
        assert {x["case_id"] for x in reads.audit_sample(
            town, "kontanthjaelp", "2014-Q1")} == {"A1", "A2", "N1", "N2", "N3"}
        assert {r["complaint_id"] for r in reads.recent_registrations(town)} == {
            "KL-BIF-2014-0001", "KL-BIF-2014-0002"}
        assert {r["code"] for r in reads.case_types(town)} == {"KH"}
        assert not [c for c in reads.concepts(town) if c["administration"] == "SOF"]


def test_require_visible_refuses_filters_outside_the_scope(town):
    with acting_as(as_reader(town, "BIF")):
        reads.require_visible(town, "BIF", "JCN", "KH")
        for kw in ({"administration": "SOF"}, {"unit": "HCK"}, {"case_type": "BIL"}):
            with pytest.raises(Denied):
                reads.require_visible(town, **kw)
    with acting_as(as_reader(town, "JCA")):
        reads.require_visible(town, "BIF", "JCA")  # its own administration: its part
        with pytest.raises(Denied, match="Enheden JCN ligger uden for dit område"):
            reads.require_visible(town, unit="JCN")
        reads.require_visible(town, unit="FINDES-IKKE")  # no such unit: no data, not 403


def test_labels_name_a_part_by_the_part(town):
    with acting_as(as_reader(town, "JCA")):
        lab = Labels.of(town)
        assert lab.name("administration", "BIF") == "Jobcenter Amager (JCA)"
        assert lab.where() == "Jobcenter Amager (JCA)"
        assert lab.name("unit", "JCA") == "Jobcenter Amager (JCA)"
        assert lab.name("case_type", "KH") == "Kontanthjælp (KH)"
        assert lab.name("concept", "kontanthjaelp") == "Kontanthjælp"
        assert lab.targets == {"jca": "Færre sager i JCA"}
        assert "HCK" not in lab.units and "BIL" not in lab.case_types  # not looked up
    with acting_as(as_reader(town, "BIF")):
        lab = Labels.of(town)
        assert lab.name("administration", "BIF") == \
            "Beskæftigelses- og Integrationsforvaltningen"
        assert lab.where() == "Beskæftigelses- og Integrationsforvaltningen (BIF)"
        assert lab.where(unit="JCN") == "Jobcenter Nørrebro (JCN)"
        assert lab.targets["bif"] == ("Modtagne sager højst 10, Beskæftigelses- og "
                                      "Integrationsforvaltningen, 2014")
