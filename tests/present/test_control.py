"""The control-chart spec and table (present/control.py): points coloured *and* shaped by
their signal, centre and limits as lines, a target as a dashed rule, a Danish accessible name,
the same numbers in the table, and a spec Vega-Lite can draw (vl-convert)."""

from __future__ import annotations

import vl_convert as vlc

from sagsindsigt.kpis import get as get_kpi
from sagsindsigt.kpis.spc import Target, chart_of
from sagsindsigt.present.control import (
    COLOURS,
    SHAPES,
    UNJUDGED,
    control_chart,
    control_table,
    month_label,
)


def rows(values):
    return [{"month": f"{2013 + i // 12}-{i % 12 + 1:02d}", "value": v, "n": 10}
            for i, v in enumerate(values)]


def chart(values, target=None):
    return chart_of(get_kpi("processing_days_median"), "2014", ["administration=SOF"],
                    rows(values), target)


def test_points_are_coloured_and_shaped_by_their_signal():
    v = [20.0 + (2.0 if i % 2 else -2.0) for i in range(18)]
    v[-1] = 40.0  # far above: a concern, since lower is better for processing time
    spec = control_chart(chart(v, Target(25.0, "max")), "Sagsbehandlingstid pr. måned")
    points = spec["layer"][-2]
    assert points["mark"]["type"] == "point"
    assert points["encoding"]["color"]["scale"]["range"] == list(COLOURS.values())
    assert points["encoding"]["shape"]["scale"]["range"] == list(SHAPES.values())
    data = spec["data"]["values"]
    assert data[-1]["vurdering"] == "Bekymring" and data[0]["vurdering"] == \
        "Almindelig variation"
    assert data[-1]["signal"] == "Bekymring: uden for kontrolgrænserne"
    # centre and limits as lines, the target as a dashed rule; the subtitle says it all
    assert [layer["encoding"]["y"]["field"] for layer in spec["layer"][:3]] == [
        "øvre", "nedre", "centerlinje"]
    assert spec["layer"][-1]["encoding"]["y"]["datum"] == 25.0
    assert spec["title"]["subtitle"] == ["Kontrolkort: Bekymring · Målet nås af og til",
                                         "Mål: højst 25,0 dage (stiplet linje)"]
    assert "tallene står i tabellen" in spec["description"]
    svg = vlc.vegalite_to_svg(spec)
    assert svg.startswith("<svg")


def test_the_table_holds_the_charts_numbers():
    ch = chart([20.0 + (i % 3) for i in range(14)])
    t = control_table(ch, "kontrolkort_x", "Titel")
    assert [r["label"] for r in t.rows] == [month_label(r["month"]) for r in ch.rows]
    assert [r["upper"].value for r in t.rows] == [r["upper"] for r in ch.rows]
    assert t.remarks == [ch.sentence()] and "XmR-kort over 14 måneder" in t.remarks[0]


def test_without_limits_the_points_are_not_judged():
    spec = control_chart(chart([20.0] * 5), "Titel")
    assert {d["vurdering"] for d in spec["data"]["values"]} == {UNJUDGED}
    assert spec["title"]["subtitle"][0].startswith("Kontrolkort: For få måneder med data")
    assert len(spec["layer"]) == 2  # the line and the points, no limits
    assert vlc.vegalite_to_svg(spec).startswith("<svg")
