"""Statistical process control: a KPI month by month on a control chart, with the
special-cause rules and a summary in the style of NHS England's "Making Data Count" (kpis.md,
"Control charts over time"; docs/decisions.md).

* The chart: the months up to the end of the chosen period (at most :data:`MONTHS`, from the
  first month with data), one point per month from the KPI registry (``compute`` through a
  ``get``, the same cached figures as the pages). A rate (a percentage with numerator and
  denominator) is drawn on Laney's p′ chart (:func:`sagsindsigt.stats.laney_limits`), which
  widens the binomial limits by the month-to-month variation; anything else (days, counts) on
  an XmR chart (:func:`sagsindsigt.stats.xmr_limits`). The limits come from all points shown;
  with fewer than :data:`MIN_POINTS` months with data there are no limits and no signals.
* The rules (:func:`sagsindsigt.stats.spc_signals`): a point outside the limits, 7 in a row
  on one side of the centre, 7 rising or falling, 2 of 3 beyond 2 sigma on one side.
* The summary: ``variation`` from the latest point with a value: ``improvement`` or
  ``concern`` when it is part of a signal and the KPI says which direction is good (``better``);
  ``special_cause`` (with ``side``) for a KPI where neither direction is good;
  ``common_cause`` without a signal. ``assurance`` against a target (måltal) compares the
  target with the latest limits: ``consistently_met`` when every value inside the limits
  meets it, ``consistently_missed`` when none does, else ``hit_and_miss``.

Values, centre and limits are in the KPI's unit (percent 0-100 for rates), so the CLI, the API
and the pages agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .. import lazy
from ..calendar import Period, merge_spans
from ..stats import laney_limits, spc_signals, xmr_limits
from .base import KPI, KpiUsageError, Result, Row
from .base import get as get_kpi

ibis = lazy.module("ibis")

MONTHS = 24  # the months a chart shows, up to the period's end
MIN_POINTS = 12  # months with data needed for limits
VARIATION = {"improvement": "Forbedring", "concern": "Bekymring",
             "special_cause": "Særlig variation", "common_cause": "Almindelig variation"}
ASSURANCE = {"consistently_met": "Målet nås hver gang", "consistently_missed":
             "Målet nås ikke", "hit_and_miss": "Målet nås af og til"}
SIDE = {"high": "højere", "low": "lavere"}
RULES = {"outside": "uden for kontrolgrænserne",
         "two_of_three": "2 af 3 nær en kontrolgrænse",
         "shift": "7 eller flere i træk på samme side af gennemsnittet",
         "trend": "7 i træk stigende eller faldende"}
CHARTS = {"p_prime": "p′-kort (Laney)", "xmr": "XmR-kort"}

Get = Callable[..., Result]  # get(kpi, period, by=(), where=(), annualise=False)
Coverage = Callable[[str], dict[str, list[tuple[date, date]]]]  # reads.coverage(store, table)
PARTLY = "måneden er ikke helt dækket af data"


@dataclass
class Target:
    """A target the months are held against: ``max`` (at most) or ``min`` (at least)."""

    value: float
    direction: str


@dataclass
class Chart:
    kpi: KPI
    period: str  # the period asked for; the chart ends with its last month
    where: list[str]
    rows: list[dict[str, Any]]
    chart: str  # p_prime | xmr
    centre: float | None = None
    sigma_z: float | None = None  # p′ only
    variation: str | None = None
    side: str | None = None  # of the latest point's signal
    assurance: str | None = None
    target: Target | None = None
    note: str | None = None  # Danish: why there are no limits
    points: int = 0  # months with a value
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def latest(self) -> dict[str, Any] | None:
        known = [r for r in self.rows if r["value"] is not None]
        return known[-1] if known else None

    def as_json(self) -> dict[str, Any]:
        return {"kpi": self.kpi.id, "period": self.period, "view": "spc",
                "chart": self.chart, "where": self.where,
                "months": [self.rows[0]["month"], self.rows[-1]["month"]] if self.rows
                else [], "points": self.points, "centre": self.centre,
                "sigma_z": self.sigma_z, "better": self.kpi.better,
                "variation": self.variation, "side": self.side,
                "assurance": self.assurance,
                "target": None if self.target is None else self.target.value,
                "target_direction": None if self.target is None else self.target.direction,
                "note": self.note, "rows": self.rows}

    # Danish texts for the pages ---------------------------------------------------------
    def variation_text(self) -> str:
        """One short status: "Forbedring", "Bekymring", "Særlig variation (højere)",
        "Almindelig variation" or why there is none."""
        if self.variation is None:
            return self.note or "Ingen kontrolgrænser"
        text = VARIATION[self.variation]
        if self.variation == "special_cause" and self.side:
            text += f" ({SIDE[self.side]})"
        return text

    def assurance_text(self) -> str | None:
        return ASSURANCE.get(self.assurance) if self.assurance else None

    def sentence(self) -> str:
        """The summary in one or two plain Danish sentences."""
        if self.variation is None:
            return self.note or ""
        known = [r["month"] for r in self.rows if r["value"] is not None]
        text = (f"{CHARTS[self.chart]} over {self.points} måneder ({_month(known[0])}–"
                f"{_month(known[-1])}). ")
        latest = self.latest
        if known[-1] != self.rows[-1]["month"]:
            text += (f"Månederne efter {_month(known[-1])} er ikke helt dækket af data og "
                     "indgår ikke. ")
        if self.variation == "common_cause":
            text += ("Den seneste måned ligger inden for den almindelige variation: ingen "
                     "tegn på en reel ændring.")
        else:
            rules = ", ".join(RULES[r] for r in latest["rules"])
            what = {"improvement": "en forbedring", "concern": "en forværring",
                    "special_cause": f"en reel ændring ({SIDE[self.side]})"}[self.variation]
            text += f"Den seneste måned er et tegn på {what}: {rules}."
        if self.assurance:
            text += " " + {
                "consistently_met": "Kontrolgrænserne ligger på den rigtige side af målet: "
                                    "målet nås hver måned, hvis intet ændres.",
                "consistently_missed": "Kontrolgrænserne ligger på den forkerte side af "
                                       "målet: målet nås ikke uden en ændring af processen.",
                "hit_and_miss": "Målet ligger inden for kontrolgrænserne: det nås nogle "
                                "måneder og andre ikke.",
            }[self.assurance]
        return text


def _month(label: str) -> str:
    from ..calendar import MONTHS_DA

    y, m = label.split("-")
    return f"{MONTHS_DA[int(m) - 1][:3]}. {y}"


def window(period: str | Period, months: int = MONTHS) -> list[str]:
    """The ``months`` calendar months up to and including the period's last month, oldest
    first, as period labels (2014-03)."""
    p = period if isinstance(period, Period) else Period.parse(period)
    y, m = p.end.year, p.end.month
    out = []
    for _ in range(months):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def kind(kpi: KPI) -> str:
    """p′ for a rate, XmR for everything else (times, counts)."""
    return "p_prime" if kpi.ratio and kpi.unit == "%" else "xmr"


def check(kpi: KPI, by: list[str], annualise: bool) -> None:
    if by:
        raise KpiUsageError("Et kontrolkort viser én serie: vælg enheden med --where "
                            "(fx unit=SCK) i stedet for --by.")
    if annualise:
        raise KpiUsageError("Kontrolkortet bruger månedernes faktiske tal og kan ikke "
                            "opregnes; udelad --annualise.")


Series = Callable[[list[str]], "dict[str, Row] | None"]  # month_rows over a store


def spc(get: Get, kpi_id: str, period: str | Period, where=(),
        target: Target | None = None, coverage: Coverage | None = None,
        series: Series | None = None) -> Chart:
    """The control chart of one KPI for one scope (``where``), ending with the period's last
    month; with ``coverage`` a month not wholly covered by the data of every administration
    in scope has no point (:func:`covered_months`). ``series(months)`` may give every month's
    row at once (:func:`month_rows`, one query); where it gives None each month is a ``get``."""
    if series is not None:
        kpi = get_kpi(kpi_id)
        label = period.label if isinstance(period, Period) else Period.parse(period).label
        months = window(period)
        found = series(months)
        if found is not None:
            whole = covered_months(kpi, months, where, coverage) if coverage else None
            return chart_of(kpi, label, list(where), _rows(kpi, months, found, whole), target)
    return spc_by(get, kpi_id, period, None, where, {None: target}, coverage)[None]


def month_rows(store, kpi_id: str, months: list[str], where=()) -> dict[str, Row] | None:
    """Every month's row of a KPI in one query grouped by month, for the kinds whose figure
    for a month is a plain aggregate of the rows dated in it: a ratio of two counts of one
    table on one date (deadline compliance, timeliness, ...) and a percentile of days
    (median processing time, ...). The same rows as ``compute`` for each month (the test
    holds them side by side); None for any other kind (the caller computes month by month)."""
    from .base import Context, Query, pct
    from .measures import NO_DATA, Count, QuantileKPI, RatioKPI

    kpi = get_kpi(kpi_id)
    span = Period.from_dates(Period.parse(months[0]).start, Period.parse(months[-1]).end)
    ctx = Context(store, Query.make(kpi.id, span, [], list(where)), kpi)
    if isinstance(kpi, RatioKPI):
        a, b = kpi.numerator, kpi.denominator
        if not (isinstance(a, Count) and isinstance(b, Count) and a.table == b.table
                and a.date and a.date == b.date and a.value is None and b.value is None):
            return None
        ctx.check_dims(kpi.dims)

        def build_ratio():
            t = ctx.table(a.table)
            t = t.filter(ctx.in_period(t[a.date]))

            def hits(w):
                if w is None:
                    return t.count()
                return ibis.ifelse(w(t).fill_null(False), 1, 0).sum()

            return t.group_by(month=t[a.date].truncate("M")).aggregate(n=hits(a.where),
                                                                       d=hits(b.where))

        # as the KPI layer: a count of 0 where no administration in scope has data for the
        # month is "no data", not 0
        scope = ctx.q.where.get("administration")
        ranges = [rg for adm, rgs in ctx.coverage(a.table).items()
                  if not scope or adm in scope for rg in rgs]
        out = {}
        for r in ctx.frame(("spc_months", a, b), build_ratio).to_dicts():
            label = _label(r["month"])
            p = Period.parse(label)
            seen = any(s0 <= p.end and e0 >= p.start for s0, e0 in ranges)
            n, d = int(r["n"] or 0), int(r["d"] or 0)
            num = n if n or seen else None
            den = d if d or seen else None
            note = (kpi.missing_denominator_note if den is None else kpi.empty_note if not den
                    else NO_DATA if num is None else None)
            out[label] = Row({}, value=pct(num, den), numerator=num, denominator=den,
                             note=note)
        return out
    if isinstance(kpi, QuantileKPI):
        ctx.check_dims(kpi.dims)

        def build_quantile():
            t = ctx.table(kpi.table)
            t = t.filter(ctx.in_period(t[kpi.date]))
            if kpi.where is not None:
                t = t.filter(kpi.where(t))
            x = kpi.expr(t)
            return t.group_by(month=t[kpi.date].truncate("M")).aggregate(
                v=x.quantile(kpi.q), n=x.count())

        return {_label(r["month"]): Row({}, value=round(float(r["v"]), 1), n=int(r["n"]))
                for r in ctx.frame("spc_months", build_quantile).to_dicts() if r["n"]}
    return None


def _label(d) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def spc_by(get: Get, kpi_id: str, period: str | Period, dim: str | None, where=(),
           targets: dict[Any, Target | None] | None = None,
           coverage: Coverage | None = None) -> dict[Any, Chart]:
    """A control chart per member of ``dim`` (one query per month for all members), or of
    the whole scope with ``dim`` None (key None)."""
    kpi = get_kpi(kpi_id)
    label = period.label if isinstance(period, Period) else Period.parse(period).label
    months = window(period)
    whole = covered_months(kpi, months, where, coverage) if coverage else set(months)
    by = [dim] if dim else []
    series: dict[Any, list[tuple[str, Any]]] = {}
    for m in months:
        res = get(kpi.id, m, by, list(where), False)
        for r in res.rows:
            key = r.dims.get(dim) if dim else None
            series.setdefault(key, []).append((m, r))
    out = {}
    for key, points in series.items():
        rows = _rows(kpi, months, dict(points), whole)
        t = (targets or {}).get(key)
        scope = list(where) + ([f"{dim}={key}"] if dim else [])
        out[key] = chart_of(kpi, label, scope, rows, t)
    if not dim and None not in out:
        out[None] = chart_of(kpi, label, list(where), _rows(kpi, months, {}, whole),
                             (targets or {}).get(None))
    return out


def covered_months(kpi: KPI, months: list[str], where, coverage: Coverage) -> set[str]:
    """The months every administration in scope covers wholly with its data of the KPI's
    tables (an administration whose data do not reach into the window is not counted). A
    month at the edge of the data (data for the first half of 2014 and cases decided in
    July) would otherwise be a point of a different kind: fewer or other cases."""
    if kpi.audit:  # reviews belong to audit rounds, not to an administration's imports
        return set(months)
    scope = {a for w in where if w.startswith("administration=")
             for a in w.split("=", 1)[1].split(",")}
    tables = kpi.tables() if hasattr(kpi, "tables") else [kpi.table]
    spans = [(m, Period.parse(m)) for m in months]
    first, last = spans[0][1].start, spans[-1][1].end
    keep = set(months)
    for table in tables:
        if table == "volumes":  # reported per period, not per month
            continue
        for admin, ranges in coverage(table).items():
            if scope and admin not in scope:
                continue
            merged = merge_spans((s, e) for s, e in ranges if s <= last and e >= first)
            if not merged:
                continue
            keep &= {m for m, p in spans
                     if any(s <= p.start and e >= p.end for s, e in merged)}
    return keep


def _rows(kpi: KPI, months: list[str], found: dict[str, Any],
          whole: set[str] | None = None) -> list[dict[str, Any]]:
    """One row per month from the first to the last month with a figure (the months before
    the data begin and after they end are left out; a gap inside stays, without a value). A
    month outside ``whole`` keeps its counts and says why it has no value (it is not a point
    of the chart)."""
    rows = []
    for m in months:
        r = found.get(m)
        row: dict[str, Any] = {"month": m, "value": None if r is None else r.value}
        if kpi.ratio:
            row["numerator"] = None if r is None else r.numerator
            row["denominator"] = None if r is None else r.denominator
            if r is not None and not r.denominator:
                row["value"] = None
        else:
            row["n"] = None if r is None else r.n
        row["note"] = None if r is None else r.note
        row["_figure"] = row["value"] is not None
        if whole is not None and m not in whole and row["value"] is not None:
            row["value"], row["note"] = None, PARTLY
        rows.append(row)
    known = [i for i, r in enumerate(rows) if r.pop("_figure")]
    return rows[known[0]:known[-1] + 1] if known else []


def chart_of(kpi: KPI, period: str, where: list[str], rows: list[dict[str, Any]],
             target: Target | None = None) -> Chart:
    """Limits, signals and the summary for the months ``rows`` (``value`` and, for a rate,
    ``numerator``/``denominator`` set; ``value`` None where a month has no figure)."""
    ch = Chart(kpi, period, where, rows, kind(kpi), target=target)
    for r in rows:
        r.update(centre=None, lower=None, upper=None, signal=None, side=None, rules=[])
    use = [r for r in rows if r["value"] is not None]
    ch.points = len(use)
    if len(use) < MIN_POINTS:
        ch.note = (f"For få måneder med data til kontrolgrænser: {len(use)} af mindst "
                   f"{MIN_POINTS}." if use else "Ingen måneder med data.")
        return ch
    if ch.chart == "p_prime":
        lim = laney_limits([float(r["numerator"]) for r in use],
                           [float(r["denominator"]) for r in use])
        centre, sigma = 100 * lim["centre"], [100 * s for s in lim["sigma"]]
        lower, upper = [100 * v for v in lim["lower"]], [100 * v for v in lim["upper"]]
        values = [100 * float(r["numerator"]) / float(r["denominator"]) for r in use]
        ch.sigma_z = round(lim["sigma_z"], 6)
    else:
        values = [float(r["value"]) for r in use]
        lim = xmr_limits(values)
        centre, sigma = lim["centre"], [lim["sigma"]] * len(use)
        # days and counts are never below zero; a difference in % (sb_vs_written) may be
        floor = 0.0 if kpi.unit in ("dage", "antal") else None
        lower = [lim["lower"] if floor is None else max(floor, lim["lower"])] * len(use)
        upper = [lim["upper"]] * len(use)
    signals = spc_signals(values, centre, sigma)
    ch.centre = round(centre, 4)
    for r, lo, hi, sig in zip(use, lower, upper, signals, strict=True):
        r.update(centre=ch.centre, lower=round(lo, 4), upper=round(hi, 4))
        if sig:
            r.update(signal=judge(kpi, sig["side"]), side=sig["side"], rules=sig["rules"])
    latest = use[-1]
    ch.side = latest["side"]
    ch.variation = latest["signal"] or "common_cause"
    if target is not None:
        ch.assurance = assurance(target, latest["lower"], latest["upper"])
    return ch


def judge(kpi: KPI, side: str) -> str:
    """A signal's meaning: ``improvement`` or ``concern`` by the KPI's good direction, else
    ``special_cause`` (a volume or the refusal rate: a change, neither good nor bad)."""
    if kpi.better is None:
        return "special_cause"
    good = "high" if kpi.better == "higher" else "low"
    return "improvement" if side == good else "concern"


def assurance(target: Target, lower: float, upper: float) -> str:
    """Making Data Count's assurance: where the target lies against the process limits. A
    ``max`` target (at most) is met by values ≤ target, a ``min`` target by values ≥ it (as
    :func:`sagsindsigt.targets.evaluate`)."""
    if target.direction == "max":
        if upper <= target.value:
            return "consistently_met"
        if lower > target.value:
            return "consistently_missed"
    else:
        if lower >= target.value:
            return "consistently_met"
        if upper < target.value:
            return "consistently_missed"
    return "hit_and_miss"


def target_for(rows: list[dict[str, Any]], kpi_id: str, where: list[str], period: str,
               evaluate: Callable[[dict], Any]) -> Target | None:
    """The target (måltal) of a KPI for exactly this scope whose period holds the period's
    last month (the latest such period when several do); ``evaluate`` gives a target row's
    :class:`sagsindsigt.targets.TargetStatus` (for a goal relative to a base period)."""
    scope = dict(w.split("=", 1) for w in where)
    last = Period.parse(period).end
    best, best_start = None, date.min
    for t in rows:
        if t.get("kpi") != kpi_id:
            continue
        if {d: t[d] for d in ("administration", "unit", "case_type") if t.get(d)} != scope:
            continue
        try:
            p = Period.parse(str(t["period"]))
        except ValueError:
            continue
        if p.start <= last <= p.end and p.start >= best_start:
            best, best_start = t, p.start
    if best is None:
        return None
    st = evaluate(best)
    if st.target is None:
        return None
    return Target(float(st.target), st.direction)


__all__ = ["ASSURANCE", "MIN_POINTS", "MONTHS", "VARIATION", "Chart", "Target", "chart_of",
           "covered_months", "month_rows", "spc", "spc_by", "target_for", "window"]
