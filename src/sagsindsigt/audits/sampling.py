"""Reproducible samples for a round, and the sample-size calculator.

The population is the store's current cases of the concept's administration and benefit area
that were decided inside the round's period. It is sorted in Python by (case id, source), and
the draw uses Python's ``random.Random(seed)``, so the same seed gives the same sample on every
engine. Stratified samples allocate the size to units in proportion to their population
(largest remainders, ties by unit name) and draw within each unit in unit order.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from ..stats import attribute_sample_size
from ..store import Store, reads
from .plan import SOURCE, AuditError, AuditUsageError, Concept, concept, round_period

STRATA = {"unit": "enhed"}
NO_UNIT = "(ikke oplyst)"


@dataclass
class SampleCase:
    position: int
    case_id: str
    source: str
    unit: str | None
    case_type: str | None
    decided: date | None
    calibration: bool = False


@dataclass
class Sample:
    concept: Concept
    round: str
    seed: int | None
    size: int
    stratify: str | None
    population: int
    cases: list[SampleCase] = field(default_factory=list)
    status: str = "åben"
    drawn_at: datetime | None = None
    drawn_by: str | None = None

    def allocation(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cases:
            out[c.unit or NO_UNIT] = out.get(c.unit or NO_UNIT, 0) + 1
        return dict(sorted(out.items()))


def sample_size(confidence: float, tolerable: float, expected: float,
                population: int | None = None) -> int:
    """The attribute-sampling size (stats.attribute_sample_size) with Danish usage errors."""
    try:
        return attribute_sample_size(confidence, tolerable, expected, population)
    except ValueError as exc:
        raise AuditUsageError(str(exc)) from exc


def population(store: Store, c: Concept, round_label: str) -> list[SampleCase]:
    """The cases a round draws from, in a fixed order (case id, then source)."""
    p = round_period(c, round_label)
    rows = reads.decided_cases(store, c.administration, c.benefit_area, p.start, p.end)
    rows.sort(key=lambda r: (str(r["case_id"]), str(r["_source"])))
    return [SampleCase(0, str(r["case_id"]), r["_source"], r["unit"], r["case_type"],
                       r["decided"]) for r in rows]


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of ``n`` over strata of the given sizes (largest remainders)."""
    total = sum(sizes.values())
    if total == 0:
        return dict.fromkeys(sizes, 0)
    n = min(n, total)
    exact = {k: n * v / total for k, v in sizes.items()}
    out = {k: int(x) for k, x in exact.items()}
    rest = n - sum(out.values())
    order = sorted(sizes, key=lambda k: (-(exact[k] - out[k]), k))
    for k in order[:rest]:
        out[k] += 1
    return out


def pick(cases: list[SampleCase], n: int, seed: int, stratify: str | None) -> list[SampleCase]:
    """The draw itself: pure and deterministic for a given ordered population and seed."""
    rng = random.Random(seed)
    if stratify is None:
        chosen = [cases[i] for i in rng.sample(range(len(cases)), min(n, len(cases)))]
    else:
        strata: dict[str, list[SampleCase]] = {}
        for c in cases:
            strata.setdefault(c.unit or NO_UNIT, []).append(c)
        alloc = allocate({k: len(v) for k, v in strata.items()}, n)
        chosen = []
        for k in sorted(strata):
            chosen += [strata[k][i] for i in rng.sample(range(len(strata[k])), alloc[k])]
    return [SampleCase(i, c.case_id, c.source, c.unit, c.case_type, c.decided)
            for i, c in enumerate(chosen, start=1)]


