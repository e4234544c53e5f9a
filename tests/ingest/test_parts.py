"""An import reads, checks and stages its file in parts (bounded memory): whatever the size of
the parts, the batch is the one a single read gives — rows loaded, rejects with the file's row
numbers, ids unique across parts, coverage, versions — and a failure in a late part leaves the
store as it was."""

from __future__ import annotations

import polars as pl
import pytest

from sagsindsigt.ingest import ImportError_, import_file, read
from sagsindsigt.settings import Settings

from ..conftest import load_case_types, make_store
from .test_import import MAPPING, MESSY, TODAY


def _load(store, tmp_path, settings, name="sof_udtraek.csv", text=MESSY, progress=None):
    path = tmp_path / name
    path.write_bytes(text.encode("cp1252"))
    mapping = tmp_path / "sofus.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return import_file(store, "cases", path, mapping=mapping, today=TODAY, settings=settings,
                       progress=progress)


def _state(store, result):
    rejects = [{k: v for k, v in r.items() if k != "batch"} for r in result.rejects]
    cases = (store.run(store.table("cases")).drop("_batch").sort("_key").to_dicts())
    return ((result.status, result.rows_read, result.rows_loaded, result.rows_unchanged,
             result.rows_rejected, result.covers, result.warnings), rejects, cases)


@pytest.fixture
def whole(store, tmp_path):
    """The same file loaded in one part into a store of the same engine."""
    (tmp_path / "whole").mkdir()
    other, close = make_store(store.backend, tmp_path / "whole")
    load_case_types(other, tmp_path / "whole", "SOF:SL100", "SOF:LAS81")
    r = _load(other, tmp_path / "whole", Settings())
    yield _state(other, r)
    close()


@pytest.mark.parametrize("rows", [2, 3])
def test_parts_give_the_batch_of_one_read(store, tmp_path, monkeypatch, whole, rows):
    # parts of at most 2 or 3 rows, read in blocks of 7 bytes: cut inside every line
    monkeypatch.setattr(read, "CSV_BLOCK", 7)
    load_case_types(store, tmp_path, "SOF:SL100", "SOF:LAS81")
    steps = []
    r = _load(store, tmp_path, Settings(import_chunk_rows=rows),
              progress=lambda name, done, total: steps.append((name, done, total)))
    assert _state(store, r) == whole
    # the progress bar moves part by part: 14 rows in parts of at most 2 or 3, and the end
    checked = [s for s in steps if s[0] == "kontrollerer"]
    assert len(checked) >= -(-14 // rows) + 1 and checked[-1][1] == checked[-1][2]
    counts, rejects, _ = whole
    assert counts[1:5] == (14, 3, 0, 11)
    # S-11 is on rows 13 and 14, in two parts: both rejected, naming the count in the file
    twice = {x["row"]: x["reason"] for x in rejects if "forekommer" in (x["reason"] or "")}
    assert set(twice) == {13, 14} and "forekommer 2 gange" in twice[13]


def test_a_late_failure_leaves_the_store_unchanged(store, tmp_path, monkeypatch):
    monkeypatch.setattr(read, "CSV_BLOCK", 16)
    load_case_types(store, tmp_path, "SOF:SL100", "SOF:LAS81")
    _load(store, tmp_path, Settings())
    before = {t: store.run(store.table(t)).height for t in ("cases", "batches", "rejects")}
    history = store.run(store.table("batches")).sort("id")
    # a newer extract whose last line has a field too many: read in parts of 2 rows, the
    # first parts are checked and staged before the reader meets it
    broken = MESSY.replace("S-1;SOF;HCK;SL100;03-02-2014", "S-1;SOF;HCK;SL100;04-02-2014") \
        + "S-13;SOF;SCK;LAS81;10-03-2014;;;;;x\r\n"
    with pytest.raises(ImportError_, match="linje 16 har 10 felter"):
        _load(store, tmp_path, Settings(import_chunk_rows=2), name="ny.csv", text=broken)
    assert {t: store.run(store.table(t)).height for t in before} == before
    assert store.run(store.table("batches")).sort("id").equals(history)


def test_the_engine_settings_come_back_after_an_import(store, tmp_path, monkeypatch):
    # the parts are staged on one engine thread, without insertion order (DuckDB): the
    # connection's settings are what they were after the import, and after a failed one
    if store.backend != "duckdb":
        pytest.skip("engine settings of DuckDB")
    monkeypatch.setattr(read, "CSV_BLOCK", 16)
    settings = ("threads", "preserve_insertion_order")
    e = store._engine

    def now():
        return e.query("SELECT " + ", ".join(f"current_setting('{s}')" for s in settings))[0]

    e.execute("SET threads = 3")
    before = now()
    load_case_types(store, tmp_path, "SOF:SL100", "SOF:LAS81")
    seen = []
    r = _load(store, tmp_path, Settings(import_chunk_rows=2),
              progress=lambda name, *_: seen.append(now()) if name == "kontrollerer" else 0)
    assert r.rows_read == 14 and now() == before
    assert seen[0][0] == 1  # one thread while the parts were staged
    with pytest.raises(ImportError_):
        _load(store, tmp_path, Settings(import_chunk_rows=2), name="ny.csv",
              text=MESSY + "S-13;SOF;SCK;LAS81;10-03-2014;;;;;x\r\n")
    assert now() == before


def test_same_file_again_and_a_newer_extract_in_parts(store, tmp_path, monkeypatch):
    monkeypatch.setattr(read, "CSV_BLOCK", 5)
    path = tmp_path / "sager.csv"
    rows = [f"C-{i},BIF,KH,2014-01-{1 + i % 28:02d},,,,{i:06d}-1234" for i in range(11)]
    head = "case_id,administration,case_type,received,decided,outcome,complete_on_receipt,citizen\n"
    load_case_types(store, tmp_path, "BIF:KH")
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    parts = Settings(import_chunk_rows=2)
    first = import_file(store, "cases", path, today=TODAY, settings=parts)
    assert (first.rows_loaded, first.rows_rejected) == (11, 0)
    again = import_file(store, "cases", path, today=TODAY, settings=parts)
    assert again.status == "allerede indlæst"
    rows[9] = rows[9].replace(",,,,", ",2014-02-01,bevilget,,")  # one case decided since
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    newer = import_file(store, "cases", path, today=TODAY, settings=parts)
    assert (newer.rows_loaded, newer.rows_unchanged, newer.rows_rejected) == (1, 10, 0)
    current = store.run(store.table("cases")).sort("case_id")
    assert current.height == 11
    assert current.filter(pl.col("case_id") == "C-9")["_version"].to_list() == [2]
    assert not current["citizen"].str.contains("1234").any()  # pseudonymised in every part
    # the content hash made as a part is staged is the store's hash of the stored values
    # (what a registration or a rehash computes), in the history and the current table
    from sagsindsigt.contract import get_kind

    formula = store._content_hash(get_kind("cases"))
    # the hashes of stores written before it was one concat: md5 over a chain of ||
    chained = "md5(" + " || '\x1f' || ".join(
        f"coalesce(CAST(\"{f.name}\" AS VARCHAR), '\\N')" for f in get_kind("cases").fields) + ")"
    for table in ("cases", "cases_history"):
        assert store._engine.query(
            f"SELECT count(*), count(CASE WHEN _hash = {formula} THEN 1 END), "
            f"count(CASE WHEN _hash = {chained} THEN 1 END) FROM {table}"
        )[0] == ((11, 11, 11) if table == "cases" else (12, 12, 12))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_blocks_read_as_the_whole_file(tmp_path, monkeypatch, encoding):
    text = 'navn;by;note\r\n' + ('"Åse";"Århus";"en\r\nlinje"\r\nØrsted;"a;b";"sagde ""ja"""'
                                  '\r\n\r\nBo;Ry;\r\n') * 3
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode(encoding))
    whole = read.read_csv(path)
    assert whole.height == 12 and whole["note"][0] == "en\nlinje"
    for block in (1, 2, 3, 11):
        monkeypatch.setattr(read, "CSV_BLOCK", block)
        for rows in (1, 2, 5):
            parts = list(read.csv_chunks(path, rows))
            assert all(p.height <= rows for p in parts)
            assert pl.concat(parts).equals(whole)


