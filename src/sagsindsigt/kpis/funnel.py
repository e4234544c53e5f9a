"""Fair comparison of units: the funnel view of a rate KPI (kpis.md, "Comparing units fairly").

Each unit's rate is placed against its denominator, around the overall rate of all units in
scope (the centre line), with control limits at 95 % and 99,8 %. A unit outside the 99,8 %
limits is flagged ``markant_over`` or ``markant_under`` and judged ``better`` or ``worse`` in
the KPI's own direction; inside them its difference from the centre is what chance alone would
often give, so no ranking is implied.

Real units differ more than chance allows (overdispersion): a centre for handicap cases is not
a parks department. Spiegelhalter's (2005) φ and τ² are estimated from the units' winsorised
z-scores; ``auto`` widens the limits additively (random effects) when the χ² test says the
units are overdispersed at 5 %, else keeps the exact binomial limits (Spiegelhalter's
interpolation, :func:`sagsindsigt.stats.funnel_limits`). With case-mix standardisation each
unit is compared with the rate its own mix of case types would give (indirect
standardisation), so only what the mix does not explain remains.

The rows are the KPI's own rows (same ``value``, ``numerator``, ``denominator``) with the
limits added, in the KPI's unit (percent 0-100), so the CLI, the API and the page agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..danish import number as dk_number
from ..stats import funnel_limits, normal_limits, overdispersion
from .base import KpiUsageError, Query, Result, Row, get
from .keep import compute

LIMITS = ("lower95", "upper95", "lower998", "upper998")
ADJUSTMENTS = ("auto", "none", "multiplicative", "additive")
# a flag in the KPI's own direction (``better``): "bedre" or "dårligere" end forventet; a KPI
# that is neither good nor bad when high (the refusal rate) keeps "markant over/under"
FLAGS = {"markant_over": "Markant over", "markant_under": "Markant under",
         "better": "Bedre end forventet", "worse": "Dårligere end forventet"}
EXPLAIN = {
    "markant_over": "Ligger så højt over gennemsnittet, at det næppe er tilfældigt: der er "
                    "sandsynligvis en reel forskel, som er værd at undersøge.",
    "markant_under": "Ligger så lavt under gennemsnittet, at det næppe er tilfældigt: der er "
                     "sandsynligvis en reel forskel, som er værd at undersøge.",
    "better": "Bedre end forventet, så meget at det næppe er tilfældigt: der kan være noget at "
              "lære af enheden.",
    "worse": "Dårligere end forventet, så meget at det næppe er tilfældigt: forskellen er værd "
             "at undersøge.",
    None: "Forskellen fra gennemsnittet er ikke større, end tilfældigheder ofte giver ved så "
          "mange sager.",
}
NOT_STANDARDISED = ("Kan ikke sammenlignes efter sagstype: tallene er ikke knyttet til "
                    "sagstyper, som også andre enheder har haft sager i, i perioden.")
DEFAULT_BY = ["unit"]


def judgement(kpi, flag: str | None) -> str | None:
    """``better`` or ``worse`` for a flag in the KPI's own direction; None without a flag or
    when the KPI has no good direction."""
    if flag is None or kpi.better is None:
        return None
    high = flag == "markant_over"
    return "better" if high == (kpi.better == "higher") else "worse"


@dataclass
class Funnel:
    """A funnel view: the KPI result, the centre line, per-row limits and flags, and how the
    limits were adjusted for overdispersion (Spiegelhalter 2005)."""

    result: Result
    centre: float | None  # overall rate in the KPI's unit (0-100), None without data
    numerator: int = 0
    denominator: int = 0
    curve: list[dict[str, float]] = field(default_factory=list)  # limits over a grid of n
    phi: float | None = None
    tau2: float | None = None
    p_value: float | None = None  # the χ² test of overdispersion
    adjustment: str = "none"  # none | multiplicative | additive
    standardised: bool = False  # indirect standardisation by case type

    @property
    def kpi(self):
        return self.result.kpi

    def as_json(self) -> dict[str, Any]:
        out = self.result.as_json()
        out["view"] = "funnel"
        out["centre"] = self.centre
        out["centre_numerator"] = self.numerator
        out["centre_denominator"] = self.denominator
        out["phi"] = self.phi
        out["tau2"] = self.tau2
        out["overdispersion_p_value"] = self.p_value
        out["adjustment"] = self.adjustment
        out["standardised"] = "case_type" if self.standardised else None
        return out

    def flagged(self) -> list[dict]:
        return [r for r in self.as_json()["rows"] if r.get("flag")]

    def explanation(self) -> str:
        """One plain Danish sentence: what was adjusted, and why."""
        if self.phi is None:
            return ""
        phi = dk_number(self.phi, 1)
        if self.adjustment == "none":
            if self.p_value is not None and self.p_value < 0.05:
                return (f"Enhederne varierer mere, end tilfældigheder kan forklare (φ = {phi}), "
                        "men grænserne er ikke justeret: mange enheder kan derfor se markante "
                        "ud alene fordi de har forskellige sager.")
            return (f"Enhederne varierer ikke mere, end tilfældigheder kan forklare (φ = {phi}), "
                    "så grænserne er ikke justeret.")
        how = "gjort bredere" + (" med en fast faktor" if self.adjustment == "multiplicative"
                                 else " med variationen mellem enhederne")
        return (f"Enhederne varierer mere, end tilfældigheder kan forklare (φ = {phi}), fordi "
                f"de har forskellige sager og borgere; grænserne er derfor {how}, så kun "
                "forskelle ud over den almindelige variation mellem enheder kaldes markante.")


def funnel(store, query: Query, curve_points: int = 60, overdispersion: str = "auto",
           casemix: bool = False) -> Funnel:
    """The funnel view of a rate KPI for ``query`` (``by`` defaults to ``unit``); with
    ``casemix`` each unit is compared with what its own mix of case types would give."""
    check(get(query.kpi), query)
    if not query.by:
        query.by = list(DEFAULT_BY)
    mix = None
    if casemix:
        mix = compute(store, mix_query(query))
    return funnel_of(compute(store, query), curve_points, overdispersion, mix)


def check(kpi, query: Query) -> None:
    """Refuse what has no funnel: a KPI that is not a rate, or annualised figures."""
    if not kpi.ratio or kpi.unit != "%":
        raise KpiUsageError(
            f"Tragtvisningen kræver en andel, og {kpi.id} ({kpi.label}) er ikke en andel: "
            "brug fx complaint_rate eller deadline_compliance.")
    if query.annualise:
        raise KpiUsageError("Tragtvisningen bruger de faktiske antal og kan ikke opregnes; "
                            "udelad --annualise.")


def mix_query(query: Query) -> Query:
    """The query case-mix standardisation needs beside ``query``: the same, by case type too."""
    if "case_type" in query.by:
        raise KpiUsageError("Standardisering efter sagstype kræver, at der ikke allerede "
                            "opdeles efter sagstype.")
    return replace(query, by=[*query.by, "case_type"])


def funnel_of(result: Result, curve_points: int = 60, overdispersion: str = "auto",
              mix: Result | None = None) -> Funnel:
    """Add the centre line, limits and flags to a computed rate KPI result (which is left
    unchanged: it may sit in a cache). ``mix`` is the same KPI also broken down by case type
    (:func:`mix_query`): each unit's expected rate is then what its own case types would
    give at the reference rate of each case type (indirect standardisation)."""
    check(result.kpi, result.query)
    if overdispersion not in ADJUSTMENTS:
        raise KpiUsageError(f"Ukendt justering '{overdispersion}': brug "
                            + ", ".join(ADJUSTMENTS) + ".")
    kpi = result.kpi
    result = Result(kpi, result.query, [replace(r, extra=dict(r.extra)) for r in result.rows])
    usable = [r for r in result.rows if _count(r.numerator) is not None
              and _count(r.denominator)]
    num = sum(_count(r.numerator) for r in usable)
    den = sum(_count(r.denominator) for r in usable)
    p0 = num / den if den else None
    ok = p0 is not None and 0 <= p0 <= 1
    # each usable row's observed and expected proportion and within-unit variance
    expect: dict[int, tuple[float, float, float]] = {}
    if ok and mix is not None:
        expect = _standardised(result, mix)
    elif ok:
        expect = {id(r): (_count(r.numerator) / _count(r.denominator), p0,
                          p0 * (1 - p0) / _count(r.denominator)) for r in usable}
    rows = [r for r in usable if id(r) in expect]
    od = overdispersion_of(rows, expect) if ok else None
    mode = overdispersion
    if mode == "auto":
        mode = "additive" if od is not None and od.overdispersed() else "none"
    exact = mode == "none" and mix is None  # plain binomial limits: Spiegelhalter's exact ones
    for r in result.rows:
        limits: dict[str, float | None] = dict.fromkeys(LIMITS)
        flag = None
        if id(r) in expect:
            rate, t, s2 = expect[id(r)]
            lim = funnel_limits(p0, _count(r.denominator)) if exact else \
                normal_limits(t, s2, mode, od.phi if od else 1.0, od.tau2 if od else 0.0)
            limits = {name: round(100 * v, 4) for name, v in lim.items()}
            if rate > lim["upper998"] + 1e-12:
                flag = "markant_over"
            elif rate < lim["lower998"] - 1e-12:
                flag = "markant_under"
            if mix is not None:
                r.extra["expected"] = round(100 * t, 4)
                r.extra["ratio"] = round(rate / t, 4) if t > 0 else None
        r.extra.update(limits)
        r.extra["flag"] = flag
        r.extra["judgement"] = judgement(kpi, flag)
        shown = r.extra["judgement"] or flag
        r.extra["flag_text"] = EXPLAIN[shown] if limits["lower95"] is not None else \
            NOT_STANDARDISED if mix is not None and r in usable else None
    centre = round(100 * p0, 4) if p0 is not None else None
    curve = _curve(p0, [_count(r.denominator) for r in usable], curve_points, mode, od) \
        if ok and mix is None else []
    return Funnel(result, centre, num, den, curve,
                  phi=od.phi if od else None, tau2=od.tau2 if od else None,
                  p_value=od.p_value if od else None, adjustment=mode,
                  standardised=mix is not None)


def overdispersion_of(rows: list[Row], expect: dict[int, tuple[float, float, float]]):
    """Spiegelhalter's φ and τ² for the rows around their expected proportions."""
    if not rows:
        return None
    return overdispersion([expect[id(r)][0] for r in rows], [expect[id(r)][1] for r in rows],
                          [expect[id(r)][2] for r in rows])


