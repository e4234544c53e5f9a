"""Chart specs (Vega-Lite), the same for a page (drawn by vega-embed in the browser) and a
report (drawn as SVG by vl-convert, or as a native Excel chart from the same table)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ..danish import value as dk_value
from ..kpis.funnel import FLAGS, Funnel
from .tables import Cell, Table

LOCALE = {"number": {"decimal": ",", "thousands": ".", "grouping": [3],
                     "currency": ["", " kr."]}}
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
LIMIT_LABELS = {"lower998": "99,8 %-grænse", "lower95": "95 %-grænse",
                "upper95": "95 %-grænse ", "upper998": "99,8 %-grænse "}


# a bar chart with more categories, or longer names, than this is drawn with horizontal bars:
# names stay whole and level instead of rotated across each other
UPRIGHT_MAX_BARS, UPRIGHT_MAX_CHARS = 6, 12
LABEL_LIMIT = 320  # px of a category name on a page; paper shows names whole
SERIES_COLOURS = ["#1f5fa8", "#c46a12", "#5b8c3a", "#7a4f9a"]


def describe(title: str) -> str:
    """The chart's accessible name (its ``description``, which Vega gives the chart as
    ``aria-label``): the title, and where the numbers are."""
    return f"{title} (tallene står i tabellen)"


def _value_axis(field: str, unit: str) -> dict[str, Any]:
    """A quantitative axis that starts at zero: a bar's length and a line's slope are only
    true to the numbers from zero."""
    return {"field": field, "type": "quantitative", "title": unit or None,
            "scale": {"zero": True}}


def _legend() -> dict[str, Any]:
    """Series names above the chart, whole (no ellipsis) and in one row."""
    return {"orient": "top", "direction": "horizontal", "labelLimit": 0, "title": None}


def horizontal(categories: list[str]) -> bool:
    """Whether a bar chart of these category names needs horizontal bars."""
    return len(categories) > UPRIGHT_MAX_BARS or \
        any(len(str(c)) > UPRIGHT_MAX_CHARS for c in categories)


def bar_chart(title: str, data: list[dict], x: str, y: str, color: str | None = None,
              unit: str = "", across: bool | None = None) -> dict:
    """Bars of ``y`` per ``x`` (in the order of the data), grouped by ``color`` when given.
    ``across``: horizontal bars (names on the left, level); by default when there are many
    categories or long names (:func:`horizontal`)."""
    categories = list(dict.fromkeys(d.get(x) for d in data))
    short = not horizontal(categories)  # few short names: level under their bars
    across = not short if across is None else across
    cat = {"field": x, "type": "ordinal", "title": None, "sort": None}
    val = _value_axis(y, unit)
    enc: dict[str, Any] = {
        "tooltip": [{"field": x, "title": ""}, {"field": y, "title": title,
                                                 "format": ",.1f" if unit in ("%", "dage")
                                                 else ",d"}],
    }
    if across:
        enc["y"] = {**cat, "axis": {"labelLimit": LABEL_LIMIT}}
        enc["x"] = {**val, "axis": {"tickCount": 8}}
    else:
        enc["x"] = {**cat, "axis": {"labelAngle": 0} if short else {}}
        enc["y"] = val
    if color:  # the series in the order of the data
        series = len({d.get(color) for d in data}) or 1
        enc["yOffset" if across else "xOffset"] = {"field": color, "sort": None}
        enc["color"] = {"field": color, "title": None, "sort": None, "legend": _legend(),
                        "scale": {"range": SERIES_COLOURS}}
        enc["tooltip"].append({"field": color, "title": ""})
    else:
        series = 1
    mark: dict[str, Any] = {"type": "bar", "tooltip": True}
    if any(d.get("href") for d in data):  # web/static/charts.js follows it on a click
        mark["cursor"] = "pointer"
    spec: dict[str, Any] = {"$schema": SCHEMA, "title": title, "description": describe(title),
                            "width": "container", "height": 220, "data": {"values": data},
                            "mark": mark, "encoding": enc, "config": {"locale": LOCALE}}
    if across:  # a band per category, as high as its bars need
        spec["height"] = {"step": 12 * series + 8 if series > 1 else 22, "for": "position"}
    return spec


def line_chart(title: str, data: list[dict], x: str, y: str, color: str | None = None,
               unit: str = "") -> dict:
    """A trend: ``y`` over the periods ``x`` (in the order of the data) as a line with a point
    per period, one line per ``color`` when given; the value axis from zero."""
    enc: dict[str, Any] = {
        "x": {"field": x, "type": "ordinal", "title": None, "sort": None,
              "axis": {"labelAngle": 0, "labelLimit": LABEL_LIMIT}},
        "y": _value_axis(y, unit),
        "tooltip": [{"field": x, "title": ""}, {"field": y, "title": title,
                                                 "format": ",.1f" if unit in ("%", "dage")
                                                 else ",d"}],
    }
    if color:
        enc["color"] = {"field": color, "title": None, "sort": None, "legend": _legend(),
                        "scale": {"range": SERIES_COLOURS}}
        enc["tooltip"].append({"field": color, "title": ""})
    return {"$schema": SCHEMA, "title": title, "description": describe(title),
            "width": "container", "height": 200, "data": {"values": data},
            "mark": {"type": "line", "point": True, "tooltip": True}, "encoding": enc,
            "config": {"locale": LOCALE}}


def table_chart(t: Table, key: str, title: str, target: float | None = None) -> dict:
    """A bar per row of a KPI table (the total left out), each bar linking where its row
    links: a click on a bar drills down like a click on the row. A target (måltal) of the
    KPI for the page's scope and period is drawn as a dashed line with its value."""
    unit = next(c.unit for c in t.columns if c.key == key)
    data = []
    for row, link in zip(t.rows, t.links + [None] * len(t.rows), strict=False):
        c = row.get(key)
        if row.get("_key") is None or not isinstance(c, Cell) or c.value is None:
            continue
        data.append({"gruppe": row["label"], "værdi": c.value,
                     **({"href": "?" + urlencode(link)} if link else {})})
    spec = bar_chart(title, data, "gruppe", "værdi", unit=unit, across=True)
    spec["height"] = {"step": 24}
    if target is not None:
        label = f"Mål: {dk_value(target, unit)}"
        one = {"values": [{}]}  # one line and one label, not one per bar
        rule = {"data": one,
                "mark": {"type": "rule", "color": "#8a1c1c", "strokeDash": [6, 4], "size": 2},
                "encoding": {"x": {"datum": target, "type": "quantitative"}}}
        text = {"data": one,
                "mark": {"type": "text", "color": "#8a1c1c", "align": "left", "dx": 4,
                         "baseline": "top", "y": 0, "text": label},
                "encoding": {"x": {"datum": target, "type": "quantitative"}}}
        spec["layer"] = [{"mark": spec.pop("mark"), "encoding": spec.pop("encoding")},
                         rule, text]
    return spec


