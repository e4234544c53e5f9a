"""Read a file as the case systems really export it, into a table of strings.

Every value arrives as text (or null), so that parsing and validation happen in one place with
one set of Danish messages. Row numbers are those a person sees when opening the file: for CSV
and XLSX the header is row 1 and the first record row 2; for JSON Lines and YAML, the record's
position counted from 1.

The limits of ``settings.py`` (``import_max_*``) are checked before a reader gets the file: its
size, an Excel file's size unpacked and its packing ratio, and its rows. Every refusal, like
every file a library cannot read, is one Danish sentence naming the file; a file name is shown
with CPR-shaped numbers masked (``shown_name``).
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import re
import zipfile
import zlib
from pathlib import Path

import polars as pl
import yaml

from ..danish import number
from ..privacy import mask_cpr
from ..settings import Settings

ROW = "_row"
MB = 1 << 20


class ReadError(ValueError):
    """A file that cannot be read at all, told in one Danish sentence."""


class TooLarge(ReadError):
    """A file over the size limit (``import_max_file_mb``); the web answers 413."""


def shown_name(path: Path | str) -> str:
    """A file's name as it is stored, logged and shown: CPR-shaped numbers masked."""
    return mask_cpr(Path(path).name)


def too_large(name: str, settings: Settings) -> TooLarge:
    return TooLarge(
        f"Filen {name} er større end de {number(settings.import_max_file_mb)} MB, som højst kan "
        "indlæses på én gang (SAGSINDSIGT_IMPORT_MAX_FILE_MB); del den op i flere filer.")


def check_size(path: Path, settings: Settings) -> None:
    if path.is_file() and path.stat().st_size > settings.import_max_file_mb * MB:
        raise too_large(shown_name(path), settings)


# -- encodings -------------------------------------------------------------------------------
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))
# A well-formed multi-byte UTF-8 sequence (RFC 3629), which a Windows-1252 text almost never
# holds by chance: a capital letter from À to ß followed by a character from € to ¿.
_UTF8_MULTI = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_ASCII = bytes(range(128))


def decode(data: bytes, name: str) -> str:
    """The text of a file. A byte-order mark decides (UTF-8, UTF-16, UTF-32); a text whose every
    other byte is NUL is UTF-16 without one; else UTF-8; else Windows-1252 (what Danish Excel
    exports). A file that is mostly valid UTF-8 (at least as many well-formed multi-byte
    sequences as bad bytes) is a damaged UTF-8 file: it is refused with the line of its first
    bad byte, never read as Windows-1252 (which would store æ as Ã¦)."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            return _strict(data[len(bom):], codec, label, name)
    utf16 = _utf16_without_bom(data)
    if utf16:
        return _strict(data, utf16, "UTF-16", name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        rest, valid = _UTF8_MULTI.subn(b"", data)
        if valid >= len(rest.translate(None, _ASCII)):
            raise _bad_byte(data, exc, "UTF-8", name) from None
    return data.decode("cp1252", errors="replace")


def _strict(data: bytes, codec: str, label: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _bad_byte(data, exc, label, name) from None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark: in a Danish text nearly every character has a NUL
    high byte, so NULs fill the odd (little-endian) or the even (big-endian) positions."""
    head = data[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0) / len(head[0::2]), head[1::2].count(0) / len(head[1::2])
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def _bad_byte(data: bytes, exc: UnicodeDecodeError, label: str, name: str) -> ReadError:
    before = data[:exc.start].decode(exc.encoding, errors="replace")
    line = before.count("\n") + 1 if "\n" in before else before.count("\r") + 1
    return ReadError(
        f"Filen {name} er gemt som {label}, men linje {number(line)} har en ugyldig byte "
        f"(0x{data[exc.start]:02X}), så æ, ø og å ville blive læst forkert; ret linjen, eller gem "
        "filen igen som UTF-8.")


def sniff_delimiter(header: str) -> str:
    counts = {d: _count_outside_quotes(header, d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def _strings(df: pl.DataFrame) -> pl.DataFrame:
    out = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if dtype == pl.Boolean:
            col = col.cast(pl.Utf8)
        elif isinstance(dtype, pl.List):
            col = col.cast(pl.List(pl.Utf8)).list.join("|")
        elif isinstance(dtype, pl.Struct):
            col = col.struct.json_encode()
        elif dtype != pl.Utf8:
            col = col.cast(pl.Utf8)
        out.append(col.alias(str(name).strip()))
    return df.select(out)


def read_csv(path: Path) -> pl.DataFrame:
    name = shown_name(path)
    text = decode(path.read_bytes(), name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    if not first.strip():
        raise ReadError(f"Filen {name} er tom eller mangler en overskriftsrække.")
    sep = sniff_delimiter(first)
    try:
        df = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False,
            quote_char='"', truncate_ragged_lines=False,
        )  # no n_rows: with it, polars 2 reads a row with a stray quote as no rows at all
    except pl.exceptions.PolarsError as exc:
        raise ReadError(f"Filen {name} kan ikke læses som CSV: {_csv_problem(text, sep)}.") \
            from exc
    # Row numbers as in a spreadsheet; quoted line breaks inside a value are rare in extracts.
    return df.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))


