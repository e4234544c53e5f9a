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
from collections.abc import Callable, Iterable, Iterator
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


def _bad_byte(data: bytes, exc: UnicodeDecodeError, label: str, name: str,
              lines_before: int = 0) -> ReadError:
    """The refusal of a file whose byte ``exc.start`` of ``data`` does not decode, naming its
    line (``lines_before``: line breaks in the file before ``data``)."""
    before = data[:exc.start].decode(exc.encoding, errors="replace")
    breaks = lines_before + before.count("\n")
    line = breaks + 1 if breaks else before.count("\r") + 1
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


# -- CSV, read in blocks ------------------------------------------------------------------
CSV_BLOCK = 1 * MB  # bytes of a CSV file read at a time (tests make it small)
# pending text beyond which a CSV is cut at its last line break even where its quotes do not
# pair up (a stray quote: polars refuses such a file whole or in pieces alike)
CSV_CARRY = 64 * MB


def read_csv(path: Path) -> pl.DataFrame:
    """The whole CSV file as one table (the same rows ``csv_chunks`` gives piece by piece)."""
    return pl.concat(list(csv_chunks(path)), how="vertical")


def csv_chunks(path: Path, rows: int | None = None,
               read: Callable[[int], None] | None = None) -> Iterator[pl.DataFrame]:
    """A CSV file as tables of at most ``rows`` rows (and about ``CSV_BLOCK`` bytes of the
    file), each with the file's row numbers: read in blocks, never whole. The encoding is
    chosen as ``decode`` chooses it for the whole file, line endings become ``\n``, and a
    block is cut only after a line break with an even number of quotes before it, so a quoted
    value with a line break stays in one piece. At least one table is given (an empty one for
    a file with a header only). ``read`` is told the bytes read so far, block by block."""
    name = shown_name(path)
    codec, skip, label = _encoding(path, name)
    pieces = _records_text(_text_blocks(path, codec, skip, label, name, read))
    first_piece = next(pieces, "")
    end = _header_end(first_piece)
    header, first_piece = first_piece[:end], first_piece[end:]
    line = header.split("\n", 1)[0]
    if not line.strip():
        raise ReadError(f"Filen {name} er tom eller mangler en overskriftsrække.")
    if not header.endswith("\n"):
        header += "\n"
    sep = sniff_delimiter(line)
    done, empty = 0, None
    for piece in _chain(first_piece, pieces):
        if not piece:
            continue
        try:
            df = _parse(header + piece, sep, name)
        except pl.exceptions.PolarsError as exc:
            lines = _lines(_text_blocks(path, codec, skip, label, name))
            raise ReadError(f"Filen {name} kan ikke læses som CSV: "
                            f"{_csv_problem(lines, sep)}.") from exc
        # Row numbers as in a spreadsheet; quoted line breaks inside a value are rare in
        # extracts.
        df = df.with_row_index(ROW, offset=2 + done).with_columns(pl.col(ROW).cast(pl.Int64))
        if not df.height:  # blank lines only: kept for its columns
            empty = df
            continue
        step = rows or df.height
        for start in range(0, df.height, step):
            yield df.slice(start, step)
        done += df.height
    if not done:  # a header and no rows: one empty table with the columns
        df = empty if empty is not None else _parse(header, sep, name)
        yield df.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64)) \
            if ROW not in df.columns else df


def _parse(text: str, sep: str, name: str) -> pl.DataFrame:
    return pl.read_csv(
        io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False, quote_char='"',
        truncate_ragged_lines=False,
    )  # no n_rows: with it, polars 2 reads a row with a stray quote as no rows at all


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _encoding(path: Path, name: str) -> tuple[str, int, str]:
    """(codec, bytes of byte-order mark to skip, label): what ``decode`` chooses for the
    whole file, found by reading it in blocks. A file that is not valid UTF-8 is read once
    more, line by line, to tell a damaged UTF-8 file (refused naming the line of its first bad
    byte) from a Windows-1252 one."""
    with path.open("rb") as f:
        head = f.read(4096)
    for bom, codec, label in _BOMS:
        if head.startswith(bom):
            return codec, len(bom), label
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16, 0, "UTF-16"
    try:
        for block in _line_blocks(path):  # a line break is never inside a UTF-8 sequence
            if not block.isascii():
                block.decode("utf-8")
        return "utf-8", 0, "UTF-8"
    except UnicodeDecodeError:
        pass
    valid = bad = lines = 0
    first = None
    for block in _line_blocks(path):
        if first is None:
            try:
                block.decode("utf-8")
            except UnicodeDecodeError as exc:
                first = _bad_byte(block, exc, "UTF-8", name, lines)
            lines += block.count(b"\n")
        rest, n = _UTF8_MULTI.subn(b"", block)
        valid, bad = valid + n, bad + len(rest.translate(None, _ASCII))
    if first is not None and valid >= bad:
        raise first
    return "cp1252", 0, "Windows-1252"


