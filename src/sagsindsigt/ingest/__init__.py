"""Getting data in: read → map → validate → pseudonymise → write one versioned batch.

``import_file`` is the one entry point the CLI, the web app and the demo use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from .. import danish
from ..access import current
from ..contract import KINDS, Kind, get_kind
from ..logs import get as _logger
from ..privacy import Pseudonymiser, SecretError, load_secret, mask_cpr
from ..settings import Settings
from ..store import DERIVED, Store, derive
from . import known as known_codes
from . import scope
from .known import Known
from .mapping import Mapping, MappingError
from .read import (
    ROW,
    ReadError,
    check_size,
    read_chunks,
    read_records,
    read_table,
    read_yaml,
    shown_name,
)
from .validate import DUPLICATE, REJECT_SCHEMA, validate
from .validate import duplicate_problems as validate_duplicates

DEFAULT_SOURCE = "standard"
Progress = Callable[[str, int, int], None]


class ImportError_(ValueError):
    """An import that could not start (file, mapping or columns), in one Danish sentence."""


@dataclass
class ImportResult:
    kind: str
    source: str
    file: str
    sha256: str
    batch_id: int | None = None
    status: str = "indlæst"  # indlæst | afvist | allerede indlæst
    rows_read: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    covers: tuple[date, date] | None = None
    covers_declared: bool = False
    rejects: list[dict] = field(default_factory=list)
    message: str = ""
    warnings: list[str] = field(default_factory=list)  # unknown codes a mapping allowed

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["covers"] = [c.isoformat() for c in self.covers] if self.covers else None
        return d


logger = _logger("ingest")


def secret_for(store: Store, settings: Settings | None = None) -> Pseudonymiser:
    settings = settings or Settings()
    given = settings.secret.get_secret_value() if settings.secret else None
    pseudo = load_secret(settings.secret_path(store.url), given)
    known = store.meta("secret_fingerprint")
    if known is None:
        store.set_meta("secret_fingerprint", pseudo.fingerprint)
    elif known != pseudo.fingerprint:
        raise SecretError(
            "Nøglen til pseudonymisering passer ikke til databasen: brug den nøglefil, som "
            "databasen blev oprettet med (SAGSINDSIGT_SECRET_FILE)."
        )
    return pseudo


def _records(kind: Kind, path: Path, settings: Settings, mapping: Mapping
             ) -> dict[str, pl.DataFrame]:
    """The file as tables of strings per kind (concepts carry their checks; an event log its
    attributes, ``xes.as_events``)."""
    if kind.name == "events":
        from . import xes

        classifiers: dict[str, list[str]] = {}
        if xes.is_xes(path):
            df, classifiers = xes.read_xes(path, settings)
        else:
            df = read_table(path, settings)
        return {"events": xes.as_events(df, mapping, classifiers, shown_name(path))}
    if kind.name == "concepts" and path.is_dir():
        items = [c for p in sorted(path.glob("*.y*ml")) for c in read_yaml(p, settings)]
    elif path.suffix.lower() in (".yaml", ".yml") and kind.yaml:
        items = read_yaml(path, settings)
    else:
        return {kind.name: read_table(path, settings)}
    if kind.name == "concepts":
        # a check carries its concept's row number: a concept and its checks are accepted
        # or rejected together, and the row in a rejection is the concept's
        checks, rows = [], []
        for row, c in enumerate(items, start=1):
            for pos, ch in enumerate(c.pop("checks", None) or [], start=1):
                checks.append({"concept": c.get("id"), "position": pos, **ch})
                rows.append(row)
        check_table = read_records(checks)
        if checks:
            check_table = check_table.with_columns(pl.Series(ROW, rows, dtype=pl.Int64))
        return {"concepts": read_records(items), "concept_checks": check_table}
    if kind.name == "targets":
        for t in items:
            rel = t.pop("relative_to", None)
            if isinstance(rel, dict):
                t["relative_period"] = rel.get("period")
                t["relative_factor"] = rel.get("factor")
    return {kind.name: read_records(items)}


def _prepare(df: pl.DataFrame, kind: Kind, mapping: Mapping, fname: str) -> pl.DataFrame:
    rename = mapping.rename([c for c in df.columns if c != ROW], kind)
    twice = [dst for dst in dict.fromkeys(rename.values())
             if list(rename.values()).count(dst) > 1]
    if twice:
        f = kind.field(twice[0])
        columns = ", ".join(f"'{src}'" for src, dst in rename.items() if dst == f.name)
        raise ImportError_(
            f"Filen {fname} har flere kolonner for {f.label} ({f.name}): {columns}; behold én "
            "af dem, eller angiv den rigtige i mapping-filen under columns.")
    df = df.select([ROW, *[pl.col(src).alias(dst) for src, dst in rename.items()]])
    for name, value in mapping.constants.items():
        df = df.with_columns(pl.lit(value, dtype=pl.Utf8).alias(name))
    missing = [f for f in kind.fields if f.required and f.name not in df.columns]
    if missing and df.height:
        f = missing[0]
        raise ImportError_(
            f"Filen {fname} mangler kolonnen for {f.label} ({f.name}); navngiv kolonnen "
            f"'{f.name}' eller angiv den i mapping-filen under columns."
        )
    return df


def _known(store: Store) -> Known:
    """The one read of the codes an import checks rows against: the loaded organisation (for
    administration codes and units) and case types, inside the importer's scope."""
    return Known.of(store.rows("organisation", ["code", "name", "parent", "level"]),
                    store.rows("case_types", ["code", "administration"]))


