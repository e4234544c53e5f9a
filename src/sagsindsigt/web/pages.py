"""What each dashboard page shows, as plain data: tables of KPI values and chart specs.

Every figure comes from the KPI registry through ``Figures.get`` (one cached ``compute`` per
query); the templates only format. The same builders feed the downloads (CSV/XLSX), so a
download always holds the numbers on the page.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from ..access import scope_key, view_key
from ..calendar import Period
from ..contract.codes import ADMINISTRATIONS, CODE_LISTS, label
from ..danish import value as dk_value
from ..kpis import Query, Result, compute
from ..kpis import get as get_kpi

LEVELS = ["administration", "unit", "case_type"]  # kommune → forvaltning → center → sagstype
LEVEL_LABELS = {"administration": "Forvaltning", "unit": "Center/enhed",
                "case_type": "Sagstype", None: "Kommune"}
DIM_LABELS = {
    "administration": "Forvaltning", "unit": "Enhed", "case_type": "Sagstype",
    "benefit_area": "Ydelsesområde", "kind": "Klagetype", "points": "Klagepunkt",
    "channel": "Kanal", "via": "Modtaget via", "outcome": "Udfald",
    "appeal_outcome": "Ankestyrelsens afgørelse", "strengthened_contact": "Styrket borgerkontakt",
    "concept": "Koncept", "round": "Runde", "check": "Kontrolpunkt", "category": "Kategori",
    "rule": "Regel", "month": "Måned", "age_band": "Alder",
}
DIM_CODES = {"administration": "administration", "kind": "complaint_kind",
             "points": "complaint_point", "channel": "channel", "via": "via",
             "outcome": "complaint_outcome", "appeal_outcome": "appeal_outcome",
             "category": "check_category"}
PAGES = [("overblik", "Overblik"), ("sager", "Sager"), ("klager", "Klager"),
         ("borgerkontakt", "Styrket borgerkontakt"),
         ("/klager/registrering", "Registrér klage"),
         ("maaltal", "Måltal"),
         ("sammenligning", "Sammenligning"),
         ("registreringspraksis", "Registreringspraksis"),
         ("kvalitet", "Kvalitet"), ("/kvalitet/aarshjul", "Årshjul"),
         ("/kvalitet/resultater", "Kvalitetsrapport"), ("data", "Data"),
         ("/rapporter", "Rapporter"), ("/admin/revisionslog", "Revisionslog")]


@dataclass(frozen=True)
class Filters:
    """Everything that decides a view; all of it lives in the URL."""

    period: str
    administration: str | None = None
    unit: str | None = None
    case_type: str | None = None

    @property
    def level(self) -> str | None:
        """The dimension the page breaks down by (the next level of the drill-down)."""
        for dim in LEVELS:
            if getattr(self, dim) is None:
                return dim
        return None

    def where(self) -> list[str]:
        return [f"{d}={getattr(self, d)}" for d in LEVELS if getattr(self, d)]

    def params(self, **change: Any) -> dict[str, str]:
        values = {"period": self.period, **{d: getattr(self, d) for d in LEVELS}, **change}
        return {k: v for k, v in values.items() if v}

    def drill(self, value: str) -> dict[str, str] | None:
        level = self.level
        return self.params(**{level: value}) if level else None

    def crumbs(self) -> list[tuple[str, dict[str, str]]]:
        out = [("Kommunen", {"period": self.period})]
        for i, d in enumerate(LEVELS):
            v = getattr(self, d)
            if v is None:
                break
            keep = {x: getattr(self, x) for x in LEVELS[: i + 1]}
            out.append((name(d, v), {"period": self.period, **keep}))
        return out


def name(dim: str, value: Any) -> str:
    """A dimension value as users read it."""
    if value is None:
        return "(ikke oplyst)"
    if dim == "administration":
        return ADMINISTRATIONS.get(value, value)
    if dim == "strengthened_contact":
        return "Ja" if value in (True, "true") else "Nej"
    if dim in DIM_CODES:
        return label(DIM_CODES[dim], value)
    return str(value)


@dataclass
class Cell:
    value: Any = None
    unit: str = ""
    note: str | None = None  # why "-", or the footnote of an estimate
    light: str | None = None
    ci: tuple[float, float] | None = None
    estimate: bool = False


@dataclass
class Column:
    key: str
    label: str
    unit: str = ""
    kpi: str | None = None


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)  # key → Cell or text
    links: list[dict[str, str] | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    caption: str = ""

    def add(self, row: dict[str, Any], link: dict[str, str] | None = None) -> None:
        self.rows.append(row)
        self.links.append(link)


_MISSING = object()


class Figures:
    """The KPI results one request needs, cached per store version (imports bump it).
    Queries on the store's one connection take turns (``lock``); the cache has a lock of its
    own, so a request whose figures are cached never waits behind a computation."""

    def __init__(self, store, capacity: int = 4096):
        self.store = store
        self.lock = threading.RLock()  # one connection per store: queries take turns
        self._cache_lock = threading.RLock()
        self._cache: OrderedDict[tuple, Result] = OrderedDict()
        self._capacity = capacity
        self._version: tuple | None = None
        self._busy = 0  # requests being served
        self._idle = threading.Condition()
        self._last_served = 0.0  # time.monotonic() when the last request ended
        self.background: threading.Thread | None = None  # the warm-up thread, while it runs
        self.warmed = threading.Event()  # set when a warm-up has finished

    @contextmanager
    def serving(self):
        """Mark a request in progress: the warm-up yields to it."""
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._last_served = time.monotonic()
                self._idle.notify_all()

    def _yield_to_requests(self, quiet: float = 0.2) -> None:
        """In the warm-up thread, before each computation: wait until no request has been
        served for ``quiet`` seconds (visitors come in bursts), so a visitor never queues
        behind the warm-up for the one connection. Never while holding the store's lock: a
        request waiting for it would never end."""
        if self.background is not threading.current_thread() or self.lock._is_owned():
            return
        with self._idle:
            while True:
                rest = self._last_served + quiet - time.monotonic()
                if self._busy == 0 and rest <= 0:
                    return
                self._idle.wait(max(rest, 0.01) if self._busy == 0 else None)

    def version(self) -> tuple:
        """The store's data version (``Store.data_version``: every import or write bumps it)."""
        with self.lock:
            return self.store.data_version()

    def refresh(self) -> None:
        v = self.version()
        with self._cache_lock:
            if v != self._version:
                self._cache.clear()
                self._version = v

    def _cached(self, key: tuple):
        """The cached value, or ``_MISSING``."""
        with self._cache_lock:
            hit = self._cache.get(key, _MISSING)
            if hit is not _MISSING:
                self._cache.move_to_end(key)
            return hit

    def _keep(self, key: tuple, value) -> None:
        with self._cache_lock:
            self._cache[key] = value
            if len(self._cache) > self._capacity:
                self._cache.popitem(last=False)

    def get(self, kpi: str, period: str | Period, by=(), where=(), annualise=False) -> Result:
        q = Query.make(kpi, period, list(by), list(where), annualise)
        key = (scope_key(), kpi, q.period.label, tuple(q.by),  # figures differ by scope only
               tuple(sorted((k, tuple(v)) for k, v in q.where.items())), annualise)
        hit = self._cached(key)
        if hit is not _MISSING:
            return hit
        self._yield_to_requests()
        with self.lock:
            hit = self._cached(key)  # computed meanwhile by another thread
            if hit is not _MISSING:
                return hit
            res = compute(self.store, q)
            self._keep(key, res)  # before a refresh on the connection can clear the cache
        return res

    def memo(self, key: tuple, make):
        """Any other derived value (the seed table, warnings), cached like KPI results."""
        key = (view_key(), "memo", *key)  # a view differs by role and scope
        hit = self._cached(key)
        if hit is not _MISSING:
            return hit
        value = make()  # outside the lock: rendering needs no database
        self._keep(key, value)
        return value

    def memo_db(self, key: tuple, make):
        """Like ``memo``, for a value computed on the store directly (not through ``get``):
        under the store's lock, since the one connection cannot run two queries at once."""

        def locked():
            self._yield_to_requests()
            with self.lock:
                return make()

        return self.memo(key, locked)

    def query(self, sql: str, params=()) -> list[tuple]:
        with self.lock:
            return self.store.engine.query(sql, list(params))


