"""Reproducible samples for a round, and the sample-size calculator.

The population is the store's current cases of the concept's administration and benefit area
that were decided inside the round's period. It is sorted in Python by (case id, source), and
the draw uses Python's ``random.Random(seed)``, so the same seed gives the same sample on every
engine. Stratified samples allocate the size to units in proportion to their population
(largest remainders, ties by unit name) and draw within each unit in unit order.
"""

from __future__ import annotations

import io
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa

from ..stats import attribute_sample_size
from ..store import AUDIT_TABLES, Store, _arrow_schema
from .plan import AuditError, AuditUsageError, Concept, concept, ready, round_period

STRATA = {"unit": "enhed"}
SOURCE = "kvalitetsopfoelgning"  # the source of reviews published from the workflow
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
    rows = store.engine.query(
        "SELECT case_id, _source, unit, case_type, decided FROM cases "
        "WHERE administration = ? AND benefit_area = ? AND decided >= ? AND decided <= ?",
        [c.administration, c.benefit_area, p.start, p.end])
    rows.sort(key=lambda r: (str(r[0]), str(r[1])))
    return [SampleCase(0, str(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


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
    ready(store)
    e = store.engine
    status = e.query("SELECT status FROM audit_rounds WHERE concept = ? AND round = ?",
                     [c.id, round_label])
    if status and status[0][0] == "afsluttet":
        raise AuditError(f"Runden {round_label} for {c.name} er afsluttet; genåbn den med en "
                         "begrundelse, før der trækkes en ny stikprøve.")
    if e.query("SELECT count(*) FROM audit_answers WHERE concept = ? AND round = ?",
               [c.id, round_label])[0][0]:
        raise AuditError(f"Der er allerede svar i runden {round_label} for {c.name}; en ny "
                         "stikprøve ville gøre dem ugyldige.")
    other = e.query("SELECT min(_source) FROM reviews WHERE concept = ? AND round = ? AND "
                    "_source <> ?", [c.id, round_label, SOURCE])[0][0]
    if other is not None:
        raise AuditError(f"Runden {round_label} for {c.name} har allerede gennemgange indlæst "
                         f"fra kilden '{other}'; en stikprøve her ville tælle sagerne to gange.")
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
    with e.transaction():
        e.execute("DELETE FROM audit_samples WHERE concept = ? AND round = ?", [c.id, round_label])
        e.execute("DELETE FROM audit_rounds WHERE concept = ? AND round = ?", [c.id, round_label])
        _insert(store, "audit_rounds", [{
            "concept": c.id, "round": round_label, "status": "åben", "seed": seed, "size": n,
            "stratify": stratify, "population": len(pop), "drawn_at": now, "drawn_by": actor}])
        _insert(store, "audit_samples", [{
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
    ready(store)
    e = store.engine
    r = e.query("SELECT seed, size, stratify, population, status, drawn_at, drawn_by "
                "FROM audit_rounds WHERE concept = ? AND round = ?", [c.id, round_label])
    if not r:
        return None
    seed, size, stratify, pop, status, drawn_at, drawn_by = r[0]
    rows = e.query("SELECT position, case_id, _source, unit, case_type, decided, calibration "
                   "FROM audit_samples WHERE concept = ? AND round = ? ORDER BY position",
                   [c.id, round_label])
    from ..access import current

    scope = current().data_scope  # only the cases inside the acting scope
    cases = [SampleCase(int(p), cid, src, u, ct, d, bool(cal))
             for p, cid, src, u, ct, d, cal in rows if scope.contains(c.administration, u)]
    return Sample(c, round_label, seed, int(size or 0), stratify, int(pop or 0), cases, status,
                  drawn_at, drawn_by)


def sample_xlsx(s: Sample) -> bytes:
    """The sample list for reviewers: one sheet of cases, one of the concept's checks."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Stikprøve"
    ws.append([f"{s.concept.name}, runde {s.round}: {len(s.cases)} af {s.population} sager, "
               f"seed {s.seed}" + (", opdelt efter enhed" if s.stratify else "")])
    ws.append(["Nr.", "Sags-id", "Enhed", "Sagstype", "Afgjort", "Kalibrering"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for x in s.cases:
        ws.append([x.position, x.case_id, x.unit, x.case_type, x.decided,
                   "ja" if x.calibration else ""])
        ws.cell(ws.max_row, 5).number_format = "DD-MM-YYYY"
    ws.freeze_panes = "A3"
    ks = wb.create_sheet("Kontrolpunkter")
    ks.append(["Kontrolpunkt", "Kategori", "Tekst"])
    for cell in ks[1]:
        cell.font = Font(bold=True)
    from ..contract.codes import label

    for k in s.concept.checks:
        ks.append([k.id, label("check_category", k.category), k.text])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def event(store: Store, concept_id: str, round_label: str, action: str, actor: str | None,
          reason: str | None, detail: str | None, now: datetime | None = None) -> None:
    """Append one line to the round's history (call inside a transaction)."""
    nid = store.engine.query("SELECT coalesce(max(id), 0) + 1 FROM audit_events")[0][0]
    _insert(store, "audit_events", [{
        "id": nid, "concept": concept_id, "round": round_label,
        "at": now or datetime.now().replace(microsecond=0), "action": action, "actor": actor,
        "reason": reason, "detail": detail}])


def _insert(store: Store, table: str, rows: list[dict]) -> None:
    cols = AUDIT_TABLES[table]
    names = [c for c, _ in cols]
    data = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows],
                                schema=_arrow_schema(cols))
    if data.num_rows:
        store.engine.load_arrow(table, data)