def _csv_problem(text: str, sep: str) -> str:
    """Where a CSV file that polars refused goes wrong, found again with Python's csv module
    (only after a failure), as a Danish clause with the line."""
    shown = "tabulator" if sep == "\t" else f"'{sep}'"
    rows = csv.reader(io.StringIO(text), delimiter=sep, quotechar='"', strict=True)
    width, start, quote_in_value = None, 1, None
    try:
        for row in rows:
            if width is None:
                width = len(row)
            elif len(row) > width:
                return (f"linje {number(start)} har {len(row)} felter, men overskriftsrækken har "
                        f"{width}; tjek skilletegnet ({shown}) og anførselstegn (\") i linjen")
            if quote_in_value is None and any('"' in v for v in row):
                quote_in_value = start
            start = rows.line_num + 1
    except csv.Error:
        return (f"en værdi i anførselstegn (\") på linje {number(start)} slutter ikke rigtigt; "
                "skriv et anførselstegn inde i en værdi som to (\"\")")
    if quote_in_value is not None:
        return (f"linje {number(quote_in_value)} har et anførselstegn (\") inde i en værdi; sæt "
                "hele værdien i anførselstegn, og skriv anførselstegnet som to (\"\")")
    return f"den passer ikke til CSV med skilletegnet {shown}; gem den igen som CSV fra regnearket"


def read_xlsx(path: Path, settings: Settings) -> pl.DataFrame:
    import fastexcel

    name, sheet_name = shown_name(path), None
    if path.suffix.lower() != ".xls":  # .xlsx and .xlsm are zip files; .xls is not
        check_zip(path, name, settings)
    try:
        reader = fastexcel.read_excel(str(path))
        sheet_name = mask_cpr(reader.sheet_names[0]) if reader.sheet_names else None
        sheet = reader.load_sheet(0, n_rows=settings.import_max_rows + 1)
        df = pl.from_arrow(sheet.to_arrow())
    except Exception as exc:  # calamine's errors are English: one Danish sentence instead
        if sheet_name is None:
            raise _not_excel(name) from exc
        raise ReadError(f"Arket '{sheet_name}' i filen {name} kan ikke læses: det er "
                        "beskadiget; gem filen igen fra Excel som .xlsx.") from exc
    return _strings(df).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))


def check_zip(path: Path, name: str, settings: Settings) -> None:
    """An Excel file is a zip: a zip bomb is refused before the reader unpacks it. Its
    directory is read first (the size unpacked, and the packing ratio of each member over 1 MB);
    then every member is unpacked once, counting, in 1 MB pieces, and refused when it unpacks
    to more than the directory says: the reader (calamine) trusts the data, not the directory."""
    limit = settings.import_max_unzipped_mb * MB
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            unpacked = sum(m.file_size for m in members)
            if unpacked > limit:
                raise ReadError(
                    f"Filen {name} fylder {number(unpacked / MB)} MB udpakket, mere end de "
                    f"{number(settings.import_max_unzipped_mb)} MB, som en Excel-fil højst må "
                    "fylde udpakket (SAGSINDSIGT_IMPORT_MAX_UNZIPPED_MB); del den op, eller "
                    "gem den som CSV.")
            for m in members:
                ratio = m.file_size / max(m.compress_size, 1)
                if m.file_size > MB and ratio > settings.import_max_zip_ratio:
                    raise ReadError(
                        f"Filen {name} fylder {number(ratio)} gange mere udpakket end pakket, "
                        f"mere end de højst {number(settings.import_max_zip_ratio)} gange "
                        "(SAGSINDSIGT_IMPORT_MAX_ZIP_RATIO), og afvises som en mulig zip-bombe; "
                        "gem den igen fra Excel, eller indlæs den som CSV.")
            for m in members:
                probe = copy.copy(m)
                probe.file_size = m.file_size + MB  # read past a size the directory understates
                with zf.open(probe) as f:
                    n = 0
                    while chunk := f.read(MB):
                        n += len(chunk)
                        if n > m.file_size:
                            raise _not_excel(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            OSError) as exc:  # not a zip, damaged, encrypted, an unknown compression
        raise _not_excel(name) from exc


