"""Case flow KPIs (kpis.md, "Case flow")."""

from __future__ import annotations

from .base import register
from .measures import (
    CasesReceived,
    Count,
    CountKPI,
    QuantileKPI,
    RatioKPI,
    Snapshot,
    SnapshotKPI,
    days_between,
)


def _open_at(t, end):
    return (t.received <= end) & (t.decided.isnull() | (t.decided > end))


register(CountKPI(
    "cases_received", "Modtagne sager", description="Sager modtaget i perioden (sagsniveau, "
    "ellers indberettede sagsmængder).", theme="flow", table="cases", count=CasesReceived()))
register(CountKPI(
    "cases_decided", "Afgjorte sager", description="Sager afgjort i perioden.", theme="flow",
    table="cases", count=Count("cases", "decided")))
register(SnapshotKPI(
    "open_cases", "Åbne sager", description="Sager modtaget senest ved periodens slutning og "
    "ikke afgjort på det tidspunkt.", theme="flow", table="cases",
    count=Snapshot("cases", _open_at)))
register(SnapshotKPI(
    "overdue_open_cases", "Åbne sager over frist", description="Åbne sager ved periodens "
    "slutning, hvis frist var overskredet på det tidspunkt.",
    better="lower", theme="flow", table="cases",
    count=Snapshot("cases", lambda t, end: _open_at(t, end) & (t.due < end))))
register(QuantileKPI(
    "processing_days_median", "Sagsbehandlingstid, median", description="Kalenderdage fra "
    "modtagelse til afgørelse for sager afgjort i perioden (median).", better="lower", theme="flow",
    table="cases", date="decided", expr=lambda t: days_between(t.received, t.decided), q=0.5))
register(QuantileKPI(
    "processing_days_p90", "Sagsbehandlingstid, 90 %-fraktil", description="Kalenderdage fra "
    "modtagelse til afgørelse for sager afgjort i perioden (90 %-fraktil, lineær "
    "interpolation).", better="lower", theme="flow", table="cases", date="decided",
    expr=lambda t: days_between(t.received, t.decided), q=0.9))
register(QuantileKPI(
    "processing_days_p80", "Sagsbehandlingstid, 80 %-fraktil", description="Kalenderdage fra "
    "modtagelse til afgørelse for sager afgjort i perioden (80 %-fraktil, lineær "
    "interpolation): 8 ud af 10 sager var afgjort på den tid.", theme="flow", table="cases",
    date="decided", expr=lambda t: days_between(t.received, t.decided), q=0.8))
register(RatioKPI(
    "deadline_compliance", "Overholdte sagsbehandlingsfrister", description="Andel af sager "
    "afgjort i perioden med kendt frist, der blev afgjort senest på fristdagen.",
    better="higher", theme="flow",
    table="cases",
    numerator=Count("cases", "decided", where=lambda t: t.due.notnull() & (t.decided <= t.due)),
    denominator=Count("cases", "decided", where=lambda t: t.due.notnull()),
    empty_note="ingen afgjorte sager med kendt frist i perioden"))
register(RatioKPI(
    "refusal_rate", "Afslagsprocent", description="Afslag blandt sager afgjort i perioden med "
    "kendt afgørelse.", theme="flow", table="cases",
    numerator=Count("cases", "decided", where=lambda t: t.outcome == "afslag"),
    denominator=Count("cases", "decided", where=lambda t: t.outcome.notnull()),
    empty_note="ingen afgjorte sager med kendt afgørelse i perioden"))
register(RatioKPI(
    "incomplete_on_receipt_rate", "Mangelfulde ansøgninger", description="Andel af sager "
    "modtaget i perioden, der ikke var fuldstændige ved modtagelsen (blandt sager, hvor det "
    "er oplyst).", better="lower", theme="flow", table="cases",
    numerator=Count("cases", "received", where=lambda t: t.complete_on_receipt == False),  # noqa: E712
    denominator=Count("cases", "received", where=lambda t: t.complete_on_receipt.notnull()),
    empty_note="fuldstændighed er ikke oplyst for sager i perioden"))
