"""Tables as a reader reads them: rows without any figure left out and named; rows that
overlap (a complaint with several points) explained under the table."""

from __future__ import annotations

from sagsindsigt.kpis import Query, Result
from sagsindsigt.kpis import get as get_kpi
from sagsindsigt.kpis.base import Row
from sagsindsigt.present.labels import Labels
from sagsindsigt.present.tables import ROWS_OVERLAP, Cell, Column, Table, kpi_table


def trend() -> Table:
    t = Table("udvikling", "Klager over tid", [Column("label", "Periode"),
                                                 Column("n", "Klager", "antal"),
                                                 Column("rate", "Andel", "%")], total_row=True)
    t.add({"label": "2011", "n": Cell(None, "antal", "ingen data"),
           "rate": Cell(None, "%", "ingen data")}, {"period": "2011"})
    t.add({"label": "2012", "n": Cell(0, "antal"), "rate": Cell(None, "%")}, {"period": "2012"})
    t.add({"label": "2013", "n": Cell(3, "antal", hidden="<5"), "rate": Cell(None, "%")})
    t.add({"label": "2010", "n": Cell(None, "antal"), "rate": Cell(None, "%")})
    t.add({"label": "I alt", "n": Cell(None, "antal"), "rate": Cell(None, "%")})
    return t


def test_rows_without_figures_are_left_out_and_named():
    t = trend()
    assert t.drop_rows_without_figures() == ["2011", "2010"]
    # 0 is a figure, and so is a hidden one; the total row stays (the report decides on it)
    assert [r["label"] for r in t.rows] == ["2012", "2013", "I alt"]
    assert t.links == [{"period": "2012"}, None, None]
    assert t.remarks == ["Udeladt, fordi der ingen tal er: 2011 og 2010."]
    assert t.drop_rows_without_figures() == [] and len(t.remarks) == 1


def test_overlapping_rows_are_explained_under_the_table():
    kd = get_kpi("complaints_received")

    def get(kpi, period, by=(), where=(), annualise=False):
        """Figures as the registry gives them: 5 points among 10 complaints."""
        rows = [Row({by[0]: "partshoering"}, 2), Row({by[0]: "begrundelse"}, 3)] \
            if by else [Row({}, 10)]
        return Result(kd, Query.make(kpi, period, list(by), list(where)), rows)

    t = kpi_table(get, Labels(), "klager_points", "Klager pr. klagepunkt", "2014",
                  ["complaints_received"], "points")
    assert t.remarks == [ROWS_OVERLAP["points"]]
    assert "flere klagepunkter eller ingen" in t.remarks[0] and "I alt" in t.remarks[0]
    other = kpi_table(get, Labels(), "klager_kind", "Klager pr. klagetype", "2014",
                      ["complaints_received"], "kind")
    assert other.remarks == []
