"""Expected processing times for citizens (issue 18): per case type, what the real cases
decided in the last 12 months say a citizen can expect, beside the published deadline.

Every figure is a KPI of the registry (``cases_decided``, ``processing_days_p80``,
``processing_days_median``, ``deadline_compliance``) asked through a ``get`` function with the
signature of :func:`sagsindsigt.present.tables.getter` (the web app passes its cache), per
administration over its own window: the 12 months up to the day its case data end (the same
day the worklist counts from, :func:`sagsindsigt.worklist.as_of`), since the data are
historical and a window up to today's date would be empty.

Protection, in one place for the page, the open data and ``sagsindsigt publish``:

* a case type (or unit) with fewer than :data:`MIN_CASES` decided cases in its window shows no
  figure ("for få sager til at vise et tal"), and not its count either;
* nothing below case-type level, except for the administrations that opt in
  (``Settings.citizen_unit_figures``), and then per unit under the same threshold;
* case types an administration holds back (``Settings.citizen_withheld``) are left out;
* only aggregates of whole case types: no case, no citizen, no date of a single case.

The callers compute as the public principal (:data:`PUBLIC`): the whole municipality, whoever
asks, so a signed-in leader sees the same public page as everybody.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from . import worklist
from .access import ALL, Principal
from .calendar import Deadline, DeadlineError
from .contract.codes import ADMINISTRATIONS
from .danish import long_date, number
from .store import reads

MIN_CASES = 20  # decided cases in the window below which no figure is shown
WINDOW_MONTHS = 12
TOO_SHORT = 1.25  # P80 above this × the deadline: the deadline is unrealistically short
TOO_LONG = 0.5  # P80 below this × the deadline: the deadline promises far less than is kept
TOO_FEW = "for få sager til at vise et tal"
KPIS = ("cases_decided", "processing_days_p80", "processing_days_median",
        "deadline_compliance")
# who computes the public figures: a reader of the whole municipality (aggregates only)
PUBLIC = Principal("offentligheden", "laeser", ALL, "offentlig")

Get = Callable[..., object]


@dataclass(frozen=True)
class Figure:
    """The figures of one case type (``unit`` None) or of one unit of it."""

    administration: str
    case_type: str
    name: str
    legal_basis: str | None
    deadline: str | None  # the published deadline as written ("8 uger")
    start: date
    end: date
    decided: int | None  # None when too few to show
    p80_days: float | None = None
    median_days: float | None = None
    compliance: float | None = None  # % of decided cases with a known deadline kept
    compliance_cases: int | None = None  # decided cases with a known deadline
    compliance_kept: int | None = None  # of them, decided on or before the due date
    unit: str | None = None
    unit_name: str | None = None
    units: tuple[Figure, ...] = ()

    @property
    def shown(self) -> bool:
        return self.decided is not None

    @property
    def p80_weeks(self) -> int | None:
        """The P80 in whole weeks, rounded up ("8 ud af 10 får svar inden for N uger")."""
        return None if self.p80_days is None else max(1, math.ceil(self.p80_days / 7))

    @property
    def p80_text(self) -> str | None:
        return within(self.p80_days)

    @property
    def median_text(self) -> str | None:
        return within(self.median_days)

    @property
    def compliance_text(self) -> str | None:
        """The share kept as a whole percent ("83 %"), rounded half up from the counts (not
        from the KPI's value, itself rounded: 84,496 % is 84 %, not 84,5 % and then 85 %)."""
        if self.compliance is None:
            return None
        if self.compliance_kept is not None and self.compliance_cases:
            return f"{math.floor(100 * self.compliance_kept / self.compliance_cases + 0.5)} %"
        return f"{math.floor(self.compliance + 0.5)} %"

    @property
    def deadline_days(self) -> int | None:
        return deadline_days(self.deadline)

    @property
    def period_text(self) -> str:
        return f"{long_date(self.start)} til {long_date(self.end)}"


@dataclass
class CitizenFigures:
    """Every published case type, by administration, and the day the data reach."""

    rows: list[Figure] = field(default_factory=list)
    windows: dict[str, tuple[date, date]] = field(default_factory=dict)
    municipality: str = "Kommunen"

    @property
    def as_of(self) -> date | None:
        """The latest day the data reach (administrations' own days are on each row)."""
        return max((e for _, e in self.windows.values()), default=None)

    @property
    def start(self) -> date | None:
        return min((s for s, _ in self.windows.values()), default=None)

    def administrations(self) -> list[tuple[str, str, list[Figure]]]:
        """(code, name, rows) per administration, in the code list's order."""
        out: dict[str, list[Figure]] = {}
        for r in self.rows:
            out.setdefault(r.administration, []).append(r)
        known = list(ADMINISTRATIONS)
        order = sorted(out, key=lambda a: (known.index(a) if a in known else 99, a))
        return [(a, ADMINISTRATIONS.get(a, a), out[a]) for a in order]


def window(end: date) -> tuple[date, date]:
    """The 12 months up to and including ``end``."""
    return end - relativedelta(months=WINDOW_MONTHS) + timedelta(days=1), end


def within(days: float | None) -> str | None:
    """A time a citizen reads: whole days up to two weeks, else whole weeks, rounded up."""
    if days is None:
        return None
    if days <= 14:
        d = max(1, math.ceil(days))
        return f"{d} dag" if d == 1 else f"{d} dage"
    w = math.ceil(days / 7)
    return f"{w} uger"


def deadline_days(text: str | None) -> int | None:
    """A published deadline in calendar days, to set beside processing days: days as they
    are, weeks × 7, months × 30,44, working days × 7/5 (a week of five), rounded."""
    if not text:
        return None
    try:
        d = Deadline.parse(text)
    except DeadlineError:
        return None
    per = {"dage": 1.0, "uger": 7.0, "maaneder": 30.44, "arbejdsdage": 1.4}[d.unit]
    return round(d.n * per)


def realism(deadline: str | None, p80_days: float | None) -> str | None:
    """How a published deadline compares with the P80: ``for_kort`` (P80 above
    :data:`TOO_SHORT` × the deadline), ``for_lang`` (below :data:`TOO_LONG` ×), ``passer``; None
    when either is unknown."""
    days = deadline_days(deadline)
    if not days or p80_days is None:
        return None
    ratio = p80_days / days
    if ratio > TOO_SHORT:
        return "for_kort"
    if ratio < TOO_LONG:
        return "for_lang"
    return "passer"


# the verdicts as the leader's mirror on Sager shows them
REALISM_WORDS = {"for_kort": "Urealistisk kort", "for_lang": "Urealistisk lang",
                 "passer": "Realistisk"}


def figures(store, get: Get, withheld: Iterable[str] = (),
            unit_figures: Iterable[str] = ()) -> CitizenFigures:
    """The published figures (call as :data:`PUBLIC`). ``withheld``: case types held back, as
    ``CODE`` or ``ADMINISTRATION:CODE``; ``unit_figures``: administrations that publish figures
    per unit too."""
    withheld = set(withheld)
    unit_figures = set(unit_figures)
    types = reads.case_types(store)
    nodes = reads.organisation(store)
    names = {n.code: n.name for n in nodes}
    root = next((n.name for n in nodes if n.level == "kommune"), None)
    out = CitizenFigures(municipality=root or "Kommunen")
    ends = worklist.as_of(store)
    for admin, end in sorted(ends.items()):
        start, end = window(end)
        out.windows[admin] = (start, end)
        period = f"{start.isoformat()}..{end.isoformat()}"
        mine = [t for t in types if t["administration"] == admin
                and t["code"] not in withheld and f"{admin}:{t['code']}" not in withheld]
        if not mine:
            continue
        by_type = _by(get, period, ["case_type"], admin)
        by_unit = _by(get, period, ["case_type", "unit"], admin) \
            if admin in unit_figures else {}
        for t in mine:
            units = tuple(
                _figure(admin, t, start, end, facts, unit, names.get(unit, unit))
                for (code, unit), facts in sorted(by_unit.items(), key=lambda x: str(x[0]))
                if code == t["code"] and unit is not None)
            row = _figure(admin, t, start, end, by_type.get((t["code"],), {}))
            out.rows.append(_with_units(row, tuple(u for u in units if u.shown)))
    return out


def _with_units(row: Figure, units: tuple[Figure, ...]) -> Figure:
    from dataclasses import replace

    return replace(row, units=units) if row.shown else row


def _by(get: Get, period: str, by: list[str], admin: str) -> dict[tuple, dict]:
    """KPI rows keyed by the ``by`` members: {kpi: Row}."""
    out: dict[tuple, dict] = {}
    for k in KPIS:
        for r in get(k, period, by, [f"administration={admin}"]).rows:
            out.setdefault(tuple(r.dims.get(d) for d in by), {})[k] = r
    return out


def _figure(admin: str, t: dict, start: date, end: date, facts: dict,
            unit: str | None = None, unit_name: str | None = None) -> Figure:
    base = dict(administration=admin, case_type=t["code"], name=t["name"] or t["code"],
                legal_basis=t.get("legal_basis"), deadline=t.get("deadline"), start=start,
                end=end, unit=unit, unit_name=unit_name)
    decided = facts.get("cases_decided")
    n = int(decided.value or 0) if decided is not None else 0
    if n < MIN_CASES:
        return Figure(decided=None, **base)
    comp = facts.get("deadline_compliance")
    comp_n = int(comp.denominator or 0) if comp is not None else 0
    kept = comp.value if comp is not None and comp_n >= MIN_CASES else None
    p80 = facts.get("processing_days_p80")
    med = facts.get("processing_days_median")
    return Figure(decided=n, p80_days=p80.value if p80 is not None else None,
                  median_days=med.value if med is not None else None, compliance=kept,
                  compliance_cases=comp_n if kept is not None else None,
                  compliance_kept=int(comp.numerator or 0) if kept is not None else None,
                  **base)


def summary(f: Figure) -> str:
    """The figures of a row in one plain sentence (the open data's ``tekst``)."""
    if not f.shown:
        return f"Der er {TOO_FEW}."
    parts = [f"8 ud af 10 får svar inden for {f.p80_text}"]
    if f.median_text:
        parts.append(f"halvdelen inden for {f.median_text}")
    text = ", ".join(parts) + "."
    if f.compliance_text:
        text += f" Fristen blev overholdt i {f.compliance_text} af sagerne."
    return text + f" Bygger på {number(f.decided)} afgjorte sager."


__all__ = ["KPIS", "MIN_CASES", "PUBLIC", "REALISM_WORDS", "TOO_FEW", "TOO_LONG", "TOO_SHORT",
           "WINDOW_MONTHS", "CitizenFigures", "Figure", "deadline_days", "figures", "realism",
           "summary", "window", "within"]
