"""A control chart (:mod:`sagsindsigt.kpis.spc`) as a Vega-Lite spec and as a table with the
same numbers (the page shows both: the chart is one image, the table is what a screen reader
and a download read), and the short status texts of the Overblik tiles."""

from __future__ import annotations

from typing import Any

from ..danish import value as dk_value
from ..kpis.spc import RULES, SIDE, Chart
from .charts import LOCALE, SCHEMA, describe
from .tables import Cell, Column, Table

# Making Data Count's colours: grey common cause, blue improvement, orange concern, purple a
# special cause that is neither; each also with its own shape (never colour alone)
STATUS = {None: "Almindelig variation", "improvement": "Forbedring", "concern": "Bekymring",
          "special_cause": "Særlig variation"}
COLOURS = {"Almindelig variation": "#6b6b6b", "Forbedring": "#1f5fa8",
           "Bekymring": "#c46a12", "Særlig variation": "#7a4f9a"}
SHAPES = {"Almindelig variation": "circle", "Forbedring": "triangle-up",
          "Bekymring": "diamond", "Særlig variation": "square"}
TARGET_COLOUR = "#8b0000"
UNJUDGED = "Ikke vurderet (for få måneder)"


def month_label(m: str) -> str:
    """2014-03 → "mar. 2014" (short enough for an axis of 24 months)."""
    from ..calendar import MONTHS_DA

    y, mo = m.split("-")
    return f"{MONTHS_DA[int(mo) - 1][:3]}. {y}"


def signal_text(row: dict[str, Any]) -> str:
    """A month's signal in words: "Forbedring: uden for kontrolgrænserne" or ""."""
    if not row.get("signal"):
        return ""
    what = STATUS[row["signal"]]
    if row["signal"] == "special_cause" and row.get("side"):
        what += f" ({SIDE[row['side']]})"
    return f"{what}: " + ", ".join(RULES[r] for r in row["rules"])


def status(ch: Chart) -> dict[str, Any]:
    """The short Making Data Count status of a chart: ``variation`` (text and key, for the
    tile's badge), ``assurance`` (text or None) and the full ``sentence``."""
    return {"variation": ch.variation, "variation_text": ch.variation_text(),
            "assurance": ch.assurance, "assurance_text": ch.assurance_text(),
            "sentence": ch.sentence(), "points": ch.points}


def control_chart(ch: Chart, title: str) -> dict[str, Any]:
    """The months as points on a line, coloured and shaped by their signal; the centre line
    and the control limits (which step with each month's denominator on a p′ chart); a target
    as a dashed line."""
    unit = ch.kpi.unit
    data = []
    for r in ch.rows:
        data.append({"måned": month_label(r["month"]), "værdi": r["value"],
                     "centerlinje": r["centre"], "nedre": r["lower"], "øvre": r["upper"],
                     "vurdering": STATUS[r["signal"]] if ch.centre is not None
                     else UNJUDGED, "signal": signal_text(r) or "-"})
    x = {"field": "måned", "type": "ordinal", "title": None, "sort": None,
         "axis": {"labelAngle": -45, "labelOverlap": True}}
    fmt = ",.1f" if unit in ("%", "dage") else ",d"
    y_title = unit if unit in ("%", "dage") else "antal"
    layers: list[dict[str, Any]] = []
    if ch.centre is not None:
        for field, dash in (("øvre", [4, 3]), ("nedre", [4, 3]), ("centerlinje", None)):
            mark: dict[str, Any] = {"type": "line", "interpolate": "step-after"
                                    if ch.chart == "p_prime" else "linear",
                                    "color": "#1f5fa8" if dash is None else "#7a7a7a",
                                    "strokeWidth": 1.5 if dash is None else 1}
            if dash:
                mark["strokeDash"] = dash
            layers.append({"mark": mark, "encoding": {
                "x": x, "y": {"field": field, "type": "quantitative"}}})
    layers.append({"mark": {"type": "line", "color": "#9a9a9a", "strokeWidth": 1},
                   "encoding": {"x": x, "y": {"field": "værdi", "type": "quantitative",
                                              "title": y_title, "scale": {"zero": False}}}})
    domain = list(COLOURS) if ch.centre is not None else [UNJUDGED]
    colours, shapes = {**COLOURS, UNJUDGED: "#6b6b6b"}, {**SHAPES, UNJUDGED: "circle"}
    layers.append({"mark": {"type": "point", "filled": True, "size": 60, "tooltip": True},
                   "encoding": {
                       "x": x, "y": {"field": "værdi", "type": "quantitative"},
                       "color": {"field": "vurdering", "title": None, "legend": {
                           "orient": "top", "columns": 2, "labelLimit": 0},
                           "scale": {"domain": domain, "range": [colours[d] for d in domain]}},
                       "shape": {"field": "vurdering", "scale": {
                           "domain": domain, "range": [shapes[d] for d in domain]}},
                       "tooltip": [{"field": "måned", "title": "Måned"},
                                   {"field": "værdi", "title": "Værdi", "format": fmt},
                                   {"field": "nedre", "title": "Nedre grænse", "format": fmt},
                                   {"field": "øvre", "title": "Øvre grænse", "format": fmt},
                                   {"field": "signal", "title": "Signal"}]}})
    if ch.target is not None:
        layers.append({"data": {"values": [{}]},
                       "mark": {"type": "rule", "strokeDash": [6, 4], "color": TARGET_COLOUR,
                                "size": 2},
                       "encoding": {"y": {"datum": ch.target.value}}})
    # short lines: the chart must read on a phone (390 px) as well
    subtitle = [f"Kontrolkort: {ch.variation_text()}"]
    if ch.assurance_text():
        subtitle[0] += f" · {ch.assurance_text()}"
    if ch.target is not None:
        subtitle.append(f"Mål: {'højst' if ch.target.direction == 'max' else 'mindst'} "
                        f"{dk_value(ch.target.value, unit)} (stiplet linje)")
    return {"$schema": SCHEMA, "title": {"text": title, "subtitle": subtitle},
            "description": describe(f"{title}. {'. '.join(subtitle)}"), "width": "container",
            "height": 220, "data": {"values": data}, "layer": layers,
            "config": {"locale": LOCALE}}


def control_table(ch: Chart, tid: str, title: str) -> Table:
    """The chart's months with value, centre, limits and signal; the summary as a remark."""
    unit = ch.kpi.unit
    t = Table(tid, title, [Column("label", "Måned"), Column("value", "Værdi", unit),
                           Column("centre", "Centerlinje", unit),
                           Column("lower", "Nedre kontrolgrænse", unit),
                           Column("upper", "Øvre kontrolgrænse", unit),
                           Column("signal", "Signal")])
    for r in ch.rows:
        t.add({"label": month_label(r["month"]), "_key": r["month"],
               "value": Cell(r["value"], unit, r.get("note") or "ingen data"),
               "centre": Cell(r["centre"], unit, "ingen kontrolgrænser"),
               "lower": Cell(r["lower"], unit, "ingen kontrolgrænser"),
               "upper": Cell(r["upper"], unit, "ingen kontrolgrænser"),
               "signal": signal_text(r) or "-"})
    t.remarks.append(ch.sentence() or ch.note or "")
    t.why_empty = ch.note or "Ingen måneder med data."
    return t


__all__ = ["COLOURS", "STATUS", "control_chart", "control_table", "month_label", "signal_text",
           "status"]
