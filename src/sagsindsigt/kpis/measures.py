"""The kinds of KPI: counts, ratios of counts (within or across tables), snapshots at period
end and percentiles. Each definition supplies one Ibis expression; the evaluation here is the
same for all engines."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from .. import lazy
from ..calendar import annualisation_factor
from ..danish import day
from .base import (
    COUNT,
    KPI,
    PCT,
    TABLE_DIMS,
    Context,
    Expr,
    KpiUsageError,
    Row,
    keyed,
    pct,
)

ibis = lazy.module("ibis")
pl = lazy.module("polars")

NO_DATA = "ingen data for perioden"


@dataclass
class Part:
    """One evaluated count: per (administration, by...) values and the coverage per
    administration, clipped to the period."""

    atoms: pl.DataFrame
    coverage: dict[str, list[tuple[date, date]]]
    snapshot: bool = False  # a stock at a date: never annualised
    notes: dict[str, str] = field(default_factory=dict)  # administration → footnote
    _index: dict = field(default_factory=dict, repr=False)

    def sums(self, dims: tuple[str, ...]) -> dict[tuple, dict[str, float]]:
        """member values (in ``dims`` order) → administration → summed value."""
        if dims not in self._index:
            cols = list(dict.fromkeys([*dims, "administration"]))
            out: dict[tuple, dict[str, float]] = {}
            if self.atoms.height:
                df = self.atoms.group_by(cols).agg(pl.col("v").sum())
                at = cols.index("administration")
                for row in df.iter_rows():
                    out.setdefault(row[:len(dims)], {})[row[at]] = row[-1]
            self._index[dims] = out
        return self._index[dims]


@dataclass(frozen=True)
class Count:
    """Rows of ``table`` whose ``date`` falls in the period and for which ``where`` holds;
    ``value`` sums an expression instead of counting. (Stocks at a day: ``Snapshot``.)"""

    table: str
    date: str | None = None
    where: Expr | None = None
    value: Expr | None = None

    def expr(self, ctx: Context) -> ibis.Table:
        t = ctx.table(self.table)
        if self.date:
            t = t.filter(ctx.in_period(t[self.date]))
        if self.where is not None:
            t = t.filter(self.where(t))
        measure = self.value(t).sum() if self.value is not None else t.count()
        return t.group_by(_keys(ctx)).aggregate(v=measure)

    def part(self, ctx: Context) -> Part:
        atoms = ctx.frame(self, lambda: self.expr(ctx))
        return Part(atoms, {a: ctx.covered(self.table, a) for a in ctx.coverage(self.table)})


@dataclass(frozen=True)
class CasesReceived:
    """Case-level rows, plus the aggregate volumes (lying inside the period) of every
    (administration, case type) that has no case-level rows in the period. A volume row
    without a case type stands for its whole administration. Where both exist, the case rows
    win; the Data page warns about such overlaps."""

    def part(self, ctx: Context) -> Part:
        plain = Count("cases", "received")
        dims = set(ctx.q.by) | set(ctx.q.where)
        if not dims <= set(TABLE_DIMS["volumes"]):
            return plain.part(ctx)  # volumes cannot be split or filtered that way
        keys = _keys(ctx)
        with_type = list(dict.fromkeys([*keys, "case_type"]))

        def volumes() -> ibis.Table:
            v = ctx.table("volumes")
            p = ctx.period
            v = v.filter((v.period_start >= p.start) & (v.period_end <= p.end))
            return v.group_by([*with_type, "period_start", "period_end"]).aggregate(
                v=v.cases_received.sum())

        def typed_cases() -> ibis.Table:
            c = ctx.table("cases")
            c = c.filter(ctx.in_period(c.received))
            return c.group_by(with_type).aggregate(v=c.count())

        def both() -> ibis.Table:
            # one query: the volumes and the case counts per case type (which give both the
            # atoms and the (administration, case type) pairs that have case rows)
            v = volumes().mutate(src=ibis.literal("v"))
            c = typed_cases()
            c = c.mutate(period_start=ibis.null("date"), period_end=ibis.null("date"),
                         src=ibis.literal("c")).select(*v.columns)
            return ibis.union(v, c.cast(v.schema()))

        rows = ctx.frame("volumes_and_cases", both)
        vol = rows.filter(pl.col("src") == "v").drop("src")
        typed = rows.filter(pl.col("src") == "c").select(*with_type, "v")
        if vol.is_empty():
            return plain.part(ctx)
        cov = {a: ctx.covered("cases", a) for a in ctx.coverage("cases")}
        have = typed.select("administration", "case_type").unique()
        admins_with_cases = have["administration"].unique().to_list()
        vol = vol.join(have, on=["administration", "case_type"], how="anti",
                       nulls_equal=True).filter(
            pl.col("case_type").is_not_null()
            | ~pl.col("administration").is_in(admins_with_cases))
        atoms = typed.group_by(keys).agg(pl.col("v").sum())
        if vol.is_empty():
            return Part(atoms, cov)
        vatoms = vol.group_by(keys).agg(pl.col("v").sum())
        atoms = pl.concat([atoms, vatoms.select(atoms.columns).cast(atoms.schema)],
                          how="vertical_relaxed")
        atoms = atoms.group_by(keys).agg(pl.col("v").sum())
        for a, s, e in vol.select("administration", "period_start", "period_end").unique() \
                .iter_rows():
            if not cov.get(a):
                cov.setdefault(a, []).append((s, e))
        return Part(atoms, cov)


def _keys(ctx: Context) -> list[str]:
    return ["administration", *[d for d in ctx.q.by if d != "administration"]]


def rollup(ctx: Context, part: Part, member: dict) -> tuple[float | None, str | None, bool]:
    """Sum a part for one member over the administrations that have data. Returns (value,
    footnote, estimate); value None when no administration in scope has data."""
    sums = part.sums(tuple(member)).get(tuple(member.values()), {})
    if "administration" in member:
        admins = [member["administration"]]
    else:
        scope = ctx.q.where.get("administration")
        admins = sorted(set(part.coverage) | set(sums), key=str)
        if scope:
            admins = [a for a in admins if a in scope]
    total, notes, estimate, any_data = 0.0, [], False, False
    for a in admins:
        cov = part.coverage.get(a, [])
        if not cov and a not in sums:
            continue
        any_data = True
        value = float(sums.get(a) or 0)
        if part.notes.get(a):
            notes.append(part.notes[a] if "administration" in member
                         else f"{a}: {part.notes[a]}")
        if ctx.q.annualise and cov and not part.snapshot:
            factor, note = annualisation_factor(ctx.period, cov)
            if factor != 1.0:
                value *= factor
                estimate = True
                notes.append(note if "administration" in member else f"{a}: {note}")
        total += value
    if not any_data:
        return None, None, False
    return total, "; ".join(dict.fromkeys(notes)) or None, estimate


def _merge_notes(*notes: str | None) -> str | None:
    parts = [n for n in notes if n]
    return "; ".join(dict.fromkeys(parts)) or None


@dataclass
class CountKPI(KPI):
    count: Count | CasesReceived | None = None
    unit: str = COUNT

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        part = self.count.part(ctx)
        rows = []
        for m in self.members(ctx):
            v, note, est = rollup(ctx, part, m)
            n = None if v is None else int(round(v))
            rows.append(Row(m, value=n, n=n, estimate=est, note=note or (NO_DATA if v is None
                                                                        else None)))
        return rows

    def tables(self) -> list[str]:
        return ["cases", "volumes"] if isinstance(self.count, CasesReceived) else [self.table]

    def members(self, ctx: Context) -> list[dict]:
        return ctx.members(self.tables())


# -- snapshots (stocks at a day) and their age bands ----------------------------------------

AGE_BAND = "age_band"
AGE_BANDS: list[tuple[int | None, str]] = [
    (30, "0–30 dage"), (90, "31–90 dage"), (180, "91–180 dage"), (365, "181–365 dage"),
    (None, "over 1 år")]
"""(upper bound in whole days, inclusive; Danish label). The labels are the members."""
AGE_BAND_LABELS = [label for _, label in AGE_BANDS]


def age_band(days: ibis.Value) -> ibis.Value:
    """The Danish age band of an age in whole days."""
    return ibis.cases(*[(days <= hi, lab) for hi, lab in AGE_BANDS if hi is not None],
                      else_=AGE_BANDS[-1][1])


@dataclass(frozen=True)
class Snapshot:
    """Rows of ``table`` for which ``at(t, day)`` holds on the snapshot day: the period's last
    day, or, for an administration whose data end inside the period, the last day its data
    cover (with a footnote). An administration whose data do not reach into the period has no
    data. The rows get an ``age_band`` (age = snapshot day − ``since``). Never annualised."""

    table: str
    at: Expr
    since: str = "received"

    def part(self, ctx: Context) -> Part:
        cov = {a: ctx.covered(self.table, a) for a in ctx.coverage(self.table)}
        end = ctx.period.end
        days: dict[date, list[str]] = {}
        notes: dict[str, str] = {}
        for a, stretches in cov.items():
            if stretches:
                d = max(e for _, e in stretches)
                days.setdefault(d, []).append(a)
                if d < end:
                    notes[a] = f"opgjort pr. {day(d)}, hvor data for perioden slutter"
        keys = _keys(ctx)
        if not days:
            empty = pl.DataFrame(schema={**{k: pl.Utf8 for k in keys}, "v": pl.Int64})
            return Part(empty, cov, snapshot=True)
        snap_days = tuple((d, tuple(sorted(a))) for d, a in sorted(days.items()))

        banded = AGE_BAND in (*ctx.q.by, *ctx.q.where)

        def build() -> ibis.Table:
            # one branch per snapshot day, so that every comparison is with a constant
            base = ctx.table(self.table, where=False)
            parts = []
            for d, admins in snap_days:
                t = base.filter(base.administration.isin(list(admins)))
                at = ibis.literal(d)
                t = t.filter(self.at(t, at))
                if banded:
                    t = t.mutate(age_band=age_band(at.delta(t[self.since], unit="day")))
                t = ctx.apply_where(t)
                parts.append(t.group_by(keys).aggregate(v=t.count()))
            return parts[0] if len(parts) == 1 else ibis.union(*parts)

        atoms = ctx.frame(self, build, snap_days)
        return Part(atoms, cov, snapshot=True, notes=notes)


@dataclass
class SnapshotKPI(CountKPI):
    """A count of a stock on the period's last day (``Snapshot``), also by ``age_band``."""

    count: Snapshot | None = None

    @property
    def dims(self) -> tuple[str, ...]:
        return (*TABLE_DIMS[self.table], AGE_BAND)

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        if AGE_BAND in ctx.q.where:
            where = {**ctx.q.where, AGE_BAND: [_band(v) for v in ctx.q.where[AGE_BAND]]}
            ctx = Context(ctx.store, replace(ctx.q, where=where), ctx.kpi)
        return super().evaluate(ctx)

    def members(self, ctx: Context) -> list[dict]:
        """The members of the other dimensions, each with every age band, in band order."""
        by = ctx.q.by
        if AGE_BAND not in by:
            return ctx.members(self.tables())
        rest = [d for d in by if d != AGE_BAND]
        wanted = ctx.q.where.get(AGE_BAND, AGE_BAND_LABELS)
        bands = [b for b in AGE_BAND_LABELS if b in wanted]
        others = Context(ctx.store, replace(ctx.q, by=rest), ctx.kpi).members(self.tables())
        return [{d: b if d == AGE_BAND else o[d] for d in by} for o in others for b in bands]