def _standardised(result: Result, mix: Result) -> dict[int, tuple[float, float, float]]:
    """Indirect standardisation by case type, over the cells with a case type and cases: a
    unit's observed proportion is Σ_c x_ic / n_i, its expected one Σ_c n_ic·p_c / n_i with
    p_c the reference rate of case type c over every unit compared, and its variance
    Σ_c n_ic·p_c(1 − p_c) / n_i² (n_i = Σ_c n_ic). Left out: counts without a case type (a
    complaint not tied to one), and case types that only one unit handles (their reference
    rate is the unit's own, so they compare nothing). A unit with nothing left, or with no
    variance, cannot be compared this way."""
    by = list(result.query.by)
    cells = [(tuple(r.dims.get(d) for d in by), r.dims.get("case_type"),
              _count(r.numerator), _count(r.denominator)) for r in mix.rows]
    cells = [c for c in cells if c[1] is not None and c[2] is not None and c[3]]
    x_c: dict[Any, int] = {}
    n_c: dict[Any, int] = {}
    units_c: dict[Any, set] = {}
    for unit, c, x, n in cells:
        x_c[c] = x_c.get(c, 0) + x
        n_c[c] = n_c.get(c, 0) + n
        units_c.setdefault(c, set()).add(unit)
    sums: dict[tuple, list[float]] = {}
    for unit, c, x, n in cells:
        if len(units_c[c]) < 2:
            continue
        pc = x_c[c] / n_c[c]
        e = sums.setdefault(unit, [0.0, 0.0, 0.0, 0])
        e[0] += x
        e[1] += n * pc
        e[2] += n * pc * (1 - pc)
        e[3] += n
    out = {}
    for r in result.rows:
        e = sums.get(tuple(r.dims.get(d) for d in by))
        if e is not None and e[3] and e[2] > 0:
            n = e[3]
            out[id(r)] = (e[0] / n, e[1] / n, e[2] / (n * n))
    return out


def _count(v) -> int | None:
    if v is None:
        return None
    return int(round(float(v)))


def _curve(p0: float, ns: list[int], points: int, mode: str = "none",
           od=None) -> list[dict[str, float]]:
    """Limits over a log-spaced grid of denominators plus the units' own, for drawing."""
    if not ns:
        return []
    lo, hi = max(1, min(ns) // 2), max(ns) * 1.1
    grid = sorted({max(1, int(round(math.exp(math.log(lo) + i * (math.log(hi) - math.log(lo))
                                                   / max(points - 1, 1)))))
                   for i in range(points)} | set(ns))
    out = []
    for n in grid:
        lim = funnel_limits(p0, n) if mode == "none" else normal_limits(
            p0, p0 * (1 - p0) / n, mode, od.phi, od.tau2)
        out.append({"n": n, **{k: round(100 * v, 4) for k, v in lim.items()}})
    return out


__all__ = ["ADJUSTMENTS", "DEFAULT_BY", "EXPLAIN", "FLAGS", "Funnel", "LIMITS", "check", "funnel",
           "funnel_of", "judgement", "mix_query", "overdispersion_of"]
