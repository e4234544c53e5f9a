"""What a report is, as plain data: sections of tables and charts whose every figure comes
from the KPI registry. The renderers (html/pdf, xlsx) only arrange and format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from ..calendar import Period
from ..kpis import Query, Result, compute
from ..present.tables import (
    COUNT,
    DAYS,
    PCT,
    PRIMARY,
    SECONDARY,
    TEXT,
    Cell,
    ChartRef,
    Column,
    Table,
)


@dataclass
class Section:
    id: str
    title: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    why_empty: str = ""  # the sentence a section without tables shows


@dataclass
class Report:
    kind: str
    title: str
    period: Period
    filters: list[tuple[str, str]]  # (label, value) of every filter used, for the header
    scope: str  # whose data: "Jobcenter Amager (JCA)", "Hele kommunen"
    internal: bool
    threshold: int
    sections: list[Section]
    kpis: list[str]  # every KPI id a figure comes from, in order of first use
    batches: list[dict]
    made: date = field(default_factory=date.today)
    notes: list[str] = field(default_factory=list)
    reads: frozenset[str] = frozenset()  # the tables its figures were read from

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]


class Source:
    """The figures a report needs: ``get`` has the signature of the dashboard's
    ``Figures.get`` (so the web page can pass its cache) and records every KPI used."""

    def __init__(self, store, get: Callable[..., Result] | None = None, lock=None):
        self.store = store
        self._get = get
        self.lock = lock
        self._cache: dict[tuple, Result] = {}
        self.used: list[str] = []
        self.calls = 0  # figures asked for (a report's progress is counted in them)
        self.on_get: Callable[[int], None] | None = None  # hears ``calls`` after each

    def get(self, kpi: str, period, by=(), where=(), annualise: bool = False) -> Result:
        if kpi not in self.used:
            self.used.append(kpi)
        self.calls += 1
        try:
            return self._figure(kpi, period, by, where, annualise)
        finally:
            if self.on_get is not None:
                self.on_get(self.calls)

    def _figure(self, kpi: str, period, by, where, annualise: bool) -> Result:
        if self._get is not None:
            return self._get(kpi, period, list(by), list(where), annualise)
        q = Query.make(kpi, period, list(by), list(where), annualise)
        key = (kpi, q.period.label, tuple(q.by),
               tuple(sorted((k, tuple(v)) for k, v in q.where.items())), annualise)
        if key not in self._cache:
            self._cache[key] = compute(self.store, q)
        return self._cache[key]

    def locked(self, fn):
        """``fn()`` under the dashboard's lock when the source shares its connection."""
        if self.lock is None:
            return fn()
        with self.lock:
            return fn()


__all__ = ["COUNT", "DAYS", "PCT", "PRIMARY", "SECONDARY", "TEXT", "Cell", "ChartRef", "Column",
           "Report",
           "Section", "Source", "Table"]
