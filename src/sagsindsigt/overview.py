"""The overview table of seed 000: complaints against case volume per administration.

One function, used by the CLI's ``overview``, the Overblik page and the committee report: it
asks the KPI registry for every figure and only arranges them.
"""

from __future__ import annotations

from .contract.codes import ADMINISTRATIONS
from .danish import number, value
from .kpis import Query, compute


def default_period(store) -> str:
    """The latest year with complaints or cases."""
    years = []
    for name, col in (("complaints", "received"), ("cases", "received")):
        t = store.table(name)
        v = t[col].max().execute()
        if v is not None and str(v) != "NaT":
            years.append(int(str(v)[:4]))
    return str(max(years)) if years else "2014"


def overview_table(store, period: str | None = None, annualise: bool = True) -> dict:
    period = period or default_period(store)
    by = ["administration"]

    def rows(kpi_id, where=()):
        res = compute(store, Query.make(kpi_id, period, by, list(where), annualise))
        return {r.dims["administration"]: r for r in res.rows}, res

    formal, _ = rows("complaints_received", ["kind=formalitet,begge"])
    real, _ = rows("complaints_received", ["kind=realitet,begge"])
    rate, res = rows("complaint_rate")
    notes: dict[str, str] = {}
    out = []
    order = list(ADMINISTRATIONS)
    for admin, r in sorted(rate.items(), key=lambda kv: (
            order.index(kv[0]) if kv[0] in order else len(order), kv[0])):
        name = ADMINISTRATIONS.get(admin, admin)
        if r.estimate and r.note:
            notes[admin] = r.note
            name += "*"
        out.append([
            name,
            number(formal[admin].n) if admin in formal else "-",
            number(real[admin].n) if admin in real else "-",
            number(r.numerator), number(r.denominator), value(r.value, "%"),
        ])
    footnotes = [f"Tal for {ADMINISTRATIONS.get(a, a)} er {n}." for a, n in notes.items()]
    footnotes.append("Klager, der både er formalitets- og realitetsklager, tælles i begge "
                     "kolonner. '-' betyder, at der ikke er data for perioden.")
    return {
        "title": f"Antal klager i forhold til den samlede sagsmængde, {res.query.period.danish()}",
        "columns": ["Forvaltning", "Formalitetsklager", "Realitetsklager", "Klager", "Sager",
                    "Klager ift. sagsmængde"],
        "rows": out, "footnotes": footnotes, "period": res.query.period.label,
    }
