"""The KPI registry and the one engine that evaluates every definition on any backend.

A KPI is a self-describing definition (id, Danish label, unit, description) with one Ibis
expression for what it counts. The engine turns a query (period, by, where, annualise) into
rows; the CLI, the web pages, the API and the reports all call :func:`compute`.

How a figure is made:

1. *Atoms*: the KPI's expression is grouped by ``administration`` plus the requested
   dimensions and evaluated in the database (one query; Ibis compiles it for DuckDB,
   PostgreSQL, ...).
2. *Coverage*: each administration's data coverage for the period comes from its import
   batches. A count for a scope with no coverage in the period is "no data" (null with a
   reason), never 0. With ``annualise`` the counts of a partly covered scope are scaled to the
   whole period and marked as estimates with a Danish footnote.
3. *Roll-up*: atoms are summed to the requested dimensions and the value is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import date
from typing import Any

from .. import lazy
from ..calendar import Period, annualisation_factor
from ..store import reads

ibis = lazy.module("ibis")
pl = lazy.module("polars")

PCT, DAYS, COUNT = "%", "dage", "antal"


class KpiUsageError(ValueError):
    """Unknown KPI, bad period or unknown dimension (CLI exit code 2)."""


# Dimensions each table can be broken down by. "points" explodes one row per point.
TABLE_DIMS: dict[str, tuple[str, ...]] = {
    "cases": ("administration", "unit", "case_type", "benefit_area"),
    "volumes": ("administration", "unit", "case_type", "benefit_area"),
    "complaints": ("administration", "unit", "case_type", "benefit_area", "kind", "points",
                   "channel", "via", "outcome", "appeal_outcome", "strengthened_contact"),
    "timeliness_items": ("administration", "unit", "case_type", "benefit_area", "rule"),
    "reviews": ("administration", "benefit_area", "concept", "round", "unit", "check",
                "category", "reviewer_role"),
}
BOOL_DIMS = {"strengthened_contact"}


def parse_where(where) -> dict[str, list[str]]:
    """Filters as dimension → values, from ``DIM=V1,V2`` texts, ``(dim, value)`` pairs or a
    dict; values are stripped, several values of a dimension are OR-ed."""
    w: dict[str, list[str]] = {}
    items = where.items() if isinstance(where, dict) else (where or [])
    for item in items:
        if isinstance(item, tuple):
            dim, value = item
        else:
            if "=" not in item:
                raise KpiUsageError(f"Filteret '{item}' skal skrives som DIMENSION=VÆRDI.")
            dim, value = item.split("=", 1)
        vals = value if isinstance(value, list | tuple) else str(value).split(",")
        w.setdefault(dim.strip(), []).extend(v.strip() for v in vals)
    return w


@dataclass
class Query:
    kpi: str
    period: Period
    by: list[str] = field(default_factory=list)
    where: dict[str, list[str]] = field(default_factory=dict)
    annualise: bool = False

    @classmethod
    def make(cls, kpi: str, period: str | Period | None = None, by=None, where=None,
             annualise: bool = False) -> Query:
        if isinstance(period, Period):
            p = period
        else:
            from ..calendar import PeriodError

            try:
                p = Period.parse(period or str(date.today().year))
            except PeriodError as exc:
                raise KpiUsageError(str(exc)) from exc
        if isinstance(by, str):
            by = [b.strip() for b in by.split(",") if b.strip()]
        twice = sorted({b for b in by or [] if list(by).count(b) > 1})
        if twice:
            raise KpiUsageError(f"Dimensionen '{twice[0]}' står mere end én gang i opdelingen "
                                "(--by).")
        return cls(kpi=kpi, period=p, by=list(by or []), where=parse_where(where),
                   annualise=annualise)


@dataclass
class Row:
    dims: dict[str, Any]
    value: float | int | None = None
    numerator: float | None = None
    denominator: float | None = None
    n: int | None = None
    estimate: bool = False
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, kpi: KPI) -> dict:
        d: dict[str, Any] = dict(self.dims)
        d["value"] = self.value
        if kpi.ratio:
            d["numerator"] = self.numerator
            d["denominator"] = self.denominator
        else:
            d["n"] = self.n
        d["estimate"] = self.estimate
        d["note"] = self.note
        d.update(self.extra)
        return d


@dataclass
class Result:
    kpi: KPI
    query: Query
    rows: list[Row]

    def as_json(self) -> dict:
        return {"kpi": self.kpi.id, "period": self.query.period.label, "by": self.query.by,
                "rows": [r.as_dict(self.kpi) for r in self.rows]}


@dataclass
class KPI:
    """A self-describing definition. Subclasses say how it is evaluated."""

    id: str
    label: str  # Danish
    _: KW_ONLY
    unit: str = COUNT
    description: str = ""  # Danish, one or two sentences
    theme: str = ""
    table: str = ""
    ratio: bool = False
    audit: bool = False
    # which direction is good: "higher" (deadline compliance), "lower" (complaint rate) or
    # None (a volume, or a figure that is neither good nor bad, such as the refusal rate)
    better: str | None = None

    def __post_init__(self):
        if self.better not in (None, "higher", "lower"):
            raise ValueError(f"KPI {self.id}: better must be 'higher', 'lower' or None")

    @property
    def dims(self) -> tuple[str, ...]:
        return TABLE_DIMS[self.table]

    def evaluate(self, ctx: Context) -> list[Row]:
        raise NotImplementedError


REGISTRY: dict[str, KPI] = {}


def register(kpi: KPI) -> KPI:
    if kpi.id in REGISTRY:
        raise ValueError(f"KPI {kpi.id} is defined twice")
    REGISTRY[kpi.id] = kpi
    return kpi


def get(kpi_id: str) -> KPI:
    from . import load_definitions

    load_definitions()
    try:
        return REGISTRY[kpi_id]
    except KeyError:
        raise KpiUsageError(
            f"Ukendt nøgletal '{kpi_id}': se listen med 'sagsindsigt kpi --list'."
        ) from None


# -- the evaluation context ---------------------------------------------------------------
class Context:
    """One query against one store."""

    def __init__(self, store, query: Query, kpi: KPI):
        self.store, self.q, self.kpi = store, query, kpi

    @property
    def period(self) -> Period:
        return self.q.period

    def check_dims(self, allowed: tuple[str, ...]) -> None:
        for d in list(self.q.by) + list(self.q.where):
            if d not in allowed:
                raise KpiUsageError(
                    f"Ukendt dimension '{d}' for {self.kpi.id}: brug en af {', '.join(allowed)}."
                )

    # tables -------------------------------------------------------------------------------
    def table(self, name: str, where: bool = True) -> ibis.Table:
        t = self.store.table(name)
        if name == "volumes" and "benefit_area" in (*self.q.by, *self.q.where):
            t = _volumes_with_benefit_area(self.store, t)
        if "points" in self.q.by and "points" in t.columns:
            t = t.mutate(points=self.listed(t.points).unnest())
        if where:
            t = self.apply_where(t)
        return t

    @staticmethod
    def listed(col: ibis.Value) -> ibis.Value:
        """A ``|``-separated list (complaint points) as an array. Split by a regular
        expression, which every engine reads alike (Spark's plain ``split`` takes a regular
        expression too, where an unescaped bar splits between every character)."""
        return col.re_split(r"\|")

    def apply_where(self, t: ibis.Table) -> ibis.Table:
        for dim, values in self.q.where.items():
            if dim not in t.columns:
                continue
            col = t[dim]
            if dim in BOOL_DIMS:
                vals = [v.lower() in ("true", "ja", "1") for v in values]
                t = t.filter(col.isin(vals))
            elif dim == "points" and "points" not in self.q.by:
                t = t.filter(ibis.or_(*[self.listed(col).contains(v) for v in values]))
            else:
                t = t.filter(col.isin(values))
        return t

    def key(self) -> tuple:
        """Everything of the query an expression may depend on."""
        q = self.q
        return (q.period.start, q.period.end, tuple(q.by),
                tuple(sorted((k, tuple(v)) for k, v in q.where.items())))

    def frame(self, name: Any, build: Callable[[], ibis.Table], *extra: Any) -> pl.DataFrame:
        """Rows of the expression ``build()`` returns. ``name`` and ``extra`` together with
        the KPI and the query must determine the expression (pass any data-dependent input,
        such as dates read from the store, in ``extra``): it is then built and compiled once
        per shape, like a prepared statement. Its rows are kept until a table it read changes
        (``Store.cached``): the case counts under a complaint rate outlive a new complaint."""
        key = (self.kpi.id, name, self.key(), extra)
        return self.store.cached(("frame", *key), lambda: self.store.run_keyed(key, build))

    def in_period(self, col: ibis.Value) -> ibis.Value:
        p = self.period
        return (col >= p.start) & (col <= p.end)

    # coverage -----------------------------------------------------------------------------
    def coverage(self, table: str) -> dict[str, list[tuple[date, date]]]:
        """administration → date ranges its loaded data of this table covers."""
        return reads.coverage(self.store, table)  # kept by the store until the table changes

    def scope_coverage(self, table: str, admin: str | None) -> list[tuple[date, date]]:
        cov = self.coverage(table)
        if admin is not None:
            return cov.get(admin, [])
        admins = self.q.where.get("administration") or list(cov)
        return [r for a in admins for r in cov.get(a, [])]

    def covered(self, table: str, admin: str | None) -> list[tuple[date, date]]:
        p = self.period
        return [(max(s, p.start), min(e, p.end)) for s, e in self.scope_coverage(table, admin)
                if s <= p.end and e >= p.start]

    def factor(self, table: str, admin: str | None) -> tuple[float, str]:
        """Annualisation factor and footnote for a scope (1.0 and '' when fully covered)."""
        cov = self.covered(table, admin)
        if not cov or not self.q.annualise:
            return 1.0, ""
        return annualisation_factor(self.period, cov)

    # members ------------------------------------------------------------------------------
    def members(self, tables: list[str]) -> list[dict]:
        """Every combination of the --by dimensions that has any data in the store."""
        by = self.q.by
        if not by:
            return [{}]
        where = tuple(sorted((k, tuple(v)) for k, v in self.q.where.items()))
        found = self.store.cached(("members", tuple(tables), tuple(by), where),
                                  lambda: self._members(tables))
        return [dict(m) for m in found]

    def _members(self, tables: list[str]) -> list[dict]:
        by = self.q.by
        frames = []
        where = tuple(sorted((k, tuple(v)) for k, v in self.q.where.items()))
        for name in tables:
            if not all(d in TABLE_DIMS[name] for d in by):
                continue
            # each table's members kept on their own: a new complaint does not make the
            # members of a complaint rate read the cases again
            frames.append(self.store.cached(
                ("members_of", name, tuple(by), where),
                lambda name=name: self.store.run(self.table(name).select(*by).distinct())))
        if by == ["administration"]:  # the organisation's too, those inside the scope
            own = [t for t in tables if t in reads.SEEN_IN]  # not every table's codes
            codes = [n.code for n in reads.organisation(self.store, own)
                     if n.level == "forvaltning"]
            frames.append(pl.DataFrame({"administration": codes},
                                       schema={"administration": pl.Utf8}))
            w = self.q.where.get("administration")
            if w:
                frames = [f.filter(pl.col("administration").is_in(w)) for f in frames]
        if not frames:
            return []
        df = pl.concat([f.select(by).cast({d: f.schema[d] for d in by}) for f in frames],
                       how="vertical_relaxed").unique()
        df = df.sort(by, nulls_last=True)
        return df.to_dicts()


def _volumes_with_benefit_area(store, v: ibis.Table) -> ibis.Table:
    """Volumes carry no benefit area: it comes from the case type (none without one)."""
    ct = store.table("case_types").select("code", "administration", "benefit_area")
    ct = ct.rename(ct_admin="administration")
    j = v.left_join(ct, [v.case_type == ct.code, v.administration == ct.ct_admin])
    return j.select(*v.columns, "benefit_area")


def keyed(rows: list[dict], by: list[str]) -> dict[tuple, dict]:
    return {tuple(r.get(d) for d in by): r for r in rows}


def compute(store, query: Query) -> Result:
    """The figure for ``query``, computed now (surfaces call :func:`.keep.compute`, which
    answers from the figures kept in the store first)."""
    kpi = get(query.kpi)
    store.check_version()
    ctx = Context(store, query, kpi)
    return Result(kpi=kpi, query=query, rows=kpi.evaluate(ctx))


def pct(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return round(100.0 * num / den, 2)


Expr = Callable[["ibis.Table"], "ibis.Value"]
