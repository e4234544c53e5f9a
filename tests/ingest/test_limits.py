"""Hostile and broken files (issue 20, points 6 and 10): the import limits, encodings, and one
Danish sentence for every file a library cannot read. Nothing is written when a file is
refused."""

from __future__ import annotations

import json
import struct
import threading
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest

from sagsindsigt.ingest import ImportError_, import_file
from sagsindsigt.settings import Settings

from ..test_privacy import _all_text

TODAY = date(2015, 6, 30)
HEADER = "complaint_id;administration;received;kind;summary\n"
GOOD = "K1;BIF;2014-01-02;realitet;Klage over afgørelse på ærinde\n"
# English words of the libraries' messages (polars, calamine, PyYAML, json), never shown
ENGLISH = ("found", "Schema", "could not", "error", "expected", "calamine", "EOCD",
           "Consider", "while", "Expecting", "invalid", "parse")


def _nothing_written(store) -> None:
    for table in ("batches", "rejects", "complaints", "complaints_history"):
        assert store._engine.query(f"SELECT count(*) FROM {table}")[0][0] == 0, table


def _danish(message: str, name: str) -> None:
    assert name in message, message
    assert not [w for w in ENGLISH if w.lower() in message.lower()], message


# -- an Excel zip bomb ---------------------------------------------------------------------
_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
               b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_ROW = b'<row><c t="inlineStr"><is><t>x</t></is></c><c t="inlineStr"><is><t>y</t></is></c></row>'
_PARTS = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="Ark1" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>',
}


def _bomb(path: Path) -> Path:
    """A real 2 MB XLSX whose one sheet unpacks to 600 MB (7 million rows: calamine alone
    takes 1,4 GB for it, the importer used to take 5,7 GB and store a reject per row)."""
    chunk = _ROW * ((1 << 20) // len(_ROW))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write(_SHEET_HEAD + _ROW.replace(b">x<", b">complaint_id<"))
            for _ in range(600):
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")
    return path


def _understated(bomb: Path, path: Path) -> Path:
    """The same bomb with a directory that says the sheet unpacks to 1 MB (the reader does
    not look at the directory; a check that only read it would let this through)."""
    data = bytearray(bomb.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    struct.pack_into("<I", data, central + 24, 1 << 20)
    local = data.find(b"PK\x03\x04" + data[central + 6:central + 10])
    while data[local + 30:local + 30 + len(name)] != name:
        local = data.find(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", data, local + 22, 1 << 20)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(name.decode()).file_size == 1 << 20
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bomb")
    bomb = _bomb(d / "klager.xlsx")
    assert 1.5e6 < bomb.stat().st_size < 2.5e6
    return bomb, _understated(bomb, d / "klager-skjult.xlsx")


def _peak_rss_growth(fn) -> tuple[float, object]:
    """The growth of the process's resident memory (MB) while ``fn`` runs, sampled every 5 ms
    from /proc (Rust's allocations included, which tracemalloc does not see)."""
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    base, peak, done = rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    t = threading.Thread(target=sample)
    t.start()
    try:
        try:
            out = fn()
        except Exception as exc:  # the refusal is the result
            out = exc
    finally:
        done.set()
        t.join()
    return (max(peak[0], rss()) - base) / 2**20, out


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_a_zip_bomb_is_refused_in_bounded_memory_and_time(store, bombs):
    for bomb, says in zip(bombs, ("zip-bombe", "beskadiget"), strict=True):
        started = time.perf_counter()
        grew, out = _peak_rss_growth(lambda b=bomb: import_file(store, "complaints", b,
                                                                today=TODAY))
        seconds = time.perf_counter() - started
        assert isinstance(out, ImportError_), out
        _danish(str(out), bomb.name)
        assert says in str(out)
        assert grew < 200, f"{bomb.name}: {grew:.0f} MB"
        assert seconds < 20
        print(f"{bomb.name}: refused in {seconds:.2f} s, resident memory +{grew:.0f} MB")
    _nothing_written(store)


def test_unpacked_size_limit(duck, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["complaint_id"])
    for i in range(60_000):  # a sheet of about 1,5 MB unpacked
        wb.active.append([f"K{i}"])
    path = tmp_path / "klager.xlsx"
    wb.save(path)
    with pytest.raises(ImportError_) as e:
        import_file(duck, "complaints", path, settings=Settings(import_max_unzipped_mb=1))
    _danish(str(e.value), "klager.xlsx")
    assert "udpakket" in str(e.value) and "SAGSINDSIGT_IMPORT_MAX_UNZIPPED_MB" in str(e.value)


# -- file size, rows, field length, rejected rows ------------------------------------------
def test_file_over_the_size_limit_is_refused(duck, tmp_path):
    path = tmp_path / "klager.csv"
    path.write_text(HEADER + GOOD * 40_000, encoding="utf-8")  # 2,2 MB
    with pytest.raises(ImportError_) as e:
        import_file(duck, "complaints", path, settings=Settings(import_max_file_mb=1),
                    today=TODAY)
    assert str(e.value) == (
        "Filen klager.csv er større end de 1 MB, som højst kan indlæses på én gang "
        "(SAGSINDSIGT_IMPORT_MAX_FILE_MB); del den op i flere filer.")
    _nothing_written(duck)


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "jsonl", "parquet"])
def test_file_over_the_row_limit_is_refused(duck, tmp_path, suffix):
    import polars as pl

    rows = [{"complaint_id": f"K{i}", "administration": "BIF", "received": "2014-01-02",
             "kind": "realitet"} for i in range(5)]
    path = tmp_path / f"klager.{suffix}"
    if suffix == "csv":
        pl.DataFrame(rows).write_csv(path, separator=";")
    elif suffix == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.append(list(rows[0]))
        for r in rows:
            wb.active.append(list(r.values()))
        wb.save(path)
    elif suffix == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        pl.DataFrame(rows).write_parquet(path)
    with pytest.raises(ImportError_) as e:
        import_file(duck, "complaints", path, settings=Settings(import_max_rows=4),
                    today=TODAY)
    assert str(e.value) == (
        f"Filen klager.{suffix} har flere end 4 rækker, det højeste antal i én fil "
        "(SAGSINDSIGT_IMPORT_MAX_ROWS); del den op i flere filer.")
    _nothing_written(duck)
    r = import_file(duck, "complaints", path, settings=Settings(import_max_rows=5), today=TODAY)
    assert r.rows_loaded == 5


def test_a_50_mb_field_rejects_its_row_and_is_not_stored(store, tmp_path):
    path = tmp_path / "klager.csv"
    huge = "Q" * 50_000_000
    path.write_text(HEADER + GOOD + f"K2;BIF;2014-01-03;realitet;{huge}\n"
                    + f"K3;BIF;2014-01-04;{huge[:40_000]};x\n", encoding="utf-8")
    del huge
    r = import_file(store, "complaints", path, today=TODAY)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 1, 2)
    reasons = {(x["row"], x["field"]): (x["value"], x["reason"]) for x in r.rejects}
    assert reasons[(3, "summary")] == (None, (
        "feltet resumé (summary) har 50.000.000 tegn, mere end de højst 32.767 "
        "(SAGSINDSIGT_IMPORT_MAX_FIELD_CHARS); værdien er ikke gemt"))
    assert reasons[(4, "kind")][1].startswith("feltet klagetype (kind) har 40.000 tegn")
    texts = _all_text(store)
    assert max(len(t) for t in texts) < 1000
    assert not [t for t in texts if "QQQQQQQQQQ" in t]
    records = store._engine.query("SELECT record FROM rejects WHERE row = 3")
    assert json.loads(records[0][0])["summary"] == "(50.000.000 tegn; ikke gemt)"