def _covers(kind: Kind, valid: pl.DataFrame, declared: str | None):
    """The period a batch covers: as declared (``--covers``), else the whole calendar months
    from its first to its last record date."""
    from ..calendar import Period, PeriodError

    if declared:
        try:
            p = Period.parse(declared)
        except PeriodError as exc:
            raise ImportError_(str(exc)) from exc
        return (p.start, p.end), True
    dates = [valid[c].cast(pl.Date) for c in kind.coverage if c in valid.columns]
    dates = [d for d in dates if d.null_count() < len(d)]
    if not dates:
        return None, False  # unknown: such figures cannot be annualised
    return _months(min(d.min() for d in dates), max(d.max() for d in dates)), False


def _months(first: date, last: date) -> tuple[date, date]:
    """Whole calendar months, never the first and last record's own days: a year of
    complaints whose last one came on 30 December covers the year, not 364 days of it."""
    from ..calendar import Period

    return first.replace(day=1), Period.month(last.year, last.month).end


def record_key(kind: Kind) -> pl.Expr:
    """A record's ``_key`` from its typed key fields (its identity within its source)."""
    key = pl.concat_str([pl.col(k).cast(pl.Utf8).fill_null("") for k in kind.key], separator="|")
    for k in kind.key_optional:
        key = key + pl.when(pl.col(k).is_null()).then(pl.lit("")).otherwise(
            pl.lit("|") + pl.col(k).cast(pl.Utf8))
    return key


def _stage(kind: Kind, valid: pl.DataFrame, source: str) -> pl.DataFrame:
    return valid.with_columns(_source=pl.lit(source), _key=record_key(kind))


