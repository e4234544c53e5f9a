"""The *Sammenligning* page (slug ``sammenligning``): funnel plots of complaint rate and
deadline compliance across units, offered instead of raw rankings. The limits and flags come
from :mod:`sagsindsigt.kpis.funnel`; a target set for the KPI is drawn as a line."""

from __future__ import annotations

from typing import Any

from ..danish import value as dk_value
from ..kpis.funnel import EXPLAIN, FLAGS, Funnel, funnel_of
from .pages import Cell, Column, Figures, Filters, Table, name

SLUG = "sammenligning"
KPIS = ["complaint_rate", "procedural_complaint_rate", "deadline_compliance"]
DIM = "unit"
LIMIT_LABELS = {"lower998": "99,8 %-grænse", "lower95": "95 %-grænse",
                "upper95": "95 %-grænse ", "upper998": "99,8 %-grænse "}


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
    for fn in funnels(fig, f):
        kpi = fn.kpi
        t = Table(f"tragt_{kpi.id}", f"{kpi.label} pr. enhed med kontrolgrænser", [
            Column(DIM, "Enhed"), Column("value", kpi.label, "%"),
            Column("count", "Tæller / nævner"), Column("limits95", "95 %-grænser"),
            Column("limits998", "99,8 %-grænser"), Column("flag", "Vurdering"),
            Column("explain", "Forklaring")],
            caption=_caption(fn))
        for r in fn.as_json()["rows"]:
            if r.get("lower95") is None:
                continue  # no denominator: nothing to compare
            t.add({DIM: name(DIM, r[DIM]), "value": Cell(r["value"], "%", r["note"]),
                   "count": f"{_n(r['numerator'])} / {_n(r['denominator'])}",
                   "limits95": f"{dk_value(r['lower95'], '%')}–{dk_value(r['upper95'], '%')}",
                   "limits998": f"{dk_value(r['lower998'], '%')}–"
                                f"{dk_value(r['upper998'], '%')}",
                   "flag": FLAGS.get(r["flag"], "Inden for grænserne"),
                   "explain": EXPLAIN[r["flag"]]})
        tables.append(t)
        if t.rows:
            charts.append(funnel_chart(fn, goals.get(kpi.id)))
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


def funnel_chart(fn: Funnel, target: float | None = None) -> dict:
    """A funnel plot: units as points (rate against number of cases), the overall rate as
    the centre line, the 95 % and 99,8 % limits as curves, and a target as a dashed line."""
    points = [{"enhed": name(DIM, r[DIM]), "antal": r["denominator"], "værdi": r["value"],
               "vurdering": FLAGS.get(r["flag"], "Inden for grænserne")}
              for r in fn.as_json()["rows"] if r.get("lower95") is not None]
    curve = [{"antal": c["n"], "grænse": LIMIT_LABELS[k].strip(), "side": k, "værdi": c[k]}
             for c in fn.curve for k in LIMIT_LABELS]
    layers: list[dict[str, Any]] = [
        {"data": {"values": curve}, "mark": {"type": "line", "strokeWidth": 1.5},
         "encoding": {"x": {"field": "antal", "type": "quantitative",
                            "scale": {"type": "log", "nice": False},
                            "title": "Antal (nævner), logaritmisk akse"},
                      "y": {"field": "værdi", "type": "quantitative",
                            "scale": {"zero": False}},
                      "detail": {"field": "side"},
                      "strokeDash": {"field": "grænse", "title": "Kontrolgrænse",
                                     "scale": {"range": [[4, 3], [1, 0]]}},
                      "color": {"value": "#7a7a7a"}}},
        {"data": {"values": [{}]}, "mark": {"type": "rule", "color": "#1f5fa8"},
         "encoding": {"y": {"datum": fn.centre}}},
        {"data": {"values": points}, "mark": {"type": "point", "filled": True, "size": 70,
                                              "tooltip": True},
         "encoding": {"x": {"field": "antal", "type": "quantitative"},
                      "y": {"field": "værdi", "type": "quantitative", "title": "%"},
                      "color": {"field": "vurdering", "title": "Vurdering",
                                "scale": {"domain": ["Inden for grænserne", "Markant over",
                                                     "Markant under"],
                                          "range": ["#1f5fa8", "#8b0000", "#d9822b"]}},
                      "tooltip": [{"field": "enhed"}, {"field": "værdi", "format": ",.1f"},
                                  {"field": "antal", "format": ",d"},
                                  {"field": "vurdering"}]}},
    ]
    if target is not None:
        layers.append({"data": {"values": [{}]},
                       "mark": {"type": "rule", "strokeDash": [6, 4], "color": "#8b0000",
                                "size": 2}, "encoding": {"y": {"datum": target}}})
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "title": f"{fn.kpi.label}: tragtdiagram pr. enhed", "width": "container",
            "height": 260, "layer": layers,
            "config": {"locale": {"number": {"decimal": ",", "thousands": ".",
                                             "grouping": [3], "currency": ["", " kr."]}}}}


__all__ = ["KPIS", "SLUG", "funnel_chart", "funnels", "view"]
