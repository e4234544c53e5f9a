"""The worklist (:mod:`sagsindsigt.worklist`) as people read it: one table for the page, the
CSV/XLSX downloads and the weekly digest, the sentence that says which day is "i dag", and the
file names (list, day and scope)."""

from __future__ import annotations

from datetime import date

from ..danish import day as dk_day
from ..worklist import OVERDUE, STALLED, Worklist
from .labels import Labels
from .tables import Column, Table

CASE_ID = "Sags-id"


def title(wl: Worklist) -> str:
    if wl.new_within:
        return f"Nye sager over frist (de seneste {wl.new_within} dage)"
    return wl.kind.title


def table(wl: Worklist, labels: Labels) -> Table:
    """One row per case, most urgent first: the case id as the case system knows it, the days
    over (or left) and the due date beside it (what a phone shows without scrolling), the day
    received, the unit and case type by name. No citizen."""
    t = Table(wl.kind.slug, title(wl), [
        Column("label", CASE_ID), Column("days", wl.kind.days_label), Column("due", "Frist"),
        Column("received", "Modtaget"), Column("unit", "Center/enhed"),
        Column("case_type", "Sagstype")])
    for r in wl.rows:
        t.add({"label": r["case_id"], "_key": r["case_id"],
               "unit": labels.name("unit", r["unit"]),
               "case_type": labels.name("case_type", r["case_type"]),
               "received": r["received"], "due": r["due"], "days": int(r["days"])})
    return t


def day_note(wl: Worklist, labels: Labels) -> str:
    """Which day the list is made on, in Danish: today, or the day the data end (per
    administration when they differ)."""
    if not wl.as_of:
        return "Der er ingen sagsdata i dit område."
    what = wl.kind.days_label.lower()  # "dage over frist", "dage uden hændelse", ...
    if not wl.before_today:
        return f"Opgjort i dag, {dk_day(wl.today)}."
    days = sorted(set(wl.as_of.values()))
    if len(days) == 1:
        d = dk_day(days[0])
        return (f"Dataene slutter {d}, før i dag ({dk_day(wl.today)}). Listen er derfor "
                f"opgjort pr. {d} som »i dag«: åbne sager og {what} regnes fra den dato.")
    by_day: dict[date, list[str]] = {}
    for admin, d in sorted(wl.as_of.items()):
        by_day.setdefault(d, []).append(labels.name("administration", admin))
    parts = "; ".join(f"{', '.join(names)}: {dk_day(d)}" for d, names in sorted(by_day.items()))
    return (f"Dataene slutter på forskellige dage, før i dag ({dk_day(wl.today)}). Hver "
            f"forvaltnings sager er derfor opgjort pr. den dag, dens data slutter, som »i "
            f"dag« ({parts}); åbne sager og {what} regnes fra den dato.")


def scope_code(wl: Worklist, labels: Labels) -> str:
    f = wl.filters
    return labels.scope_of(f.get("administration"), f.get("unit"), f.get("case_type"))["code"]


def whose(wl: Worklist, labels: Labels) -> str:
    f = wl.filters
    return labels.where(f.get("administration"), f.get("unit"), f.get("case_type"))


def file_name(wl: Worklist, labels: Labels, fmt: str) -> str:
    """``sager-over-frist-2014-12-31-JCA.csv``: the list, the day it is made on, the scope."""
    stem = {OVERDUE: "sager-over-frist", STALLED: "sager-der-staar-stille"}.get(
        wl.kind.slug, f"sager-{wl.kind.slug}-7-dage")
    if wl.new_within:
        stem = f"sager-nye-over-frist-{wl.new_within}-dage"
    d = wl.day or wl.today
    return f"{stem}-{d.isoformat()}-{scope_code(wl, labels)}.{fmt}"


def export_lines(wl: Worklist, labels: Labels) -> list[str]:
    """The lines under an XLSX sheet's title: whose cases, and on which day."""
    return [f"Område: {whose(wl, labels)}", day_note(wl, labels),
            "Sags-id er sagens nummer i fagsystemet; listen indeholder ingen personoplysninger."]


__all__ = ["CASE_ID", "day_note", "export_lines", "file_name", "scope_code", "table", "title",
           "whose"]