def draw(store: Store, concept_id: str, round_label: str, size: int | None = None,
         stratify: str | None = None, seed: int | None = None, actor: str | None = None,
         now: datetime | None = None) -> Sample:
    """Draw (or redraw, while nobody has answered) a round's sample and record it."""
    c = concept(store, concept_id)
    round_period(c, round_label)
    if stratify not in (None, "", *STRATA):
        raise AuditUsageError(f"Ukendt opdeling '{stratify}': brug unit (enhed).")
    stratify = stratify or None
    if size is not None and size < 1:
        raise AuditUsageError(f"Stikprøvestørrelsen skal være mindst 1, ikke {size}.")
    if seed is not None and not 0 <= seed < 2**63:
        raise AuditUsageError(f"Seed skal være et ikke-negativt heltal, ikke {seed}.")
    state = reads.audit_round(store, c.id, round_label)
    if state and state["status"] == "afsluttet":
        raise AuditError(f"Runden {round_label} for {c.name} er afsluttet; genåbn den med en "
                         "begrundelse, før der trækkes en ny stikprøve.")
    if reads.audit_answers(store, c.id, round_label):
        raise AuditError(f"Der er allerede svar i runden {round_label} for {c.name}; en ny "
                         "stikprøve ville gøre dem ugyldige.")
    other = sorted({r["_source"] for r in reads.round_reviews(store, c.id, round_label)}
                   - {SOURCE})
    if other:
        raise AuditError(f"Runden {round_label} for {c.name} har allerede gennemgange indlæst "
                         f"fra kilden '{other[0]}'; en stikprøve her ville tælle sagerne to "
                         "gange.")
    pop = population(store, c, round_label)
    if not pop:
        raise AuditError(f"Der er ingen afgjorte sager for {c.name} ({c.administration}) i "
                         f"{round_period(c, round_label).danish()} at trække en stikprøve fra.")
    n = size or c.sample_size or sample_size(95, 5, 0, len(pop))
    n = min(n, len(pop))
    seed = secrets.randbelow(1_000_000) if seed is None else seed
    chosen = pick(pop, n, seed, stratify)
    now = now or datetime.now().replace(microsecond=0)
    s = Sample(c, round_label, seed, n, stratify, len(pop), chosen, "åben", now, actor)
    with store.transaction():
        store.delete("audit_samples", {"concept": c.id, "round": round_label})
        store.delete("audit_rounds", {"concept": c.id, "round": round_label})
        store.append("audit_rounds", [{
            "concept": c.id, "round": round_label, "status": "åben", "seed": seed, "size": n,
            "stratify": stratify, "population": len(pop), "drawn_at": now, "drawn_by": actor}])
        store.append("audit_samples", [{
            "concept": c.id, "round": round_label, "position": x.position, "case_id": x.case_id,
            "_source": x.source, "unit": x.unit, "case_type": x.case_type,
            "decided": x.decided, "calibration": False} for x in chosen])
        event(store, c.id, round_label, "stikprøve trukket", actor, None,
              f"{n} af {len(pop)} sager, seed {seed}"
              + (f", opdelt efter {STRATA[stratify]}" if stratify else ""), now)
    return s


def load_sample(store: Store, concept_id: str, round_label: str) -> Sample | None:
    """The round's recorded sample, or None when none is drawn."""
    c = concept(store, concept_id)
    round_period(c, round_label)
    r = reads.audit_round(store, c.id, round_label)
    if r is None:
        return None
    cases = [SampleCase(int(x["position"]), x["case_id"], x["_source"], x["unit"],
                        x["case_type"], x["decided"], bool(x["calibration"]))
             for x in reads.audit_sample(store, c.id, round_label)]  # inside the scope
    return Sample(c, round_label, r["seed"], int(r["size"] or 0), r["stratify"],
                  int(r["population"] or 0), cases, r["status"], r["drawn_at"], r["drawn_by"])


def event(store: Store, concept_id: str, round_label: str, action: str, actor: str | None,
          reason: str | None, detail: str | None, now: datetime | None = None) -> None:
    """Append one line to the round's history (call inside a transaction)."""
    store.append("audit_events", [{
        "id": store.next_id("audit_events"), "concept": concept_id, "round": round_label,
        "at": now or datetime.now().replace(microsecond=0), "action": action, "actor": actor,
        "reason": reason, "detail": detail}])
