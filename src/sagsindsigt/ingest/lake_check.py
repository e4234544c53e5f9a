"""Lake check: a lake written by someone else, held against the data contract (issue 19).

``sagsindsigt lake check DIR`` reads every table folder of a lake (the layout of
:mod:`sagsindsigt.store.lake`) with pyarrow.dataset, one file and one record batch at a time,
so memory stays bounded on a lake of many gigabytes, and checks:

* the manifest ``_lake.json``: present (a missing one is a warning: another tool may have
  written the lake), its format and version known, its row counts those of the folders;
* per table: the contract's required columns present, every column of a type the figures can
  read as the contract's type, the store's own columns (``_source``, ``_key``, ``_version``,
  ``_batch``, ``_hash``, and the derived ``benefit_area``/``due`` of cases) optional but
  checked when present, other columns noted;
* per row, with the import's own validation (:func:`.validate.validate`: the same parsers,
  code lists, required fields, date order, dates after today, unknown case types and units
  against the lake's own ``case_types`` and ``organisation``, and the same Danish reasons),
  plus what only a lake needs: values the engines read as they are (a code as its code, not
  its label; a date in a text column as ``2014-03-31``), no CPR number in clear, the Hive
  partition values of the path (``administration=SOF``, ``year=2014``) valid and true of
  their rows, and record keys unique within a ``_source`` (the whole table without one),
  found through hashes spilled to disk in buckets.

Bad rows are all counted; the first ``limit`` per table are listed with every reason, as
"FILE, række R, felt F: reason." (FILE relative to the lake, R counted from 1 in the file).
Values are shown with CPR-shaped numbers masked. Nothing opens or creates a database.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds

from .. import danish
from ..contract import KINDS, Kind
from ..contract.kinds import BOOL, CITIZEN, CODE, CODES, DATE, INT, NUMBER, PERIOD, TEXT, TIMESTAMP
from ..privacy import CPR_FULL, Pseudonymiser, mask_cpr, mask_cpr_expr
from ..settings import Settings
from ..store import lake, schema
from . import parse, record_key
from .known import Known
from .mapping import Mapping
from .read import ROW
from .validate import DTYPES, PARSERS, REJECT_SCHEMA, _problems, duplicate_problems, validate

DEFAULT_LIMIT = 20
BATCH_ROWS = 65_536  # rows of one record batch checked at a time
BUCKET_ROWS = 2_000_000  # key hashes per spill bucket (about 40 MB read back at once)
ERROR, WARNING, NOTE = "fejl", "advarsel", "note"
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"

# The store's own columns of a record kind's table: optional in a foreign lake.
OWN = [c for c, _ in schema.META_COLUMNS]
# A store type as the contract's type, for the store's own and the derived columns.
STORE_TYPES = {"VARCHAR": TEXT, "BIGINT": INT, "DATE": DATE, "BOOLEAN": BOOL,
               "TIMESTAMP": TIMESTAMP, "DOUBLE": NUMBER}
TYPE_NAMES = {DATE: "dato", TIMESTAMP: "tidspunkt", INT: "heltal", NUMBER: "tal",
              BOOL: "sand/falsk"}
# A value in a text column of a typed field, as every engine casts it (Spark's CAST reads
# anything else as empty): the import's parser judges the value first, then this form.
CANONICAL = {
    DATE: (r"^\d{4}-\d{2}-\d{2}$", "2014-03-31"),
    TIMESTAMP: (r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$",
                "2014-03-31 14:30:00"),
    INT: (r"^-?\d+$", "154440"),
    NUMBER: (r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$", "2.5"),
    BOOL: (r"^(?i)(true|false)$", "true eller false"),
}
# What has no data when a table is missing (beside the KPIs that read it).
WITHOUT = {
    "organisation": "navnene på forvaltninger og enheder (koderne vises), og enhederne "
                    "kontrolleres ikke",
    "case_types": "sagstypernes navne, frister og ydelsesområder, og sagernes sagstyper "
                  "kontrolleres ikke",
    "volumes": "sagsmængder fra kilder uden sager på sagsniveau",
    "events": "procesanalysen (forløb, flaskehalse, varianter)",
    "concepts": "kvalitetskoncepterne i kvalitetsopfølgningen",
    "concept_checks": "kontrolpunkterne i kvalitetsopfølgningen",
    "targets": "måltallene",
    "timeliness_rules": "rettidighedsreglernes navne",
    "batches": "datagrundlaget (hvilke perioder data dækker), så intet tal kan årsomregnes",
}


class LakeUsage(ValueError):
    """DIR is no lake (missing, or no manifest and no table folder): one Danish sentence."""


@dataclass
class Finding:
    level: str  # fejl | advarsel | note
    text: str


@dataclass
class TableCheck:
    table: str
    present: bool = True
    files: int = 0
    rows: int = 0
    bad_rows: int = 0
    findings: list[Finding] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)  # file, row, field, value, reason

    @property
    def errors(self) -> int:
        return self.bad_rows + sum(f.level == ERROR for f in self.findings)

    def as_dict(self) -> dict:
        return {"table": self.table, "present": self.present, "files": self.files,
                "rows": self.rows, "bad_rows": self.bad_rows,
                "findings": [f.__dict__ for f in self.findings], "bad": self.bad}


@dataclass
class LakeCheck:
    root: str
    limit: int
    manifest: dict | None = None
    findings: list[Finding] = field(default_factory=list)
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return (sum(f.level == ERROR for f in self.findings)
                + sum(t.errors for t in self.tables))

    @property
    def bad_rows(self) -> int:
        return sum(t.bad_rows for t in self.tables)

    def as_dict(self) -> dict:
        return {"lake": mask_cpr(self.root), "ok": not self.errors, "errors": self.errors,
                "bad_rows": self.bad_rows, "limit": self.limit,
                "manifest": self.manifest is not None,
                "findings": [f.__dict__ for f in self.findings],
                "tables": [t.as_dict() for t in self.tables]}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the contract's field type (the store's own columns: by their store type)
    label: str
    required: bool = False
    own: bool = False  # the store's own or a derived column: optional in a foreign lake

    @property
    def shown(self) -> str:
        return f"{self.label} ({self.name})" if self.label != self.name else self.name


def columns(table: str) -> dict[str, Column]:
    """The columns a lake table may have: a record kind's contract fields (required as the
    contract says) and the store's own columns; other tables as the store declares them."""
    kind = KINDS.get(table)
    fields = {f.name: f for f in kind.fields} if kind else {}
    out = {}
    for name, declared in schema.columns(table):
        f = fields.get(name)
        if f is not None:
            out[name] = Column(name, f.type, f.label or name, f.required)
        else:
            out[name] = Column(name, STORE_TYPES[declared], name, own=kind is not None)
    return out


