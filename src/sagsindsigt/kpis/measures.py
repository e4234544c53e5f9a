"""The kinds of KPI: counts, ratios of counts (within or across tables), snapshots at period
end and percentiles. Each definition supplies one Ibis expression; the evaluation here is the
same for all engines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import polars as pl

from ..calendar import annualisation_factor
from .base import COUNT, KPI, PCT, TABLE_DIMS, Context, Expr, Row, _frame, keyed, pct

NO_DATA = "ingen data for perioden"


@dataclass
class Part:
    """One evaluated count: per (administration, by...) values and the coverage per
    administration, clipped to the period."""

    atoms: pl.DataFrame
    coverage: dict[str, list[tuple[date, date]]]


@dataclass(frozen=True)
class Count:
    """Rows of ``table`` whose ``date`` falls in the period (``at_end``: snapshot at period
    end) and for which ``where`` holds; ``value`` sums an expression instead of counting."""

    table: str
    date: str | None = None
    where: Expr | None = None
    at_end: Expr | None = None  # snapshot filter given the period end
    value: Expr | None = None

    def part(self, ctx: Context) -> Part:
        t = ctx.table(self.table)
        if self.date:
            t = t.filter(ctx.in_period(t[self.date]))
        if self.at_end is not None:
            t = t.filter(self.at_end(t, ctx.period.end))
        if self.where is not None:
            t = t.filter(self.where(t))
        keys = _keys(ctx)
        measure = self.value(t).sum() if self.value is not None else t.count()
        atoms = _frame(t.group_by(keys).aggregate(v=measure))
        return Part(atoms, {a: ctx.covered(self.table, a) for a in ctx.coverage(self.table)})


@dataclass(frozen=True)
class CasesReceived:
    """Case-level rows, plus the aggregate volumes (lying inside the period) of every
    (administration, case type) that has no case-level rows in the period. A volume row
    without a case type stands for its whole administration. Where both exist, the case rows
    win; the Data page warns about such overlaps."""

    def part(self, ctx: Context) -> Part:
        cases = Count("cases", "received").part(ctx)
        by = ctx.q.by
        if not all(d in TABLE_DIMS["volumes"] for d in by):
            return cases
        v = ctx.table("volumes")
        p = ctx.period
        v = v.filter((v.period_start >= p.start) & (v.period_end <= p.end))
        keys = list(dict.fromkeys([*_keys(ctx), "case_type"]))
        vol = _frame(v.group_by([*keys, "period_start", "period_end"])
                     .aggregate(v=v.cases_received.sum()))
        if vol.is_empty():
            return cases
        c = ctx.table("cases")
        c = c.filter(ctx.in_period(c.received))
        have = _frame(c.select("administration", "case_type").distinct())
        admins_with_cases = have["administration"].unique().to_list()
        vol = vol.join(have, on=["administration", "case_type"], how="anti").filter(
            pl.col("case_type").is_not_null()
            | ~pl.col("administration").is_in(admins_with_cases))
        if vol.is_empty():
            return cases
        vatoms = vol.group_by(_keys(ctx)).agg(pl.col("v").sum())
        atoms = pl.concat([cases.atoms, vatoms.select(cases.atoms.columns)
                           .cast(cases.atoms.schema)], how="vertical_relaxed")
        atoms = atoms.group_by(_keys(ctx)).agg(pl.col("v").sum())
        cov = dict(cases.coverage)
        for a, s, e in vol.select("administration", "period_start", "period_end").unique() \
                .iter_rows():
            if not cases.coverage.get(a):
                cov.setdefault(a, []).append((s, e))
        return Part(atoms, cov)


def _keys(ctx: Context) -> list[str]:
    return ["administration", *[d for d in ctx.q.by if d != "administration"]]


def rollup(ctx: Context, part: Part, member: dict) -> tuple[float | None, str | None, bool]:
    """Sum a part for one member over the administrations that have data. Returns (value,
    footnote, estimate); value None when no administration in scope has data."""
    df = part.atoms
    for d, v in member.items():
        df = df.filter(pl.col(d).is_null() if v is None else pl.col(d) == v)
    sums = dict(df.group_by("administration").agg(pl.col("v").sum()).iter_rows())
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
        if ctx.q.annualise and cov:
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
        for m in ctx.members(self.tables()):
            v, note, est = rollup(ctx, part, m)
            n = None if v is None else int(round(v))
            rows.append(Row(m, value=n, n=n, estimate=est, note=note or (NO_DATA if v is None
                                                                        else None)))
        return rows

    def tables(self) -> list[str]:
        return ["cases", "volumes"] if isinstance(self.count, CasesReceived) else [self.table]


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

    def denominator_table(self) -> str:
        return "cases" if isinstance(self.denominator, CasesReceived) else self.denominator.table

    def tables(self) -> list[str]:
        return list(dict.fromkeys([self.numerator.table if isinstance(self.numerator, Count)
                                   else "cases", self.denominator_table()]))

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        num, den = self.numerator.part(ctx), self.denominator.part(ctx)
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
        t = ctx.table(self.table)
        t = t.filter(ctx.in_period(t[self.date]))
        if self.where is not None:
            t = t.filter(self.where(t))
        by = ctx.q.by
        x = self.expr(t)
        agg = {"v": x.quantile(self.q), "n": x.count()}
        res = _frame(t.group_by(by).aggregate(**agg) if by else t.aggregate(**agg))
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