def _line_blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes in blocks of about ``CSV_BLOCK``, each ending after a line break
    (but the last)."""
    carry = b""
    with path.open("rb") as f:
        while data := f.read(CSV_BLOCK):
            data = carry + data
            end = data.rfind(b"\n") + 1
            if end:
                yield data[:end]
            carry = data[end:]
    if carry:
        yield carry


def _text_blocks(path: Path, codec: str, skip: int, label: str, name: str,
                 read: Callable[[int], None] | None = None) -> Iterator[str]:
    """The file's text in blocks, line endings made ``\n`` as for the whole text."""
    decoder = codecs.getincrementaldecoder(codec)(
        errors="replace" if codec == "cp1252" else "strict")
    lines, cr = 0, False
    with path.open("rb") as f:
        f.seek(skip)
        while True:
            data = f.read(CSV_BLOCK)
            if read is not None:
                read(f.tell())
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise _bad_byte(exc.object, exc, label, name, lines) from None
            lines += text.count("\n")
            if cr:
                text = "\r" + text
            cr = bool(data) and text.endswith("\r")  # a \r\n cut between two blocks
            if cr:
                text = text[:-1]
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if text:
                yield text
            if not data:
                return


def _records_text(blocks: Iterator[str]) -> Iterator[str]:
    """The text in pieces that each end after a whole record (the last as the file ends)."""
    pending = ""
    for text in blocks:
        pending += text
        cut = _last_record_end(pending)
        if cut:
            yield pending[:cut]
            pending = pending[cut:]
    if pending:
        yield pending


def _last_record_end(text: str) -> int:
    """Just after the last line break with an even number of quotes before it (so outside a
    quoted value); 0 if there is none yet. Past ``CSV_CARRY`` the last line break."""
    end = text.rfind("\n")
    if end < 0 or '"' not in text:
        return end + 1
    quotes = text.count('"', 0, end)
    while end >= 0 and quotes % 2:
        before = text.rfind("\n", 0, end)
        quotes -= text.count('"', before + 1, end)
        end = before
    if end < 0 and len(text) > CSV_CARRY:
        return text.rfind("\n") + 1
    return end + 1


def _header_end(text: str) -> int:
    """Just after the header record (its first line break outside quotes), or the end."""
    end = text.find("\n")
    while end >= 0 and text.count('"', 0, end) % 2:
        end = text.find("\n", end + 1)
    return len(text) if end < 0 else end + 1


def _lines(blocks: Iterator[str]) -> Iterator[str]:
    """The text line by line, each with its ``\n`` (as ``io.StringIO`` gives them)."""
    carry = ""
    for text in blocks:
        parts = (carry + text).split("\n")
        carry = parts.pop()
        for p in parts:
            yield p + "\n"
    if carry:
        yield carry


def _csv_problem(lines: Iterable[str], sep: str) -> str:
    """Where a CSV file that polars refused goes wrong, found again with Python's csv module
    (only after a failure, reading the file line by line), as a Danish clause with the line."""
    shown = "tabulator" if sep == "\t" else f"'{sep}'"
    rows = csv.reader(lines, delimiter=sep, quotechar='"', strict=True)
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


def read_chunks(path: Path, settings: Settings, rows: int,
                read: Callable[[int], None] | None = None) -> Iterator[pl.DataFrame]:
    """A tabular file in parts of at most ``rows`` rows, within the limits of ``settings``:
    CSV read in blocks (``csv_chunks``), never whole; XLSX, Parquet, JSON Lines and YAML read
    whole, as their size limits allow, and then cut. ``read``: told the bytes read so far."""
    if not path.exists():
        raise ReadError(f"Filen {mask_cpr(str(path))} findes ikke.")
    check_size(path, settings)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        df = read_table(path, settings)
        for start in range(0, max(df.height, 1), rows):
            yield df.slice(start, rows)
        return
    name, n = shown_name(path), 0
    for df in csv_chunks(path, rows, read):
        n += df.height
        _check_rows(n, name, settings)
        yield df


def _check_rows(rows: int, name: str, settings: Settings) -> None:
    if rows > settings.import_max_rows:
        raise ReadError(
            f"Filen {name} har flere end {number(settings.import_max_rows)} rækker, det højeste "
            "antal i én fil (SAGSINDSIGT_IMPORT_MAX_ROWS); del den op i flere filer.")


__all__ = ["MB", "ROW", "ReadError", "TooLarge", "check_size", "csv_chunks", "decode",
           "read_chunks", "read_records", "read_table", "read_yaml", "shown_name", "too_large",
           "yaml_problem"]
