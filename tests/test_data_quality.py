"""Data-quality warnings on small hand-made stores, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sagsindsigt.data_quality import warnings
from sagsindsigt.ingest import import_file

TODAY = date(2016, 1, 1)


def _load(store, tmp_path, kind, name, text, **kw):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return import_file(store, kind, tmp_path / name, today=TODAY, **kw)


def test_warnings(store, tmp_path):
    _load(store, tmp_path, "case_types", "ct.csv", "code;name;administration\nA;Enkelt;SOF\n")
    # the unknown case type Z is let through by the mapping, for the Data page to show it
    (tmp_path / "m.yaml").write_text("allow_unknown: [case_type]\n", encoding="utf-8")
    _load(store, tmp_path, "cases", "c.csv",
          "case_id;administration;case_type;received\n"
          "1;SOF;A;2014-02-01\n2;SOF;Z;2014-03-01\n3;SOF;Z;2014-04-01\n"
          "4;SOF;A;2014-31-12\n", covers="2014-H1", mapping=tmp_path / "m.yaml")
    _load(store, tmp_path, "volumes", "v.csv",
          "administration;unit;case_type;period_start;period_end;cases_received\n"
          "SOF;;A;2014-01-01;2014-06-30;10\n"
          "TMF;P;L;2014-01-01;2014-03-31;5\nTMF;P;L;2014-03-01;2014-04-30;7\n")
    found = {}
    for w in warnings(store):
        found.setdefault(w.kind, []).append(w)
    assert [w.administration for w in found["overlapping_volumes"]] == ["SOF"]
    assert "sagstype A" in found["overlapping_volumes"][0].message
    (overlap,) = found["overlapping_volume_periods"]
    assert "01.03.2014–30.04.2014" in overlap.message and "enhed P" in overlap.message
    partial = [w.message for w in found["partial_period"]]
    assert any("sager for 01.01.2014–30.06.2014" in m for m in partial)
    (unknown,) = found["unknown_case_type"]  # the code and its number of cases, by name
    assert unknown.message.startswith("2 sager i Socialforvaltningen (SOF) har sagstypen 'Z'")
    (rejected,) = found["rejected_rows"]
    assert rejected.message.startswith("1 række i c.csv")


def test_a_clean_store_has_no_warnings(store, tmp_path):
    _load(store, tmp_path, "case_types", "ct.csv", "code;name;administration\nA;Enkelt;SOF\n")
    _load(store, tmp_path, "cases", "c.csv",
          "case_id;administration;case_type;received\n1;SOF;A;2014-02-01\n", covers="2014")
    assert warnings(store) == []


def test_a_corrected_delivery_of_the_file_clears_the_quarantine_warning(store, tmp_path):
    _load(store, tmp_path, "case_types", "ct.csv", "code;name;administration\nA;Enkelt;SOF\n")
    _load(store, tmp_path, "cases", "c.csv",
          "case_id;administration;case_type;received\n1;SOF;A;2014-02-01\n"
          "2;SOF;A;2014-02-31\n", covers="2014")
    assert [w.kind for w in warnings(store)] == ["rejected_rows"]
    _load(store, tmp_path, "cases", "c.csv",
          "case_id;administration;case_type;received\n1;SOF;A;2014-02-01\n"
          "2;SOF;A;2014-02-28\n", covers="2014")
    assert warnings(store) == []
    # the rejected row itself is kept: the quarantine is a log, not a to-do list
    assert store._engine.query("SELECT count(*) FROM rejects")[0][0] == 1


def test_units_kept_by_allow_unknown_are_named_on_the_data_page(store, tmp_path):
    """A unit the loaded organisation does not name under an administration whose units it
    names: kept when the mapping allows it, then named with its count among the warnings."""
    _load(store, tmp_path, "organisation", "o.csv", "code;name;parent;level\n"
          "KK;Kommunen;;kommune\nSOF;Socialforvaltningen;KK;forvaltning\n"
          "HCK;Handicapcenter København;SOF;center\n")
    _load(store, tmp_path, "case_types", "ct.csv", "code;name;administration\nA;Enkelt;SOF\n")
    (tmp_path / "m.yaml").write_text("allow_unknown: [unit]\n", encoding="utf-8")
    r = _load(store, tmp_path, "cases", "c.csv",
              "case_id;administration;unit;case_type;received\n1;SOF;HCK;A;2014-02-01\n"
              "2;SOF;NYT;A;2014-03-01\n3;SOF;NYT;A;2014-03-02\n4;SOF;NYT;A;2014-03-03\n",
              covers="2014", mapping=tmp_path / "m.yaml")
    assert r.rows_loaded == 4 and r.warnings
    (unit,) = [w for w in warnings(store) if w.kind == "unknown_unit"]
    assert unit.message.startswith("3 sager i Socialforvaltningen (SOF) har enheden 'NYT'")
    assert "import organisation" in unit.message