def import_file(store: Store, kind_name: str, path: str | Path, *, source: str | None = None,
                mapping: str | Path | None = None, covers: str | None = None,
                strict: bool = False, today: date | None = None,
                settings: Settings | None = None, progress: Progress | None = None,
                ) -> ImportResult:
    """Load one file of one kind as one batch. Nothing is written unless the batch is
    recorded whole; rejected rows are kept with their reasons."""
    settings = settings or Settings()
    kind = get_kind(kind_name)
    path = Path(path)
    store.require()
    step = progress or (lambda *_: None)
    try:
        m = Mapping.load(Path(mapping) if mapping else None)
        m.check(kind)
    except MappingError as exc:
        raise ImportError_(str(exc)) from exc
    # metadata is stored, logged and printed like any text: CPR-shaped numbers masked (a
    # CPR-shaped source is therefore one source, XXXXXX-XXXX, whichever number it held)
    source = mask_cpr(source or m.source or DEFAULT_SOURCE)
    fname = shown_name(path)
    if not path.exists():
        raise ImportError_(f"Filen {mask_cpr(str(path))} findes ikke.")
    try:
        check_size(path, settings)
    except ReadError as exc:
        raise ImportError_(str(exc)) from exc
    sha = _sha256(path)
    result = ImportResult(kind=kind.name, source=source, file=fname, sha256=sha)
    earlier = store.find_loaded_batch(kind.name, source, sha)
    if earlier is not None:
        result.status, result.batch_id = "allerede indlæst", earlier
        result.message = f"Filen er allerede indlæst som batch {earlier}; intet er ændret."
        return result

    pseudo = secret_for(store, settings)
    today = today or date.today()
    step("læser", 0, 1)
    if kind.name != "concepts":  # one table: read, checked and staged in parts
        return _import_parts(store, kind, path, m, result, covers=covers, strict=strict,
                             today=today, settings=settings, step=step, pseudo=pseudo)
    try:
        tables = _records(kind, path, settings, m)
    except ReadError as exc:
        raise ImportError_(str(exc)) from exc
    known = _known(store)
    checked = {}
    hidden = {"citizen"}  # source columns that hold citizen ids, never shown in quarantine
    for name, df in tables.items():
        k = KINDS[name]
        mk = m if name == kind.name else Mapping()
        hidden |= {src for src, dst in mk.rename(df.columns, k).items() if dst == "citizen"}
        df = _prepare(df, k, mk, fname)
        step("kontrollerer", 0, df.height)
        c = checked[name] = validate(df, k, mk, pseudo, today, known,
                                     settings.import_max_field_chars)
        if (out := scope.outside(c.valid, k, current().write_scope, known)).height:
            c.valid = c.valid.filter(~pl.col(ROW).is_in(out[ROW].implode()))
            c.rejects = pl.concat([c.rejects, out]).sort(ROW, maintain_order=True)
        step("kontrollerer", df.height, df.height)
    main = checked[kind.name]
    result.rows_read, result.warnings = main.rows_read, main.warnings
    rejects = pl.concat([c.rejects.with_columns(pl.format("checks.{}", "field").alias("field"))
                         if name == "concept_checks" else c.rejects
                         for name, c in checked.items()])
    if len(checked) > 1 and rejects.height:  # a record and its parts stand or fall together
        bad = rejects[ROW].unique().implode()
        for c in checked.values():
            c.valid = c.valid.filter(~pl.col(ROW).is_in(bad))
    result.rows_rejected = rejects[ROW].n_unique() if rejects.height else 0
    if result.rows_rejected > settings.import_max_rejected_rows:
        raise ImportError_(_too_many_rejects(fname, result.rows_rejected, rejects, hidden,
                                             settings))
    cov, declared = _covers(kind, main.valid, covers)
    result.covers, result.covers_declared = cov, declared
    batch_id = store.next_batch_id()
    result.batch_id = batch_id
    reject_table = _reject_table(batch_id, fname, rejects, tables, hidden,
                                 settings.import_max_field_chars)
    result.rejects = reject_table.head(200).to_dicts()

    staged = {}
    for name, c in checked.items():
        s = _stage(KINDS[name], c.valid.drop(ROW), source)
        if name == "cases":
            s = derive.with_case_derived(s, derive.case_type_info(store),
                                         frozenset(settings.closed_days),
                                         settings.deadline_roll_forward)
        staged[name] = s
    failed = _refused(result, strict)
    step("gemmer", 0, result.rows_read)
    with store.transaction():
        if not failed:
            for name, s in staged.items():
                w = store.write_records(KINDS[name], batch_id, s.to_arrow())
                if name == kind.name:
                    result.rows_loaded, result.rows_unchanged = w.loaded, w.unchanged
            _refresh(store, kind.name, settings, source)
        store.record_batch({
            "id": batch_id, "kind": kind.name, "source": source, "file": fname,
            "sha256": sha, "covers_start": cov[0] if cov else None,
            "covers_end": cov[1] if cov else None, "covers_declared": declared,
            "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
            "rows_unchanged": result.rows_unchanged, "rows_rejected": result.rows_rejected,
            "status": result.status, "strict": strict, "loaded_at": datetime.now(),
            "message": result.message,
        }, reject_table)
    if not failed:
        _refresh_process(store, settings)
    step("gemmer", result.rows_read, result.rows_read)
    logger.info("Batch %s (%s, kilde %s, fil %s): %s, %d indlæst, %d uændrede, %d afvist",
             batch_id, kind.name, source, fname, result.status, result.rows_loaded,
             result.rows_unchanged, result.rows_rejected)
    for w in result.warnings:
        logger.info("Batch %s: %s", batch_id, w)
    for r in result.rejects[:20]:
        logger.debug("Afvist: %s række %s, felt %s: %s (værdi %s)", r.get("file"), r.get("row"),
                  r.get("field"), r.get("reason"), r.get("value"))
    return result


