"""Fair comparison of units: the funnel view of a rate KPI (kpis.md, "Comparing units fairly").

Each unit's rate is placed against its denominator, around the overall rate of all units in
scope (the centre line), with exact binomial control limits at 95 % and 99,8 %
(Spiegelhalter's interpolation, :func:`sagsindsigt.stats.funnel_limits`). A unit outside the
99,8 % limits is flagged ``markant_over`` or ``markant_under``; inside them its difference from
the centre is what chance alone would often give, so no ranking is implied.

The rows are the KPI's own rows (same ``value``, ``numerator``, ``denominator``) with the
limits added, in the KPI's unit (percent 0-100), so the CLI, the API and the page agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..stats import funnel_limits
from .base import KpiUsageError, Query, Result, compute, get

LIMITS = ("lower95", "upper95", "lower998", "upper998")
FLAGS = {"markant_over": "Markant over", "markant_under": "Markant under"}
EXPLAIN = {
    "markant_over": "Ligger så højt over gennemsnittet, at det næppe er tilfældigt: der er "
                    "sandsynligvis en reel forskel, som er værd at undersøge.",
    "markant_under": "Ligger så lavt under gennemsnittet, at det næppe er tilfældigt: der er "
                     "sandsynligvis en reel forskel, som er værd at undersøge.",
    None: "Forskellen fra gennemsnittet er ikke større, end tilfældigheder ofte giver ved så "
          "mange sager.",
}
DEFAULT_BY = ["unit"]


@dataclass
class Funnel:
    """A funnel view: the KPI result, the centre line and per-row limits and flags."""

    result: Result
    centre: float | None  # overall rate in the KPI's unit (0-100), None without data
    numerator: int = 0
    denominator: int = 0
    curve: list[dict[str, float]] = field(default_factory=list)  # limits over a grid of n

    @property
    def kpi(self):
        return self.result.kpi

    def as_json(self) -> dict[str, Any]:
        out = self.result.as_json()
        out["view"] = "funnel"
        out["centre"] = self.centre
        out["centre_numerator"] = self.numerator
        out["centre_denominator"] = self.denominator
        return out

    def flagged(self) -> list[dict]:
        return [r for r in self.as_json()["rows"] if r.get("flag")]


def funnel(store, query: Query, curve_points: int = 60) -> Funnel:
    """The funnel view of a rate KPI for ``query`` (``by`` defaults to ``unit``)."""
    check(get(query.kpi), query)
    if not query.by:
        query.by = list(DEFAULT_BY)
    return funnel_of(compute(store, query), curve_points)


def check(kpi, query: Query) -> None:
    """Refuse what has no funnel: a KPI that is not a rate, or annualised figures."""
    if not kpi.ratio or kpi.unit != "%":
        raise KpiUsageError(
            f"Tragtvisningen kræver en andel, og {kpi.id} ({kpi.label}) er ikke en andel: "
            "brug fx complaint_rate eller deadline_compliance.")
    if query.annualise:
        raise KpiUsageError("Tragtvisningen bruger de faktiske antal og kan ikke opregnes; "
                            "udelad --annualise.")


def funnel_of(result: Result, curve_points: int = 60) -> Funnel:
    """Add the centre line, limits and flags to a computed rate KPI result (which is left
    unchanged: it may sit in a cache)."""
    check(result.kpi, result.query)
    result = Result(result.kpi, result.query,
                    [replace(r, extra=dict(r.extra)) for r in result.rows])
    usable = [r for r in result.rows if _count(r.numerator) is not None
              and _count(r.denominator)]
    num = sum(_count(r.numerator) for r in usable)
    den = sum(_count(r.denominator) for r in usable)
    p0 = num / den if den else None
    for r in result.rows:
        d, k = _count(r.denominator), _count(r.numerator)
        limits: dict[str, float | None] = dict.fromkeys(LIMITS)
        flag = None
        if p0 is not None and d and k is not None and 0 <= p0 <= 1:
            lim = funnel_limits(p0, d)
            limits = {name: round(100 * v, 4) for name, v in lim.items()}
            rate = k / d
            if rate > lim["upper998"] + 1e-12:
                flag = "markant_over"
            elif rate < lim["lower998"] - 1e-12:
                flag = "markant_under"
        r.extra.update(limits)
        r.extra["flag"] = flag
        r.extra["flag_text"] = EXPLAIN[flag] if limits["lower95"] is not None else None
    centre = round(100 * p0, 4) if p0 is not None else None
    curve = _curve(p0, [_count(r.denominator) for r in usable], curve_points) \
        if p0 is not None and p0 <= 1 else []
    return Funnel(result, centre, num, den, curve)


def _count(v) -> int | None:
    if v is None:
        return None
    return int(round(float(v)))


def _curve(p0: float, ns: list[int], points: int) -> list[dict[str, float]]:
    """Limits over a log-spaced grid of denominators plus the units' own, for drawing."""
    if not ns:
        return []
    lo, hi = max(1, min(ns) // 2), max(ns) * 1.1
    grid = sorted({max(1, int(round(math.exp(math.log(lo) + i * (math.log(hi) - math.log(lo))
                                                   / max(points - 1, 1)))))
                   for i in range(points)} | set(ns))
    out = []
    for n in grid:
        lim = funnel_limits(p0, n)
        out.append({"n": n, **{k: round(100 * v, 4) for k, v in lim.items()}})
    return out


__all__ = ["DEFAULT_BY", "EXPLAIN", "FLAGS", "Funnel", "LIMITS", "check", "funnel", "funnel_of"]
