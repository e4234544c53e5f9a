"""Registration practice per unit (seed 001): a scorecard for the management dialogue.

For complaints and cases received in a period, per (administration, unit):

* **completeness** of each optional field (share filled in, among the records where the field
  applies: ``closed`` for complaints with a final outcome, ``points`` for procedural
  complaints, ``resolved_at_contact`` for complaints handled with Styrket borgerkontakt,
  ``outcome`` for decided cases);
* **impossible sequences**: a complaint received before the case it concerns, a complaint
  answered but still marked ``verserer``, a final outcome without an answer date, resolved at
  a contact that is not recorded as Styrket borgerkontakt, an event of a case before the case
  was received;
* **open cases without a decision past N days** at the end of the period (or today);
* **procedural complaints without points**;
* **journalisation lag** where the events log carries journalisation events (an activity whose
  name contains ``journal``): median days from receipt of the case to its first such event.

Every figure is computed by Ibis in the database, the same on DuckDB and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis

from .calendar import Period
from .worklist import as_of as worklist_day

DEFAULT_OPEN_DAYS = 90
FINAL = ["medhold", "delvis_medhold", "ikke_medhold", "afvist", "trukket"]
KEY = ["administration", "unit"]

# (field, Danish label, condition on the complaints table under which the field applies)
COMPLAINT_FIELDS: list[tuple[str, str, Any]] = [
    ("unit", "Enhed", None),
    ("benefit_area", "Ydelsesområde", None),
    ("case_type", "Sagstype", None),
    ("case_id", "Sags-id", None),
    ("closed", "Besvaret (afsluttede klager)", lambda t: t.outcome.isin(FINAL)),
    ("points", "Klagepunkter (formalitetsklager)",
     lambda t: t.kind.isin(["formalitet", "begge"])),
    ("channel", "Kanal", None),
    ("strengthened_contact", "Styrket borgerkontakt", None),
    ("resolved_at_contact", "Afsluttet ved kontakten (med SB)",
     lambda t: t.strengthened_contact.fill_null(False)),
    ("outcome", "Udfald", None),
    ("summary", "Resumé og læring", None),
]
CASE_FIELDS: list[tuple[str, str, Any]] = [
    ("outcome", "Afgørelse (afgjorte sager)", lambda t: t.decided.notnull()),
    ("complete_on_receipt", "Fuldstændig ved modtagelse", None),
    ("due", "Frist kendt", None),
    ("citizen", "Borger", None),
]
IMPOSSIBLE = {
    "complaint_before_case": "klage modtaget før sagen",
    "answered_but_pending": "besvaret, men udfald 'verserer'",
    "final_without_answer": "endeligt udfald uden svardato",
    "resolved_without_sb": "afsluttet ved kontakt uden Styrket borgerkontakt",
    "event_before_case": "hændelse før sagen var modtaget",
}


@dataclass
class UnitCard:
    administration: str | None
    unit: str | None
    complaints: int = 0
    cases: int = 0
    complaint_fields: dict[str, float | None] = field(default_factory=dict)  # % filled
    case_fields: dict[str, float | None] = field(default_factory=dict)
    procedural: int = 0
    procedural_without_points: int = 0
    impossible: dict[str, int] = field(default_factory=dict)
    open_cases: int = 0
    open_past_days: int = 0
    open_as_of: date | None = None  # the day open cases are counted at (the data's end)
    journal_cases: int = 0
    journal_lag_median: float | None = None

    @property
    def impossible_total(self) -> int:
        return sum(self.impossible.values())

    @property
    def completeness(self) -> float | None:
        """Mean completeness over the fields that apply (complaints and cases)."""
        values = [v for v in [*self.complaint_fields.values(), *self.case_fields.values()]
                  if v is not None]
        return round(sum(values) / len(values), 1) if values else None

    @property
    def without_points_share(self) -> float | None:
        return _pct(self.procedural_without_points, self.procedural)

    @property
    def open_past_share(self) -> float | None:
        return _pct(self.open_past_days, self.open_cases)

    def as_dict(self) -> dict[str, Any]:
        return {"administration": self.administration, "unit": self.unit,
                "complaints": self.complaints, "cases": self.cases,
                "completeness": self.completeness,
                "complaint_fields": self.complaint_fields, "case_fields": self.case_fields,
                "procedural": self.procedural,
                "procedural_without_points": self.procedural_without_points,
                "impossible": self.impossible, "impossible_total": self.impossible_total,
                "open_cases": self.open_cases, "open_past_days": self.open_past_days,
                "journal_cases": self.journal_cases,
                "journal_lag_median": self.journal_lag_median}


def _filled(t, name: str, cond) -> dict[str, Any]:
    """Rows where the field applies, and of those the rows where it is filled in."""
    if cond is None:
        return {f"den_{name}": t.count(), f"num_{name}": t[name].count()}
    applies = cond(t)
    return {f"den_{name}": applies.sum(), f"num_{name}": (applies & t[name].notnull()).sum()}


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def _in(t, col, p: Period):
    return (t[col] >= p.start) & (t[col] <= p.end)


def _scope(t, where: dict[str, str] | None):
    for dim, value in (where or {}).items():
        if value and dim in t.columns:
            t = t.filter(t[dim] == value)
    return t


def _rows(expr) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def scorecard(store, period: str | Period, where: dict[str, str] | None = None,
              open_days: int = DEFAULT_OPEN_DAYS, today: date | None = None
              ) -> list[UnitCard]:
    """One card per (administration, unit) with complaints or cases received in the
    period, sorted by administration and unit (no ranking)."""
    p = period if isinstance(period, Period) else Period.parse(str(period))
    cards: dict[tuple, UnitCard] = {}

    def card(r) -> UnitCard:
        k = (r["administration"], r["unit"])
        if k not in cards:
            cards[k] = UnitCard(*k)
        return cards[k]

    c = _scope(store.table("complaints"), where)
    c = c.filter(_in(c, "received", p))
    aggs = {"n": c.count(), "procedural": c.kind.isin(["formalitet", "begge"]).sum(),
            "without_points": (c.kind.isin(["formalitet", "begge"]) & c.points.isnull()).sum(),
            "answered_but_pending": (c.closed.notnull() & (c.outcome == "verserer")).sum(),
            "final_without_answer": (c.outcome.isin(FINAL) & c.closed.isnull()).sum(),
            "resolved_without_sb": (c.resolved_at_contact.fill_null(False)
                                    & ~c.strengthened_contact.fill_null(False)).sum()}
    for name, _, cond in COMPLAINT_FIELDS:
        aggs.update(_filled(c, name, cond))
    for r in _rows(c.group_by(KEY).aggregate(**aggs)):
        u = card(r)
        u.complaints = int(r["n"])
        u.procedural = int(r["procedural"] or 0)
        u.procedural_without_points = int(r["without_points"] or 0)
        for k in ("answered_but_pending", "final_without_answer", "resolved_without_sb"):
            u.impossible[k] = int(r[k] or 0)
        u.complaint_fields = {name: _pct(int(r[f"num_{name}"] or 0), int(r[f"den_{name}"] or 0))
                              for name, _, _ in COMPLAINT_FIELDS}

    cases_all = _scope(store.table("cases"), where)
    cs = cases_all.filter(_in(cases_all, "received", p))
    aggs = {"n": cs.count()}
    for name, _, cond in CASE_FIELDS:
        aggs.update(_filled(cs, name, cond))
    for r in _rows(cs.group_by(KEY).aggregate(**aggs)):
        u = card(r)
        u.cases = int(r["n"])
        u.case_fields = {name: _pct(int(r[f"num_{name}"] or 0), int(r[f"den_{name}"] or 0))
                         for name, _, _ in CASE_FIELDS}

    # complaints received before the case they concern (same source and administration)
    cc = c.filter(c.case_id.notnull())
    joined = cc.join(cases_all, [cc["_source"] == cases_all["_source"],
                                 cc.case_id == cases_all.case_id,
                                 cc.administration == cases_all.administration])
    early = joined.filter(joined.received < joined.received_right)
    for r in _rows(early.group_by(KEY).aggregate(n=early.count())):
        card(r).impossible["complaint_before_case"] = int(r["n"])

    # open cases past N days at the end of the period (or today, when the period runs on),
    # and never after the day an administration's case data end (the worklist's "i dag"): a
    # case is not open just because the data stop (SOF's cases ending 30.6.2015)
    end = min(p.end, today or date.today())
    days = {a: d for a, d in worklist_day(store, end).items() if d < end}
    t = cases_all
    if days:  # each administration's day as a column: one scan, compared per row
        t = t.mutate(counted_on=ibis.cases(*[(t.administration == a, ibis.literal(d))
                                       for a, d in sorted(days.items())],
                                     else_=ibis.literal(end)))
    else:
        t = t.mutate(counted_on=ibis.literal(end))
    day = t.counted_on
    still_open = t.filter((t.received <= day) & (t.decided.isnull() | (t.decided > day)))
    old = still_open.received < still_open.counted_on - ibis.interval(days=open_days)
    for r in _rows(still_open.group_by(KEY).aggregate(n=still_open.count(), old=old.sum())):
        u = card(r)
        u.open_cases, u.open_past_days = int(r["n"]), int(r["old"] or 0)
        u.open_as_of = days.get(u.administration, end)

    # the events log: events before their case was received, and journalisation lag
    ev = store.table("events").select("_source", "case_id", "activity", "at")
    ce = cs.select("_source", "case_id", "administration", "unit", "received")
    je = ev.join(ce, [ev["_source"] == ce["_source"], ev.case_id == ce.case_id])
    before = je.filter(je.at.date() < je.received)
    for r in _rows(before.group_by(KEY).aggregate(n=before.case_id.nunique())):
        card(r).impossible["event_before_case"] = int(r["n"])
    jr = je.filter(je.activity.lower().contains("journal"))
    first = jr.group_by([*KEY, "_source", "case_id", "received"]).aggregate(
        first=jr.at.min().date())
    lag = first.mutate(days=first.first.delta(first.received, unit="day"))
    for r in _rows(lag.group_by(KEY).aggregate(n=lag.count(),
                                              median=lag.days.quantile(0.5))):
        u = card(r)
        u.journal_cases = int(r["n"])
        u.journal_lag_median = None if r["median"] is None else round(float(r["median"]), 1)

    for u in cards.values():
        for k in IMPOSSIBLE:
            u.impossible.setdefault(k, 0)
    return sorted(cards.values(), key=lambda u: (str(u.administration), u.unit is None,
                                                 str(u.unit)))


__all__ = ["CASE_FIELDS", "COMPLAINT_FIELDS", "DEFAULT_OPEN_DAYS", "IMPOSSIBLE", "UnitCard",
           "scorecard"]