SCOPE = 3  # a problem's place among a row's reasons: after validate's (validate.EARLY ...)


def _parts(kind: Kind, path: Path, settings: Settings, mapping: Mapping,
           read: Callable[[int], None]) -> Iterator[pl.DataFrame]:
    """The file as tables of strings of at most ``import_chunk_rows`` rows, with the file's
    row numbers: CSV read in blocks; an XES log and a YAML file read whole (as ``_records``);
    an event log's parts each made events (``xes.as_events`` works row by row)."""
    rows = max(1, settings.import_chunk_rows)
    if kind.name == "events":
        from . import xes

        if xes.is_xes(path):
            yield _records(kind, path, settings, mapping)["events"]
            return
        for df in read_chunks(path, settings, rows, read):
            yield xes.as_events(df, mapping, {}, shown_name(path))
        return
    if path.suffix.lower() in (".yaml", ".yml") and kind.yaml:
        yield _records(kind, path, settings, mapping)[kind.name]
        return
    yield from read_chunks(path, settings, rows, read)


def _import_parts(store: Store, kind: Kind, path: Path, m: Mapping, result: ImportResult, *,
                  covers: str | None, strict: bool, today: date, settings: Settings,
                  step: Progress, pseudo) -> ImportResult:
    """``import_file`` for a kind of one table, in bounded memory: the file is read, mapped,
    checked and pseudonymised in parts, each staged in a temporary table of the store with
    its row numbers; what needs the whole file (ids unique in the file, the period it
    covers, the changed records) is then found by the engine, and the batch written in one
    transaction. Rejected rows are kept as they come, up to the cap; beyond it the file is
    read to its end only to count them."""
    fname, source, cap = result.file, result.source, settings.import_max_rejected_rows
    known = _known(store)
    within = current().write_scope
    hidden = {"citizen"}  # source columns that hold citizen ids, never shown in quarantine
    cases = kind.name == "cases"
    types = derive.case_type_info(store) if cases else None
    closed, roll = frozenset(settings.closed_days), settings.deadline_roll_forward
    derived = [c for c, _ in DERIVED.get(kind.name, [])] if cases else []
    memo: dict = {}
    dues: dict = {}
    kept_rejects: list[pl.DataFrame] = []  # ROW, field, value, reason, _stage (up to the cap)
    records: dict[int, str] = {}  # the raw record of each rejected row kept
    first: pl.DataFrame | None = None  # the first problem of the file's parts
    counts: pl.DataFrame | None = None  # unknown codes a mapping allowed: field, admin, value
    rejected = 0  # rows rejected in their part
    size = max(path.stat().st_size, 1) if path.is_file() else 1
    read = [0]

    def told(n: int) -> None:
        read[0] = n

    with store.staging(kind, derived, settings.import_memory_mb) as stage:
        try:
            for raw in _parts(kind, path, settings, m, told):
                hidden |= {src for src, dst in m.rename(raw.columns, kind).items()
                           if dst == "citizen"}
                df = _prepare(raw, kind, m, fname)
                c = validate(df, kind, m, pseudo, today, known,
                             settings.import_max_field_chars, duplicates=False, memo=memo)
                rej = c.rejects
                if (out := scope.outside(c.valid, kind, within, known)).height:
                    rej = pl.concat([rej, out.with_columns(_stage=pl.lit(SCOPE, dtype=pl.Int8))]
                                    ).sort(ROW, maintain_order=True)
                bad = rej[ROW].unique()
                result.rows_read += c.rows_read
                if bad.len():
                    rejected += bad.len()
                    if first is None:
                        first = rej.head(1)
                    if rejected <= cap:
                        kept_rejects.append(rej)
                        records.update(_raw_records(raw, bad, hidden,
                                                    settings.import_max_field_chars))
                if c.kept is not None and c.kept.height:
                    part = c.kept.group_by("field", "administration", "value").len("n")
                    counts = part if counts is None else pl.concat([counts, part]).group_by(
                        "field", "administration", "value").agg(pl.col("n").sum())
                rows = _stage(kind, c.rows, source).with_columns(
                    _ok=~pl.col(ROW).is_in(bad.implode()))
                if cases:
                    rows = derive.with_case_derived(rows, types, closed, roll, memo=dues)
                stage.append(rows)
                step("kontrollerer", min(read[0], size) if read[0] else 0, size)
        except ReadError as exc:
            raise ImportError_(str(exc)) from exc
        step("kontrollerer", size, size)

        # ids that occur more than once in the file: every such row is rejected
        twice, twice_good, dups = stage.duplicates(cap)
        result.rows_rejected = rejected + twice_good
        dup_problems = (validate_duplicates(dups, kind).with_columns(
            _stage=pl.lit(DUPLICATE, dtype=pl.Int8)) if dups is not None
            else pl.DataFrame(schema={**REJECT_SCHEMA, "_stage": pl.Int8}))
        if result.rows_rejected > cap:
            firsts = pl.concat([f for f in (first, dup_problems.head(1)) if f is not None])
            raise ImportError_(_too_many_rejects(
                fname, result.rows_rejected,
                firsts.sort([ROW, "_stage"], maintain_order=True).drop("_stage"), hidden,
                settings))
        rejects = pl.concat([*kept_rejects, dup_problems]) if kept_rejects else dup_problems
        if dups is not None:
            twice_rows = dups[ROW].implode()
            # a row rejected as a duplicate was never a good row: no write-scope reason
            rejects = rejects.filter(~((pl.col("_stage") == SCOPE)
                                       & pl.col(ROW).is_in(twice_rows)))
            good_dups = dups.filter(pl.col("_ok"))
            if counts is not None and good_dups.height:
                allowed = pl.col("field").is_in(sorted(m.allow_unknown))
                gone = (known_codes.unknown(good_dups, kind, known).filter(allowed)
                        .group_by("field", "administration", "value").len("gone"))
                counts = (counts.join(gone, on=["field", "administration", "value"],
                                      how="left")
                          .with_columns(n=pl.col("n") - pl.col("gone").fill_null(0))
                          .filter(pl.col("n") > 0).drop("gone"))
            missing = [r for r in good_dups[ROW].to_list() if r not in records]
            if missing:  # read once more for the raw records of these rows only
                wanted = pl.Series(missing, dtype=pl.Int64).implode()
                for raw in _parts(kind, path, settings, m, lambda _: None):
                    raw = raw.filter(pl.col(ROW).is_in(wanted))
                    if raw.height:
                        records.update(_raw_records(raw, raw[ROW], hidden,
                                                    settings.import_max_field_chars))
        rejects = rejects.sort([ROW, "_stage"], maintain_order=True).drop("_stage")
        result.warnings = known_codes.warnings_from_counts(counts, known) \
            if counts is not None else []

        if covers:
            cov, declared = _covers(kind, pl.DataFrame(), covers)
        else:
            lo, hi = stage.span(list(kind.coverage))
            cov, declared = (_months(lo, hi) if lo is not None else None), False
        result.covers, result.covers_declared = cov, declared
        batch_id = result.batch_id = store.next_batch_id()
        reject_table = _reject_rows(batch_id, fname, rejects, records, hidden)
        result.rejects = reject_table.head(200).to_dicts()
        failed = _refused(result, strict)
        step("gemmer", 0, result.rows_read)
        with store.transaction():
            if not failed:
                w = store.write_records(kind, batch_id, stage)
                result.rows_loaded, result.rows_unchanged = w.loaded, w.unchanged
                _refresh(store, kind.name, settings, source)
            store.record_batch(_batch_row(result, batch_id, strict), reject_table)
        if not failed:
            _refresh_process(store, settings)
    step("gemmer", result.rows_read, result.rows_read)
    _log(result)
    return result


