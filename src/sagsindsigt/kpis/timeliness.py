"""Timeliness rules on the events log (kpis.md, "Timeliness rules")."""

from __future__ import annotations

from .base import register
from .measures import Count, RatioKPI

register(RatioKPI(
    "timeliness", "Rettidighed", description="Andel af sager med frist i perioden efter en "
    "rettidighedsregel (fx jobsamtaler), hvor den krævede aktivitet skete senest på "
    "fristdagen.", better="higher", theme="timeliness", table="timeliness_items",
    numerator=Count("timeliness_items", "due",
                    where=lambda t: t.done.notnull() & (t.done <= t.due)),
    denominator=Count("timeliness_items", "due"),
    empty_note="ingen sager med frist i perioden"))