def check_lake(root: str | Path, limit: int = DEFAULT_LIMIT, today: date | None = None
               ) -> LakeCheck:
    """Check the lake in ``root``; raises :class:`LakeUsage` when it is none."""
    root = Path(root)
    if root.is_file():
        raise LakeUsage(f"{mask_cpr(str(root))} er en fil, ikke en mappe med en datasø.")
    if not root.is_dir():
        raise LakeUsage(f"Mappen {mask_cpr(str(root))} findes ikke.")
    names = lake.tables()
    present = [t for t in names if (root / t).is_dir()]
    if not present and not (root / lake.MANIFEST).exists():
        raise LakeUsage(
            f"Mappen {mask_cpr(str(root))} er ikke en datasø: den har hverken {lake.MANIFEST} "
            f"eller en mappe for en af tabellerne ({', '.join(names)}).")
    result = LakeCheck(str(root), max(0, limit))
    result.manifest = _manifest(root, result.findings)
    known, allow = _known(root, present)
    today = today or date.today()
    pseudo = Pseudonymiser(os.urandom(32))  # values are checked, never kept
    for table in names:
        if table not in present:
            result.tables.append(TableCheck(table, present=False, findings=[
                Finding(NOTE, f"Tabellen {table} findes ikke i datasøen: {_without(table)} "
                        "får ingen data.")]))
            continue
        tc = _Table(root, table, result.limit, known, allow, today, pseudo).check()
        if table == "cases" and allow:
            tc.findings.append(Finding(WARNING, "Datasøen har ingen sagstyper (case_types), "
                                       "så sagernes sagstyper er ikke kontrolleret."))
        result.tables.append(tc)
    _against_manifest(result)
    return result


def _without(table: str) -> str:
    from ..kpis import REGISTRY, load_definitions

    load_definitions()
    kpis = [k.label for k in REGISTRY.values() if k.table == table]
    parts = ([f"nøgletallene {', '.join(kpis)}"] if kpis else []) + (
        [WITHOUT[table]] if table in WITHOUT else [])
    return " og ".join(parts) or "intet tal"