def _batch_row(result: ImportResult, batch_id: int, strict: bool) -> dict:
    cov = result.covers
    return {
        "id": batch_id, "kind": result.kind, "source": result.source, "file": result.file,
        "sha256": result.sha256, "covers_start": cov[0] if cov else None,
        "covers_end": cov[1] if cov else None, "covers_declared": result.covers_declared,
        "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
        "rows_unchanged": result.rows_unchanged, "rows_rejected": result.rows_rejected,
        "status": result.status, "strict": strict, "loaded_at": datetime.now(),
        "message": result.message,
    }


def _log(result: ImportResult) -> None:
    batch_id = result.batch_id
    logger.info("Batch %s (%s, kilde %s, fil %s): %s, %d indlæst, %d uændrede, %d afvist",
                batch_id, result.kind, result.source, result.file, result.status,
                result.rows_loaded, result.rows_unchanged, result.rows_rejected)
    for w in result.warnings:
        logger.info("Batch %s: %s", batch_id, w)
    for r in result.rejects[:20]:
        logger.debug("Afvist: %s række %s, felt %s: %s (værdi %s)", r.get("file"),
                     r.get("row"), r.get("field"), r.get("reason"), r.get("value"))


def _refresh(store: Store, kind: str, settings: Settings, source: str | None = None
             ) -> None:
    closed, roll = frozenset(settings.closed_days), settings.deadline_roll_forward
    if kind == "case_types":
        derive.refresh_cases(store, closed, roll)
    if kind in ("events", "timeliness_rules", "case_types"):
        store.replace_table("timeliness_items", derive.timeliness_items(store, closed, roll))
    elif kind == "cases" and source is not None and store.has_rows("timeliness_items"):
        derive.refresh_timeliness_cases(store, source)


