"""The *Registreringspraksis* page (slug ``registreringspraksis``): the scorecard of
:mod:`sagsindsigt.practice` per unit, for the management dialogue (seed 001)."""

from __future__ import annotations

from typing import Any

from .. import practice as core
from ..danish import number
from ..present.tables import Cell, Column, Table
from .pages import Figures, Filters

SLUG = "registreringspraksis"


def view(fig: Figures, f: Filters) -> dict[str, Any]:
    where = {d: getattr(f, d) for d in ("administration", "unit", "case_type")}

    def make():
        with fig.lock:
            return core.scorecard(fig.store, f.period, where)

    cards = fig.memo(("practice", f), make)
    labels = fig.labels()
    days = core.DEFAULT_OPEN_DAYS
    card = Table("scorecard", "Registreringspraksis pr. enhed", [
        Column("label", "Enhed"), Column("complaints", "Klager", "antal"),
        Column("cases", "Sager", "antal"), Column("completeness", "Udfyldte felter", "%"),
        Column("without_points", "Formalitetsklager uden klagepunkter"),
        Column("impossible", "Umulige forløb", "antal"),
        Column("open_past", f"Åbne sager uden afgørelse efter {days} dage"),
        Column("journal", "Journaliseringstid, median", "dage")])
    fields_c = Table("felter_klager", "Udfyldte felter pr. enhed: klager",
                     [Column("label", "Enhed")] + [Column(n, label, "%")
                                                   for n, label, _ in core.COMPLAINT_FIELDS])
    fields_s = Table("felter_sager", "Udfyldte felter pr. enhed: sager",
                     [Column("label", "Enhed")] + [Column(n, label, "%")
                                                   for n, label, _ in core.CASE_FIELDS])
    impossible = Table("umulige", "Umulige forløb pr. enhed",
                       [Column("label", "Enhed")] + [Column(k, label.capitalize(), "antal")
                                                     for k, label in core.IMPOSSIBLE.items()])
    for u in cards:
        who = (labels.name("unit", u.unit) if u.unit else
               f"{labels.name('administration', u.administration)}, uden enhed")
        card.add({
            "label": who, "_key": u.unit, "complaints": Cell(u.complaints, "antal"),
            "cases": Cell(u.cases, "antal"),
            "completeness": Cell(u.completeness, "%", "ingen registreringer"),
            "without_points": _share(u.procedural_without_points, u.procedural,
                                     u.without_points_share),
            "impossible": Cell(u.impossible_total, "antal"),
            "open_past": _share(u.open_past_days, u.open_cases, u.open_past_share),
            "journal": Cell(u.journal_lag_median, "dage",
                            "hændelsesloggen har ingen journaliseringer for enhedens sager"),
        })
        if u.complaints:
            fields_c.add({"label": who, **{n: Cell(u.complaint_fields.get(n), "%",
                                                  "feltet er ikke relevant for klagerne")
                                          for n, _, _ in core.COMPLAINT_FIELDS}})
        if u.cases:
            fields_s.add({"label": who, **{n: Cell(u.case_fields.get(n), "%",
                                                  "feltet er ikke relevant for sagerne")
                                          for n, _, _ in core.CASE_FIELDS}})
        impossible.add({"label": who, **{k: Cell(u.impossible.get(k, 0), "antal")
                                        for k in core.IMPOSSIBLE}})
    counted = {}
    for u in cards:  # where the data end before the period does, say so (issue 17)
        if u.open_as_of and u.administration not in counted:
            counted[u.administration] = u.open_as_of
    last = max(counted.values(), default=None)
    notes = [f"{labels.name('administration', a)}: sagerne går kun til {day.day}.{day.month}."
             f"{day.year}, så åbne sager er talt den dag, ikke ved periodens slutning."
             for a, day in sorted(counted.items(), key=lambda x: str(x[0]))
             if last and day < last]
    return {"tables": [card, fields_c, fields_s, impossible], "charts": [], "days": days,
            "notes": notes}


def _share(n: int, of: int, pct: float | None) -> str:
    if not of:
        return "-"
    return f"{number(n)} af {number(of)} ({number(pct, 1)} %)"


__all__ = ["SLUG", "view"]