def cell(res: Result, row) -> Cell:
    if row is None:
        return Cell(None, res.kpi.unit, "ingen data")
    ci = None
    if row.extra.get("ci_low") is not None:
        ci = (row.extra["ci_low"], row.extra["ci_high"])
    return Cell(row.value, res.kpi.unit, row.note, row.extra.get("light"), ci, row.estimate)


def by_member(res: Result, dim: str) -> dict[Any, Any]:
    return {r.dims.get(dim): r for r in res.rows}


def kpi_table(fig: Figures, tid: str, title: str, f: Filters, kpis: list[str], dim: str,
              where=(), annualise=False, drill: bool = False, caption: str = "",
              limit: int | None = None) -> Table:
    """Rows = members of ``dim`` in scope, columns = KPIs; plus a total row."""
    cols = [Column(dim, DIM_LABELS.get(dim, dim))]
    results = []
    for k in kpis:
        kd = get_kpi(k)
        cols.append(Column(k, kd.label, kd.unit, k))
        results.append(fig.get(k, f.period, [dim], [*f.where(), *where], annualise))
    t = Table(tid, title, cols, caption=caption)
    members: list[Any] = []
    for res in results:
        for r in res.rows:
            if r.dims.get(dim) not in members:
                members.append(r.dims.get(dim))
    first = results[0] if results else None
    if first is not None and first.kpi.unit in ("antal",):
        counts = by_member(first, dim)
        members.sort(key=lambda m: -(counts[m].value or 0) if m in counts else 0)
    elif dim in ("administration",):
        order = list(ADMINISTRATIONS)
        members.sort(key=lambda m: order.index(m) if m in order else 99)
    else:
        members.sort(key=lambda m: (m is None, str(m)))
    for m in members[:limit]:
        row: dict[str, Any] = {dim: name(dim, m), "_key": m}
        for k, res in zip(kpis, results, strict=True):
            row[k] = cell(res, by_member(res, dim).get(m))
        t.add(row, f.drill(m) if drill and m is not None else None)
    totals = {dim: "I alt", "_key": None}
    for k in kpis:
        tot = fig.get(k, f.period, [], [*f.where(), *where], annualise)
        totals[k] = cell(tot, tot.rows[0] if tot.rows else None)
    t.add(totals)
    t.notes = sorted({c.note for r in t.rows for c in r.values()  # footnotes of values
                      if isinstance(c, Cell) and c.value is not None and c.note})
    return t


