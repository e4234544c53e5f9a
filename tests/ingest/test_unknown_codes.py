"""Unknown codes (issue 13, point 5): a case type not loaded for the case's administration, or
a unit the loaded organisation does not place under the row's administration, rejects the row
with a Danish reason, unless the mapping file allows unknown codes; then the rows load and the
import warns per code with the number of rows. On DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from sagsindsigt.complaints import RegistrationError, check
from sagsindsigt.ingest import ImportError_, import_file

TODAY = date(2015, 6, 30)
ORGANISATION = (
    "code;name;parent;level\r\n"
    "KK;Københavns Kommune;;kommune\r\n"
    "SOF;Socialforvaltningen;KK;forvaltning\r\n"
    "HCK;Handicapcenter København;SOF;center\r\n"
    "HCK1;Team Syd;HCK;enhed\r\n"
    "BIF;Beskæftigelses- og Integrationsforvaltningen;KK;forvaltning\r\n"
    "JCA;Jobcenter Amager;BIF;center\r\n"
    "TMF;Teknik- og Miljøforvaltningen;KK;forvaltning\r\n"
)
CASE_TYPES = (
    "code;name;administration;deadline\r\n"
    "SL100;Merudgifter til voksne;SOF;8 uger\r\n"
    "SL85;Socialpædagogisk støtte;SOF;6 uger\r\n"
    "KH;Kontanthjælp;BIF;4 uger\r\n"
)
MAPPING = """
source: sofus
columns:
  Sagsnr: case_id
  Forvaltning: administration
  Center: unit
  Sagstype: case_type
  Modtaget: received
codes:
  case_type: {"SL §100": SL100}
"""
CASES_HEADER = "Sagsnr;Forvaltning;Center;Sagstype;Modtaget\r\n"


def _file(tmp_path, name, text):
    """Extracts as Danish Excel saves them (cp1252); mapping files in UTF-8."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8" if name.endswith(".yaml") else "cp1252"))
    return path


@pytest.fixture
def mapping(tmp_path):
    return _file(tmp_path, "sofus.yaml", MAPPING)


def _load(store, tmp_path, mapping, kind, text, name=None, **kw):
    path = _file(tmp_path, name or f"{kind}.csv", text)
    return import_file(store, kind, path, mapping=mapping, today=TODAY, **kw)


def _reference(store, tmp_path, organisation=ORGANISATION):
    if organisation:
        assert _load(store, tmp_path, None, "organisation", organisation).rows_rejected == 0
    assert _load(store, tmp_path, None, "case_types", CASE_TYPES).rows_rejected == 0


def _reasons(result) -> dict[tuple[int, str], str]:
    return {(r["row"], r["field"]): r["reason"] for r in result.rejects}


def test_a_case_type_not_loaded_for_the_administration_rejects_the_case(store, tmp_path,
                                                                         mapping):
    _reference(store, tmp_path)
    r = _load(store, tmp_path, mapping, "cases", CASES_HEADER
              + "S-1;SOF;HCK;SL §100;03-02-2014\r\n"    # 2 ok, through the mapping
              + "S-2;SOF;HCK;XYZ;03-02-2014\r\n"        # 3 unknown everywhere
              + "S-3;BIF;JCA;SL100;03-02-2014\r\n"      # 4 SOF's case type on a BIF case
              + "S-4;TMF;;T1;03-02-2014\r\n"            # 5 no case types loaded for TMF
              + "S-5;SOF;HCK;sl100;03-02-2014\r\n")     # 6 codes are matched exactly
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (5, 1, 4)
    reasons = _reasons(r)
    assert set(reasons) == {(3, "case_type"), (4, "case_type"), (5, "case_type"),
                            (6, "case_type")}
    assert reasons[(3, "case_type")] == (
        "sagstypen 'XYZ' findes ikke blandt de indlæste sagstyper for Socialforvaltningen "
        "(SOF); indlæs den med 'sagsindsigt import case_types' eller oversæt koden i "
        "mapping-filen under codes: case_type")
    assert reasons[(4, "case_type")].startswith(
        "sagstypen 'SL100' findes ikke blandt de indlæste sagstyper for Beskæftigelses- og "
        "Integrationsforvaltningen (BIF), kun for Socialforvaltningen (SOF); indlæs den")
    assert reasons[(5, "case_type")] == (
        "sagstypen 'T1' kan ikke kendes, da der endnu ikke er indlæst sagstyper for Teknik- "
        "og Miljøforvaltningen (TMF); indlæs forvaltningens sagstyper med 'sagsindsigt import "
        "case_types' først")
    assert "'sl100'" in reasons[(6, "case_type")]
    assert [c for (c,) in store._engine.query("SELECT case_id FROM cases")] == ["S-1"]
    quarantined = store._engine.query("SELECT row, field, value FROM rejects ORDER BY row")
    assert quarantined[0] == (3, "case_type", "XYZ")


