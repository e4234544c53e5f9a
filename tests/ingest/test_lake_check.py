"""Lake check (issue 19, point 3): a lake exported from a real store checks clean; lakes
written by hand with pyarrow, with the quirks of other tools, are told with the import's
reasons, file and row. Real files, no mocks."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sagsindsigt.cli import main
from sagsindsigt.ingest import import_file
from sagsindsigt.ingest.lake_check import LakeUsage, check_lake
from sagsindsigt.store import lake
from tests.kpis.conftest import CASE_TYPES, CASES, COMPLAINTS, CONCEPT, EVENTS, RULES, TODAY

TYPES = [("A", "Enkeltydelse", "SOF"), ("B", "Handicapbil", "SOF")]


@pytest.fixture
def exported(duck, tmp_path):
    """The kpis tests' small town loaded through the importer, exported as a lake."""
    files = {"case_types": ("ct.csv", CASE_TYPES), "cases": ("cases.csv", CASES),
             "complaints": ("k.csv", COMPLAINTS), "timeliness_rules": ("rules.yaml", RULES),
             "events": ("events.csv", EVENTS), "concepts": ("concept.yaml", CONCEPT)}
    for kind, (name, text) in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        r = import_file(duck, kind, tmp_path / name, today=TODAY,
                        covers="2014" if kind in ("cases", "complaints") else None)
        assert r.rows_rejected == 0, r.rejects
    root = tmp_path / "lake"
    lake.export(duck, root)
    return root


def table(result, name):
    return next(t for t in result.tables if t.table == name)


def reasons(t) -> list[str]:
    return [f"{r['file']}, række {r['row']}, felt {r['field']}: {r['reason']}" for r in t.bad]


def write(root, rel, data: dict, schema=None):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def foreign(tmp_path, cases: dict, manifest=False):
    """A lake another tool wrote: case types and cases only, without the store's columns."""
    root = tmp_path / "foreign"
    write(root, "case_types/part-0.parquet",
          {"code": [t[0] for t in TYPES], "name": [t[1] for t in TYPES],
           "administration": [t[2] for t in TYPES]})
    write(root, "cases/part-0.parquet", cases)
    if manifest:
        lake.write_manifest(root, {})
    return root


def test_an_exported_lake_checks_clean(exported):
    result = check_lake(exported, today=TODAY)
    assert result.errors == 0, [(t.table, t.findings, t.bad) for t in result.tables]
    cases = table(result, "cases")
    assert (cases.rows, cases.bad_rows, cases.files) == (8, 0, 3)  # SOF 2014, BIF 2013/2014
    assert table(result, "events").rows == 8
    assert result.manifest["format"] == lake.FORMAT
    # an exported lake has every table; an empty one is said to be empty, not an error
    assert any("tom" in f.text for f in table(result, "volumes").findings)
    assert not any(f.level == "fejl" for t in result.tables for f in t.findings)


def test_a_lake_without_manifest_is_checked_with_a_warning(exported):
    (exported / lake.MANIFEST).unlink()
    result = check_lake(exported, today=TODAY)
    assert result.errors == 0
    assert result.manifest is None
    assert any(f.level == "advarsel" and "_lake.json" in f.text for f in result.findings)


def test_manifest_of_another_format_and_rows_not_in_the_folder(exported):
    doc = json.loads((exported / lake.MANIFEST).read_text(encoding="utf-8"))
    doc["tables"]["cases"]["rows"] = 9
    doc["version"] = 7
    (exported / lake.MANIFEST).write_text(json.dumps(doc), encoding="utf-8")
    result = check_lake(exported, today=TODAY)
    assert any("version" in f.text for f in result.findings if f.level == "fejl")
    assert any("siger 9 rækker" in f.text for f in table(result, "cases").findings)
    assert result.errors == 2


def test_a_bad_administration_folder_rejects_its_rows(exported):
    src = next((exported / "cases" / "administration=BIF").rglob("*.parquet"))
    dst = exported / "cases" / "administration=XYZ" / "year=2014" / "part-0.parquet"
    dst.parent.mkdir(parents=True)
    shutil.move(src, dst)
    result = check_lake(exported, today=TODAY)
    cases = table(result, "cases")
    assert cases.bad_rows == 1
    (line,) = [r for r in reasons(cases) if "administration" in r]
    assert line.startswith("cases/administration=XYZ/year=2014/part-0.parquet, række 1, felt "
                           "administration: 'XYZ' er ikke en kendt værdi for forvaltning")


def test_a_year_folder_that_does_not_hold_the_rows_year(exported):
    src = next((exported / "cases" / "administration=BIF").glob("year=2013/*.parquet"))
    dst = exported / "cases" / "administration=BIF" / "year=2015" / "part-9.parquet"
    dst.parent.mkdir(parents=True)
    shutil.move(src, dst)
    cases = table(check_lake(exported, today=TODAY), "cases")
    assert cases.bad_rows == 1
    assert "ligger ikke i året 2015 fra mappen year=2015" in reasons(cases)[0]


