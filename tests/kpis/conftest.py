"""A small municipality whose every figure is computed by hand in the tests (kept in the
comments next to each assertion). Loaded through the real importer from real files."""

from __future__ import annotations

from datetime import date

import pytest

from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import Query, compute

TODAY = date(2016, 1, 1)

CASE_TYPES = """code;name;administration;benefit_area;deadline
A;Enkeltydelse;SOF;Enkeltydelser;20 arbejdsdage
B;Handicapbil;SOF;Handicap;3 måneder
X;Uden område og frist;BIF;;
"""
CASES = """case_id;administration;unit;case_type;received;decided;outcome;complete_on_receipt;deadline
c1;SOF;SCK;A;06-01-2014;20-01-2014;afslag;ja;
c2;SOF;SCK;A;06-01-2014;03-03-2014;bevilget;nej;
c3;SOF;HCK;B;31-01-2014;30-04-2014;afslag;ja;
c4;SOF;HCK;B;31-01-2014;01-05-2014;bevilget;;
c5;SOF;HCK;B;10-02-2014;;;;
c6;SOF;SCK;A;20-12-2014;;;;
c7;BIF;J1;X;01-03-2014;11-03-2014;;;10 dage
c8;BIF;J1;X;01-12-2013;05-01-2014;afvist;;
"""
COMPLAINTS = """complaint_id,administration,received,closed,kind,points,strengthened_contact,resolved_at_contact,outcome,appeal_outcome,appeal_decided
k1,SOF,2014-02-01,2014-02-10,formalitet,sagsbehandlingstid|partshoering,ja,ja,medhold,,
k2,SOF,2014-02-03,2014-03-31,realitet,,nej,,ikke_medhold,stadfaestet,2014-09-15
k3,SOF,2014-03-01,2014-03-05,begge,sagsbehandlingstid,ja,nej,delvis_medhold,aendret,2014-06-20
k4,BIF,2014-05-01,,realitet,,,,verserer,afvist,2014-06-02
k5,BIF,2014-06-01,2014-06-20,formalitet,begrundelse,nej,,afvist,hjemvist,2014-12-01
"""
EVENTS = """case_id,activity,at
c7,visiteret,2014-03-03 10:00
c7,jobsamtale,2014-03-20 09:00
c9,visiteret,2014-03-10 10:00
c9,jobsamtale,2014-04-15 10:00
c10,visiteret,2014-12-15 10:00
c11,visiteret,2014-05-01 08:00
c11,jobsamtale,2014-04-20 08:00
c11,jobsamtale,2014-05-20 08:00
"""
RULES = """- id: jobsamtale
  name: Jobsamtale inden for 4 uger
  administration: BIF
  anchor: visiteret
  required: jobsamtale
  limit: 4 uger
"""
CONCEPT = """id: kontanthjaelp
name: Kontanthjælp
administration: BIF
benefit_area: Kontanthjælp
frequency: kvartal
sample_size: 10
checks:
  - {id: c1, text: Korrekt refusion, category: noeglekontrol}
  - {id: c2, text: Plan for indsats, category: kvalitetsmaal}
  - {id: c3, text: Partshøring, category: formalia}
"""
REVIEWS = [
    # round, case, reviewer, role, results for c1, c2, c3
    ("2014-Q1", "r1", "anna", "intern", "ok", "ok", "ok"),
    ("2014-Q1", "r2", "anna", "intern", "fejl", "ok", "ikke_relevant"),
    ("2014-Q1", "r3", "anna", "intern", "ok", "ok", "fejl"),
    ("2014-Q1", "r4", "anna", "intern", "ok", "ikke_relevant", "ok"),
    ("2014-Q1", "r1", "deloitte", "ekstern", "ok", "fejl", "ok"),
    ("2014-Q1", "r2", "deloitte", "ekstern", "fejl", "ok", "ikke_relevant"),
    ("2014-Q2", "r5", "bo", "intern", "ok", "ok", "ok"),
]


@pytest.fixture
def town(store, tmp_path):
    return load_town(store, tmp_path)


def load_town(store, tmp_path):
    """The town's files written to ``tmp_path`` and imported into ``store``."""
    files = {"case_types": ("ct.csv", CASE_TYPES), "cases": ("cases.csv", CASES),
             "complaints": ("k.csv", COMPLAINTS), "timeliness_rules": ("rules.yaml", RULES),
             "events": ("events.csv", EVENTS), "concepts": ("concept.yaml", CONCEPT)}
    lines = ["round,concept,case_id,reviewer,reviewer_role,check,result"]
    for rnd, case, who, role, *res in REVIEWS:
        lines += [f"{rnd},kontanthjaelp,{case},{who},{role},c{i},{r}"
                  for i, r in enumerate(res, start=1)]
    files["reviews"] = ("reviews.csv", "\n".join(lines) + "\n")
    for kind, (name, text) in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        r = import_file(store, kind, tmp_path / name, today=TODAY,
                        covers="2014" if kind in ("cases", "complaints") else None)
        assert r.rows_rejected == 0, r.rejects
    return store


def kpi(store, kpi_id, period="2014", by=(), where=(), annualise=False):
    """Rows of one KPI as JSON dicts, keyed by the by-dimension values."""
    res = compute(store, Query.make(kpi_id, period, list(by), list(where), annualise))
    rows = res.as_json()["rows"]
    if not by:
        assert len(rows) == 1
        return rows[0]
    return {tuple(r[d] for d in by) if len(by) > 1 else r[by[0]]: r for r in rows}
