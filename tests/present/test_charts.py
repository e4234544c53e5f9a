"""Chart specs (Vega-Lite) for pages and reports: names that stay readable (horizontal bars
for many or long names), legends whole, trends as lines, value axes from zero, and a Danish
accessible name (``description``) on every chart."""

from __future__ import annotations

import pytest

from sagsindsigt.present.charts import (
    bar_chart,
    describe,
    horizontal,
    line_chart,
    report_chart,
    table_chart,
    target_chart,
)
from sagsindsigt.present.tables import PCT, Cell, ChartRef, Column, Table

NAMES = ["Sygedagpenge (SDP)", "Kontanthjælp (KH)", "Forsikrede ledige (FL)",
         "Hjælp til enkeltudgifter (ENK)", "Løntilskud (LT)", "Fleksjob og ledighedsydelse (FJ)",
         "Tabt arbejdsfortjeneste og merudgifter, børn med handicap (TAB)"]


def table(names=NAMES, chart: ChartRef | None = None) -> Table:
    t = Table("t", "Frister pr. sagstype", [Column("label", "Sagstype"),
                                             Column("rate", "Overholdte frister", PCT),
                                             Column("open", "Åbne sager", "antal"),
                                             Column("over", "Åbne sager over frist", "antal")],
              total_row=True, chart=chart)
    for i, n in enumerate(names):
        t.add({"label": n, "_key": n, "rate": Cell(80.0 + i, PCT),
               "open": Cell(100 * i, "antal"), "over": Cell(10 * i, "antal")})
    t.add({"label": "I alt", "_key": None, "rate": Cell(81.0, PCT),
           "open": Cell(2100, "antal"), "over": Cell(210, "antal")})
    return t


def value_axis(spec: dict) -> dict:
    enc = spec["encoding"] if "encoding" in spec else spec["layer"][0]["encoding"]
    return next(c for c in (enc["x"], enc["y"]) if c["type"] == "quantitative")


def test_many_or_long_names_lie_as_horizontal_bars():
    assert horizontal(NAMES) and horizontal(["Kort", "Et meget langt navn her"])
    assert not horizontal(["Ja", "Nej"]) and not horizontal(list("ABCDEF"))
    spec = bar_chart("Overholdte frister (%)", [{"n": n, "v": 1.0} for n in NAMES], "n", "v",
                     unit="%")
    assert spec["encoding"]["y"]["field"] == "n"  # the names down the side, level
    assert spec["encoding"]["x"]["field"] == "v"
    assert spec["height"] == {"step": 22, "for": "position"}
    few = bar_chart("Klager", [{"n": "Ja", "v": 3}, {"n": "Nej", "v": 5}], "n", "v")
    assert few["encoding"]["x"]["field"] == "n"
    assert few["encoding"]["x"]["axis"] == {"labelAngle": 0}


def test_series_side_by_side_with_the_legend_whole_above():
    data = [{"n": n, "v": i, "s": s} for i, n in enumerate(NAMES)
            for s in ("Åbne sager", "Åbne sager over frist")]
    spec = bar_chart("Åbne sager", data, "n", "v", "s")
    assert spec["encoding"]["yOffset"] == {"field": "s", "sort": None}
    legend = spec["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0 and legend["orient"] == "top"


def test_a_trend_is_a_line_and_every_value_axis_starts_at_zero():
    t = table(["1. kvartal 2014", "2. kvartal 2014", "3. kvartal 2014"],
              ChartRef("Overholdte frister pr. kvartal (%)", ["rate"], PCT, kind="line"))
    trend = report_chart(t)
    assert trend["mark"]["type"] == "line"
    assert [d["gruppe"] for d in trend["data"]["values"]] == [r["label"] for r in t.body]
    bars = report_chart(table(chart=ChartRef("Frister (%)", ["rate"], PCT)))
    assert bars["mark"]["type"] == "bar"

    class Status:
        period, actual, target, unit = "2014", 2.4, 2.5, "%"

    specs = [trend, bars, line_chart("x", [], "a", "b", unit="%"),
             bar_chart("x", [{"a": "b", "v": 1}], "a", "v", unit="%"),
             table_chart(table(), "rate", "Frister (%)", target=80.0),
             target_chart(Status(), [("2013", 2.6)], "Klager i forhold til sagsmængde")]
    for spec in specs:
        assert value_axis(spec)["scale"]["zero"] is True, spec["title"]


@pytest.mark.parametrize("make", [
    lambda: bar_chart("Klager pr. klagepunkt", [], "a", "b"),
    lambda: line_chart("Korrekte sager pr. år (%)", [], "a", "b", unit="%"),
    lambda: table_chart(table(), "rate", "Overholdte frister pr. sagstype (%)"),
])
def test_every_chart_has_a_danish_accessible_name(make):
    spec = make()
    assert spec["description"] == describe(spec["title"])
    assert spec["description"].endswith("(tallene står i tabellen)")


def test_report_chart_leaves_out_hidden_figures_and_the_total():
    t = table(chart=ChartRef("Åbne sager og sager over frist", ["open", "over"]))
    t.rows[0]["open"].hidden = "<5"
    spec = report_chart(t)
    values = spec["data"]["values"]
    assert {d["serie"] for d in values} == {"Åbne sager", "Åbne sager over frist"}
    assert "I alt" not in {d["gruppe"] for d in values}
    assert not any(d["gruppe"] == NAMES[0] and d["serie"] == "Åbne sager" for d in values)
