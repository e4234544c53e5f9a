"""Publication mode: small counts hidden, and nothing hidden recoverable from the totals."""

from __future__ import annotations

import pytest

from sagsindsigt.reports.model import COUNT, PCT, PRIMARY, SECONDARY, Cell, Column, Table
from sagsindsigt.reports.suppression import lines, revealed, suppress


def cross(grid: list[list[int]]) -> Table:
    """A cross table of counts with row totals (column 'total') and a total row."""
    cols = [Column("label", "Række")] + [Column(f"c{j}", f"K{j}", COUNT)
                                         for j in range(len(grid[0]))]
    cols.append(Column("total", "I alt", COUNT))
    t = Table("t", "Test", cols, total_row=True, total_col="total")
    for i, r in enumerate(grid):
        row = {"label": f"R{i}", **{f"c{j}": Cell(v, COUNT) for j, v in enumerate(r)},
               "total": Cell(sum(r), COUNT)}
        t.rows.append(row)
    last = {"label": "I alt"}
    for j in range(len(grid[0])):
        last[f"c{j}"] = Cell(sum(r[j] for r in grid), COUNT)
    last["total"] = Cell(sum(map(sum, grid)), COUNT)
    t.rows.append(last)
    return t


def test_primary_alone_would_reveal_the_hidden_cell():
    t = cross([[120, 3, 40], [80, 55, 61], [33, 20, 90]])
    c = t.rows[0]["c1"]
    c.hidden = PRIMARY  # primary suppression only
    assert (0, "c1") in revealed(t)
    # ... because the row total minus the shown cells gives it back
    row = t.rows[0]
    assert row["total"].value - row["c0"].value - row["c2"].value == 3


def test_secondary_suppression_protects_the_small_cell():
    t = suppress(cross([[120, 3, 40], [80, 55, 61], [33, 20, 90]]))
    assert t.rows[0]["c1"].hidden == PRIMARY and t.rows[0]["c1"].shown == "<5"
    assert revealed(t) == []
    hidden = {(i, k) for i, k, c in t.cells() if c.hidden}
    # every line (row with its total, column with its total) has 0 or at least 2 hidden cells
    for line in lines(t):
        assert len(hidden & set(line)) != 1
    # complementary cells are shown as "x", not as "<5", and are real counts of 5 or more
    for i, k in hidden - {(0, "c1")}:
        assert t.rows[i][k].hidden == SECONDARY and t.rows[i][k].value >= 5
    # the complement picks the smallest counts: the row's 40 and the column's 20 and their
    # crossing cell 90 is needed to close the rectangle
    assert {(0, "c2"), (2, "c1"), (2, "c2")} <= hidden
    assert not any(t.rows[i]["total"].hidden for i in range(len(t.rows)))


def test_secondary_suppression_on_a_single_column_with_a_total_row():
    cols = [Column("label", "Forvaltning"), Column("n", "Klager", COUNT)]
    t = Table("t", "T", cols, total_row=True)
    for v in (400, 2, 38, 17):
        t.rows.append({"label": "x", "n": Cell(v, COUNT)})
    t.rows.append({"label": "I alt", "n": Cell(457, COUNT)})
    suppress(t)
    assert [r["n"].shown for r in t.rows] == [400, "<5", 38, "x", 457]
    assert revealed(t) == []


def test_zero_and_no_data_are_not_small_counts():
    t = suppress(cross([[0, 10, 12], [9, 0, 30]]))
    assert not any(c.hidden for _, _, c in t.cells())
    cols = [Column("label", "F"), Column("n", "Klager", COUNT)]
    t = Table("t", "T", cols)
    t.rows.append({"label": "a", "n": Cell(None, COUNT, "ingen data")})
    assert suppress(t).rows[0]["n"].shown is None


@pytest.mark.parametrize("threshold, hidden", [(5, []), (10, [7]), (3, [])])
def test_threshold_is_configurable(threshold, hidden):
    cols = [Column("label", "F"), Column("n", "Klager", COUNT)]
    t = Table("t", "T", cols)
    for v in (7, 12, 30):
        t.rows.append({"label": "a", "n": Cell(v, COUNT)})
    suppress(t, threshold)
    assert [c.value for _, _, c in t.cells() if c.hidden] == hidden
    if hidden:
        assert t.rows[0]["n"].shown == f"<{threshold}"


def test_shares_that_would_reveal_a_small_count_are_hidden():
    cols = [Column("label", "F"), Column("n", "Klager", COUNT),
            Column("rate", "Klager ift. sager", PCT)]
    t = Table("t", "T", cols)
    t.rows.append({"label": "a", "n": Cell(3, COUNT),
                   "rate": Cell(0.3, PCT, numerator=3, denominator=1000)})
    t.rows.append({"label": "b", "n": Cell(300, COUNT),
                   "rate": Cell(2.5, PCT, numerator=300, denominator=12000)})
    t.rows.append({"label": "c", "n": Cell(50, COUNT),
                   "rate": Cell(75.0, PCT, numerator=3, denominator=4)})
    suppress(t)
    assert t.rows[0]["rate"].shown == SECONDARY  # 0,3 % of 1.000 cases is 3 complaints
    assert t.rows[1]["rate"].shown == 2.5
    assert t.rows[2]["rate"].shown == SECONDARY  # built on 4 cases
