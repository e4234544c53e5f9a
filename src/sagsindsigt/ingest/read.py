"""Read a file as the case systems really export it, into a table of strings.

Every value arrives as text (or null), so that parsing and validation happen in one place with
one set of Danish messages. Row numbers are those a person sees when opening the file: for CSV
and XLSX the header is row 1 and the first record row 2; for JSON Lines and YAML, the record's
position counted from 1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import yaml

ROW = "_row"


class ReadError(ValueError):
    """A file that cannot be read at all, told in one Danish sentence."""


def decode(data: bytes) -> str:
    """UTF-8 with or without BOM, else Windows-1252 (what Danish Excel exports)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


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
    text = decode(path.read_bytes())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise ReadError(f"Filen {path.name} er tom eller mangler en overskriftsrække.")
    sep = sniff_delimiter(first)
    try:
        df = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False,
            quote_char='"', truncate_ragged_lines=False,
        )
    except pl.exceptions.ComputeError as exc:
        raise ReadError(f"Filen {path.name} kan ikke læses som CSV: {_first_line(exc)}") from exc
    # Row numbers as in a spreadsheet; quoted line breaks inside a value are rare in extracts.
    return df.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))


def read_xlsx(path: Path) -> pl.DataFrame:
    import fastexcel

    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(0)
    except Exception as exc:
        raise ReadError(f"Filen {path.name} kan ikke læses som Excel: {_first_line(exc)}") from exc
    df = pl.from_arrow(sheet.to_arrow())
    return _strings(df).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))


def read_parquet(path: Path) -> pl.DataFrame:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:
        raise ReadError(
            f"Filen {path.name} kan ikke læses som Parquet: {_first_line(exc)}") from exc
    return _strings(df).with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def read_jsonl(path: Path) -> pl.DataFrame:
    rows = []
    for i, line in enumerate(decode(path.read_bytes()).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadError(f"Filen {path.name}, linje {i}: ugyldig JSON ({exc.msg}).") from exc
        if not isinstance(obj, dict):
            raise ReadError(f"Filen {path.name}, linje {i}: hver linje skal være et JSON-objekt.")
        rows.append({ROW: i, **{k: _text(v) for k, v in obj.items()}})
    return _records_frame(rows)


def read_records(records: list[dict], first_row: int = 1) -> pl.DataFrame:
    """Records given as dicts (YAML, API posts) into the same table of strings."""
    return _records_frame([{ROW: i, **{k: _text(v) for k, v in r.items()}}
                           for i, r in enumerate(records, start=first_row)])


def read_yaml(path: Path) -> list[dict]:
    try:
        data = yaml.safe_load(decode(path.read_bytes()))
    except yaml.YAMLError as exc:
        raise ReadError(f"Filen {path.name} er ikke gyldig YAML: {_first_line(exc)}") from exc
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
    raise ReadError(f"Filen {path.name} skal indeholde et objekt eller en liste af objekter.")


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


def read_table(path: Path) -> pl.DataFrame:
    """Read a tabular file by its extension."""
    if not path.exists():
        raise ReadError(f"Filen {path} findes ikke.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return read_csv(path)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return read_xlsx(path)
    if suffix in (".parquet", ".pq"):
        return read_parquet(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path)
    if suffix in (".yaml", ".yml"):
        return read_records(read_yaml(path))
    raise ReadError(
        f"Filtypen '{suffix}' for {path.name} kendes ikke: brug CSV, XLSX, Parquet, JSON Lines "
        "eller YAML."
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


__all__ = ["ROW", "ReadError", "read_records", "read_table", "read_yaml"]
