"""Seed 000's table: complaints against case volume per administration, with its footnotes
("beregnet som 2 × tal for 1. halvår 2014"). One builder for the Overblik page, the
Økonomiudvalg report and the CLI's ``overview``: every figure from the KPI registry."""

from __future__ import annotations

from typing import Any

from ..calendar import Period
from ..danish import value as dk_value
from .tables import (
    COUNT,
    PCT,
    SEASONALITY,
    Cell,
    ChartRef,
    Column,
    Get,
    Table,
    by_member,
    cell,
    order,
)

TITLE = "Antal klager i forhold til den samlede sagsmængde"
NOTE = ("Klager, der både er formalitets- og realitetsklager, tælles i begge kolonner. '-' "
        "betyder, at der ikke er data for perioden.")


def seed_table(get: Get, labels, period: str, where=(), annualise: bool = True) -> Table:
    """One row per administration inside the scope (named as the part a centre's reader
    sees), partly covered figures annualised and starred with their footnote."""
    p = Period.parse(period)

    def per_admin(kpi: str, extra=()):
        res = get(kpi, p.label, ["administration"], [*where, *extra], annualise)
        return res, by_member(res, "administration")

    fres, formal = per_admin("complaints_received", ["kind=formalitet,begge"])
    rres, real = per_admin("complaints_received", ["kind=realitet,begge"])
    res, rate = per_admin("complaint_rate")
    t = Table("klager_sagsmaengde", f"{TITLE}, {p.danish()}",
              [Column("label", labels.dim("administration")),
               Column("formal", "Formalitetsklager", COUNT, "complaints_received"),
               Column("real", "Realitetsklager", COUNT, "complaints_received"),
               Column("complaints", "Klager", COUNT, "complaint_rate"),
               Column("cases", "Sager", COUNT, "complaint_rate"),
               Column("complaint_rate", "Klager ift. sagsmængde", PCT, "complaint_rate")],
              chart=ChartRef("Klager i forhold til sagsmængde (%)", ["complaint_rate"], PCT))
    notes: dict[str, str] = {}
    for admin in order("administration", list(rate), None):
        r = rate[admin]
        name = labels.name("administration", admin)
        if r.estimate and r.note:
            notes[name] = r.note
            name += "*"
        t.add({"label": name, "_key": admin,
               "formal": cell(fres, formal.get(admin)), "real": cell(rres, real.get(admin)),
               "complaints": Cell(r.numerator, COUNT, r.note, estimate=r.estimate),
               "cases": Cell(r.denominator, COUNT, r.note, estimate=r.estimate),
               "complaint_rate": cell(res, r)})
    t.notes = [f"Tal for {a} er {n}." for a, n in notes.items()] + \
        ([SEASONALITY] if notes else []) + [NOTE]
    return t


def seed_text(t: Table, period: str) -> dict[str, Any]:
    """The table as text for a terminal (the CLI's ``overview``): Danish numbers, "-" for no
    data."""
    rows = []
    for r in t.rows:
        out = [r["label"]]
        for c in t.columns[1:]:
            v = r.get(c.key)
            out.append(dk_value(v.value, c.unit) if isinstance(v, Cell) else "-")
        rows.append(out)
    return {"title": t.title, "columns": [c.label for c in t.columns], "rows": rows,
            "footnotes": t.notes, "period": Period.parse(period).label}


def overview(store, period: str) -> dict[str, Any]:
    """The table as text, straight from the registry (the CLI's ``overview``)."""
    from .labels import Labels
    from .tables import getter

    return seed_text(seed_table(getter(store), Labels.of(store), period), period)


__all__ = ["TITLE", "overview", "seed_table", "seed_text"]