def target_chart(st, trend: list[tuple[str, float | None]], title: str) -> dict:
    """The KPI over the earlier periods and the target's period (a
    :class:`sagsindsigt.targets.TargetStatus`), the target as a line."""
    data = [{"periode": p, "værdi": v} for p, v in [*trend, (st.period, st.actual)]
            if v is not None]
    layers: list[dict[str, Any]] = [{
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {"x": {"field": "periode", "type": "ordinal", "title": None},
                     "y": _value_axis("værdi", st.unit)}}]
    if st.target is not None:
        layers.append({"mark": {"type": "rule", "strokeDash": [6, 4], "color": "#8b0000",
                                "size": 2},
                       "encoding": {"y": {"datum": st.target}}})
        layers.append({"mark": {"type": "text", "align": "left", "dx": 4, "dy": -6,
                                "color": "#8b0000"},
                       "encoding": {"y": {"datum": st.target}, "x": {"value": 0},
                                    "text": {"value": f"Mål: {dk_value(st.target, st.unit)}"}}})
    return {"$schema": SCHEMA,
            "title": title, "description": describe(title), "width": "container",
            "height": 180,
            "data": {"values": data}, "layer": layers,
            "config": {"locale": LOCALE}}


JUDGEMENT_COLOURS = {"Inden for grænserne": "#1f5fa8", "Bedre end forventet": "#1a7f37",
                     "Dårligere end forventet": "#8b0000", "Markant over": "#6b3fa0",
                     "Markant under": "#b35900"}