def _manifest(root: Path, findings: list[Finding]) -> dict | None:
    path = root / lake.MANIFEST
    if not path.exists():
        findings.append(Finding(WARNING, f"Datasøen har ingen {lake.MANIFEST}: den er skrevet "
                                "af et andet værktøj eller ikke skrevet færdig; tabellerne "
                                "kontrolleres ud fra mapperne."))
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        findings.append(Finding(ERROR, f"{lake.MANIFEST} kan ikke læses som JSON."))
        return None
    if not isinstance(doc, dict):
        findings.append(Finding(ERROR, f"{lake.MANIFEST} skal være et JSON-objekt."))
        return None
    if doc.get("format") != lake.FORMAT:
        findings.append(Finding(ERROR, f"{lake.MANIFEST} har formatet "
                                f"'{mask_cpr(str(doc.get('format')))}', ikke '{lake.FORMAT}'."))
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not \
            1 <= version <= lake.VERSION:
        findings.append(Finding(ERROR, f"{lake.MANIFEST} har versionen "
                                f"'{mask_cpr(str(version))}', som denne udgave af Sagsindsigt "
                                f"ikke kender (den læser version {lake.VERSION})."))
    if "schema" in doc and str(doc["schema"]) != schema.VERSION:
        findings.append(Finding(NOTE, f"Datasøen er skrevet med databaseskema "
                                f"{mask_cpr(str(doc['schema']))}; denne udgave har skema "
                                f"{schema.VERSION}."))
    return doc


def _against_manifest(result: LakeCheck) -> None:
    """The rows the manifest names per table against the rows found in its folder."""
    tables = (result.manifest or {}).get("tables")
    if not isinstance(tables, dict):
        return
    found = {t.table: t for t in result.tables}
    for name, info in tables.items():
        t = found.get(name)
        rows = info.get("rows") if isinstance(info, dict) else None
        if t is None or not t.present:
            result.findings.append(Finding(ERROR, f"{lake.MANIFEST} nævner tabellen "
                                           f"{mask_cpr(str(name))}, men dens mappe mangler."))
        elif isinstance(rows, int) and rows != t.rows:
            t.findings.append(Finding(ERROR, f"{lake.MANIFEST} siger {danish.number(rows)} "
                                      f"rækker, men mappen har {danish.number(t.rows)}; "
                                      "datasøen er ikke skrevet eller kopieret helt."))


def _parquet_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The Parquet files of a table folder, in path order, and the other files (hidden files
    and folders, such as Spark's ``_SUCCESS``, left out as pyarrow.dataset leaves them)."""
    files, other = [], []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).parts
        if not p.is_file() or any(s.startswith((".", "_")) for s in rel):
            continue
        (files if p.suffix.lower() in (".parquet", ".pq") else other).append(p)
    return files, other


def _read_small(root: Path, table: str, want: list[str]) -> pl.DataFrame | None:
    """A small table of the lake (organisation, case types) as text, for the known codes;
    None where it cannot be read."""
    files, _ = _parquet_files(root / table)
    if not files:
        return None
    try:
        data = ds.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                          partition_base_dir=str(root / table)).to_table()
    except (OSError, pa.ArrowException):
        return None
    df = pl.from_arrow(data)
    return df.select([pl.col(c).cast(pl.Utf8) if c in df.columns else
                      pl.lit(None, dtype=pl.Utf8).alias(c) for c in want])


def _known(root: Path, present: list[str]) -> tuple[Known, bool]:
    """The codes rows are checked against, from the lake's own organisation and case types
    (as the import takes them from the store); and whether case types are missing (then a
    case's case type is not checked)."""
    org = _read_small(root, "organisation", ["code", "name", "parent", "level"]) \
        if "organisation" in present else None
    types = _read_small(root, "case_types", ["code", "administration"]) \
        if "case_types" in present else None
    empty = {"code": pl.Utf8, "name": pl.Utf8, "parent": pl.Utf8, "level": pl.Utf8}
    org = org if org is not None else pl.DataFrame(schema=empty)
    none = types is None or not types.height
    types = types if types is not None else pl.DataFrame(
        schema={"code": pl.Utf8, "administration": pl.Utf8})
    return Known.of(org, types), none


def _fragment(path: Path):
    """One Parquet file of a table as a pyarrow.dataset fragment (read in record batches)."""
    from pyarrow import fs

    return ds.ParquetFileFormat().make_fragment(str(path), fs.LocalFileSystem())


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or (
        hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t))


