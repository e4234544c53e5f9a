"""Acceptance (e): after importing files full of CPR numbers, no CPR number is anywhere in the
store — records, history, quarantine, batch log — and none reaches an error message."""

from __future__ import annotations

import re
from datetime import date

from sagsindsigt.ingest import import_file
from sagsindsigt.privacy import mask_cpr

from .conftest import load_case_types

CPR = re.compile(r"(?<![0-9])[0-3][0-9][01][0-9][0-9]{2}[- ]?[0-9]{4}(?![0-9])")
TODAY = date(2015, 1, 1)


def _all_text(store) -> list[str]:
    out = []
    for table in store._engine.table_names():
        cols = store._engine.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND data_type IN ('VARCHAR', 'character varying', 'text')", [table])
        for (col,) in cols:
            if col != "_hash":  # a hex digest may hold ten digits in a row by chance
                out += [str(v) for (v,) in store._engine.query(f'SELECT "{col}" FROM "{table}"')]
    return out


def test_no_cpr_anywhere_after_import(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:A")
    (tmp_path / "cases.csv").write_text(
        "case_id;administration;unit;case_type;received;citizen\n"
        "0101801234;SOF;SCK;A;01-02-2014;010180-1234\n"
        "S-2;SOF;SCK 020280-2345;A;02-02-2014;020280 2345\n"
        "S-3;SOF;SCK;A;31-02-2014;030380-3456\n"            # rejected: bad date
        "S-4;SOF;SCK;A;01-02-2014;not a cpr 0404804567\n"
        "S-5;SOF;SCK;A;080880-8901;090980-9012\n", encoding="utf-8")  # a CPR as the date:
    # rejected, and the reason, which quotes the value, must not hold it either
    (tmp_path / "k.csv").write_text(
        "complaint_id;administration;received;kind;summary\n"
        "K1;BIF;2014-01-02;realitet;Borger 050580-5678 (cpr 0505805678) klagede\n"
        "K2;BIF;2014-13-02;realitet;Afvist række med 060680-6789\n", encoding="utf-8")
    (tmp_path / "e.csv").write_text(
        "case_id,activity,at,actor\nS-2,visiteret,2014-02-03,sagsbehandler 070780-7890\n",
        encoding="utf-8")
    for kind, name in (("cases", "cases.csv"), ("complaints", "k.csv"), ("events", "e.csv")):
        r = import_file(store, kind, tmp_path / name, today=TODAY)
        for rej in r.rejects:
            assert not CPR.search(str(rej))
    texts = _all_text(store)
    assert texts, "the scan found no text columns"
    leaks = [t for t in texts if CPR.search(t)]
    assert leaks == []
    assert store._engine.query("SELECT count(*) FROM rejects")[0][0] == 3
    pseudonyms = store._engine.query("SELECT citizen FROM cases ORDER BY case_id")
    assert all(p[0].startswith("p_") for p in pseudonyms)


def test_mask_cpr_shapes():
    assert mask_cpr("a 010180-1234 b 0101801234 c 010180 1234") == \
        "a XXXXXX-XXXX b XXXXXX-XXXX c XXXXXX-XXXX"
    assert mask_cpr("sag 2014-0067783 og tlf 33663366, beløb 12345678901") == \
        "sag 2014-0067783 og tlf 33663366, beløb 12345678901"


def test_mapped_citizen_column_is_hidden_in_quarantine(store, tmp_path):
    """A citizen id that is not CPR-shaped, in a column the mapping renames to citizen, must
    not reach the quarantined record of a rejected row in clear."""
    load_case_types(store, tmp_path, "SOF:A")
    (tmp_path / "m.yaml").write_text("columns:\n  Borger-id: citizen\n", encoding="utf-8")
    (tmp_path / "cases.csv").write_text(
        "case_id;administration;unit;case_type;received;Borger-id\n"
        "S-1;SOF;SCK;A;01-02-2014;B-778899\n"
        "S-2;SOF;SCK;A;31-02-2014;B-445566\n", encoding="utf-8")
    r = import_file(store, "cases", tmp_path / "cases.csv", mapping=tmp_path / "m.yaml",
                    today=TODAY)
    assert r.rows_rejected == 1
    stored = [str(v) for v in store._engine.query("SELECT * FROM rejects")[0]]
    assert not any("B-445566" in t for t in stored + [str(x) for x in r.rejects])
    assert any("(pseudonymiseret)" in t for t in stored)
    assert not any("B-778899" in t for t in _all_text(store))


def test_spelling_of_a_cpr_number_does_not_change_the_pseudonym(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:A")
    (tmp_path / "cases.csv").write_text(
        "case_id;administration;unit;case_type;received;citizen\n"
        "S-1;SOF;SCK;A;01-02-2014;010180-1234\n"
        "S-2;SOF;SCK;A;01-02-2014;0101801234\n"
        "S-3;SOF;SCK;A;01-02-2014; 010180 1234\n", encoding="utf-8")
    import_file(store, "cases", tmp_path / "cases.csv", today=TODAY)
    pseudonyms = {p for (p,) in store._engine.query("SELECT citizen FROM cases")}
    assert len(pseudonyms) == 1


def test_no_cpr_in_import_metadata(store, tmp_path, capsys, caplog):
    """Issue 20, point 5: a CPR number in the file name and in --source reaches no table (file,
    source, every row's _source, the quarantine), no output and no log line."""
    import logging

    from sagsindsigt.cli import main

    cpr = "".join(["0102", "03", "-", "1234"])  # built here: no CPR-shaped literal in sources
    path = tmp_path / f"klage-{cpr}.csv"
    path.write_text("complaint_id;administration;received;kind\n"
                    "K1;BIF;2014-01-02;realitet\nK2;BIF;2014-13-02;realitet\n",
                    encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    code = main(["--db", store.url, "import", "complaints", str(path),
                 "--source", f"kilde {cpr}"])
    out = capsys.readouterr()
    assert code == 3, out.err  # one row rejected, and printed with its file name
    assert "klage-XXXXXX-XXXX.csv, række 3" in out.err
    assert "kilde XXXXXX-XXXX" in out.out
    leaks = [t for t in _all_text(store) + [out.out, out.err, caplog.text] if CPR.search(t)]
    assert leaks == []
    assert store._engine.query("SELECT source, file FROM batches") == [
        ("kilde XXXXXX-XXXX", "klage-XXXXXX-XXXX.csv")]
    assert store._engine.query("SELECT DISTINCT _source FROM complaints_history") == [
        ("kilde XXXXXX-XXXX",)]
    assert store._engine.query("SELECT file FROM rejects") == [("klage-XXXXXX-XXXX.csv",)]
    # the same file again is the same batch: identity is (masked source, key)
    code = main(["--db", store.url, "import", "complaints", str(path),
                 "--source", f"kilde {cpr}"])
    assert code == 0 and "allerede indlæst" in capsys.readouterr().out


def test_pseudonyms_are_the_hmac_sha256_of_the_normalised_id():
    """The pre-keyed HMAC (the key's padded blocks hashed once) gives the bytes Python's
    hmac gives, for keys shorter than, as long as and longer than SHA-256's block, and for
    ids of any length and alphabet: stored pseudonyms stay the same."""
    import hashlib
    import hmac

    from sagsindsigt.privacy import Pseudonymiser

    ids = ["010203-1234", "0102031234", "", "æøå ÆØÅ", "x" * 200, "12345678901234567890"]
    for key in (b"k", b"a" * 63, secrets_hex(), b"b" * 65, "nøgle".encode() * 40):
        p = Pseudonymiser(key)
        for v in ids:
            want = "p_" + hmac.new(key, v.replace("-", "").replace(" ", "").encode(),
                                   hashlib.sha256).hexdigest()[:32]
            assert p(v) == want


def secrets_hex() -> bytes:
    import secrets

    return secrets.token_hex(32).encode()  # the instance secret's form: 64 bytes