def funnel_chart(fn: Funnel, labels, target: float | None = None) -> dict:
    """A funnel plot: units as points (rate against number of cases), the overall rate as
    the centre line, the 95 % and 99,8 % limits as curves, and a target as a dashed line.
    Colours follow the KPI's own direction (never red for good) and flagged units carry their
    name. Standardised by case type, each unit is drawn as observed/expected with its own
    99,8 % limits as a bar (its limits depend on its mix, so there is no single curve)."""
    rows = [r for r in fn.as_json()["rows"] if r.get("lower95") is not None
            and (not fn.standardised or r.get("ratio") is not None)]
    points = []
    for r in rows:
        p = {"enhed": labels.name("unit", r["unit"]), "antal": r["denominator"],
             "værdi": r["value"],
             "vurdering": FLAGS.get(r.get("judgement") or r["flag"], "Inden for grænserne"),
             "navn": labels.name("unit", r["unit"]) if r["flag"] else ""}
        if fn.standardised:
            e = r["expected"]
            p.update({"værdi": r["ratio"], "nedre": r["lower998"] / e,
                      "øvre": r["upper998"] / e})
        points.append(p)
    colour = {"field": "vurdering", "title": "Vurdering",
              "scale": {"domain": list(JUDGEMENT_COLOURS),
                        "range": list(JUDGEMENT_COLOURS.values())}}
    x = {"field": "antal", "type": "quantitative",
         "scale": {"type": "log", "nice": False}, "title": "Antal (nævner), logaritmisk akse"}
    y_title = "Faktisk / forventet" if fn.standardised else "%"
    layers: list[dict[str, Any]] = []
    if fn.standardised:
        layers.append({"data": {"values": points}, "mark": {"type": "rule",
                                                             "color": "#7a7a7a"},
                       "encoding": {"x": x, "y": {"field": "nedre", "type": "quantitative"},
                                    "y2": {"field": "øvre"}}})
        centre = 1.0
    else:
        curve = [{"antal": c["n"], "grænse": LIMIT_LABELS[k].strip(), "side": k,
                  "værdi": c[k]} for c in fn.curve for k in LIMIT_LABELS]
        layers.append(
            {"data": {"values": curve}, "mark": {"type": "line", "strokeWidth": 1.5},
             "encoding": {"x": x,
                          "y": {"field": "værdi", "type": "quantitative",
                                "scale": {"zero": False}},
                          "detail": {"field": "side"},
                          "strokeDash": {"field": "grænse", "title": "Kontrolgrænse",
                                         "scale": {"range": [[4, 3], [1, 0]]}},
                          "color": {"value": "#7a7a7a"}}})
        centre = fn.centre
    layers += [
        {"data": {"values": [{}]}, "mark": {"type": "rule", "color": "#1f5fa8"},
         "encoding": {"y": {"datum": centre}}},
        {"data": {"values": points}, "mark": {"type": "point", "filled": True, "size": 70,
                                              "tooltip": True},
         "encoding": {"x": {"field": "antal", "type": "quantitative"},
                      "y": {"field": "værdi", "type": "quantitative", "title": y_title,
                            "scale": {"zero": False}},
                      "color": colour,
                      "tooltip": [{"field": "enhed"}, {"field": "værdi", "format": ",.2f"},
                                  {"field": "antal", "format": ",d"},
                                  {"field": "vurdering"}]}},
        {"data": {"values": [p for p in points if p["navn"]]},
         "mark": {"type": "text", "align": "left", "dx": 7, "dy": -7, "fontSize": 11},
         "encoding": {"x": {"field": "antal", "type": "quantitative"},
                      "y": {"field": "værdi", "type": "quantitative"},
                      "text": {"field": "navn"}, "color": colour}},
    ]
    if target is not None and not fn.standardised:
        layers.append({"data": {"values": [{}]},
                       "mark": {"type": "rule", "strokeDash": [6, 4], "color": "#8b0000",
                                "size": 2}, "encoding": {"y": {"datum": target}}})
    title = f"{fn.kpi.label}: tragtdiagram pr. enhed" + (
        ", standardiseret efter sagstype" if fn.standardised else "")
    return {"$schema": SCHEMA,
            "title": title, "description": describe(title), "width": "container",
            "height": 260, "layer": layers,
            "config": {"locale": LOCALE}}


def report_chart(t: Table) -> dict:
    """The chart a table's :class:`ChartRef` asks for, over the shown (not hidden) figures of
    its rows without the total: a line over periods (``kind="line"``), else bars."""
    ch = t.chart
    labels = {c.key: c.label for c in t.columns}
    data = []
    for r in t.body:
        for k in ch.values:
            c = r.get(k)
            if c is None or c.hidden or not isinstance(c.value, int | float):
                continue
            data.append({"gruppe": r["label"], "værdi": c.value, "serie": labels[k]})
    unit = ch.unit if ch.unit in ("%", "dage") else ""
    series = "serie" if len(ch.values) > 1 else None
    if ch.kind == "line":
        return line_chart(ch.title, data, "gruppe", "værdi", series, unit=unit)
    return bar_chart(ch.title, data, "gruppe", "værdi", series, unit=unit)


__all__ = ["bar_chart", "describe", "funnel_chart", "horizontal", "line_chart", "report_chart",
           "table_chart", "target_chart"]