# -- charts (Vega-Lite specs; the reports reuse them) --------------------------------------

def bar_chart(title: str, data: list[dict], x: str, y: str, color: str | None = None,
              unit: str = "") -> dict:
    enc: dict[str, Any] = {
        "x": {"field": x, "type": "ordinal", "title": None, "sort": None},
        "y": {"field": y, "type": "quantitative", "title": unit or None},
        "tooltip": [{"field": x, "title": ""}, {"field": y, "title": title,
                                                 "format": ",.1f" if unit in ("%", "dage")
                                                 else ",d"}],
    }
    if color:  # the series in the order of the data
        enc["xOffset"] = {"field": color, "sort": None}
        enc["color"] = {"field": color, "title": None, "sort": None,
                        "scale": {"range": ["#1f5fa8", "#c46a12"]}}
        enc["tooltip"].append({"field": color, "title": ""})
    mark: dict[str, Any] = {"type": "bar", "tooltip": True}
    if any(d.get("href") for d in data):  # web/static/charts.js follows it on a click
        mark["cursor"] = "pointer"
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title,
            "width": "container", "height": 220, "data": {"values": data},
            "mark": mark, "encoding": enc,
            "config": {"locale": {"number": {"decimal": ",", "thousands": ".",
                                             "grouping": [3], "currency": ["", " kr."]}}}}