def test_missing_required_column_code_not_in_list_and_cpr_masked(tmp_path):
    root = tmp_path / "foreign"
    write(root, "complaints/administration=SOF/year=2014/part-0.parquet", {
        "complaint_id": ["k1", "k2", "k3"],
        "received": [date(2014, 2, 1), date(2014, 2, 3), date(2014, 3, 1)],
        "outcome": ["medhold", "vundet", "Ikke medhold"],
        "summary": ["ok", "borgeren 010203-1234 ringede", None]})
    result = check_lake(root, today=TODAY)
    complaints = table(result, "complaints")
    assert any(f.level == "fejl" and "mangler kolonnen for klagetype (kind)" in f.text
               for f in complaints.findings)
    lines = reasons(complaints)
    assert complaints.bad_rows == 2
    f = "complaints/administration=SOF/year=2014/part-0.parquet"
    assert f"{f}, række 2, felt outcome: 'vundet' er ikke en kendt værdi for udfald" in \
        lines[0]
    assert any(line.startswith(f"{f}, række 2, felt summary: feltet resumé (summary) "
                               "indeholder et CPR-nummer") for line in lines)
    # the import reads a label; the engines read the code
    assert any(line.startswith(f"{f}, række 3, felt outcome: 'Ikke medhold' skal stå som "
                               "'ikke_medhold'") for line in lines)
    shown = json.dumps(result.as_dict(), ensure_ascii=False)
    assert "010203-1234" not in shown and "XXXXXX-XXXX" in shown
    # no manifest, no store columns: said, not failed for
    assert any("_lake.json" in f.text for f in result.findings)
    assert any("_source" in f.text and f.level == "note" for f in complaints.findings)
    assert not table(result, "reviews").present
    assert "Kvalitetsopfølgning" in table(result, "reviews").findings[0].text or \
        "nøgletallene" in table(result, "reviews").findings[0].text


def test_text_dates_the_import_reads_and_those_it_does_not(tmp_path):
    root = foreign(tmp_path, {
        "case_id": ["c1", "c2", "c3", "c4"], "administration": ["SOF"] * 4,
        "case_type": ["A", "A", "B", "Z"],
        "received": ["2014-01-06", "31-02-2014", "06-01-2014", "2014-01-07"],
        "decided": ["2014-01-20", None, None, "2014-01-01"]}, manifest=True)
    cases = table(check_lake(root, today=TODAY), "cases")
    lines = reasons(cases)
    f = "cases/part-0.parquet"
    assert f"{f}, række 2, felt received: '31-02-2014' er ikke en gyldig dato; skriv den som " \
        "2014-03-31 eller 31-03-2014" in lines
    assert any(line.startswith(f"{f}, række 3, felt received: '06-01-2014' kan læses af "
                               "importen, men ikke af motorerne") for line in lines)
    # the lake's own case types: Z is none of SOF's; decided before received
    assert any(line.startswith(f"{f}, række 4, felt case_type: sagstypen 'Z' findes ikke")
               for line in lines)
    assert any("række 4, felt decided: afgjort (decided) 01-01-2014 ligger før modtaget"
               in line for line in lines)
    assert cases.bad_rows == 3


def test_duplicate_keys_within_a_source_across_files(tmp_path):
    root = foreign(tmp_path, {
        "_source": ["bif", "bif", "sof"], "case_id": ["c1", "c2", "c1"],
        "administration": ["SOF"] * 3, "case_type": ["A"] * 3,
        "received": [date(2014, 1, 6)] * 3})
    write(root, "cases/part-1.parquet", {
        "_source": ["bif"], "case_id": ["c1"], "administration": ["SOF"], "case_type": ["A"],
        "received": [date(2014, 1, 8)]})
    cases = table(check_lake(root, today=TODAY), "cases")
    assert cases.bad_rows == 2  # c1 of bif twice; c1 of sof is another record
    assert reasons(cases) == [
        "cases/part-0.parquet, række 1, felt case_id: sags-id 'c1' forekommer 2 gange i "
        "samme kilde (_source); id'et skal være entydigt",
        "cases/part-1.parquet, række 1, felt case_id: sags-id 'c1' forekommer 2 gange i "
        "samme kilde (_source); id'et skal være entydigt"]
    cases = table(check_lake(root, limit=0, today=TODAY), "cases")
    assert (cases.bad_rows, cases.bad) == (2, [])


def test_all_bad_rows_counted_the_first_listed(tmp_path):
    n = 50
    root = foreign(tmp_path, {"case_id": [f"c{i}" for i in range(n)],
                              "administration": ["SOF"] * n, "case_type": ["A"] * n,
                              "received": [None] * n})
    cases = table(check_lake(root, limit=5, today=TODAY), "cases")
    assert cases.bad_rows == n and cases.rows == n
    assert [r["row"] for r in cases.bad] == [1, 2, 3, 4, 5]
    assert cases.bad[0]["reason"] == "feltet modtaget (received) er tomt"


