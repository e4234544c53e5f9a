"""Cells and tables of KPI values, as plain data: what a page, a download, a report and the
CLI show. Every figure comes from the KPI registry through a ``get`` function with the
signature of ``kpis.compute`` wrapped as ``get(kpi, period, by, where, annualise)`` (the web
app's cache and the reports' source both have it); the renderers only format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..contract.codes import ADMINISTRATIONS
from ..kpis import Query, Result, compute
from ..kpis import get as get_kpi

COUNT, PCT, DAYS, TEXT = "antal", "%", "dage", ""
PRIMARY, SECONDARY = "<5", "x"  # how a hidden cell is shown (publication mode)
TOTAL = "I alt"

Get = Callable[..., Result]  # get(kpi, period, by=(), where=(), annualise=False)


def getter(store) -> Get:
    """A ``get`` straight on the KPI registry (the CLI; the web app passes its cache)."""
    def get(kpi: str, period, by=(), where=(), annualise: bool = False) -> Result:
        return compute(store, Query.make(kpi, period, list(by), list(where), annualise))

    return get


@dataclass
class Cell:
    """One figure: the registry's value, what it was made of (for suppression), and why it is
    "-" or an estimate."""

    value: float | int | str | None = None
    unit: str = ""
    note: str | None = None  # why "-", or the footnote of an estimate
    light: str | None = None  # green | yellow | red (audits, targets)
    ci: tuple[float, float] | None = None
    estimate: bool = False
    numerator: float | None = None
    denominator: float | None = None
    hidden: str | None = None  # PRIMARY or SECONDARY when suppressed for publication

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
class ChartRef:
    """A chart of some columns of a table (the rows without the total row): bars, or a line
    when the rows are periods in order (a trend)."""

    title: str
    values: list[str]  # column keys
    unit: str = COUNT
    spec: dict | None = None  # filled after suppression (reports) or at once (pages)
    kind: str = "bar"  # "bar" | "line"


@dataclass
class Table:
    """Rows of cells keyed by column; the first column (``label``) names the row. ``_key`` in
    a row is the member's code. ``total_row``: the last row holds the totals; ``total_col``:
    the key of the column that holds each row's total (cross tables). ``notes`` are the
    footnotes of starred figures; ``remarks`` plain sentences a reader needs to read the
    table right (rows that overlap, rows left out); ``why_empty`` the sentence shown instead
    of a table without rows."""

    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, str] | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    caption: str = ""
    total_row: bool = False
    total_col: str | None = None
    chart: ChartRef | None = None
    remarks: list[str] = field(default_factory=list)
    why_empty: str = ""

    def add(self, row: dict[str, Any], link: dict[str, str] | None = None) -> None:
        self.rows.append(row)
        self.links.append(link)

    @property
    def body(self) -> list[dict[str, Any]]:
        """The rows without the total row."""
        return self.rows[:-1] if self.total_row else list(self.rows)

    def sort_body(self, key: Callable[[dict], Any]) -> None:
        """Sort the rows (and their links) but keep the total row last."""
        n = len(self.body)
        links = self.links + [None] * (len(self.rows) - len(self.links))
        pairs = sorted(zip(self.rows[:n], links[:n], strict=True), key=lambda p: key(p[0]))
        self.rows[:n] = [r for r, _ in pairs]
        self.links = [x for _, x in pairs] + links[n:]

    def drop_rows_without_figures(self) -> list[str]:
        """Leave out the body rows in which no cell has a figure (a row of "-" tells a reader
        nothing on paper) and say which in a remark; the labels left out. A hidden figure
        (``<5``, ``x``) is a figure; the total row stays."""
        body = self.body
        links = self.links + [None] * (len(self.rows) - len(self.links))
        keep = [i for i, r in enumerate(body) if has_figure(r, self.columns)]
        if len(keep) == len(body):
            return []
        dropped = [str(body[i]["label"]) for i in range(len(body)) if i not in keep]
        rest = list(range(len(body), len(self.rows)))
        self.rows = [self.rows[i] for i in keep + rest]
        self.links = [links[i] for i in keep + rest]
        self.remarks.append(_left_out(dropped))
        return dropped

    def cells(self):
        for i, r in enumerate(self.rows):
            for c in self.columns[1:]:
                v = r.get(c.key)
                if isinstance(v, Cell):
                    yield i, c.key, v

    def footnotes(self) -> list[str]:
        """The notes of shown figures (estimates' footnotes), once each, and the caveat that
        an annualised figure is not corrected for seasonality."""
        shown = [c for _, _, c in self.cells() if c.value is not None and not c.hidden]
        notes = sorted({c.note for c in shown if c.note})
        return notes + ([SEASONALITY] if any(c.estimate for c in shown) else [])


# below every annualised figure: "2 × 1. halvår" is not the year when the summer falls in H2
SEASONALITY = ("Opregnede tal er ikke korrigeret for sæsonudsving: fx ligger sommerferien i "
               "2. halvår, så 2 × tal for 1. halvår kan afvige fra hele årets tal.")


LEFT_OUT = "Udeladt, fordi der ingen tal er:"


def has_figure(row: dict[str, Any], columns: list[Column]) -> bool:
    """Whether any cell of the row holds a figure (a hidden one counts)."""
    for c in columns[1:]:
        v = row.get(c.key)
        if isinstance(v, Cell) and (v.value is not None or v.hidden):
            return True
    return False


def _left_out(labels: list[str]) -> str:
    names = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " og " + labels[-1]
    return f"{LEFT_OUT} {names}."


# Dimensions where a record can stand in several rows, or in none: the rows do not add up to
# the total row, and the reader is told why (web pages, downloads and reports alike).
ROWS_OVERLAP = {
    "points": "En klage kan have flere klagepunkter eller ingen (fx en ren realitetsklage). "
              "Den tælles én gang under hvert af sine klagepunkter, mens I alt er antallet af "
              "klager; rækkerne lægges derfor ikke sammen til I alt.",
}


def cell(res: Result, row) -> Cell:
    """A KPI result row as a cell ("-" with the reason when there is no row)."""
    k = res.kpi
    if row is None:
        return Cell(None, k.unit, "ingen data")
    ci = None
    if row.extra.get("ci_low") is not None:
        ci = (row.extra["ci_low"], row.extra["ci_high"])
    den = row.denominator if k.ratio else row.n  # quantiles: the number of cases
    return Cell(row.value, k.unit, row.note, row.extra.get("light"), ci, row.estimate,
                row.numerator, den)


def by_member(res: Result, dim: str) -> dict[Any, Any]:
    return {r.dims.get(dim): r for r in res.rows}


def order(dim: str, members: list, first: Result | None,
          sort: Callable | None = None) -> list:
    """Members in reading order: the given sort; administrations as the code list orders
    them; by count (largest first) for count KPIs; else alphabetically."""
    members = list(dict.fromkeys(members))
    if sort is not None:
        return sorted(members, key=sort)
    if dim == "administration":
        known = list(ADMINISTRATIONS)
        return sorted(members, key=lambda m: (known.index(m) if m in known else 99, str(m)))
    if first is not None and first.kpi.unit == COUNT and dim != "round":
        counts = by_member(first, dim)
        return sorted(members, key=lambda m: (-(counts[m].value or 0) if m in counts else 0,
                                              str(m)))
    return sorted(members, key=lambda m: (m is None, str(m)))


def kpi_table(get: Get, labels, tid: str, title: str, period: str, kpis: list[str], dim: str,
              where=(), annualise: bool = False, *, link: Callable | None = None,
              caption: str = "", limit: int | None = None, chart: ChartRef | None = None,
              sort: Callable | None = None) -> Table:
    """Rows = members of ``dim`` inside the scope and filters, columns = KPIs, plus the total
    row. ``labels`` names the members (:class:`sagsindsigt.present.labels.Labels`); ``link``
    gives a row's drill-down parameters."""
    cols = [Column("label", labels.dim(dim))]
    results = []
    for k in kpis:
        kd = get_kpi(k)
        cols.append(Column(k, kd.label, kd.unit, k))
        results.append(get(k, period, [dim], list(where), annualise))
    members: list[Any] = [r.dims.get(dim) for res in results for r in res.rows]
    t = Table(tid, title, cols, caption=caption, total_row=True, chart=chart)
    for m in order(dim, members, results[0] if results else None, sort)[:limit]:
        row: dict[str, Any] = {"label": labels.name(dim, m), "_key": m}
        for k, res in zip(kpis, results, strict=True):
            row[k] = cell(res, by_member(res, dim).get(m))
        t.add(row, link(m) if link is not None and m is not None else None)
    total: dict[str, Any] = {"label": TOTAL, "_key": None}
    for k in kpis:
        res = get(k, period, [], list(where), annualise)
        total[k] = cell(res, res.rows[0] if res.rows else None)
    t.add(total)
    t.notes = t.footnotes()
    if dim in ROWS_OVERLAP and any(c.unit == COUNT for c in cols[1:]):
        t.remarks.append(ROWS_OVERLAP[dim])
    return t


__all__ = ["COUNT", "DAYS", "LEFT_OUT", "PCT", "PRIMARY", "ROWS_OVERLAP", "SECONDARY", "TEXT",
           "TOTAL", "Cell", "ChartRef", "Column", "Get", "Table", "by_member", "cell", "getter",
           "has_figure", "kpi_table", "order"]