def _not_excel(name: str) -> ReadError:
    return ReadError(f"Filen {name} kan ikke læses som Excel: den er beskadiget eller ikke en "
                     "Excel-fil; gem den igen fra Excel som .xlsx.")


def read_parquet(path: Path, settings: Settings) -> pl.DataFrame:
    try:
        df = pl.read_parquet(path, n_rows=settings.import_max_rows + 1)
    except Exception as exc:
        raise ReadError(f"Filen {shown_name(path)} kan ikke læses som Parquet: den er "
                        "beskadiget eller ikke en Parquet-fil.") from exc
    return _strings(df).with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def read_jsonl(path: Path, settings: Settings) -> pl.DataFrame:
    name, rows = shown_name(path), []
    for i, line in enumerate(decode(path.read_bytes(), name).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadError(f"Filen {name}, linje {number(i)}, tegn {exc.colno}: ugyldig "
                            "JSON.") from exc
        if not isinstance(obj, dict):
            raise ReadError(f"Filen {name}, linje {number(i)}: hver linje skal være et "
                            "JSON-objekt.")
        rows.append({ROW: i, **{k: _text(v) for k, v in obj.items()}})
        if len(rows) > settings.import_max_rows:
            break
    return _records_frame(rows)


def read_records(records: list[dict], first_row: int = 1) -> pl.DataFrame:
    """Records given as dicts (YAML, API posts) into the same table of strings."""
    return _records_frame([{ROW: i, **{k: _text(v) for k, v in r.items()}}
                           for i, r in enumerate(records, start=first_row)])


def read_yaml(path: Path, settings: Settings | None = None) -> list[dict]:
    settings = settings or Settings()
    name = shown_name(path)
    check_size(path, settings)
    try:
        data = yaml.safe_load(decode(path.read_bytes(), name))
    except yaml.YAMLError as exc:
        raise ReadError(yaml_problem(f"Filen {name}", exc)) from exc
    if data is None:
        return []
    if isinstance(data, dict):
        # one record, or a document holding a list under a single key
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(data) == 1 and lists:
            return lists[0]
        return [data]
    if isinstance(data, list) and all(isinstance(x, dict) for x in data):
        return data
    raise ReadError(f"Filen {name} skal indeholde et objekt eller en liste af objekter.")


def yaml_problem(what: str, exc: yaml.YAMLError) -> str:
    """PyYAML's English error as a Danish sentence with the line: "Filen X er ikke ..."."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" (linje {number(mark.line + 1)})" if mark is not None else ""
    return (f"{what} er ikke gyldig YAML{where}; tjek indrykningen, kolonerne og "
            "anførselstegnene.")


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "|".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _records_frame(rows: list[dict]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame({ROW: pl.Series([], dtype=pl.Int64)})
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    data = {c: [r.get(c) for r in rows] for c in cols}
    return pl.DataFrame(
        {c: pl.Series(c, v, dtype=pl.Int64 if c == ROW else pl.Utf8) for c, v in data.items()}
    )


def read_table(path: Path, settings: Settings | None = None) -> pl.DataFrame:
    """Read a tabular file by its extension, within the limits of ``settings``."""
    settings = settings or Settings()
    if not path.exists():
        raise ReadError(f"Filen {mask_cpr(str(path))} findes ikke.")
    check_size(path, settings)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        df = read_csv(path)
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        df = read_xlsx(path, settings)
    elif suffix in (".parquet", ".pq"):
        df = read_parquet(path, settings)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        df = read_jsonl(path, settings)
    elif suffix in (".yaml", ".yml"):
        df = read_records(read_yaml(path, settings))
    else:
        raise ReadError(
            f"Filtypen '{suffix}' for {shown_name(path)} kendes ikke: brug CSV, XLSX, Parquet, "
            "JSON Lines eller YAML."
        )
    _check_rows(df.height, shown_name(path), settings)
    return df


def _check_rows(rows: int, name: str, settings: Settings) -> None:
    if rows > settings.import_max_rows:
        raise ReadError(
            f"Filen {name} har flere end {number(settings.import_max_rows)} rækker, det højeste "
            "antal i én fil (SAGSINDSIGT_IMPORT_MAX_ROWS); del den op i flere filer.")


__all__ = ["MB", "ROW", "ReadError", "TooLarge", "check_size", "decode",
           "read_records", "read_table", "read_yaml", "shown_name", "too_large", "yaml_problem"]