def test_case_types_are_required_even_without_any_loaded(store, tmp_path, mapping):
    r = _load(store, tmp_path, mapping, "cases", CASES_HEADER + "S-1;SOF;HCK;SL100;03-02-2014\r\n")
    assert r.rows_rejected == 1
    assert "endnu ikke er indlæst sagstyper for Socialforvaltningen (SOF)" in \
        _reasons(r)[(2, "case_type")]


def test_a_unit_not_in_the_organisation_rejects_the_row(store, tmp_path, mapping):
    _reference(store, tmp_path)
    r = _load(store, tmp_path, mapping, "cases", CASES_HEADER
              + "S-1;SOF;HCK;SL100;03-02-2014\r\n"      # 2 ok: a centre
              + "S-2;SOF;HCK1;SL100;03-02-2014\r\n"     # 3 ok: a unit below the centre
              + "S-3;SOF;;SL100;03-02-2014\r\n"         # 4 ok: no unit given
              + "S-4;SOF;NOPE;SL100;03-02-2014\r\n"     # 5 not in the organisation
              + "S-5;SOF;SOF;SL100;03-02-2014\r\n")     # 6 the administration is no unit
    assert (r.rows_loaded, r.rows_rejected) == (3, 2)
    reasons = _reasons(r)
    assert reasons[(5, "unit")] == (
        "enheden 'NOPE' findes ikke under Socialforvaltningen (SOF) i den indlæste "
        "organisation; tilføj den i organisationsfilen og indlæs den med 'sagsindsigt import "
        "organisation', eller oversæt koden i mapping-filen under codes: unit")
    assert "'SOF' findes ikke under Socialforvaltningen (SOF)" in reasons[(6, "unit")]


def test_a_unit_of_another_administration_is_rejected_in_every_kind(store, tmp_path, mapping):
    _reference(store, tmp_path)
    foreign = ("enheden 'JCA' hører til Beskæftigelses- og Integrationsforvaltningen (BIF) i "
               "den indlæste organisation, ikke til Socialforvaltningen (SOF); ret "
               "forvaltningen eller enheden, eller oversæt koden i mapping-filen under codes: "
               "unit")
    cases = _load(store, tmp_path, mapping, "cases", CASES_HEADER
                  + "S-1;SOF;JCA;SL100;03-02-2014\r\n" + "S-2;BIF;JCA;KH;03-02-2014\r\n")
    assert _reasons(cases) == {(2, "unit"): foreign} and cases.rows_loaded == 1
    volumes = _load(store, tmp_path, None, "volumes",
                    "administration;unit;period_start;period_end;cases_received\r\n"
                    "SOF;JCA;01-01-2014;31-12-2014;154.440\r\n"
                    "SOF;HCK;01-01-2014;31-12-2014;12\r\n")
    assert _reasons(volumes) == {(2, "unit"): foreign} and volumes.rows_loaded == 1
    complaints = _load(store, tmp_path, None, "complaints",
                       "complaint_id;administration;unit;received;kind\r\n"
                       "K1;SOF;JCA;02-01-2014;realitet\r\nK2;SOF;HCK1;02-01-2014;realitet\r\n")
    assert _reasons(complaints) == {(2, "unit"): foreign} and complaints.rows_loaded == 1


def test_the_complaint_registration_checks_units_the_same_way(store, tmp_path, mapping):
    _reference(store, tmp_path)
    record = {"complaint_id": "K-1", "administration": "SOF", "received": "2014-03-03",
              "kind": "formalitet"}
    assert check(store, {**record, "unit": "HCK"}, today=TODAY)["unit"] == "HCK"
    with pytest.raises(RegistrationError) as info:
        check(store, {**record, "unit": "JCA"}, today=TODAY)
    assert info.value.errors[0]["field"] == "unit"
    assert "hører til Beskæftigelses- og Integrationsforvaltningen (BIF)" in \
        info.value.errors[0]["reason"]


def test_units_are_not_checked_without_an_organisation(store, tmp_path, mapping):
    _reference(store, tmp_path, organisation=None)
    r = _load(store, tmp_path, mapping, "cases", CASES_HEADER
              + "S-1;SOF;HCK;SL100;03-02-2014\r\n" + "S-2;SOF;HVAD-SOM-HELST;SL100;03-02-2014\r\n")
    assert (r.rows_loaded, r.rows_rejected) == (2, 0)