def _refresh_process(store: Store, settings: Settings) -> None:
    """After an import has committed: the process analysis's derived tables rebuilt (in the
    import's memory bound) where it changed the events or the cases they were made from (an
    import of events, cases or case types; their stamp says, ``derive.ensure_process``). A
    failure leaves them unused (the figures then come from the events, slower) and the import
    stands; it is logged."""
    try:
        derive.ensure_process(store, settings.import_memory_mb)
    except Exception as exc:  # noqa: BLE001 — derived data: the import itself succeeded
        logger.warning("Procestabellerne blev ikke genberegnet (%s); procesanalysen regner "
                       "fra hændelserne, til næste indlæsning eller 'sagsindsigt prepare'.",
                       type(exc).__name__)


def _too_many_rejects(fname: str, n: int, rejects: pl.DataFrame, hidden: set[str],
                      settings: Settings) -> str:
    """Above the cap a batch is refused whole (nothing written), with its first reason."""
    first = rejects.sort(ROW, maintain_order=True).row(0, named=True)
    reason = _hide_in_reason(first["field"], first["value"], first["reason"], hidden) or ""
    if len(reason) > 300:
        reason = reason[:300] + " …"
    return (f"Filen {fname} har {danish.number(n)} afviste rækker, flere end de "
            f"{danish.number(settings.import_max_rejected_rows)}, der højst gemmes for én fil "
            "(SAGSINDSIGT_IMPORT_MAX_REJECTED_ROWS), så intet er indlæst; første fejl: række "
            f"{first[ROW]}, felt {first['field']}: {reason}.")