def readable(t: pa.DataType, ctype: str) -> str | None:
    """How a Parquet column of type ``t`` is read as the contract's ``ctype``: ``typed`` (cast
    as it is), ``text`` (a text column: each value checked), or None (not readable)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t):
        return "typed"
    if _is_string(t):
        return "text"
    integer = pa.types.is_integer(t)
    ok = {DATE: pa.types.is_date(t) or pa.types.is_timestamp(t),
          TIMESTAMP: pa.types.is_date(t) or pa.types.is_timestamp(t),
          INT: integer, BOOL: pa.types.is_boolean(t),
          NUMBER: integer or pa.types.is_floating(t) or pa.types.is_decimal(t),
          }.get(ctype, integer)  # a text field (ids, codes) may be stored as whole numbers
    return "typed" if ok else None


def _as_contract(s: pl.Series, col: Column, how: str) -> pl.Series:
    """A column as ``validate`` takes it: text as text, a typed column in the contract's
    polars type (a timestamp with a zone as UTC, as the engines read it)."""
    want = DTYPES.get(col.type)
    if how == "text" or want is None:
        return s.cast(pl.Utf8)
    if isinstance(s.dtype, pl.Datetime) and s.dtype.time_zone:
        s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    if col.type == DATE and isinstance(s.dtype, pl.Datetime):
        return s.dt.date()
    return s.cast(want)


def _bad(df: pl.DataFrame, mask: pl.Series | pl.Expr, name: str, values: pl.Series,
         reason) -> pl.DataFrame:
    """Problems in validate's shape (values and reasons CPR-masked by its ``_problems``)."""
    if isinstance(mask, pl.Expr):
        mask = df.select(mask.fill_null(False).alias("m"))["m"]
    if not mask.any():
        return pl.DataFrame(schema=REJECT_SCHEMA)
    if isinstance(reason, pl.Expr):
        reason = df.select(reason.alias("r"))["r"]
    return _problems(df[ROW], values, mask, name, reason)


