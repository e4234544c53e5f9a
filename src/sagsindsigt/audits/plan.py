"""The annual plan (årshjul): which concept is reviewed in which round, and each round's state.

Concepts come from the store (``sagsindsigt import concepts``); their frequency decides the
rounds of a year. A round is *planlagt* until its period has ended, then *skal gennemføres*
until its sample is drawn and the first answer given (*i gang*), *afsluttet* when closed (or
when reviews for it were imported from elsewhere), and *forsinket* when it is not closed by its
deadline: the last day of the month after the round's period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ..access import Denied
from ..calendar import Period, PeriodError
from ..store import Store, reads

FREQUENCY_KIND = {"kvartal": "quarter", "halvaar": "half", "aar": "year"}
SOURCE = "kvalitetsopfoelgning"  # the source of reviews published from the workflow
STATUS_LABELS = {"planlagt": "Planlagt", "skal_gennemfoeres": "Skal gennemføres",
                 "i_gang": "I gang", "afsluttet": "Afsluttet", "forsinket": "Forsinket"}


class AuditError(RuntimeError):
    """A workflow step that cannot be done, told in one Danish sentence."""


class AuditUsageError(ValueError):
    """Bad input from the user (unknown concept, bad round): exit code 2 on the CLI."""


@dataclass
class Check:
    id: str
    text: str
    category: str


@dataclass
class Concept:
    id: str
    name: str
    administration: str
    benefit_area: str
    frequency: str
    sample_size: int | None
    checks: list[Check] = field(default_factory=list)


def concepts(store: Store) -> list[Concept]:
    """The concepts of the administrations inside the caller's scope (a centre sees its
    administration's concepts; its samples hold only its own cases)."""
    store.require()
    return [Concept(r["id"], r["name"], r["administration"], r["benefit_area"], r["frequency"],
                    int(r["sample_size"]) if r["sample_size"] is not None else None,
                    [Check(k["id"], k["text"], k["category"]) for k in r["checks"]])
            for r in reads.concepts(store)]


def concept(store: Store, concept_id: str) -> Concept:
    found = {c.id: c for c in concepts(store)}
    if concept_id not in found:
        if reads.outside_scope(store, "concepts", id=concept_id):
            raise Denied(f"Kvalitetskonceptet '{concept_id}' hører til en anden forvaltning "
                         "end din.")
        known = ", ".join(found) or "ingen"
        raise AuditUsageError(f"Ukendt kvalitetskoncept '{concept_id}': brug en af {known}.")
    return found[concept_id]


def rounds_of(frequency: str, year: int) -> list[str]:
    return {"kvartal": [f"{year}-Q{q}" for q in range(1, 5)],
            "halvaar": [f"{year}-H1", f"{year}-H2"], "aar": [str(year)]}.get(frequency, [])


def round_period(c: Concept, round_label: str) -> Period:
    """The round's period; it must be of the concept's frequency (2014-Q1 for quarterly)."""
    try:
        p = Period.parse(round_label)
    except PeriodError as exc:
        raise AuditUsageError(str(exc)) from exc
    want = FREQUENCY_KIND.get(c.frequency)
    if p.kind != want:
        example = rounds_of(c.frequency, 2014)[0] if want else "?"
        raise AuditUsageError(
            f"Runden '{round_label}' passer ikke til {c.name}, som gennemgås "
            f"{_freq_text(c.frequency)}: skriv runden som fx {example}.")
    return p


def deadline(p: Period) -> date:
    """The last day of the month after the round's period."""
    nxt = p.end + timedelta(days=1)
    month_after = date(nxt.year + (nxt.month == 12), nxt.month % 12 + 1, 1)
    return month_after - timedelta(days=1)


@dataclass
class RoundState:
    concept: Concept
    round: str
    period: Period
    deadline: date
    status: str
    drawn: int = 0  # cases in the sample
    answered: int = 0  # (case, check) pairs answered by an internal reviewer
    expected: int = 0  # cases in the sample × checks
    imported: bool = False  # reviews exist in the store from another source

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def progress_pct(self) -> float | None:
        return round(100 * self.answered / self.expected, 1) if self.expected else None


def round_states(store: Store, year: int, today: date | None = None,
                 concept_id: str | None = None) -> list[RoundState]:
    """Every round of ``year`` for every concept (or one), with its state on ``today``."""
    today = today or date.today()
    cs = [c for c in concepts(store) if concept_id in (None, c.id)]
    labels = {r for c in cs for r in rounds_of(c.frequency, year)}
    if not labels:
        return []
    facts = reads.audit_round_facts(store, sorted(labels), SOURCE)
    closed, drawn, answered = facts["status"], facts["drawn"], facts["answered"]
    imported = facts["imported"]
    out = []
    for c in cs:
        for label in rounds_of(c.frequency, year):
            p = Period.parse(label)
            key = (c.id, label)
            due = deadline(p)
            n = drawn.get(key, 0)
            a = answered.get(key, 0)
            if closed.get(key) == "afsluttet" or (key in imported and key not in closed):
                status = "afsluttet"
            elif today > due:
                status = "forsinket"
            elif a:
                status = "i_gang"
            elif today > p.end or n:
                status = "skal_gennemfoeres"
            else:
                status = "planlagt"
            out.append(RoundState(c, label, p, due, status, n, a, n * len(c.checks),
                                  key in imported))
    return out


def _freq_text(frequency: str) -> str:
    return {"kvartal": "kvartalsvis", "halvaar": "halvårligt", "aar": "årligt"}.get(
        frequency, frequency)
