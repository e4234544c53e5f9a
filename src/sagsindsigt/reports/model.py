"""What a report is, as plain data: sections of tables and charts whose every figure comes
from the KPI registry. The renderers (html/pdf, xlsx) only arrange and format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..calendar import Period
from ..kpis import Query, Result, compute

COUNT, PCT, DAYS, TEXT = "antal", "%", "dage", ""
PRIMARY, SECONDARY = "<5", "x"  # how a hidden cell is shown (publication mode)


@dataclass
class Cell:
    """One figure: the registry's value plus what it was made of (for suppression)."""

    value: float | int | str | None = None
    unit: str = COUNT
    note: str | None = None  # why "-", or the footnote of an estimate
    numerator: float | None = None
    denominator: float | None = None
    light: str | None = None  # green | yellow | red (audits, targets)
    estimate: bool = False
    ci: tuple[float, float] | None = None
    hidden: str | None = None  # PRIMARY or SECONDARY when suppressed

    @property
    def shown(self) -> float | int | str | None:
        """What a published report may show: the hidden mark instead of the figure."""
        return self.hidden if self.hidden else self.value


@dataclass
class Column:
    key: str
    label: str
    unit: str = TEXT
    kpi: str | None = None


@dataclass
class Table:
    """Rows of cells keyed by column. ``total_row``: the last row holds the column totals;
    ``total_col``: the key of the column that holds each row's total (cross tables)."""

    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total_row: bool = False
    total_col: str | None = None
    notes: list[str] = field(default_factory=list)
    chart: ChartRef | None = None

    def cells(self):
        for i, r in enumerate(self.rows):
            for c in self.columns[1:]:
                v = r.get(c.key)
                if isinstance(v, Cell):
                    yield i, c.key, v


@dataclass
class ChartRef:
    """A bar chart of some columns of a table (the rows without the total row), drawn from
    the same Vega-Lite spec as the dashboard's and as a native Excel chart."""

    title: str
    values: list[str]  # column keys
    unit: str = COUNT
    spec: dict | None = None  # filled by the report builder after suppression


@dataclass
class Section:
    id: str
    title: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)


@dataclass
class Report:
    kind: str
    title: str
    period: Period
    filters: list[tuple[str, str]]  # (label, value) of every filter used, for the header
    internal: bool
    threshold: int
    sections: list[Section]
    kpis: list[str]  # every KPI id a figure comes from, in order of first use
    batches: list[dict]
    made: date = field(default_factory=date.today)
    notes: list[str] = field(default_factory=list)

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

    def get(self, kpi: str, period, by=(), where=(), annualise: bool = False) -> Result:
        if kpi not in self.used:
            self.used.append(kpi)
        if self._get is not None:
            return self._get(kpi, period, list(by), list(where), annualise)
        q = Query.make(kpi, period, list(by), list(where), annualise)
        key = (kpi, q.period.label, tuple(q.by),
               tuple(sorted((k, tuple(v)) for k, v in q.where.items())), annualise)
        if key not in self._cache:
            self._cache[key] = compute(self.store, q)
        return self._cache[key]

    def query(self, sql: str) -> list[tuple]:
        """Plain SQL on the store (names, batches), under the dashboard's lock if shared."""
        if self.lock is None:
            return self.store.engine.query(sql)
        with self.lock:
            return self.store.engine.query(sql)