def test_a_nul_character_rejects_its_row(store, tmp_path):
    path = tmp_path / "klager.jsonl"
    path.write_text(json.dumps({"complaint_id": "K1", "administration": "BIF",
                                "received": "2014-01-02", "kind": "realitet",
                                "summary": "a\u0000b"}) + "\n", encoding="utf-8")
    r = import_file(store, "complaints", path, today=TODAY)
    assert r.rows_rejected == 1 and "NUL-tegn" in r.rejects[0]["reason"]


def test_above_the_reject_cap_nothing_is_written(store, tmp_path):
    path = tmp_path / "klager.csv"
    path.write_text(HEADER + GOOD + "".join(f"K{i};BIF;2014-13-01;realitet;x\n"
                                            for i in range(2, 12)), encoding="utf-8")
    with pytest.raises(ImportError_) as e:
        import_file(store, "complaints", path, settings=Settings(import_max_rejected_rows=9),
                    today=TODAY)
    assert str(e.value) == (
        "Filen klager.csv har 10 afviste rækker, flere end de 9, der højst gemmes for én fil "
        "(SAGSINDSIGT_IMPORT_MAX_REJECTED_ROWS), så intet er indlæst; første fejl: række 3, "
        "felt received: '2014-13-01' er ikke en gyldig dato; skriv den som 2014-03-31 eller "
        "31-03-2014.")
    _nothing_written(store)
    r = import_file(store, "complaints", path, settings=Settings(import_max_rejected_rows=10),
                    today=TODAY)
    assert (r.rows_loaded, r.rows_rejected) == (1, 10)


# -- encodings -----------------------------------------------------------------------------
TEXT = HEADER + GOOD + "K2;SOF;2014-01-03;formalitet;Øvrige forhold, Åbenrå\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le",
                                      "utf-16-be", "cp1252"])
