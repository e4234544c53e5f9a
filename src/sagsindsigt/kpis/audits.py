"""Quality audit KPIs (kpis.md, "Quality audits"): correct share with Wilson interval and
traffic light, error statistics per check and category, and calibration agreement."""

from __future__ import annotations

from dataclasses import dataclass

from .. import lazy
from ..calendar import Period, PeriodError
from ..stats import binary_agreement, traffic_light, wilson_interval
from ..store import reads as store_reads
from .base import KPI, PCT, Context, Row, keyed, register
from .measures import NO_DATA

ibis = lazy.module("ibis")
pl = lazy.module("polars")

CASE_DIMS = ("administration", "benefit_area", "concept", "round", "unit", "reviewer_role")


def rounds_in_period(ctx: Context) -> tuple[str, ...]:
    """The review rounds whose period lies inside the query's period."""
    found = ctx.store.cached(("review_rounds",), lambda: store_reads.review_rounds(ctx.store))
    return tuple(sorted(x for x in found if _in_period(x, ctx.period)))


def reviews(ctx: Context, roles_default: tuple[str, ...] = ("intern",),
            rounds: tuple[str, ...] = ()) -> ibis.Table:
    """Reviews of the given rounds, with the concept's administration and benefit area and
    the check's category; only intern reviews unless a filter asks otherwise."""
    t = store_reads.reviews(ctx.store)
    t = t.filter(t["round"].isin(list(rounds) or ["-"]))
    if "reviewer_role" not in ctx.q.where:
        t = t.filter(t.reviewer_role.isin(list(roles_default)))
    return ctx.apply_where(t)


def _one(cond: ibis.Value) -> ibis.Value:
    """1 where a condition holds, else 0 (portable: PostgreSQL cannot cast boolean to int)."""
    return ibis.ifelse(cond, 1, 0)


def _in_period(label: str, period: Period) -> bool:
    try:
        p = Period.parse(label)
    except PeriodError:
        return False
    return period.start <= p.start and p.end <= period.end


def _with_ci(m: dict, num: int, den: int, light: bool) -> Row:
    lo, hi = wilson_interval(num, den)
    value = round(100 * num / den, 2)
    extra = {"ci_low": round(100 * lo, 2), "ci_high": round(100 * hi, 2)}
    if light:
        extra["light"] = traffic_light(value)
    return Row(m, value=value, numerator=num, denominator=den, extra=extra)


def _empty(m: dict, light: bool) -> Row:
    extra = {"ci_low": None, "ci_high": None}
    if light:
        extra["light"] = None
    return Row(m, note=NO_DATA, extra=extra)


@dataclass
class AuditCorrectRate(KPI):
    unit: str = PCT
    ratio: bool = True
    audit: bool = True

    @property
    def dims(self):
        return CASE_DIMS

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        by = ctx.q.by
        rounds = rounds_in_period(ctx)

        def build() -> ibis.Table:
            t = reviews(ctx, rounds=rounds)
            t = t.filter(t.result != "ikke_relevant")
            case_keys = list(dict.fromkeys(["concept", "round", "case_id", "reviewer", *by]))
            cases = t.group_by(case_keys).aggregate(err=_one(t.result == "fejl").max())
            agg = {"num": _one(cases.err == 0).sum(), "den": cases.count()}
            return cases.group_by(by).aggregate(**agg) if by else cases.aggregate(**agg)

        return _rows(ctx, ctx.frame("correct", build, rounds), by, light=True)


@dataclass
class AuditCheckErrorRate(KPI):
    unit: str = PCT
    ratio: bool = True
    audit: bool = True

    @property
    def dims(self):
        return (*CASE_DIMS, "check", "category")

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        by = ctx.q.by
        rounds = rounds_in_period(ctx)

        def build() -> ibis.Table:
            t = reviews(ctx, rounds=rounds)
            t = t.filter(t.result.isin(["ok", "fejl"]))
            agg = {"num": _one(t.result == "fejl").sum(), "den": t.count()}
            return t.group_by(by).aggregate(**agg) if by else t.aggregate(**agg)

        return _rows(ctx, ctx.frame("check_errors", build, rounds), by, light=False)


def _rows(ctx: Context, res: pl.DataFrame, by: list[str], light: bool) -> list[Row]:
    found = keyed(res.to_dicts(), by)
    members = _members(ctx, by) if by else [{}]
    rows = []
    for m in members:
        r = found.get(tuple(m.get(d) for d in by))
        rows.append(_with_ci(m, int(r["num"]), int(r["den"]), light) if r and r["den"]
                    else _empty(m, light))
    return rows


def _members(ctx: Context, by: list[str]) -> list[dict]:
    def build() -> ibis.Table:
        return ctx.apply_where(store_reads.reviews(ctx.store)).select(*by).distinct()

    found = ctx.store.cached(("review_members", ctx.key()), lambda: ctx.frame("members", build)
                             .sort(by, nulls_last=True).to_dicts())
    return [dict(m) for m in found]


