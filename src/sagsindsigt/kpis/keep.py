"""KPI results kept in the store, so a new process answers without computing (issue 16).

A figure is computed when the data change (an import, the demo, ``serve`` before it listens:
``web.prepare``) or at its first query, and kept in the store's ``figures`` table with the
data versions of the tables it read. :func:`sagsindsigt.kpis.compute` asks here first: a
one-shot ``sagsindsigt kpi`` then needs neither Ibis nor Polars, and the first visit to a page
after a start reads its figures instead of computing them.

What decides a figure is in its key: the query (KPI, period, breakdown, filters,
annualising), the caller's data scope as resolved (its code and the administrations and units
it covers), the settings a computation reads (:data:`SETTINGS`) and the code itself (a digest
of the package's sources: an upgrade computes afresh). A kept result is used only while
every table it read still has the version it was computed from; a write deletes the results
that read a table it changed (``Store._bump``). Results are stored as JSON, never pickled:
a value read from the database is data, not code.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from ..access import current
from ..store.deps import note, tracking
from .base import KpiUsageError, Query, Result, Row, get
from .base import compute as compute_now

# settings read while a figure is computed (not only at import): part of every key
SETTINGS = ("SAGSINDSIGT_CLOSED_DAYS",)
_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
_ROW_FIELDS = ("dims", "value", "numerator", "denominator", "n", "estimate", "note", "extra")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the package's Python sources (a few milliseconds, once per process)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _settings() -> dict[str, str]:
    env = {k.upper(): v for k, v in os.environ.items()}
    return {k: env[k] for k in SETTINGS if k in env}


def key(query) -> str:
    """The digest that names a query's result for the acting principal."""
    return _digest({
        "kpi": query.kpi, "start": query.period.start.isoformat(),
        "end": query.period.end.isoformat(), "label": query.period.label,
        "by": list(query.by), "where": sorted((k, sorted(v)) for k, v in query.where.items()),
        "annualise": bool(query.annualise)})


def _digest(parts: dict) -> str:
    s = current().data_scope
    parts = {**parts, "settings": _settings(), "code": code_digest(),
             "scope": [s.code, *(sorted(x) if x is not None else None
                                 for x in (s.administrations, s.units, s.member_units))]}
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    # in the letters a–p, not hex: a key never holds ten digits in a row (a CPR scan of the
    # store, tests/test_privacy.py, would see one in a hex digest by chance)
    return digest.hexdigest().translate(_LETTERS)


def cached(store, name: tuple, make):
    """Any value made from the store's data (a process analysis, a control chart's monthly
    rows, the worklist's counts), kept like a KPI result under ``name`` (put everything the
    value depends on besides the data, the scope and the code in it: a date, filters). A
    value JSON cannot hold exactly (a tuple, a set) is made each time, not kept."""
    key = _digest({"value": list(name)})
    versions = store.check_version()
    hit = store.kept_figure(key)
    if hit is not None:
        note(hit[0])
        return json.loads(hit[1], object_hook=_decode)
    with tracking() as seen:
        value = make()
    _keep(store, key, value, seen, versions)
    return value


def _keep(store, key: str, value, seen: set[str], versions: dict[str, int]) -> None:
    """Keep ``value`` computed from the data at ``versions``, having read the tables
    ``seen``. Not kept: a value whose reads are unknown, or one JSON would change (a tuple,
    a set; dates and times are tagged, :func:`_encode`): it is made again instead."""
    if not seen or "*" in seen or any(t not in versions for t in seen):
        return
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_encode)
    except (TypeError, ValueError):
        return
    if json.loads(text, object_hook=_decode) != value:  # a tuple comes back a list
        return
    store.keep_figure(key, {t: versions[t] for t in sorted(seen)}, text)


def _encode(v):
    """A KPI row (a control chart's monthly rows are rows) as JSON: its fields in order; a
    date or a time as ISO 8601 text, tagged so that it comes back a date or a time."""
    if isinstance(v, Row):
        return {"__row__": [getattr(v, f) for f in _ROW_FIELDS]}
    if isinstance(v, datetime):
        return {"__datetime__": v.isoformat()}
    if isinstance(v, date):
        return {"__date__": v.isoformat()}
    raise TypeError(type(v).__name__)


def _decode(d: dict):
    if "__row__" in d:
        return Row(**dict(zip(_ROW_FIELDS, d["__row__"], strict=True)))
    if "__datetime__" in d:
        return datetime.fromisoformat(d["__datetime__"])
    if "__date__" in d:
        return date.fromisoformat(d["__date__"])
    return d


def compute(store, query: Query) -> Result:
    """The figure for ``query``: kept in the store if it was computed from the data as they
    are, else computed now and kept. Every surface asks through here."""
    kpi = get(query.kpi)
    versions = store.check_version()
    rows = load(store, query)
    if rows is not None:
        return Result(kpi=kpi, query=query, rows=rows)
    with tracking() as seen:
        result = compute_now(store, query)
    save(store, query, result.rows, seen, versions)
    return result


def load(store, query) -> list | None:
    """The kept rows of ``query`` (as :class:`~sagsindsigt.kpis.base.Row`), or None."""
    hit = store.kept_figure(key(query))
    if hit is None:
        return None
    reads, value = hit
    note(reads)  # an enclosing cache depends on what the kept result read
    return [Row(**dict(zip(_ROW_FIELDS, r, strict=True)))
            for r in json.loads(value, object_hook=_decode)]


def save(store, query, rows: list, seen: set[str], versions: dict[str, int]) -> None:
    """Keep the rows of ``query`` (see :func:`_keep`)."""
    _keep(store, key(query), [[getattr(r, f) for f in _ROW_FIELDS] for r in rows], seen,
          versions)


def latest_year(store) -> str:
    """:func:`sagsindsigt.store.reads.latest_year` (the default period of every surface),
    kept like a figure: a one-shot command does not scan the cases to learn it."""
    from ..store import reads

    return cached(store, ("latest_year",), lambda: reads.latest_year(store))


def prepare(store, progress=None) -> int:
    """Compute and keep what a one-shot command asks most: every KPI for every calendar year
    with data, for the whole municipality and by administration (the acting principal's
    scope). ``progress(done, total)`` is called as it goes; returns how many were computed."""
    from ..store import reads
    from . import all_kpis

    span = reads.received_span(store)
    if span is None:
        return 0
    latest_year(store)
    jobs = [(k.id, str(year), by) for year in range(span[1].year, span[0].year - 1, -1)
            for k in all_kpis() for by in ([], ["administration"])
            if not by or "administration" in k.dims]
    for i, (kpi, period, by) in enumerate(jobs, start=1):
        try:
            compute(store, Query.make(kpi, period, by))
        except KpiUsageError:  # a KPI that needs more than a period (none today)
            pass
        if progress:
            progress(i, len(jobs))
    return len(jobs)


__all__ = ["SETTINGS", "cached", "code_digest", "compute", "key", "latest_year", "load", "prepare",
           "save"]