def test_an_empty_table_and_columns_of_an_unreadable_type(tmp_path):
    root = foreign(tmp_path, {"case_id": ["c1"], "administration": ["SOF"],
                              "case_type": ["A"], "received": [date(2014, 1, 6)],
                              "decided": [[1, 2]], "extra": ["x"]})
    write(root, "reviews/part-0.parquet", {"round": [], "concept": []},
          schema=pa.schema([("round", pa.string()), ("concept", pa.string())]))
    result = check_lake(root, today=TODAY)
    reviews = table(result, "reviews")
    assert reviews.present and reviews.rows == 0 and reviews.bad_rows == 0
    assert any("tom" in f.text for f in reviews.findings)
    cases = table(result, "cases")
    texts = [f.text for f in cases.findings]
    assert any("afgjort (decided) har typen list<" in t for t in texts), texts
    assert any("Ukendte kolonner læses ikke: extra" in t for t in texts)
    assert any("due, benefit_area" in t or "benefit_area, due" in t for t in texts)
    (root / "cases" / "part-9.parquet").write_bytes(b"PAR1 ikke parquet")
    cases = table(check_lake(root, today=TODAY), "cases")
    assert any(f.level == "fejl" and "Filen cases/part-9.parquet kan ikke læses som Parquet"
               in f.text for f in cases.findings)


def test_types_other_tools_write(tmp_path):
    """Spark's and pandas' types: a timestamp in nanoseconds with a zone, 32-bit integers,
    dictionary-encoded text; an event's key compared in UTC."""
    root = tmp_path / "spark"
    at = [datetime(2014, 3, 3, 10, tzinfo=UTC), datetime(2014, 3, 3, 11, tzinfo=UTC),
          datetime(2014, 3, 4, 11, tzinfo=UTC), datetime(2014, 3, 4, 11, tzinfo=UTC)]
    write(root, "events/year=2014/part-0.parquet", {
        "case_id": pa.array(["c1", "c1", "c2", "c2"]).dictionary_encode(),
        "activity": ["a", "b", "a", "a"], "at": pa.array(at, pa.timestamp("ns", tz="UTC"))})
    write(root, "volumes/administration=SOF/year=2014/part-0.parquet", {
        "period_start": [date(2014, 1, 1), date(2014, 2, 1)],
        "period_end": ["2014-01-31", "2014-01-01"],
        "cases_received": pa.array([10, 20], pa.int32())})
    result = check_lake(root, today=TODAY)
    events, volumes = table(result, "events"), table(result, "volumes")
    assert events.bad_rows == 2
    assert events.bad[0]["reason"] == ("sags-id 'c2/a/2014-03-04 11:00:00.000000/' forekommer 2 "
                                       "gange i tabellen; id'et skal være entydigt")
    assert [(r["row"], r["field"]) for r in volumes.bad] == [(2, "period_end")]
    assert volumes.bad[0]["reason"].startswith("periodeslut (period_end) 01-01-2014 ligger før")


def test_not_a_lake(tmp_path):
    with pytest.raises(LakeUsage, match="findes ikke"):
        check_lake(tmp_path / "nowhere")
    (tmp_path / "some").mkdir()
    with pytest.raises(LakeUsage, match="er ikke en datasø"):
        check_lake(tmp_path / "some")


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_exit_codes_and_json(exported, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "lake", "check", str(exported))
    assert code == 0, out + err
    assert "cases: 8 rækker kontrolleret i 3 filer, 0 med fejl." in out
    assert "Datasøen følger datakontrakten." in out
    assert not (tmp_path / "sagsindsigt.duckdb").exists()  # no database opened or created

    write(exported, "cases/administration=SOF/year=2014/part-1.parquet", {
        "case_id": [f"x{i}" for i in range(3)], "unit": ["SCK"] * 3, "case_type": ["A"] * 3,
        "received": ["2014-02-30", "2014-02-01", "2014-02-02"],
        "outcome": ["forkert", "forkert", "afslag"]})
    code, out, _ = run(capsys, "lake", "check", str(exported), "--limit", "1")
    assert code == 3
    assert ("  cases/administration=SOF/year=2014/part-1.parquet, række 1, felt received: "
            "'2014-02-30' er ikke en gyldig dato") in out
    assert "... og 1 række mere med fejl" in out
    assert "_lake.json siger 8 rækker, men mappen har 11" in out  # written beside the export
    code, out, _ = run(capsys, "lake", "check", str(exported), "--format", "json")
    assert code == 3
    doc = json.loads(out)
    cases = next(t for t in doc["tables"] if t["table"] == "cases")
    assert not doc["ok"] and cases["bad_rows"] == 2 and cases["rows"] == 11
    assert {r["field"] for r in cases["bad"]} == {"received", "outcome"}
    # usage errors: one Danish sentence, exit code 2
    code, _, err = run(capsys, "lake", "check", str(tmp_path / "mangler"))
    assert code == 2 and "findes ikke" in err and "Traceback" not in err
    code, _, err = run(capsys, "lake", "check", str(tmp_path), "--limit", "-1")
    assert code == 2
