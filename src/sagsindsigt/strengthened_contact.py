"""Styrket borgerkontakt (seed 003): how complaints handled with a quick personal contact
compare with traditional written handling, the Dutch reference results the method was
introduced with, and search in the learning texts of complaints.

The figures themselves are the KPIs ``sb_share``, ``sb_resolved_share`` and ``sb_vs_written``
of the registry; this module adds the reference and the search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import ibis

from .calendar import Period

REFERENCE_SOURCE = ("Kultur- og Fritidsforvaltningens notat \"Klagesager, Styrket "
                    "Borgerkontakt og læringsperspektivet\" til Økonomiudvalget, 26. november "
                    "2014 (de hollandske resultater, som metoden er udviklet efter).")


@dataclass(frozen=True)
class Reference:
    text: str  # the Dutch result as the note states it
    low: float | None  # percent
    high: float | None
    compare_with: str | None = None  # our KPI that measures the same thing, if any
    how: str = ""  # how our figure relates to the reference


REFERENCE = [
    Reference("Borgertilfredsheden steg med 40 %", 40, 40),
    Reference("Jobtilfredsheden steg med 20 %", 20, 20),
    Reference("Klageproceduren blev standset i 40–60 %", 40, 60, "sb_resolved_share",
              "andel af klager med Styrket borgerkontakt, der blev afsluttet ved kontakten"),
    Reference("Besparelse i tid og penge 20–30 %", 20, 30),
    Reference("Forkortet sagsbehandlingstid 37 %", -37, -37, "sb_vs_written",
              "forskel i median svartid med Styrket borgerkontakt i forhold til uden"),
]


def compare(ref: Reference, value: float | None) -> str:
    """One plain sentence on how our figure relates to the Dutch reference."""
    if ref.compare_with is None:
        return "Måles ikke i Sagsindsigt."
    if value is None:
        return "Ingen data for perioden."
    lo, hi = sorted((ref.low, ref.high))
    if lo <= value <= hi:
        return "På niveau med de hollandske resultater."
    better = value > hi if ref.compare_with == "sb_resolved_share" else value < lo
    return ("Bedre end de hollandske resultater." if better
            else "Svagere end de hollandske resultater.")


def p_value(p: float | None) -> str:
    """A p-value as Danish text: 0,012, or < 0,001."""
    if p is None:
        return "-"
    return "< 0,001" if p < 0.001 else f"{p:.3f}".replace(".", ",")


def p_text(p: float | None) -> str:
    """A p-value for non-statisticians."""
    if p is None:
        return "Kan ikke testes (der skal være klager både med og uden)."
    if p < 0.05:
        return "Forskellen er næppe tilfældig (p < 0,05)."
    return "Forskellen kan skyldes tilfældigheder (p ≥ 0,05)."


# -- learning texts --------------------------------------------------------------------------
LEARNING_COLUMNS = ["_source", "complaint_id", "administration", "unit", "received", "kind",
                    "points", "strengthened_contact", "resolved_at_contact", "outcome", "summary"]


def search_learning(store, text: str, period: str | Period | None = None,
                    where: dict[str, str] | None = None, only_sb: bool = False,
                    limit: int = 200) -> tuple[list[dict[str, Any]], int]:
    """Complaints whose summary contains every word of ``text`` (case-insensitive), newest
    first. Returns (rows, total number of hits)."""
    t = store.table("complaints")
    t = t.filter(t.summary.notnull())
    if period:
        p = period if isinstance(period, Period) else Period.parse(str(period))
        t = t.filter((t.received >= p.start) & (t.received <= p.end))
    for dim, value in (where or {}).items():
        if value:
            t = t.filter(t[dim] == value)
    if only_sb:
        t = t.filter(t.strengthened_contact)
    for word in words(text):
        t = t.filter(t.summary.lower().contains(word))
    total = int(t.count().to_pyarrow().as_py())
    rows = (t.select(*LEARNING_COLUMNS).order_by([ibis.desc("received"), "complaint_id"])
            .limit(limit).to_pyarrow().to_pylist())
    return rows, total


def words(text: str | None) -> list[str]:
    return [w for w in re.split(r"\s+", (text or "").strip().lower()) if w]


__all__ = ["REFERENCE", "REFERENCE_SOURCE", "Reference", "compare", "p_text", "p_value",
           "search_learning", "words"]