def _band(value: str) -> str:
    band = value.strip().replace("-", "–")
    if band not in AGE_BAND_LABELS:
        raise KpiUsageError(f"Ukendt aldersgruppe '{value}': brug en af "
                            f"{', '.join(AGE_BAND_LABELS)}.")
    return band


@dataclass
class RatioKPI(KPI):
    """numerator / denominator in %, both counts (possibly of different tables)."""

    numerator: Count | CasesReceived | None = None
    denominator: Count | CasesReceived | None = None
    unit: str = PCT
    ratio: bool = True
    empty_note: str = "nævneren er 0 for perioden"
    missing_denominator_note: str = NO_DATA

    @property
    def dims(self) -> tuple[str, ...]:
        tabs = self.tables()
        return tuple(d for d in TABLE_DIMS[tabs[0]] if all(d in TABLE_DIMS[t] for t in tabs))

    def parts(self, ctx: Context) -> tuple[Part, Part]:
        """Numerator and denominator; two counts of the same table and date are made in one
        scan (one query with two sums) instead of two."""
        a, b = self.numerator, self.denominator
        if not (isinstance(a, Count) and isinstance(b, Count) and a.table == b.table
                and a.date == b.date and a.value is None and b.value is None):
            return a.part(ctx), b.part(ctx)

        def build() -> ibis.Table:
            t = ctx.table(a.table)
            if a.date:
                t = t.filter(ctx.in_period(t[a.date]))

            def hits(where: Expr | None) -> ibis.Value:
                if where is None:
                    return t.count()
                return ibis.ifelse(where(t).fill_null(False), 1, 0).sum()

            return t.group_by(_keys(ctx)).aggregate(n=hits(a.where), d=hits(b.where))

        both = ctx.frame(("ratio", a, b), build)
        keys = _keys(ctx)
        cov = {x: ctx.covered(a.table, x) for x in ctx.coverage(a.table)}
        n = both.select(*keys, v=pl.col("n")).filter(pl.col("v") > 0)
        d = both.select(*keys, v=pl.col("d")).filter(pl.col("v") > 0)
        return Part(n, cov), Part(d, dict(cov))

    def denominator_table(self) -> str:
        return "cases" if isinstance(self.denominator, CasesReceived) else self.denominator.table

    def tables(self) -> list[str]:
        return list(dict.fromkeys([self.numerator.table if isinstance(self.numerator, Count)
                                   else "cases", self.denominator_table()]))

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        num, den = self.parts(ctx)
        member_tables = self.tables() + (["volumes"] if isinstance(self.denominator,
                                                                   CasesReceived) else [])
        rows = []
        for m in ctx.members(member_tables):
            nv, nnote, nest = rollup(ctx, num, m)
            dv, dnote, dest = rollup(ctx, den, m)
            value, note = pct(nv, dv), _merge_notes(nnote, dnote)
            if dv is None:
                note = _merge_notes(self.missing_denominator_note, note)
            elif not dv:
                note = _merge_notes(self.empty_note, note)
            elif nv is None:
                note = _merge_notes(NO_DATA, note)
            rows.append(Row(m, value=value, numerator=_num(nv), denominator=_num(dv),
                            estimate=nest or dest, note=note))
        return rows


