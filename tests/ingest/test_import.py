"""Import of real-shaped messy files: every validation rule, quarantine, strict, versions."""

from __future__ import annotations

import re
from datetime import date

import pytest

from sagsindsigt.ingest import ImportError_, import_file

from ..conftest import load_case_types

TODAY = date(2015, 6, 30)
CPR = re.compile(r"(?<![0-9])[0-3][0-9][01][0-9][0-9]{2}-?[0-9]{4}(?![0-9])")

# A SOF extract as Excel on Danish Windows saves it: cp1252, semicolons, day-first dates,
# ja/nej, Danish labels, a mapping for column names and local codes, and every kind of error.
MESSY = (
    "Sagsnr;Forvaltning;Center;Sagstype;Modtaget;Afgørelsesdato;Afgørelse;Komplet;CPR\r\n"
    "S-1;SOF;HCK;SL100;03-02-2014;28.02.2014;Bevilling;ja;010203-1234\r\n"      # 2 ok
    "S-2;SOF;HCK;SL100;2014-02-05;;;nej;0102031234\r\n"                          # 3 ok, open
    "S-3;SOF;SCK;LAS81;31/03/2014;01-04-2014;Afslag;Ja;\r\n"                     # 4 ok
    "S-4;SOF;SCK;LAS81;31-02-2014;;;;\r\n"                                       # 5 bad date
    "S-5;SOF;SCK;LAS81;10-03-2014;09-03-2014;afslag;;\r\n"                       # 6 decided<received
    "S-6;SOF;SCK;LAS81;10-03-2016;;;;\r\n"                                       # 7 future
    "S-7;SOF;SCK;LAS81;10-03-2014;11-03-2014;Måske;;\r\n"                        # 8 unknown code
    "S-8;XYZ;SCK;LAS81;10-03-2014;;;;\r\n"                                       # 9 unknown admin
    ";SOF;SCK;LAS81;10-03-2014;;;;\r\n"                                          # 10 no id
    "S-9;SOF;SCK;;10-03-2014;;;;\r\n"                                            # 11 no case type
    "S-10;SOF;SCK;LAS81;10-03-2014;;;kanske;\r\n"                                # 12 bad bool
    "S-11;SOF;SCK;LAS81;10-03-2014;;;;\r\n"                                      # 13 dup
    "S-11;SOF;SCK;LAS81;11-03-2014;;;;\r\n"                                      # 14 dup
    "S-12;SOF;SCK;LAS81;;;;;\r\n"                                                # 15 no received
)
MAPPING = """
source: sofus
columns:
  Sagsnr: case_id
  Forvaltning: administration
  Center: unit
  Sagstype: case_type
  Modtaget: received
  Afgørelsesdato: decided
  Afgørelse: outcome
  Komplet: complete_on_receipt
  CPR: citizen
codes:
  outcome:
    Bevilling: bevilget
"""


def _rows(store, table, order):
    return store.table(table).order_by(order).to_pyarrow().to_pydict()


