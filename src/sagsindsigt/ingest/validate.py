"""Validate a table of strings against a record kind: typed values for good rows, and a plain
Danish reason for every problem with the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from ..contract import Kind
from ..contract.kinds import (
    BOOL,
    CITIZEN,
    CODE,
    CODES,
    DATE,
    DEADLINE,
    INT,
    NUMBER,
    PERIOD,
    TEXT,
    TIMESTAMP,
)
from ..danish import number
from ..privacy import CPR_ANYWHERE, CPR_FULL, Pseudonymiser, mask_cpr, mask_cpr_expr
from ..settings import Settings
from . import known as known_codes
from . import parse
from .known import Known
from .mapping import Mapping
from .read import ROW

DTYPES = {DATE: pl.Date, TIMESTAMP: pl.Datetime("us"), BOOL: pl.Boolean, INT: pl.Int64,
          NUMBER: pl.Float64}
PARSERS = {DATE: parse.parse_date, TIMESTAMP: parse.parse_timestamp, BOOL: parse.parse_bool,
           INT: parse.parse_int, NUMBER: parse.parse_number, DEADLINE: parse.parse_deadline,
           PERIOD: parse.parse_period}
DEFAULTS = {("complaints", "via"): "forvaltning"}
REJECT_SCHEMA = {ROW: pl.Int64, "field": pl.Utf8, "value": pl.Utf8, "reason": pl.Utf8}


@dataclass
class Checked:
    valid: pl.DataFrame  # typed contract fields + ROW, good rows only
    rejects: pl.DataFrame  # ROW, field, value (masked), reason — one row per problem
    rows_read: int
    warnings: list[str] = field(default_factory=list)  # unknown codes a mapping allowed
    # a part of a file (``duplicates=False``): every row typed (good or not), and the unknown
    # codes a mapping allowed on good rows (field, administration, value), counted over the
    # whole file once its duplicates are known
    rows: pl.DataFrame | None = None
    kept: pl.DataFrame | None = None


# Where a problem comes in a row's list of reasons: the checks of single values, then the
# check of ids unique in the file, then unknown codes (and, in ingest, the write scope).
EARLY, DUPLICATE, UNKNOWN = 0, 1, 2


def validate(df: pl.DataFrame, kind: Kind, mapping: Mapping, pseudo: Pseudonymiser,
             today: date, known: Known, max_chars: int | None = None, *,
             duplicates: bool = True, memo: dict | None = None) -> Checked:
    """``known``: what the store holds (``ingest._known``), for administration codes and the
    case types and units a row must name (``ingest/known.py``). ``max_chars``: the longest
    value kept (default ``Settings().import_max_field_chars``).

    A file read in parts: ``duplicates=False`` leaves ids that occur twice to the caller
    (``duplicate_problems``), which sees the whole file; the rejects then carry ``_stage``
    (EARLY or UNKNOWN), so that a duplicate's reason can be put in its place; and ``memo``
    (one dict for the whole file) keeps every distinct value's parse and pseudonym, so a
    value is parsed once per file, not once per part."""
    rows_read = df.height
    df, too_long = unstorable(df, max_chars or Settings().import_max_field_chars,
                              {f.name: f"{f.label or f.name} ({f.name})" for f in kind.fields})
    problems: list[pl.DataFrame] = [too_long]
    typed: dict[str, pl.Series] = {ROW: df[ROW]}
    n = df.height

    for f in kind.fields:
        dtype = DTYPES.get(f.type, pl.Utf8)
        if f.name not in df.columns:
            default = DEFAULTS.get((kind.name, f.name))
            typed[f.name] = pl.Series(f.name, [default] * n, dtype=dtype)
            continue
        if dtype != pl.Utf8 and df[f.name].dtype == dtype:
            # already typed (a lake's Parquet column, ``lake_check``): nothing to parse, the
            # checks of typed values below still apply; an import gives text only
            typed[f.name] = df[f.name]
            if f.required and (missing := df[f.name].is_null()).any():
                problems.append(_problems(df[ROW], df[f.name], missing, f.name,
                                          f"feltet {f.label or f.name} ({f.name}) er tomt"))
            continue
        raw = df[f.name].str.strip_chars()
        raw = raw.to_frame().select(
            pl.when(pl.col(f.name) == "").then(None).otherwise(pl.col(f.name)).alias(f.name)
        )[f.name]
        if (kind.name, f.name) in DEFAULTS:
            raw = raw.fill_null(DEFAULTS[(kind.name, f.name)])

        if f.type == TEXT:
            value = _text(raw, f.name in kind.key, pseudo, mapping.codes.get(f.name))
        elif f.type == CITIZEN:
            value = pseudo.series(raw, None if memo is None else _bounded(memo, "citizen"))
        else:
            if f.type in (CODE, CODES):
                mapped = mapping.codes.get(f.name, {})
                lookup = parse.code_lookup(f, known.codes.get(f.name))
                fn = parse.parse_codes if f.type == CODES else parse.parse_code

                def parser(v, f=f, fn=fn, mapped=mapped, lookup=lookup):
                    return fn(v, f, mapped, lookup)
            else:
                parser = PARSERS[f.type]
            # the common ISO timestamp parsed vectorised (event logs have a distinct value per
            # row); the rest, and every failure with its Danish reason, by the parser
            fast = _fast_timestamps(raw) if f.type == TIMESTAMP else None
            todo = raw if fast is None else raw.filter(fast.is_null())
            good, bad = {}, {}
            seen = {} if memo is None else _bounded(memo, f.name)
            for v in todo.drop_nulls().unique().to_list():
                hit = seen.get(v)
                if hit is None:
                    try:
                        hit = seen[v] = (True, parser(v))
                    except parse.Invalid as exc:
                        hit = seen[v] = (False, str(exc))
                (good if hit[0] else bad)[v] = hit[1]
            value = raw.replace_strict(good, default=None, return_dtype=dtype) if good else \
                pl.Series(f.name, [None] * n, dtype=dtype)
            if fast is not None:
                value = fast.fill_null(value)
            if bad:
                problems.append(_problems(df[ROW], raw, raw.is_in(list(bad)), f.name,
                                          raw.replace_strict(bad, default=None,
                                                             return_dtype=pl.Utf8)))
        typed[f.name] = value.alias(f.name)
        if f.required:
            missing = raw.is_null()
            if missing.any():
                problems.append(_problems(df[ROW], raw, missing, f.name,
                                          f"feltet {f.label or f.name} ({f.name}) er tomt"))

    out = pl.DataFrame(typed)
    for earlier, later in kind.date_order:
        a, b = out[earlier], out[later]
        wrong = (b < a).fill_null(False)
        if wrong.any():
            reason = (pl.lit(f"{kind.field(later).label} ({later}) ")
                      + b.dt.strftime("%d-%m-%Y")
                      + pl.lit(f" ligger før {kind.field(earlier).label} ")
                      + a.dt.strftime("%d-%m-%Y"))
            problems.append(_problems(df[ROW], b.cast(pl.Utf8), wrong, later,
                                      out.select(reason.alias("r"))["r"]))
    for f in kind.fields:
        if f.type in (DATE, TIMESTAMP):
            col = out[f.name]
            day = col if f.type == DATE else col.dt.date()
            future = (day > today).fill_null(False)
            if future.any():
                problems.append(_problems(
                    df[ROW], col.cast(pl.Utf8), future, f.name,
                    f"datoen ligger efter importdagen {today:%d-%m-%Y}"))
    early = len(problems)
    key_cols = [*kind.key, *kind.key_optional]
    dup = out.select(pl.struct(key_cols).is_duplicated().alias("d"))["d"] if duplicates \
        else pl.Series("d", [False] * n, dtype=pl.Boolean)
    if dup.any():
        counts = out.group_by(key_cols).agg(pl.len().alias("_n"))
        joined = out.select([ROW, *key_cols]).join(counts, on=key_cols, how="left",
                                                   nulls_equal=True, maintain_order="left")
        problems.append(duplicate_problems(joined.filter(dup), kind))

    unknown = known_codes.unknown(out, kind, known)
    allowed = pl.col("field").is_in(sorted(mapping.allow_unknown))
    problems.append(unknown.filter(~allowed).select(list(REJECT_SCHEMA)))

    stages = [EARLY] * early + [DUPLICATE] * (len(problems) - early - 1) + [UNKNOWN]
    rejects = pl.concat([p.with_columns(_stage=pl.lit(st, dtype=pl.Int8))
                         for p, st in zip(problems, stages, strict=True)])
    rejects = rejects.sort(ROW, maintain_order=True)
    bad_rows = rejects[ROW].unique()
    valid = out.filter(~pl.col(ROW).is_in(bad_rows.implode()))
    kept = unknown.filter(allowed & ~pl.col(ROW).is_in(bad_rows.implode()))
    if not duplicates:
        return Checked(valid=valid, rejects=rejects, rows_read=rows_read, rows=out,
                       kept=kept.select(ROW, "field", "administration", "value"))
    return Checked(valid=valid, rejects=rejects.drop("_stage"), rows_read=rows_read,
                   warnings=known_codes.warnings(kept, known))


def duplicate_problems(rows: pl.DataFrame, kind: Kind, within: str = "filen") -> pl.DataFrame:
    """The problems (ROW, field, value, reason) of ``rows`` (ROW, the kind's key fields and
    ``_n``, how often the key occurs in the file): every row of an id that is not unique in
    its file — the reason ``validate`` gives, for a file checked in parts. ``within``: where
    the id must be unique, as the reason names it (a lake's table: ``lake_check``)."""
    key_cols = [*kind.key, *kind.key_optional]
    label = kind.field(key_cols[0]).label
    shown = pl.concat_str([pl.col(k).cast(pl.Utf8).fill_null("") for k in key_cols],
                          separator="/")
    reason = (pl.lit(f"{label} '") + shown + pl.lit("' forekommer ")
              + pl.col("_n").cast(pl.Utf8) + pl.lit(f" gange i {within}; id'et skal være entydigt"))
    r = rows.select(reason.alias("r"), shown.alias("v"))
    return _problems(rows[ROW], r["v"], pl.Series([True] * rows.height), key_cols[0], r["r"])


MEMO_MAX = 100_000  # distinct values kept per field while a file is read in parts (~20 MB)


def _bounded(memo: dict, name: str) -> dict:
    """The memo of one field, emptied when it holds ``MEMO_MAX`` values (a field with a new
    value on every row, like a timestamp, would otherwise grow with the file)."""
    seen = memo.setdefault(name, {})
    if len(seen) > MEMO_MAX:
        seen.clear()
    return seen


def unstorable(df: pl.DataFrame, max_chars: int, labels: dict[str, str] | None = None
               ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split off the rows with a value that is never stored: longer than ``max_chars``, or
    holding a NUL character (which PostgreSQL cannot store). Returns the other rows, and one
    problem (ROW, field, value, reason) per such value, its field named by ``labels``. They are
    rejected before any other check, so no other reason quotes such a value, and the value
    itself is not kept (its length is). Found
    vectorised; characters are counted only where the length in bytes (which bounds it) is
    over the limit."""
    cols = [c for c, t in df.schema.items() if c != ROW and t == pl.Utf8]
    flagged = pl.any_horizontal(
        [pl.col(c).str.len_bytes() > max_chars for c in cols]
        + [pl.col(c).str.contains("\x00", literal=True) for c in cols]) if cols else None
    if flagged is None or not df.select(flagged.any()).item():
        return df, pl.DataFrame(schema=REJECT_SCHEMA)
    bad = df.filter(flagged)
    too_long = pl.col("n") > max_chars
    problems = []
    for c in cols:
        label = (labels or {}).get(c, c)
        found = bad.select(ROW, n=pl.col(c).str.len_chars(),
                           nul=pl.col(c).str.contains("\x00", literal=True)
                           ).filter(too_long | pl.col("nul"))
        shown = {v: number(v) for v in found["n"].unique().to_list()}
        problems.append(found.select(
            ROW, field=pl.lit(c), value=pl.lit(None, dtype=pl.Utf8),
            reason=pl.when(too_long).then(
                pl.lit(f"feltet {label} har ")
                + pl.col("n").replace_strict(shown, return_dtype=pl.Utf8)
                + pl.lit(f" tegn, mere end de højst {number(max_chars)} "
                         "(SAGSINDSIGT_IMPORT_MAX_FIELD_CHARS); værdien er ikke gemt")
            ).otherwise(pl.lit(f"feltet {label} indeholder et NUL-tegn (byte 0), som ikke kan "
                               "gemmes; ret værdien i kildesystemet"))))
    rejected = pl.concat(problems).select(list(REJECT_SCHEMA))
    return df.filter(~pl.col(ROW).is_in(rejected[ROW].implode())), rejected


def _fast_timestamps(raw: pl.Series) -> pl.Series:
    """``2014-03-31 14:30:05`` (or with ``T``), and ISO timestamps with fractional seconds and
    an offset (``2011-10-11T13:45:40.276+02:00``, ``Z``: event logs, XES) as the same instant
    in UTC, parsed in one pass; anything else null (the same result as
    ``parse.parse_timestamp`` for what it parses)."""
    plain = raw.str.replace("T", " ", literal=True)
    local = plain.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, exact=True,
                                  time_unit="us")
    zoned = plain.str.replace(r"Z$", "+00:00").str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f%:z", strict=False, exact=True, time_unit="us",
        time_zone="UTC").dt.replace_time_zone(None)
    return local.fill_null(zoned)


def _text(raw: pl.Series, is_key: bool, pseudo: Pseudonymiser,
          mapped: dict[str, str] | None) -> pl.Series:
    if mapped:
        raw = raw.replace(mapped)
    if is_key:
        # An id that is itself a CPR number keeps its identity as a pseudonym.
        shaped = raw.drop_nulls().unique()
        uniq = shaped.filter(shaped.str.contains(CPR_FULL)).to_list()
        if uniq:
            raw = raw.replace({v: pseudo(v) for v in uniq})
    if not raw.str.contains(CPR_ANYWHERE).any():  # most columns hold none: one pass, no copy
        return raw
    return pl.DataFrame({"v": raw}).select(mask_cpr_expr(pl.col("v")))["v"].alias(raw.name)


def _problems(rows: pl.Series, values: pl.Series, mask: pl.Series, field: str,
              reason) -> pl.DataFrame:
    frame = pl.DataFrame({ROW: rows, "value": values.cast(pl.Utf8)})
    frame = frame.with_columns(
        reason=reason if isinstance(reason, pl.Series) else pl.lit(reason, dtype=pl.Utf8))
    frame = frame.filter(mask)
    return frame.select(
        pl.col(ROW), pl.lit(field, dtype=pl.Utf8).alias("field"),
        pl.col("value").map_elements(mask_cpr, return_dtype=pl.Utf8, skip_nulls=True),
        mask_cpr_expr(pl.col("reason")).alias("reason"),  # reasons quote the value
    )


__all__ = ["DUPLICATE", "EARLY", "UNKNOWN", "Checked", "duplicate_problems", "unstorable",
           "validate"]