def _num(v: float | None):
    if v is None:
        return None
    return int(round(v)) if abs(v - round(v)) < 1e-9 or v > 100 else round(v, 2)


@dataclass
class QuantileKPI(KPI):
    """A continuous percentile (linear interpolation) of an expression over rows in period."""

    date: str = ""
    expr: Expr | None = None
    q: float = 0.5
    where: Expr | None = None
    unit: str = "dage"

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        by = ctx.q.by

        def build() -> ibis.Table:
            t = ctx.table(self.table)
            t = t.filter(ctx.in_period(t[self.date]))
            if self.where is not None:
                t = t.filter(self.where(t))
            x = self.expr(t)
            agg = {"v": x.quantile(self.q), "n": x.count()}
            return t.group_by(by).aggregate(**agg) if by else t.aggregate(**agg)

        res = ctx.frame("quantile", build)
        found = keyed(res.to_dicts(), by)
        rows = []
        for m in ctx.members([self.table]):
            r = found.get(tuple(m.get(d) for d in by))
            if not r or not r["n"]:
                rows.append(Row(m, note=NO_DATA, n=0))
            else:
                rows.append(Row(m, value=round(float(r["v"]), 1), n=int(r["n"])))
        return rows


def days_between(a: ibis.Value, b: ibis.Value) -> ibis.Value:
    return b.delta(a, unit="day")