REJECT_COLUMNS = {"batch": pl.Int64, "file": pl.Utf8, "row": pl.Int64, "field": pl.Utf8,
                  "value": pl.Utf8, "reason": pl.Utf8, "record": pl.Utf8}


def _reject_table(batch_id: int, fname: str, rejects: pl.DataFrame,
                  tables: dict[str, pl.DataFrame], hidden: set[str], max_chars: int
                  ) -> pl.DataFrame:
    if not rejects.height:
        return pl.DataFrame(schema=REJECT_COLUMNS)
    raw = pl.concat(list(tables.values()), how="diagonal_relaxed")
    records = _raw_records(raw, rejects[ROW].unique(), hidden, max_chars)
    return _reject_rows(batch_id, fname, rejects, records, hidden)


def _raw_records(raw: pl.DataFrame, rows: pl.Series, hidden: set[str], max_chars: int
                 ) -> dict[int, str]:
    """Row number → the rejected row as read, as JSON: citizen ids hidden, values too long to
    keep only counted, CPR-shaped numbers masked (the first table's record for a row)."""
    records: dict[int, str] = {}
    for r in raw.filter(pl.col(ROW).is_in(rows.implode())).iter_rows(named=True):
        rec = {k: ("(pseudonymiseret)" if k in hidden else
                   f"({danish.number(len(v))} tegn; ikke gemt)" if len(v) > max_chars else
                   mask_cpr(v))
               for k, v in r.items() if k != ROW and v is not None}
        records.setdefault(r[ROW], json.dumps(rec, ensure_ascii=False))  # the main record
    return records


def _reject_rows(batch_id: int, fname: str, rejects: pl.DataFrame, records: dict[int, str],
                 hidden: set[str]) -> pl.DataFrame:
    """The rows of ``rejects`` as the store keeps them (a Polars frame: no pyarrow, so no
    pandas, in an importing process)."""
    if not rejects.height:
        return pl.DataFrame(schema=REJECT_COLUMNS)
    return pl.DataFrame({
        "batch": [batch_id] * rejects.height, "file": [fname] * rejects.height,
        "row": rejects[ROW].to_list(), "field": rejects["field"].to_list(),
        "value": [("(pseudonymiseret)" if f == "citizen" else v)
                  for f, v in zip(rejects["field"], rejects["value"], strict=True)],
        "reason": [_hide_in_reason(f, v, why, hidden) for f, v, why in
                   zip(rejects["field"], rejects["value"], rejects["reason"], strict=True)],
        "record": [records.get(r) for r in rejects[ROW].to_list()],
    }, schema=REJECT_COLUMNS)


def _hide_in_reason(field: str, value: str | None, reason: str | None,
                    hidden: set[str]) -> str | None:
    """A reason quotes the rejected value: not for a citizen id, which never lands in clear."""
    if reason and value and (field == "citizen" or field in hidden):
        return reason.replace(value, "(pseudonymiseret)")
    return reason


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.glob("*.y*ml")):
            h.update(p.read_bytes())
        return h.hexdigest()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _refused(result: ImportResult, strict: bool) -> bool:
    """With ``--strict``, a file with rejected rows loads nothing: the batch is marked
    refused with its one-sentence reason. Whether it was."""
    if not (strict and result.rows_rejected > 0):
        return False
    result.status = "afvist"
    rows = "række" if result.rows_rejected == 1 else "rækker"
    result.message = f"{result.rows_rejected} {rows} blev afvist, og med --strict er intet indlæst."
    return True

__all__ = ["ImportError_", "ImportResult", "import_file", "secret_for", "SecretError"]
