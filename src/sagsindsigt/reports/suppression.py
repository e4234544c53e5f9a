"""Publication mode: small counts are hidden, and so is whatever would reveal them.

1. *Primary*: a count from 1 to ``threshold - 1`` is shown as "<5" (with the default 5).
2. *Secondary*: a table's totals are linear constraints. A column of counts with a total row
   is one *line* (the cells plus their total), and so is a row of a cross table with a total
   column. A line with exactly one hidden cell gives it away (total minus the shown cells), so
   one more cell of that line is hidden as "x", and the lines are checked again until no line
   has exactly one hidden cell. The complementary cell is the smallest positive count of the
   line, preferring cells whose crossing line already has a hidden cell (they cost nothing
   extra), then zeros, and the total itself only as a last resort (docs/decisions.md).
3. *Derived figures*: a percentage whose numerator or denominator is a count from 1 to
   ``threshold - 1``, or equals a hidden count in the same row, is hidden as "x"; so is a
   median or fractile computed on fewer than ``threshold`` cases.

Suppression works per table; every renderer shows ``Cell.shown``.
"""

from __future__ import annotations

from .model import COUNT, DAYS, PCT, PRIMARY, SECONDARY, Cell, Table

Pos = tuple[int, str]  # (row index, column key)


def small(v, threshold: int) -> bool:
    return isinstance(v, int | float) and 0 < v < threshold


def lines(t: Table) -> list[list[Pos]]:
    """Every set of count cells that sums to a total shown in the table (total included)."""
    counts = [c.key for c in t.columns[1:] if c.unit == COUNT]
    out: list[list[Pos]] = []
    if t.total_row:
        for k in counts:
            out.append([(i, k) for i, r in enumerate(t.rows) if isinstance(r.get(k), Cell)])
    if t.total_col:
        for i, r in enumerate(t.rows):
            out.append([(i, k) for k in counts if isinstance(r.get(k), Cell)])
    return [line for line in out if len(line) > 1]


def suppress(t: Table, threshold: int = 5) -> Table:
    """Mark hidden cells of one table in place (and return it)."""
    cell = {(i, k): c for i, k, c in t.cells()}
    for c in cell.values():
        if c.unit == COUNT and small(c.value, threshold):
            c.hidden = PRIMARY if threshold == 5 else f"<{threshold}"
    _secondary(t, cell)
    for i, r in enumerate(t.rows):
        hidden_counts = {c.value for (j, _), c in cell.items()
                         if j == i and c.unit == COUNT and c.hidden}
        for c in r.values():
            if not isinstance(c, Cell) or c.hidden or c.value is None:
                continue
            if c.unit == PCT and (small(c.numerator, threshold)
                                  or small(c.denominator, threshold)
                                  or (c.numerator is not None and c.numerator in hidden_counts)
                                  or (c.denominator is not None
                                      and c.denominator in hidden_counts)):
                c.hidden = SECONDARY
            elif c.unit == DAYS and c.denominator is not None and c.denominator < threshold:
                c.hidden = SECONDARY
    return t


def _secondary(t: Table, cell: dict[Pos, Cell]) -> None:
    all_lines = lines(t)
    total_pos = set()
    if t.total_row and t.rows:
        total_pos |= {(len(t.rows) - 1, c.key) for c in t.columns[1:]}
    if t.total_col:
        total_pos |= {(i, t.total_col) for i in range(len(t.rows))}
    member_of: dict[Pos, list[list[Pos]]] = {}
    for line in all_lines:
        for p in line:
            member_of.setdefault(p, []).append(line)

    def hidden_in(line: list[Pos]) -> int:
        return sum(1 for p in line if cell[p].hidden)

    changed = True
    while changed:
        changed = False
        for line in all_lines:
            if hidden_in(line) != 1:
                continue
            candidates = [p for p in line if not cell[p].hidden
                          and isinstance(cell[p].value, int | float)]
            if not candidates:
                continue

            def cost(p: Pos, line: list[Pos] = line):
                v = cell[p].value
                free = any(hidden_in(other) for other in member_of[p] if other is not line)
                return (p in total_pos, v == 0, not free, v, p)

            pick = min(candidates, key=cost)
            cell[pick].hidden = SECONDARY
            changed = True


def revealed(t: Table) -> list[Pos]:
    """Hidden cells a reader could compute from a line's total and its shown cells (for
    tests and a last check): a line with exactly one hidden cell."""
    cell = {(i, k): c for i, k, c in t.cells()}
    out = []
    for line in lines(t):
        hid = [p for p in line if cell[p].hidden]
        if len(hid) == 1:
            out.append(hid[0])
    return out
