"""The worklist (arbejdsliste): open cases past their deadline, and open cases due soon, case by
case, for the caller's scope (issue 17).

* ``over-frist``: cases open "today" whose due date has passed (due before today), most days
  over first; with ``new_within`` only those that passed their due date in the last N days
  (the weekly digest's "new overdue cases").
* ``forfalder``: cases open today due today or within the next :data:`SOON_DAYS` days, the
  soonest first.
* ``staar-stille`` ("sager der står stille", issue 15): cases open today with no event in the
  events log for :data:`STALLED_DAYS` days or more (counted from the latest event on or before
  today, or from the receipt of a case without events), the longest idle first.

"Today" is the day the data reach: for each administration the earlier of today's date and the
last day its case data cover (the coverage of its import batches, as the backlog KPIs use,
``docs/decisions.md``). The store cannot know which cases were decided after its last import,
so a list made on a later day would show stale cases as overdue and count days that nobody has
seen. A case is open on the day when it was received on or before it and not decided by it,
the same rule as ``open_cases``/``overdue_open_cases``, so the list's length is the KPI's value
on that day.

Rows carry the case id as the case system knows it (``case_id``), the unit, the case type, the
dates and the days; never the pseudonymised citizen (the reader does not select it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .store import reads

SOON_DAYS = 7
STALLED_DAYS = 30


@dataclass(frozen=True)
class Kind:
    slug: str  # in URLs and file names
    title: str  # Danish
    days_label: str  # the column of days


OVERDUE, SOON, STALLED = "over-frist", "forfalder", "staar-stille"
KINDS: dict[str, Kind] = {
    OVERDUE: Kind(OVERDUE, "Sager over frist", "Dage over frist"),
    SOON: Kind(SOON, f"Sager der forfalder inden for {SOON_DAYS} dage", "Dage til frist"),
    STALLED: Kind(STALLED, f"Sager der står stille (ingen hændelse i {STALLED_DAYS} dage)",
                  "Dage uden hændelse"),
}


class WorklistError(ValueError):
    """A request for a list that does not exist (Danish message; HTTP 400, CLI exit 2)."""


@dataclass
class Worklist:
    kind: Kind
    rows: list[dict[str, Any]]  # OPEN_CASE_COLUMNS, as_of, days
    as_of: dict[str, date]  # administration → the day its cases are listed on
    today: date
    new_within: int | None = None
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def day(self) -> date | None:
        """The day the list is made on (the latest, when administrations differ)."""
        return max(self.as_of.values()) if self.as_of else None

    @property
    def before_today(self) -> bool:
        """Whether the data end before today, so "today" is the data's last day."""
        return any(d < self.today for d in self.as_of.values())

    def case_ids(self) -> list[str]:
        return [r["case_id"] for r in self.rows]


def as_of(store, today: date | None = None) -> dict[str, date]:
    """administration → the worklist's "today" for its cases: today, or the last day its case
    data cover when that is earlier. Administrations inside the caller's scope only."""
    today = today or date.today()
    out = {}
    for admin, stretches in reads.coverage(store, "cases").items():
        ends = [e for _, e in stretches if e is not None]
        if ends:
            out[admin] = min(today, max(ends))
    return out


def worklist(store, kind: str, administration: str | None = None, unit: str | None = None,
             case_type: str | None = None, today: date | None = None,
             new_within: int | None = None, idle: int = STALLED_DAYS) -> Worklist:
    """One list for the caller's scope and filters (the store applies the scope)."""
    if kind not in KINDS:
        raise WorklistError(f"Ukendt arbejdsliste '{kind}': brug {', '.join(KINDS)}.")
    if new_within is not None and (kind != OVERDUE or not 1 <= new_within <= 366):
        raise WorklistError("Nye sager over frist kan vælges for 1 til 366 dage, og kun på "
                            "listen over sager over frist.")
    if not 1 <= idle <= 3660:
        raise WorklistError("Antal dage uden hændelse skal være mellem 1 og 3660.")
    today = today or date.today()
    days = as_of(store, today)
    filters = {k: v for k, v in (("administration", administration), ("unit", unit),
                                 ("case_type", case_type)) if v}
    if kind == STALLED:
        rows = reads.stalled_cases(store, days, idle, administration, unit, case_type)
        for r in rows:
            r["days"] = r["idle_days"]
        return Worklist(KINDS[kind], rows, days, today, None, filters)
    if kind == OVERDUE:
        lo, hi = (-new_within if new_within else None), -1
    else:
        lo, hi = 0, SOON_DAYS
    rows = reads.open_cases(store, days, lo, hi, administration, unit, case_type)
    for r in rows:
        r["days"] = -r["due_in"] if kind == OVERDUE else r["due_in"]
    return Worklist(KINDS[kind], rows, days, today, new_within, filters)


__all__ = [
    "KINDS", "OVERDUE", "SOON", "SOON_DAYS", "STALLED", "STALLED_DAYS", "as_of", "Kind",
    "Worklist", "worklist", "WorklistError",
]