def table_chart(t: Table, key: str, title: str, target: float | None = None) -> dict:
    """A bar per row of a KPI table (the total left out), each bar linking where its row
    links: a click on a bar drills down like a click on the row. A target (måltal) of the
    KPI for the page's scope and period is drawn as a dashed line with its value."""
    dim, unit = t.columns[0].key, next(c.unit for c in t.columns if c.key == key)
    data = []
    for row, link in zip(t.rows, t.links, strict=True):
        c = row.get(key)
        if row.get("_key") is None or not isinstance(c, Cell) or c.value is None:
            continue
        data.append({"gruppe": row[dim], "værdi": c.value,
                     **({"href": "?" + urlencode(link)} if link else {})})
    spec = bar_chart(title, data, "gruppe", "værdi", unit=unit)
    enc = spec["encoding"]  # horizontal bars: long names stay readable
    enc["x"] = {**enc["y"], "axis": {"tickCount": 10}}
    enc["y"] = {"field": "gruppe", "type": "ordinal", "title": None, "sort": None,
                "axis": {"labelLimit": 320}}
    spec["height"] = {"step": 24}
    if target is not None:
        label = f"Mål: {dk_value(target, unit)}"
        one = {"values": [{}]}  # one line and one label, not one per bar
        rule = {"data": one,
                "mark": {"type": "rule", "color": "#8a1c1c", "strokeDash": [6, 4], "size": 2},
                "encoding": {"x": {"datum": target, "type": "quantitative"}}}
        text = {"data": one,
                "mark": {"type": "text", "color": "#8a1c1c", "align": "left", "dx": 4,
                         "baseline": "top", "y": 0, "text": label},
                "encoding": {"x": {"datum": target, "type": "quantitative"}}}
        spec["layer"] = [{"mark": spec.pop("mark"), "encoding": spec.pop("encoding")},
                         rule, text]
    return spec


# -- periods ---------------------------------------------------------------------------------

def previous(period: str) -> str | None:
    p = Period.parse(period)
    kind = p.label
    try:
        if len(kind) == 4:
            return str(int(kind) - 1)
        y = int(kind[:4])
        if "-H" in kind:
            h = int(kind[-1])
            return f"{y - 1}-H2" if h == 1 else f"{y}-H1"
        if "-Q" in kind:
            q = int(kind[-1])
            return f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}"
        m = int(kind[5:7])
        return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"
    except ValueError:
        return None


def months(period: str) -> list[str]:
    p = Period.parse(period)
    out, d = [], date(p.start.year, p.start.month, 1)
    while d <= p.end:
        out.append(f"{d.year}-{d.month:02d}")
        d = date(d.year + (d.month == 12), 1 if d.month == 12 else d.month + 1, 1)
    return out


def period_options(fig: Figures) -> list[tuple[str, str]]:
    rows = fig.query("SELECT min(received), max(received) FROM cases")
    first, last = rows[0] if rows and rows[0][0] else (date(2014, 1, 1), date(2014, 12, 31))
    out = []
    for y in range(last.year, first.year - 1, -1):
        out.append((str(y), str(y)))
        out += [(f"{y}-H{h}", f"{h}. halvår {y}") for h in (2, 1)]
        out += [(f"{y}-Q{q}", f"{q}. kvartal {y}") for q in (4, 3, 2, 1)]
        out += [(f"{y}-{m:02d}", f"{_MONTHS[m - 1]} {y}") for m in range(12, 0, -1)]
    return out


_MONTHS = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
           "september", "oktober", "november", "december"]


def code_label(code_list: str, value: str) -> str:
    return CODE_LISTS.get(code_list, {}).get(value, value)