def test_encodings_are_read(store, tmp_path, encoding):
    """UTF-16 (Excel's "Unicode-tekst", with or without a byte-order mark) and the
    Windows-1252 of a Danish Excel read as well as UTF-8."""
    path = tmp_path / "klager.csv"
    path.write_bytes(TEXT.encode(encoding))
    r = import_file(store, "complaints", path, today=TODAY)
    assert (r.rows_loaded, r.rows_rejected) == (2, 0), r.rejects
    got = store._engine.query("SELECT summary FROM complaints ORDER BY complaint_id")
    assert [g[0] for g in got] == ["Klage over afgørelse på ærinde",
                                   "Øvrige forhold, Åbenrå"]


def test_utf8_with_one_bad_byte_is_refused_naming_the_line(store, tmp_path):
    path = tmp_path / "klager.csv"
    path.write_bytes(TEXT.encode("utf-8").replace(b"K2", b"K\xe62"))
    with pytest.raises(ImportError_) as e:
        import_file(store, "complaints", path, today=TODAY)
    assert str(e.value) == (
        "Filen klager.csv er gemt som UTF-8, men linje 3 har en ugyldig byte (0xE6), så æ, ø "
        "og å ville blive læst forkert; ret linjen, eller gem filen igen som UTF-8.")
    _nothing_written(store)


def test_a_broken_utf16_file_is_refused_naming_the_line(duck, tmp_path):
    path = tmp_path / "klager.csv"
    path.write_bytes(TEXT.encode("utf-16") + b"\x00")  # an odd number of bytes
    with pytest.raises(ImportError_) as e:
        import_file(duck, "complaints", path, today=TODAY)
    assert "er gemt som UTF-16, men linje 4 har en ugyldig byte" in str(e.value)


# -- library errors as Danish sentences ----------------------------------------------------
def _xlsx_members(path: Path, sheet: bytes | None) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        if sheet is not None:
            z.writestr("xl/worksheets/sheet1.xml", sheet)


BROKEN = {
    "mere.csv": (HEADER + GOOD + "K2;BIF;2014-01-03;realitet;x;y\n",
                 "linje 3 har 6 felter, men overskriftsrækken har 5"),
    "citat.csv": (HEADER + 'K2;BIF;2014-01-03;real"itet;x\n',
                  'linje 2 har et anførselstegn (") inde i en værdi'),
    "aaben.csv": (HEADER + 'K2;BIF;"2014-01-03;realitet;x\nK3;BIF;2014-01-03;realitet;x\n',
                  'en værdi i anførselstegn (") på linje 2 slutter ikke rigtigt'),
    "tekst.xlsx": ("complaint_id;administration\n", "kan ikke læses som Excel"),
    "uden-ark.xlsx": (None, "Arket 'Ark1' i filen uden-ark.xlsx kan ikke læses"),
    "ark.xlsx": (_SHEET_HEAD + b"<row><c", "Arket 'Ark1' i filen ark.xlsx kan ikke læses"),
    "klager.parquet": ("PAR1 ikke parquet", "kan ikke læses som Parquet"),
    "klager.jsonl": ('{"complaint_id": "K1"}\n{"complaint_id": \n', "linje 2, tegn 18"),
    "klager.yaml": ("- complaint_id: K1\n  summary: [\n", "er ikke gyldig YAML (linje 3)"),
    "dobbelt.csv": ("complaint_id;COMPLAINT_ID\nK1;K2\n",
                    "har flere kolonner for klage-id (complaint_id): 'complaint_id', "
                    "'COMPLAINT_ID'"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_gives_one_danish_sentence(duck, tmp_path, name):
    content, says = BROKEN[name]
    path = tmp_path / name
    if name in ("uden-ark.xlsx", "ark.xlsx"):
        _xlsx_members(path, content)
    elif name == "tekst.xlsx":
        path.write_text(content, encoding="utf-8")
    elif name == "klager.parquet":
        path.write_bytes(content.encode())
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportError_) as e:
        import_file(duck, "complaints", path, today=TODAY)
    _danish(str(e.value), name)
    assert says in str(e.value)
    assert str(e.value).count(".") >= 1 and "\n" not in str(e.value)


def test_a_broken_mapping_gives_one_danish_sentence(duck, tmp_path):
    path = tmp_path / "klager.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    mapping = tmp_path / "kilde.yaml"
    mapping.write_text("columns:\n  Klage: complaint_id\n   x: [\n", encoding="utf-8")
    with pytest.raises(ImportError_) as e:
        import_file(duck, "complaints", path, mapping=mapping, today=TODAY)
    _danish(str(e.value), "kilde.yaml")
    assert "er ikke gyldig YAML (linje 3)" in str(e.value)
    with pytest.raises(ImportError_) as e:
        import_file(duck, "complaints", path, mapping=tmp_path / "mangler.yaml", today=TODAY)
    assert str(e.value) == f"Mapping-filen {tmp_path / 'mangler.yaml'} findes ikke."