ASSESSED = ("ok", "fejl")


def _side(role: str) -> pl.Expr:
    """One answer per (round, case, check) for a reviewer role. Several reviewers of the same
    role: an error found by any of them is the role's finding ("fejl"), else "ok" if any of
    them judged the check, else "ikke_relevant" (the rule audit_correct_rate counts by)."""
    r = pl.col("result")
    return (pl.when((r == "fejl").any()).then(pl.lit("fejl"))
            .when((r == "ok").any()).then(pl.lit("ok"))
            .otherwise(pl.lit("ikke_relevant")).alias(role))


@dataclass
class AuditAgreement(KPI):
    """Calibration: (case, check) pairs reviewed by an intern and an ekstern reviewer in the
    same round. Agreement is measured where both judged the check (ok or fejl): percent
    agreement as value, Cohen's kappa, PABAK and positive/negative agreement beside it (errors
    are rare, so kappa alone misleads). Disagreement about whether a check applies at all is
    reported beside it, not mixed in: matching "ikke relevant" answers are mostly structural
    and would inflate kappa."""

    unit: str = PCT
    audit: bool = True

    @property
    def dims(self):
        return ("administration", "benefit_area", "concept", "round", "unit", "check",
                "category")

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        by = ctx.q.by
        rounds = rounds_in_period(ctx)

        def build() -> ibis.Table:
            t = reviews(ctx, roles_default=("intern", "ekstern"), rounds=rounds)
            return t.select(*dict.fromkeys([*by, "round", "concept", "case_id", "check",
                                            "reviewer_role", "result"]))

        df = ctx.frame("pairs", build, rounds)
        keys = list(dict.fromkeys([*by, "round", "concept", "case_id", "check"]))
        a = df.filter(pl.col("reviewer_role") == "intern").group_by(keys).agg(_side("a"))
        b = df.filter(pl.col("reviewer_role") == "ekstern").group_by(keys).agg(_side("b"))
        pairs = a.join(b, on=keys, how="inner")
        groups = {k if isinstance(k, tuple) else (k,): g
                  for k, g in (pairs.group_by(by) if by else [((), pairs)])}
        rows = []
        for m in (_members(ctx, by) if by else [{}]):
            g = groups.get(tuple(m.get(d) for d in by))
            if g is None or not g.height:
                rows.append(Row(m, note="ingen sager gennemgået af både intern og ekstern",
                                extra=dict.fromkeys(AGREEMENT_EXTRA)))
                continue
            everything = list(zip(g["a"].to_list(), g["b"].to_list(), strict=True))
            judged = [(x, y) for x, y in everything if x in ASSESSED and y in ASSESSED]
            applies = sum(1 for x, y in everything if (x in ASSESSED) != (y in ASSESSED))
            extra = {"pairs": len(everything), "applicability_disagreements": applies,
                     "both_not_applicable": len(everything) - len(judged) - applies}
            st = binary_agreement(judged, "fejl")
            if st is None:
                rows.append(Row(m, n=0, note="ingen kontroller, som begge har vurderet",
                                extra={**dict.fromkeys(AGREEMENT_EXTRA), **extra}))
                continue
            extra.update({"kappa": _round(st.kappa, 3), "pabak": _round(st.pabak, 3),
                          "positive_agreement": _round(st.positive, 3),
                          "negative_agreement": _round(st.negative, 3)})
            rows.append(Row(m, value=round(100 * st.observed, 2), n=st.n, extra=extra))
        return rows


AGREEMENT_EXTRA = ("kappa", "pabak", "positive_agreement", "negative_agreement", "pairs",
                   "applicability_disagreements", "both_not_applicable")


def _round(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)


register(AuditCorrectRate(
    "audit_correct_rate", "Korrekte sager", description="Andel gennemgåede sager uden fejl i "
    "nogen relevant kontrol (interne gennemgange), med 95 % Wilson-interval og trafiklys.",
    better="higher", theme="audits", table="reviews"))
register(AuditCheckErrorRate(
    "audit_check_error_rate", "Fejlprocent pr. kontrolpunkt", description="Fejl i procent af "
    "kontroller med resultat ok eller fejl (fejlstatistik) pr. kontrolpunkt eller kategori.",
    better="lower", theme="audits", table="reviews"))
register(AuditAgreement(
    "audit_agreement", "Enighed mellem intern og ekstern gennemgang", description="Procent "
    "enighed, Cohens kappa, PABAK og enighed om fejl og om fejlfrihed for kontroller, som både "
    "forvaltningen og revisionen har vurderet (ok eller fejl) i samme runde; uenighed om, "
    "hvorvidt en kontrol er relevant, tælles for sig. Kappa er ustabil, når fejl er sjældne.",
    better="higher", theme="audits", table="reviews"))
