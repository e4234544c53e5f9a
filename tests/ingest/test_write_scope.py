"""The write rule for imports (issue 20): an import acting for one administration or centre
(an API token made with ``--scope``) loads only the rows inside its scope; every other row is
rejected with the field that leaves the scope, like any bad row. On DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sagsindsigt.access import Principal, acting_as, resolve
from sagsindsigt.ingest import import_file

from .test_unknown_codes import CASE_TYPES, ORGANISATION

TODAY = date(2015, 6, 30)


def _load(store, tmp_path, kind, text, name=None):
    path = tmp_path / (name or f"{kind}.csv")
    path.write_text(text, encoding="utf-8")
    return import_file(store, kind, path, today=TODAY)


def _outside(result):
    return [(r["row"], r["field"], r["value"]) for r in result.rejects]


def test_a_centre_imports_only_its_own_rows(store, tmp_path):
    _load(store, tmp_path, "organisation", ORGANISATION)
    _load(store, tmp_path, "case_types", CASE_TYPES)
    hck = Principal("token:hck", "admin", resolve(store, "HCK"), "token")
    with acting_as(hck):
        cases = _load(store, tmp_path, "cases",
                      "case_id;administration;unit;case_type;received\n"
                      "1;SOF;HCK1;SL100;2015-01-05\n"   # inside
                      "2;SOF;HCK;SL85;2015-01-06\n"     # inside
                      "3;BIF;JCA;KH;2015-01-07\n",      # another administration
                      "cases-2.csv")
        assert (cases.rows_loaded, _outside(cases)) == (2, [(4, "administration", "BIF")])
        assert cases.rejects[0]["reason"] == (
            "forvaltning (administration) ligger uden for dit område (HCK); du kan kun indlæse "
            "data for dit eget område")
        events = _load(store, tmp_path, "events",
                       "case_id;activity;at;unit\n"
                       "1;Modtaget;2015-01-05 09:00;HCK1\n"
                       "3;Modtaget;2015-01-07 09:00;JCA\n"
                       "1;Afgjort;2015-01-09 09:00;\n")  # no unit: not shown to be inside
        assert (events.rows_loaded, _outside(events)) == (
            1, [(3, "unit", "JCA"), (4, "unit", None)])
        # a case type belongs to a whole administration: outside a centre's scope
        types = _load(store, tmp_path, "case_types",
                      "code;name;administration;deadline\nSL1;Ny;SOF;4 uger\n", "types-2.csv")
        assert (types.rows_loaded, _outside(types)) == (0, [(2, "administration", "SOF")])
        org = _load(store, tmp_path, "organisation",
                    "code;name;parent;level\n"
                    "HCK2;Team Nord;HCK;enhed\n"                # a new unit under the own centre
                    "JCA2;Team;JCA;enhed\n"                     # under another centre
                    "SOF;Socialforvaltningen 2;KK;forvaltning\n",  # a node outside
                    "org-2.csv")
        assert (org.rows_loaded, _outside(org)) == (1, [(3, "parent", "JCA"), (4, "code", "SOF")])
    # the operator (the CLI) writes everywhere
    whole = _load(store, tmp_path, "events", "case_id;activity;at;unit\n"
                  "3;Modtaget;2015-01-07 09:00;JCA\n", "events-2.csv")
    assert (whole.rows_loaded, whole.rejects) == (1, [])


def test_an_administration_imports_its_units_and_definitions(store, tmp_path):
    _load(store, tmp_path, "organisation", ORGANISATION)
    bif = Principal("token:bif", "admin", resolve(store, "BIF"), "token")
    with acting_as(bif):
        types = _load(store, tmp_path, "case_types", CASE_TYPES)
        assert (types.rows_loaded, _outside(types)) == (
            1, [(2, "administration", "SOF"), (3, "administration", "SOF")])
        org = _load(store, tmp_path, "organisation",
                    "code;name;parent;level\nJCA1;Team Amager;JCA;enhed\n"
                    "BIF;Beskæftigelsesforvaltningen;KK;forvaltning\n", "org-2.csv")
        # a new unit under its centre is inside; the administration node itself hangs under
        # the municipality, outside the administration's scope
        assert (org.rows_loaded, _outside(org)) == (1, [(3, "parent", "KK")])