class _Table:
    """One table folder checked file by file."""

    def __init__(self, root: Path, table: str, limit: int, known: Known, no_types: bool,
                 today: date, pseudo: Pseudonymiser):
        self.root, self.table, self.limit = root, table, limit
        self.folder = root / table
        self.kind: Kind | None = KINDS.get(table)
        self.cols = columns(table)
        self.known, self.today, self.pseudo = known, today, pseudo
        self.mapping = Mapping(allow_unknown=frozenset({"case_type"}) if no_types else
                               frozenset())
        self.tc = TableCheck(table)
        self.memo: dict = {}
        self.max_chars = Settings().import_max_field_chars
        # held whole against the CPR shape: the fields the import pseudonymises (a pseudonym's
        # hex digits may hold a CPR-shaped run); _key and _hash are made of such values
        self.whole = ({"citizen", *self.kind.key, *self.kind.key_optional} if self.kind
                      else {"case_id"})
        self.kept: list[pl.DataFrame] = []  # problems of the first bad rows (+ _file)
        self.kept_rows = 0
        self.files: list[str] = []  # relative paths, by index
        self.spill: _Spill | None = None

    # -- the table ---------------------------------------------------------------------
    def check(self) -> TableCheck:
        tc = self.tc
        files, other = _parquet_files(self.folder)
        if other:
            tc.findings.append(Finding(NOTE, f"{len(other)} filer er ikke Parquet og læses "
                                       f"ikke, fx {self._rel(other[0])}."))
        frags = []
        for path in files:
            try:
                frag = _fragment(path)
                frags.append((path, frag, frag.physical_schema, frag.count_rows()))
            except (OSError, pa.ArrowException):
                tc.findings.append(Finding(ERROR, f"Filen {self._rel(path)} kan ikke læses som "
                                           "Parquet: den er beskadiget eller ikke en "
                                           "Parquet-fil."))
        tc.files = len(frags)
        total = sum(n for *_, n in frags)
        if self.kind is not None:
            self.spill = _Spill(max(1, min(256, total // BUCKET_ROWS + 1)))
        seen: set[str] = set()
        missing: dict[str, list[str]] = {}
        unreadable: dict[str, list[str]] = {}
        extra: dict[str, str] = {}
        try:
            for path, frag, phys, _ in frags:
                rel = self._rel(path)
                self.files.append(rel)
                parts, bad_dirs = self._partitions(path)
                for d in bad_dirs:
                    tc.findings.append(Finding(ERROR, d))
                have = {f.name: f.type for f in phys}
                seen |= set(have) | set(parts)
                for name, col in self.cols.items():
                    if col.required and name not in have and name not in parts:
                        missing.setdefault(name, []).append(rel)
                how = {}
                for name, t in have.items():
                    col = self.cols.get(name)
                    if col is None:
                        extra.setdefault(name, rel)
                    elif (h := readable(t, col.type)) is None:
                        unreadable.setdefault(name, []).append(f"{t}")
                    else:
                        how[name] = h
                for key in parts:
                    if key != lake.YEAR and key not in self.cols:
                        extra.setdefault(key, rel)
                try:
                    self._rows(len(self.files) - 1, frag, how, parts)
                except (OSError, pa.ArrowException):  # a damaged page found while reading
                    tc.findings.append(Finding(ERROR, f"Filen {rel} kan ikke læses helt som "
                                               "Parquet: den er beskadiget; rækkerne efter "
                                               "fejlen er ikke kontrolleret."))
            self._duplicates()
        finally:
            if self.spill is not None:
                self.spill.close()
        self._columns_found(seen, missing, unreadable, extra, len(frags))
        self._listing()
        if not total:
            tc.findings.append(Finding(NOTE, f"Tabellen er tom: {_without(self.table)} får "
                                       "ingen data."))
        tc.findings = list({(f.level, f.text): f for f in tc.findings}.values())
        return tc

    def _rel(self, path: Path) -> str:
        return mask_cpr(path.relative_to(self.root).as_posix())

    def _partitions(self, path: Path) -> tuple[dict[str, str | None], list[str]]:
        """The Hive partition values of a file's path (``administration=SOF/year=2014``), and
        the folders that are wrong in themselves."""
        parts, bad = {}, []
        for seg in path.relative_to(self.folder).parts[:-1]:
            if "=" not in seg:
                continue
            key, value = (unquote(s) for s in seg.split("=", 1))
            value = None if value == HIVE_NULL else value
            if key == lake.YEAR and value is not None and not re.fullmatch(r"\d{4}", value):
                bad.append(f"Mappen {mask_cpr(seg)} ({self._rel(path.parent)}) er ikke et "
                           "årstal; skriv den som year=2014.")
                value = None
            parts[key] = value
        return parts, bad

    def _columns_found(self, seen, missing, unreadable, extra, nfiles) -> None:
        tc, kind = self.tc, self.kind
        for name, files in missing.items():
            col = self.cols[name]
            where = "" if len(files) == nfiles else (
                f" i {len(files)} af {nfiles} filer, fx {files[0]}")
            tc.findings.append(Finding(ERROR, f"Tabellen {self.table} mangler kolonnen for "
                                       f"{col.shown}{where}; navngiv kolonnen '{name}'."))
        for name, types in unreadable.items():
            col = self.cols[name]
            n = len(types)
            tc.findings.append(Finding(ERROR, f"Kolonnen {col.shown} har typen {types[0]}, som "
                                       f"ikke kan læses som {_type_name(col)} (i {n} "
                                       f"{'fil' if n == 1 else 'filer'}); kolonnen er ikke "
                                       "kontrolleret der."))
        if extra:
            tc.findings.append(Finding(NOTE, "Ukendte kolonner læses ikke: "
                                       + ", ".join(mask_cpr(c) for c in sorted(extra)) + "."))
        if kind is None or not nfiles:
            return
        own = [c for c in OWN if c not in seen]
        if own:
            tc.findings.append(Finding(NOTE, "Sagsindsigts egne kolonner " + ", ".join(own)
                                       + " mangler; de er valgfri i en datasø fra et andet "
                                       "værktøj (Spark sætter _source til 'lake' og danner "
                                       "_key af nøglen), og findes de, kontrolleres de."))
        derived = [c for c, _ in schema.DERIVED.get(self.table, []) if c not in seen]
        if derived:
            tc.findings.append(Finding(WARNING, "De afledte kolonner " + ", ".join(derived)
                                       + " mangler; de er valgfri, men uden dem får tal om "
                                       "frister (fx fristoverholdelse) og opdelinger på "
                                       "ydelsesområde ingen data."))

    # -- rows ----------------------------------------------------------------------------
    def _rows(self, idx: int, frag, how: dict[str, str], parts: dict) -> None:
        names = list(how)
        offset = 0
        for batch in frag.to_batches(columns=names, batch_size=BATCH_ROWS):
            n = batch.num_rows
            if not n:
                continue
            raw = pl.from_arrow(pa.Table.from_batches([batch])) if names else pl.DataFrame()
            frame = {ROW: pl.int_range(offset + 1, offset + n + 1, dtype=pl.Int64, eager=True)}
            for name in names:
                frame[name] = _as_contract(raw[name], self.cols[name], how[name])
            path_cols = {}
            for key, value in parts.items():
                if key in self.cols and self.cols[key].type in (TEXT, CODE):
                    s = pl.Series(key, [value] * n, dtype=pl.Utf8)
                    if key in frame:
                        path_cols[key] = s
                    else:
                        frame[key] = s
                        how[key] = "text"
            df = pl.DataFrame(frame)
            problems, typed = self._check(df, how, parts, path_cols)
            self.tc.rows += n
            offset += n
            bad = problems[ROW].unique() if problems.height else pl.Series(ROW, [],
                                                                            dtype=pl.Int64)
            self.tc.bad_rows += bad.len()
            if bad.len() and self.kept_rows < self.limit:
                first = bad.sort().head(self.limit - self.kept_rows)
                self.kept_rows += first.len()
                self.kept.append(problems.filter(pl.col(ROW).is_in(first.implode()))
                                 .with_columns(_file=pl.lit(idx, dtype=pl.Int64)))
            if self.spill is not None and typed is not None:
                self._hashes(idx, df, typed, bad)

    def _check(self, df: pl.DataFrame, how: dict, parts: dict, path_cols: dict
               ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """The problems of one batch (ROW, field, value, reason), and its typed rows."""
        problems: list[pl.DataFrame] = []
        typed = None
        texts = [c for c in df.columns if c != ROW and df[c].dtype == pl.Utf8]
        if self.kind is not None:
            fields = [f.name for f in self.kind.fields if f.name in df.columns
                      and f.type != CITIZEN]
            c = validate(df.select(ROW, *fields), self.kind, self.mapping, self.pseudo,
                         self.today, self.known, self.max_chars, duplicates=False,
                         memo=self.memo)
            problems.append(c.rejects.drop("_stage"))
            typed = c.rows
            problems += self._as_engines_read(df, typed, how)
            problems += self._own(df, typed)
            problems += self._path(df, typed, parts, path_cols)
        else:
            for name in df.columns:
                col = self.cols.get(name)
                if col is not None and how.get(name) == "text" and col.type in CANONICAL:
                    problems.append(self._text_values(df, col))
        for name in texts:
            if name in ("_key", "_hash"):
                continue
            col = self.cols[name]
            s = df[name]
            cpr = (pl.col(name).str.contains(CPR_FULL) if name in self.whole
                   else mask_cpr_expr(pl.col(name)) != pl.col(name))
            problems.append(_bad(df, cpr, name, s,
                                 f"feltet {col.shown} indeholder et CPR-nummer i klar tekst; "
                                 "en datasø må ikke indeholde CPR-numre: pseudonymisér eller "
                                 "maskér dem, som importen gør"))
        problems = [p for p in problems if p.height]
        if not problems:
            return pl.DataFrame(schema=REJECT_SCHEMA), typed
        return pl.concat(problems).sort(ROW, maintain_order=True), typed

    def _text_values(self, df: pl.DataFrame, col: Column, accepted: pl.Series | None = None
                     ) -> pl.DataFrame:
        """Values of a text column of a typed field not in the form every engine casts: the
        import's reason where its parser refuses the value (unless ``validate`` said so
        already: ``accepted``), else the form to write."""
        pattern, example = CANONICAL[col.type]
        raw = df[col.name].str.strip_chars()
        off = raw.is_not_null() & (raw != "") & ~raw.str.contains(pattern)
        if accepted is not None:
            off = off & accepted
        off = off.fill_null(False)
        if not off.any():
            return pl.DataFrame(schema=REJECT_SCHEMA)
        reasons = {}
        for v in raw.filter(off).unique().to_list():
            try:
                PARSERS[col.type](v)
                reasons[v] = (f"'{v}' kan læses af importen, men ikke af motorerne, der læser "
                              f"datasøen som den er: skriv {col.label} som {example}, eller "
                              f"gem kolonnen som {_type_name(col)}")
            except parse.Invalid as exc:
                reasons[v] = str(exc)
        return _problems(df[ROW], raw, off, col.name,
                         raw.replace_strict(reasons, default=None, return_dtype=pl.Utf8))

    def _as_engines_read(self, df: pl.DataFrame, typed: pl.DataFrame, how: dict
                         ) -> list[pl.DataFrame]:
        """What the import accepts but a lake may not hold, since the engines read its
        values without the import's translation: a text date not as 2014-03-31, a code
        given by its label or in other letters, a round not written as 2014-Q2."""
        out = []
        both = df.join(typed.select(ROW, *[pl.col(c).alias(f"{c}__t") for c in typed.columns
                                           if c != ROW]), on=ROW, how="left")
        for f in self.kind.fields:
            if f.name not in df.columns or how.get(f.name) != "text":
                continue
            col = self.cols[f.name]
            t = both[f"{f.name}__t"]
            if f.type in CANONICAL:
                out.append(self._text_values(both, col, accepted=t.is_not_null()))
            elif f.type in (CODE, CODES, PERIOD):
                off = t.is_not_null() & (both[f.name] != t.cast(pl.Utf8))
                out.append(_bad(both, off, f.name, both[f.name],
                                pl.format("'{}' skal stå som '{}' i en datasø, der læses som "
                                          "den er (importen oversætter; motorerne gør ikke)",
                                          pl.col(f.name), pl.col(f"{f.name}__t")
                                          .cast(pl.Utf8))))
        return out

    def _own(self, df: pl.DataFrame, typed: pl.DataFrame) -> list[pl.DataFrame]:
        """The store's own and derived columns, where present."""
        out = []
        for name, col in self.cols.items():
            if not col.own or name not in df.columns:
                continue
            s = df[name]
            if s.dtype == pl.Utf8 and col.type in CANONICAL:
                out.append(self._text_values(df, col))
            if name in ("_source", "_key"):
                empty = s.is_null() | (s.cast(pl.Utf8).str.strip_chars() == "")
                out.append(_bad(df, empty, name, s, f"feltet {name} er tomt; udelad "
                                "kolonnen, eller udfyld den i hver række"))
        if "_key" in df.columns:
            want = typed.select(ROW, record_key(self.kind).alias("k"))
            both = df.select(ROW, "_key").join(want, on=ROW, how="inner")
            off = (both["_key"] != both["k"]).fill_null(False) & both["_key"].is_not_null()
            out.append(_bad(both, off, "_key", both["_key"], pl.format(
                "_key '{}' passer ikke til postens nøgle '{}'", pl.col("_key"), pl.col("k"))))
        return out

    def _path(self, df: pl.DataFrame, typed: pl.DataFrame, parts: dict, path_cols: dict
              ) -> list[pl.DataFrame]:
        """The partition values of the path true of the rows: the year of the table's date,
        and a column both in the path and in the file the same in both."""
        out = []
        _, date_col = lake.PARTITIONS.get(self.table, (None, None))
        year = parts.get(lake.YEAR)
        if date_col and year is not None and date_col in typed.columns:
            d = typed.select(ROW, date_col)
            col = self.cols[date_col]
            off = (d[date_col].dt.year() != int(year)).fill_null(False)
            out.append(_bad(d, off, date_col, d[date_col].cast(pl.Utf8), pl.format(
                f"{col.label} ({date_col}) {{}} ligger ikke i året {year} fra mappen "
                f"year={year}", pl.col(date_col).dt.strftime("%d-%m-%Y"))))
        for key, s in path_cols.items():
            off = (df[key] != s).fill_null(True) & s.is_not_null()
            out.append(_bad(df, off, key, df[key], f"værdien passer ikke til mappen "
                            f"{key}={mask_cpr(s[0])}, som filen ligger i"))
        return out

    # -- duplicate keys ------------------------------------------------------------------
    def _key_cols(self, df: pl.DataFrame) -> list[str]:
        keys = [*self.kind.key, *self.kind.key_optional]
        return (["_source"] if "_source" in df.columns else []) + keys

    def _hashes(self, idx: int, df: pl.DataFrame, typed: pl.DataFrame, bad: pl.Series
                ) -> None:
        """Spill a hash pair of each row's key (within its source) with where the row is."""
        keys = self._key_cols(df)
        rows = typed
        if "_source" in keys:
            rows = typed.join(df.select(ROW, "_source"), on=ROW, how="left")
        h = rows.select(
            h1=pl.struct(keys).hash(seed=1), h2=pl.struct(keys).hash(seed=2),
            file=pl.lit(idx, dtype=pl.Int64), row=pl.col(ROW),
            bad=pl.col(ROW).is_in(bad.implode()))
        self.spill.write(h)

    def _duplicates(self) -> None:
        """Rows whose key (within its source) occurs more than once in the table: all
        counted, the first ``limit`` listed with the import's reason."""
        if self.spill is None:
            return
        firsts = []
        for part in self.spill.buckets():
            n = part.group_by("h1", "h2").agg(pl.len().alias("_n")).filter(pl.col("_n") > 1)
            if not n.height:
                continue
            dup = part.join(n, on=["h1", "h2"])
            self.tc.bad_rows += dup.filter(~pl.col("bad")).height
            firsts.append(dup.sort("file", "row").head(self.limit))
        first = pl.concat(firsts).sort("file", "row").head(self.limit) if firsts else None
        if first is None or not first.height:
            return
        shown = []
        for idx in first["file"].unique().sort().to_list():
            at = first.filter(pl.col("file") == idx)
            shown.append(self._key_values(idx, at))
        rows = pl.concat(shown, how="diagonal_relaxed")
        within = "samme kilde (_source)" if "_source" in rows.columns else "tabellen"
        found = duplicate_problems(rows, self.kind, within)
        self.kept.append(found.with_columns(_file=rows["_file"]))

    def _key_values(self, idx: int, at: pl.DataFrame) -> pl.DataFrame:
        """ROW, the key's values as text, ``_n`` and ``_file`` of some rows of one file."""
        path = self.root / self.files[idx]
        keys = [*self.kind.key, *self.kind.key_optional]
        parts, _ = self._partitions(path)
        frag = _fragment(path)
        have = set(frag.physical_schema.names)
        data = frag.to_table(columns=[c for c in [*keys, "_source"] if c in have])
        data = data.take(pa.array([r - 1 for r in at["row"].to_list()]))
        picked = pl.from_arrow(data)
        out = {ROW: at["row"], "_n": at["_n"], "_file": pl.Series([idx] * at.height)}
        for k in keys:
            if k in picked.columns:  # shown as validate shows it (a time in UTC)
                col = self.cols[k]
                how = readable(data.schema.field(k).type, col.type) or "text"
                out[k] = _as_contract(picked[k], col, how).cast(pl.Utf8)
            else:
                out[k] = pl.Series(k, [parts.get(k)] * at.height, dtype=pl.Utf8)
        if "_source" in picked.columns:
            out["_source"] = picked["_source"].cast(pl.Utf8)
        return pl.DataFrame(out)

    # -- the listing ---------------------------------------------------------------------
    def _listing(self) -> None:
        if not self.kept:
            return
        found = pl.concat([k.select("_file", ROW, "field", "value", "reason")
                           for k in self.kept])
        rows = found.select("_file", ROW).unique().sort("_file", ROW).head(self.limit)
        found = found.join(rows, on=["_file", ROW], how="semi", maintain_order="left")
        found = found.with_columns(_o=pl.int_range(pl.len())).sort("_file", ROW, "_o")
        self.tc.bad = [{"file": self.files[f], "row": r, "field": fld, "value": v,
                        "reason": why}
                       for f, r, fld, v, why in found.select(
                           "_file", ROW, "field", "value", "reason").iter_rows()]


def _type_name(col: Column) -> str:
    return TYPE_NAMES.get(col.type, "tekst")


class _Spill:
    """Key hashes in buckets on disk (Arrow IPC files), read back one bucket at a time."""

    SCHEMA = pa.schema([("h1", pa.uint64()), ("h2", pa.uint64()), ("file", pa.int64()),
                        ("row", pa.int64()), ("bad", pa.bool_())])

    def __init__(self, n: int):
        self.n = n
        self.dir = tempfile.TemporaryDirectory(prefix="sagsindsigt-lake-check-")
        self.writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}

    def write(self, h: pl.DataFrame) -> None:
        h = h.with_columns(_b=(pl.col("h1") % self.n).cast(pl.Int64))
        for (b,), part in h.partition_by("_b", as_dict=True).items():
            w = self.writers.get(b)
            if w is None:
                w = self.writers[b] = pa.ipc.new_file(f"{self.dir.name}/{b}.arrow", self.SCHEMA)
            w.write_table(part.drop("_b").to_arrow().cast(self.SCHEMA))

    def buckets(self) -> Iterator[pl.DataFrame]:
        for w in self.writers.values():
            w.close()
        for b in sorted(self.writers):
            with pa.OSFile(f"{self.dir.name}/{b}.arrow") as f:
                yield pl.from_arrow(pa.ipc.open_file(f).read_all())
        self.writers = {}

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        self.writers = {}
        self.dir.cleanup()


__all__ = ["DEFAULT_LIMIT", "LakeCheck", "LakeUsage", "TableCheck", "check_lake", "columns",
           "readable"]
