"""The organisation tree: loaded records first, completed from the codes seen in the data."""

from __future__ import annotations

from datetime import date

from sagsindsigt.ingest import import_file
from sagsindsigt.store.reads import administrations
from sagsindsigt.store.reads import organisation as tree

from ..conftest import load_case_types

TODAY = date(2016, 1, 1)


def _load(store, tmp_path, kind, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    r = import_file(store, kind, tmp_path / name, today=TODAY)
    assert r.rows_rejected == 0, r.rejects


def test_tree_is_derived_from_codes_seen_without_an_organisation_file(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:A")
    _load(store, tmp_path, "cases", "c.csv",
          "case_id;administration;unit;case_type;received\n1;SOF;SCK;A;2014-02-01\n"
          "2;SOF;HCK;A;2014-02-01\n")
    _load(store, tmp_path, "complaints", "k.csv",
          "complaint_id;administration;received;kind\nk1;KFF;2014-01-02;realitet\n")
    nodes = {n.code: n for n in tree(store)}
    assert set(nodes) == {"SOF", "KFF", "SCK", "HCK"}
    assert nodes["SOF"].name == "Socialforvaltningen" and nodes["SOF"].derived
    assert (nodes["SCK"].level, nodes["SCK"].parent) == ("center", "SOF")
    assert nodes["HCK"].parent == "SOF"


def test_a_loaded_organisation_wins_and_gaps_are_filled(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:A", "BIF:J")
    _load(store, tmp_path, "organisation", "o.csv",
          "code;name;parent;level\nKK;Københavns Kommune;;kommune\n"
          "SOF;Socialforvaltningen;KK;forvaltning\nSCK;Socialcenter København;SOF;center\n")
    _load(store, tmp_path, "cases", "c.csv",
          "case_id;administration;unit;case_type;received\n1;SOF;SCK;A;2014-02-01\n"
          "2;BIF;JC1;J;2014-02-01\n")  # the file names no BIF unit: BIF's are not checked
    nodes = {n.code: n for n in tree(store)}
    assert [n.code for n in tree(store)][0] == "KK"
    assert not nodes["SCK"].derived and nodes["SCK"].name == "Socialcenter København"
    assert nodes["BIF"].derived and nodes["BIF"].parent == "KK"
    assert nodes["JC1"].parent == "BIF" and nodes["KK"].parent is None


def test_the_administration_of_each_node():
    nodes = [("KK", None, "kommune"), ("SOF", "KK", "forvaltning"), ("HCK", "SOF", "center"),
             ("HCK1", "HCK", "enhed"), ("LOS", "KK", "center"), ("X", "NOWHERE", "enhed"),
             ("A", "B", "enhed"), ("B", "A", "enhed")]  # a cycle ends without an answer
    assert administrations(nodes) == {"SOF": "SOF", "HCK": "SOF", "HCK1": "SOF"}