@pytest.fixture
def messy(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:SL100", "SOF:LAS81")
    path = tmp_path / "sof_udtraek.csv"
    path.write_bytes(MESSY.encode("cp1252"))
    mapping = tmp_path / "sofus.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return path, mapping


def test_every_rule_on_a_messy_file(store, messy):
    path, mapping = messy
    r = import_file(store, "cases", path, mapping=mapping, today=TODAY)
    assert r.source == "sofus"
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (14, 3, 11)
    reasons = {(x["row"], x["field"]): x["reason"] for x in r.rejects}
    assert "ikke en gyldig dato" in reasons[(5, "received")]
    assert "ligger før modtaget" in reasons[(6, "decided")]
    assert "efter importdagen" in reasons[(7, "received")]
    assert "Måske" in reasons[(8, "outcome")] and "mapping-filen" in reasons[(8, "outcome")]
    assert "XYZ" in reasons[(9, "administration")]
    assert "er tomt" in reasons[(10, "case_id")]
    assert "er tomt" in reasons[(11, "case_type")]
    assert "hverken ja eller nej" in reasons[(12, "complete_on_receipt")]
    assert "forekommer 2 gange" in reasons[(13, "case_id")]
    assert "forekommer 2 gange" in reasons[(14, "case_id")]
    assert "er tomt" in reasons[(15, "received")]
    # quarantine keeps file, row, field, reason and the row itself, never a CPR number
    kept = store._engine.query("SELECT file, row, field, reason, record FROM rejects")
    assert {k[0] for k in kept} == {"sof_udtraek.csv"} and len(kept) == 11
    for k in kept:
        assert not CPR.search(" ".join(str(x) for x in k))
    loaded = _rows(store, "cases", "case_id")
    assert loaded["case_id"] == ["S-1", "S-2", "S-3"]
    assert loaded["outcome"] == ["bevilget", None, "afslag"]
    assert loaded["received"] == [date(2014, 2, 3), date(2014, 2, 5), date(2014, 3, 31)]
    assert loaded["complete_on_receipt"] == [True, False, True]
    # the same citizen written two ways gets the same pseudonym; no clear CPR anywhere
    cit = loaded["citizen"]
    assert cit[0] == cit[1] and cit[0].startswith("p_") and cit[2] is None


def test_strict_loads_nothing_and_keeps_the_rejects(store, messy):
    path, mapping = messy
    r = import_file(store, "cases", path, mapping=mapping, strict=True, today=TODAY)
    assert r.status == "afvist" and r.rows_loaded == 0 and r.rows_rejected == 11
    assert store._engine.query("SELECT count(*) FROM cases")[0][0] == 0
    assert store._engine.query("SELECT count(*) FROM cases_history")[0][0] == 0
    assert store._engine.query("SELECT count(*) FROM rejects")[0][0] == 11


def test_same_file_twice_changes_nothing_newer_extract_versions(store, tmp_path):
    load_case_types(store, tmp_path, "BIF:K")
    p = tmp_path / "a.csv"
    p.write_text("case_id,administration,case_type,received\n1,BIF,K,2014-01-02\n"
                 "2,BIF,K,2014-01-03\n", encoding="utf-8")
    first = import_file(store, "cases", p, today=TODAY)
    again = import_file(store, "cases", p, today=TODAY)
    assert first.rows_loaded == 2 and again.status == "allerede indlæst"
    assert store._engine.query("SELECT count(*) FROM batches WHERE kind = 'cases'")[0][0] == 1
    newer = tmp_path / "b.csv"
    newer.write_text("case_id,administration,case_type,received,decided\n"
                     "1,BIF,K,2014-01-02,\n2,BIF,K,2014-01-03,2014-02-01\n", encoding="utf-8")
    r = import_file(store, "cases", newer, today=TODAY)
    assert (r.rows_loaded, r.rows_unchanged) == (1, 1)
    hist = store._engine.query(
        "SELECT case_id, _version, decided FROM cases_history ORDER BY case_id, _version")
    assert [(h[0], h[1]) for h in hist] == [("1", 1), ("2", 1), ("2", 2)]
    assert hist[1][2] is None  # version 1 of case 2 is kept as it was
    assert store._engine.query("SELECT count(*) FROM cases")[0][0] == 2


def test_formats_bom_tab_xlsx_jsonl_parquet(store, tmp_path):
    import openpyxl
    import polars as pl

    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffcomplaint_id\tadministration\treceived\tkind\tpoints\n"
                    "K1\tBIF\t31.03.2014\tFormalitetsklage\tpartshoering|begrundelse\n"
                    .encode("utf-8"))
    assert import_file(store, "complaints", bom, today=TODAY).rows_loaded == 1
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["complaint_id", "administration", "received", "kind", "strengthened_contact"])
    ws.append(["K2", "KFF", date(2014, 4, 1), "realitet", "ja"])
    wb.save(tmp_path / "k.xlsx")
    assert import_file(store, "complaints", tmp_path / "k.xlsx", today=TODAY).rows_loaded == 1
    (tmp_path / "k.jsonl").write_text(
        '{"complaint_id": "K3", "administration": "SOF", "received": "2014-05-01", '
        '"kind": "begge", "points": ["sagsbehandlingstid"], "strengthened_contact": false}\n',
        encoding="utf-8")
    assert import_file(store, "complaints", tmp_path / "k.jsonl", today=TODAY).rows_loaded == 1
    pl.DataFrame({"complaint_id": ["K4"], "administration": ["SUF"],
                  "received": [date(2014, 6, 1)], "kind": ["realitet"]}).write_parquet(
        tmp_path / "k.parquet")
    assert import_file(store, "complaints", tmp_path / "k.parquet", today=TODAY).rows_loaded == 1
    rows = _rows(store, "complaints", "complaint_id")
    assert rows["kind"] == ["formalitet", "realitet", "begge", "realitet"]
    assert rows["points"][0] == "partshoering|begrundelse"
    assert rows["strengthened_contact"] == [None, True, False, None]
    assert rows["via"] == ["forvaltning"] * 4


def test_missing_column_is_one_sentence_and_store_unchanged(store, tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("case_id,administration\n1,BIF\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="mangler kolonnen for sagstype"):
        import_file(store, "cases", p, today=TODAY)
    assert store._engine.query("SELECT count(*) FROM batches")[0][0] == 0


def test_cpr_masked_in_text_and_ids(store, tmp_path):
    p = tmp_path / "k.csv"
    p.write_text(
        "complaint_id;administration;received;kind;summary\n"
        "1203851234;BIF;2014-01-02;realitet;Borger 120385-1234 klagede over 1203851234 og "
        "tlf 33 66 33 66\n", encoding="utf-8")
    import_file(store, "complaints", p, today=TODAY)
    row = {k: v[0] for k, v in _rows(store, "complaints", "complaint_id").items()}
    assert row["complaint_id"].startswith("p_")
    assert row["summary"] == ("Borger XXXXXX-XXXX klagede over XXXXXX-XXXX og tlf 33 66 33 66")


def test_concept_and_its_checks_stand_or_fall_together(store, tmp_path):
    """Rows are counted as concepts; a bad check rejects its concept (row = the concept's
    place in the file), and none of a rejected concept's checks are loaded."""
    (tmp_path / "c.yaml").write_text(
        "- id: ok\n  name: God\n  administration: BIF\n  benefit_area: Kontanthjælp\n"
        "  frequency: kvartal\n  checks:\n"
        "  - {id: n1, text: Beregning, category: noeglekontrol}\n"
        "  - {id: f1, text: Klagevejledning, category: formalia}\n"
        "- id: bad\n  name: Dårlig\n  administration: BIF\n  benefit_area: Sygedagpenge\n"
        "  frequency: kvartal\n  checks:\n"
        "  - {id: n1, text: Beregning, category: noeglekontrol}\n"
        "  - {id: x1, text: Ukendt, category: hemmelig}\n", encoding="utf-8")
    r = import_file(store, "concepts", tmp_path / "c.yaml", today=TODAY)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2, 1, 1)
    assert [(x["row"], x["field"]) for x in r.rejects] == [(2, "checks.category")]
    checks = store._engine.query("SELECT concept, id FROM concept_checks ORDER BY concept, id")
    assert checks == [("ok", "f1"), ("ok", "n1")]
    assert store._engine.query("SELECT id FROM concepts") == [("ok",)]
