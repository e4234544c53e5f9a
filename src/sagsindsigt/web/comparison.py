"""The *Sammenligning* page (slug ``sammenligning``): funnel plots of complaint rate and
deadline compliance across units, offered instead of raw rankings. The limits, the
overdispersion adjustment and the flags in each KPI's own direction come from
:mod:`sagsindsigt.kpis.funnel`; a target set for the KPI is drawn as a line.

Units are compared within one administration by default (the chosen one, else the largest in
the reader's scope): units of different administrations handle different cases, and comparing
a parks department with a handicap centre mostly measures that. Across administrations the
page standardises by case type (``casemix``)."""

from __future__ import annotations

from typing import Any

from ..danish import number
from ..danish import value as dk_value
from ..kpis.base import Query
from ..kpis.funnel import ADJUSTMENTS, EXPLAIN, FLAGS, Funnel, funnel_of, mix_query
from ..present.charts import funnel_chart
from ..present.tables import Cell, Column, Table
from .pages import Figures, Filters

SLUG = "sammenligning"
KPIS = ["complaint_rate", "procedural_complaint_rate", "deadline_compliance"]
DIM = "unit"
ADJUSTMENT_NAMES = {"auto": "Automatisk (anbefalet)", "none": "Ingen justering",
                    "multiplicative": "Multiplikativ (φ)", "additive": "Additiv (τ²)"}
assert list(ADJUSTMENT_NAMES) == list(ADJUSTMENTS)


def compared(fig: Figures, f: Filters) -> Filters:
    """The filters the funnels use: within one administration unless a narrower filter or
    case-mix standardisation is chosen (then the reader's whole scope, standardised)."""
    if f.administration or f.unit or f.casemix:
        return f
    sizes = fig.get("cases_received", f.period, ["administration"], f.where()).rows
    sizes = [r for r in sizes if r.dims.get("administration") and r.value]
    if len(sizes) <= 1:
        return f
    largest = max(sizes, key=lambda r: (r.value, r.dims["administration"]))
    return Filters(f.period, largest.dims["administration"], None, f.case_type,
                   f.overdispersion, f.casemix)


def funnels(fig: Figures, f: Filters) -> list[Funnel]:
    g = compared(fig, f)
    out = []
    for k in KPIS:
        res = fig.get(k, g.period, [DIM], g.where())
        mix = None
        if g.casemix and not g.case_type:
            mix = fig.get(k, g.period, mix_query(Query.make(k, g.period, [DIM])).by, g.where())
        out.append(funnel_of(res, overdispersion=g.overdispersion, mix=mix))
    return out


def choices(fig: Figures, f: Filters) -> dict[str, Any]:
    """What the reader can switch between: the administrations, all units standardised by
    case type, and the overdispersion adjustment."""
    g = compared(fig, f)
    labels = fig.labels()
    admins = [r.dims["administration"] for r in
              fig.get("cases_received", f.period, ["administration"], []).rows
              if r.dims.get("administration") and r.value]
    links = [{"text": labels.name("administration", a), "current": g.administration == a
              and not f.casemix, "params": Filters(f.period, a, None, None,
                                                   f.overdispersion).params()}
             for a in sorted(admins, key=lambda a: labels.name("administration", a))]
    if len(admins) > 1:
        links.append({"text": "Alle enheder, standardiseret efter sagstype",
                      "current": f.casemix and not f.administration,
                      "params": Filters(f.period, None, None, None, f.overdispersion,
                                        True).params()})
    return {"within": labels.name("administration", g.administration)
            if g.administration else None, "links": links if len(admins) > 1 else [],
            "adjustments": ADJUSTMENT_NAMES, "adjustment": f.overdispersion,
            "hidden": {k: v for k, v in f.params().items() if k != "overdispersion"}}


def view(fig: Figures, f: Filters) -> dict[str, Any]:
    from .targets import statuses

    g = compared(fig, f)
    goals = {}
    for it in statuses(fig, g):
        st = it["status"]
        if st.target is not None and st.period == g.period and \
                st.scope.get("administration") == g.administration and len(st.scope) <= 1:
            goals[st.kpi] = st.target
    tables, charts = [], []
    labels = fig.labels()
    for fn in funnels(fig, f):
        kpi = fn.kpi
        cols = [Column("label", labels.dim(DIM)), Column("value", kpi.label, "%")]
        if fn.standardised:
            cols += [Column("expected", "Forventet ud fra sagstyper", "%"),
                     Column("ratio", "Faktisk / forventet")]
        cols += [Column("count", "Tæller / nævner"), Column("limits95", "95 %-grænser"),
                 Column("limits998", "99,8 %-grænser"), Column("flag", "Vurdering"),
                 Column("explain", "Forklaring")]
        t = Table(f"tragt_{kpi.id}", f"{kpi.label} pr. enhed med kontrolgrænser", cols,
                  caption=_caption(fn))
        for r in fn.as_json()["rows"]:
            if r.get("lower95") is None and not r.get("flag_text"):
                continue  # no denominator: nothing to compare
            if r.get("lower95") is None:  # cases, but no case types to standardise by
                t.add({"label": labels.name(DIM, r[DIM]), "_key": r[DIM],
                       "value": Cell(r["value"], "%", r["note"]), "count":
                       f"{number(r['numerator'])} / {number(r['denominator'])}",
                       "flag": "Kan ikke sammenlignes", "explain": r["flag_text"]})
                continue
            shown = r.get("judgement") or r["flag"]
            row = {"label": labels.name(DIM, r[DIM]), "_key": r[DIM],
                   "value": Cell(r["value"], "%", r["note"]),
                   "count": f"{number(r['numerator'])} / {number(r['denominator'])}",
                   "limits95": f"{dk_value(r['lower95'], '%')}–{dk_value(r['upper95'], '%')}",
                   "limits998": f"{dk_value(r['lower998'], '%')}–"
                                f"{dk_value(r['upper998'], '%')}",
                   "flag": FLAGS.get(shown, "Inden for grænserne"),
                   "explain": EXPLAIN[shown]}
            if fn.standardised:
                row["expected"] = Cell(r.get("expected"), "%")
                row["ratio"] = number(r.get("ratio"), 2)
            t.add(row)
        t.sort_body(lambda r: r["label"])  # alphabetical: never a ranking
        tables.append(t)
        if t.rows:
            charts.append(funnel_chart(fn, labels, goals.get(kpi.id)))
    return {"tables": tables, "charts": charts, "choices": choices(fig, f)}


def _caption(fn: Funnel) -> str:
    if fn.centre is None:
        return "Ingen data for perioden."
    flagged = fn.flagged()
    better = sum(1 for r in flagged if r.get("judgement") == "better")
    worse = sum(1 for r in flagged if r.get("judgement") == "worse")
    if not flagged:
        verdict = "Ingen enhed ligger uden for 99,8 %-grænserne."
    elif better or worse:
        verdict = (f"{better} enhed(er) bedre og {worse} dårligere end forventet "
                   "(uden for 99,8 %-grænserne).")
    else:
        verdict = f"{len(flagged)} enhed(er) ligger uden for 99,8 %-grænserne."
    return (f"Gennemsnit for de sammenlignede enheder: {dk_value(fn.centre, '%')} "
            f"({number(fn.numerator)} / {number(fn.denominator)}). {verdict} "
            + fn.explanation())


__all__ = ["KPIS", "SLUG", "choices", "compared", "funnels", "view"]