def test_an_importing_process_loads_neither_pandas_nor_ibis(tmp_path):
    """DuckDB's Python client imports pandas when it binds a parameter or is handed Arrow
    data, and Ibis's DuckDB backend imports it too: a second of CPU and 50 MB of every import
    (issue 16). An import of a CSV on DuckDB goes without them (parameters as literals, parts
    through Parquet files, the known codes read as rows)."""
    import subprocess
    import sys

    setup = f"""
from pathlib import Path
from sagsindsigt.store import open_store
from sagsindsigt.ingest import import_file
from sagsindsigt.settings import Settings
tmp = Path({str(tmp_path)!r})
(tmp / "typer.csv").write_text("code;name;administration\\nSL100;Hjælp;SOF\\n", encoding="utf-8")
import_file(open_store(str(tmp / "s.duckdb"), create=True), "case_types", tmp / "typer.csv",
            settings=Settings(secret="k" * 64))
"""
    script = f"""
import sys
from pathlib import Path
from sagsindsigt.store import open_store
from sagsindsigt.ingest import import_file
from sagsindsigt.settings import Settings
tmp = Path({str(tmp_path)!r})
(tmp / "sager.csv").write_text(
    "case_id;administration;case_type;received;citizen\\n"
    "1;SOF;SL100;31-03-2014;010203-1234\\n2;SOF;SL100;1.4.2014;\\n", encoding="utf-8")
r = import_file(open_store(str(tmp / "s.duckdb")), "cases", tmp / "sager.csv",
                settings=Settings(secret="k" * 64))
print(r.rows_loaded, r.rows_rejected, "pandas" in sys.modules, "ibis" in sys.modules)
"""
    subprocess.run([sys.executable, "-c", setup], check=True)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["2", "0", "False", "False"]