def test_an_administration_without_units_in_the_organisation_is_not_checked(store, tmp_path,
                                                                            mapping):
    """The organisation names TMF but no unit under it: TMF's units are not checked. A unit
    the organisation places under another administration is still rejected."""
    _reference(store, tmp_path)
    r = _load(store, tmp_path, None, "complaints",
              "complaint_id;administration;unit;received;kind\r\n"
              "K1;TMF;T-NORD;02-01-2014;realitet\r\n"
              "K2;KFF;BIBLIOTEK;02-01-2014;realitet\r\n"
              "K3;TMF;HCK;02-01-2014;realitet\r\n")
    assert (r.rows_loaded, r.rows_rejected) == (2, 1)
    assert "hører til Socialforvaltningen (SOF)" in _reasons(r)[(4, "unit")]


def test_allow_unknown_keeps_the_rows_and_warns_with_the_count(store, tmp_path, mapping):
    _reference(store, tmp_path)
    allowing = _file(tmp_path, "tillad.yaml",
                     MAPPING + "allow_unknown: [case_type, unit]\n")
    r = _load(store, tmp_path, allowing, "cases", CASES_HEADER
              + "S-1;SOF;HCK;XYZ;03-02-2014\r\n"
              + "S-2;SOF;HCK;XYZ;04-02-2014\r\n"
              + "S-3;SOF;NOPE;XYZ;05-02-2014\r\n"
              + "S-4;SOF;NOPE;XYZ;31-02-2014\r\n")     # rejected for its date: not counted
    assert (r.rows_loaded, r.rows_rejected) == (3, 1)
    assert _reasons(r) == {(5, "received"): "'31-02-2014' er ikke en gyldig dato; skriv den "
                           "som 2014-03-31 eller 31-03-2014"}
    assert r.warnings == [
        "Ukendt sagstype 'XYZ' for Socialforvaltningen (SOF) i 3 rækker: den findes ikke "
        "blandt forvaltningens indlæste sagstyper, men mapping-filen tillader den under "
        "allow_unknown.",
        "Ukendt enhed 'NOPE' for Socialforvaltningen (SOF) i 1 række: den findes ikke under "
        "forvaltningen i den indlæste organisation, men mapping-filen tillader den under "
        "allow_unknown."]
    assert r.as_dict()["warnings"] == r.warnings
    # only the allowed field is let through
    only_units = _file(tmp_path, "enheder.yaml", MAPPING + "allow_unknown: unit\n")
    r = _load(store, tmp_path, only_units, "cases", CASES_HEADER
              + "S-9;SOF;NOPE;XYZ;03-02-2014\r\n", name="cases2.csv")
    assert r.rows_rejected == 1 and set(_reasons(r)) == {(2, "case_type")}
    assert r.warnings == []


@pytest.mark.parametrize("section", ["allow_unknown: [outcome]", "allow_unknown: {unit: ja}"])
def test_allow_unknown_names_only_case_type_and_unit(store, tmp_path, mapping, section):
    bad = _file(tmp_path, "forkert.yaml", MAPPING + section + "\n")
    with pytest.raises(ImportError_, match="kan under allow_unknown kun nævne case_type og unit"):
        _load(store, tmp_path, bad, "cases", CASES_HEADER + "S-1;SOF;HCK;SL100;03-02-2014\r\n")


def test_the_cli_prints_the_warnings_and_the_rejects(tmp_path, monkeypatch, capsys):
    from sagsindsigt.cli import main

    from ..test_cli import run

    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "cli.duckdb")
    _file(tmp_path, "sagstyper.csv", CASE_TYPES)
    _file(tmp_path, "sager.csv", CASES_HEADER + "S-1;SOF;HCK;SL100;03-02-2014\r\n"
          + "S-2;SOF;HCK;XYZ;03-02-2014\r\n")
    _file(tmp_path, "tillad.yaml", MAPPING + "allow_unknown: [case_type]\n")
    _file(tmp_path, "sofus.yaml", MAPPING)
    assert main(["--db", db, "init"]) == 0
    assert main(["--db", db, "import", "case_types", "sagstyper.csv"]) == 0
    code, out, err = run(capsys, "--db", db, "import", "cases", "sager.csv", "--mapping",
                         "sofus.yaml")
    assert code == 3 and "1 afvist" in out
    assert "sager.csv, række 3, felt case_type: sagstypen 'XYZ' findes ikke" in err
    code, out, err = run(capsys, "--db", db, "import", "cases", "sager.csv", "--mapping",
                         "tillad.yaml", "--source", "sofus-tilladt")
    assert code == 0 and "2 nye eller ændrede" in out and "0 afvist" in out
    assert "  Advarsel: Ukendt sagstype 'XYZ' for Socialforvaltningen (SOF) i 1 række" in err
