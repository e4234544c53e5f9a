"""The *Sammenligning* page (slug ``sammenligning``): funnel plots of complaint rate and
deadline compliance across units, offered instead of raw rankings. The limits and flags come
from :mod:`sagsindsigt.kpis.funnel`; a target set for the KPI is drawn as a line."""

from __future__ import annotations

from typing import Any

from ..danish import value as dk_value
from ..kpis.funnel import EXPLAIN, FLAGS, Funnel, funnel_of
from ..present.charts import funnel_chart
from ..present.tables import Cell, Column, Table
from .pages import Figures, Filters

SLUG = "sammenligning"
KPIS = ["complaint_rate", "procedural_complaint_rate", "deadline_compliance"]
DIM = "unit"


def funnels(fig: Figures, f: Filters) -> list[Funnel]:
    return [funnel_of(fig.get(k, f.period, [DIM], f.where())) for k in KPIS]


def view(fig: Figures, f: Filters) -> dict[str, Any]:
    from .targets import statuses

    goals = {}
    for it in statuses(fig, f):
        st = it["status"]
        if st.target is not None and st.period == f.period and \
                st.scope.get("administration") == f.administration and len(st.scope) <= 1:
            goals[st.kpi] = st.target
    tables, charts = [], []
    labels = fig.labels()
    for fn in funnels(fig, f):
        kpi = fn.kpi
        t = Table(f"tragt_{kpi.id}", f"{kpi.label} pr. enhed med kontrolgrænser", [
            Column("label", labels.dim(DIM)), Column("value", kpi.label, "%"),
            Column("count", "Tæller / nævner"), Column("limits95", "95 %-grænser"),
            Column("limits998", "99,8 %-grænser"), Column("flag", "Vurdering"),
            Column("explain", "Forklaring")],
            caption=_caption(fn))
        for r in fn.as_json()["rows"]:
            if r.get("lower95") is None:
                continue  # no denominator: nothing to compare
            t.add({"label": labels.name(DIM, r[DIM]), "_key": r[DIM],
                   "value": Cell(r["value"], "%", r["note"]),
                   "count": f"{_n(r['numerator'])} / {_n(r['denominator'])}",
                   "limits95": f"{dk_value(r['lower95'], '%')}–{dk_value(r['upper95'], '%')}",
                   "limits998": f"{dk_value(r['lower998'], '%')}–"
                                f"{dk_value(r['upper998'], '%')}",
                   "flag": FLAGS.get(r["flag"], "Inden for grænserne"),
                   "explain": EXPLAIN[r["flag"]]})
        t.sort_body(lambda r: r["label"])  # alphabetical: never a ranking
        tables.append(t)
        if t.rows:
            charts.append(funnel_chart(fn, labels, goals.get(kpi.id)))
    return {"tables": tables, "charts": charts}


def _n(v) -> str:
    from ..danish import number

    return number(v)


def _caption(fn: Funnel) -> str:
    if fn.centre is None:
        return "Ingen data for perioden."
    flagged = fn.flagged()
    return (f"Gennemsnit for alle enheder: {dk_value(fn.centre, '%')} "
            f"({_n(fn.numerator)} / {_n(fn.denominator)}). "
            + (f"{len(flagged)} enhed(er) ligger markant over eller under." if flagged
               else "Ingen enhed ligger markant over eller under."))


__all__ = ["KPIS", "SLUG", "funnels", "view"]
