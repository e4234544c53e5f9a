"""Review entry: answers check by check, CSV import for offline reviewers, closing and
reopening a round, calibration cases and the round's history.

Every answer is appended to ``audit_answers`` with who, when and how (web form or CSV); the
latest answer per (case, check, reviewer) counts. Closing a round publishes its answers as one
import batch of ``reviews`` (source ``kvalitetsopfoelgning``), which is what the audit KPIs
read; a reopened and closed-again round adds new versions only for changed answers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from ..contract import KINDS
from ..contract.codes import REVIEW_RESULTS, REVIEWER_ROLES
from ..store import Store, reads
from .plan import AuditError, AuditUsageError, concept
from .sampling import SOURCE, Sample, event, load_sample

# Result words a reviewer may type in a CSV file, besides the codes themselves.
RESULT_WORDS = {**{v.lower(): k for k, v in REVIEW_RESULTS.items()},
                "ikke relevant": "ikke_relevant", "i.r.": "ikke_relevant", "ir": "ikke_relevant"}


@dataclass
class Answer:
    case_id: str
    check: str
    reviewer: str
    reviewer_role: str
    result: str
    note: str | None
    answered_at: datetime
    via: str


@dataclass
class CsvReport:
    loaded: int = 0
    rejects: list[dict] = field(default_factory=list)  # row, field, value, reason


def _open_sample(store: Store, concept_id: str, round_label: str) -> Sample:
    s = load_sample(store, concept_id, round_label)
    if s is None:
        c = concept(store, concept_id)
        raise AuditError(f"Der er ikke trukket en stikprøve for {c.name} i runden {round_label} "
                         "endnu.")
    return s


def _writable(s: Sample) -> None:
    if s.status == "afsluttet":
        raise AuditError(f"Runden {s.round} for {s.concept.name} er afsluttet; genåbn den med en "
                         "begrundelse for at ændre svar.")


def _checked(s: Sample, case_id: str, check: str, result: str, reviewer: str,
             role: str) -> tuple[str, str]:
    """Validated (result, reviewer); raises AuditUsageError with a Danish sentence."""
    if case_id not in {x.case_id for x in s.cases}:
        raise AuditUsageError(f"Sagen {case_id} er ikke med i stikprøven for runden {s.round}.")
    if check not in {k.id for k in s.concept.checks}:
        raise AuditUsageError(f"Kontrolpunktet '{check}' findes ikke i konceptet "
                              f"{s.concept.name}.")
    result = RESULT_WORDS.get(str(result).strip().lower(), str(result).strip().lower())
    if result not in REVIEW_RESULTS:
        raise AuditUsageError(f"Ukendt resultat '{result}': brug ok, fejl eller ikke relevant.")
    if role not in REVIEWER_ROLES:
        raise AuditUsageError(f"Ukendt rolle '{role}': brug intern eller ekstern.")
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise AuditUsageError("Skriv bedømmerens navn, før svaret gemmes.")
    return result, reviewer


def save_answer(store: Store, concept_id: str, round_label: str, case_id: str, check: str,
                result: str, reviewer: str, role: str = "intern", note: str | None = None,
                via: str = "web", now: datetime | None = None) -> Answer:
    """Record one answer (appended; the latest per case, check and reviewer counts)."""
    s = _open_sample(store, concept_id, round_label)
    _writable(s)
    result, reviewer = _checked(s, case_id, check, result, reviewer, role)
    a = Answer(case_id, check, reviewer, role, result, (note or "").strip() or None,
               now or datetime.now().replace(microsecond=0), via)
    with store.transaction():
        _append(store, s, [a])
    return a


def _append(store: Store, s: Sample, answers: list[Answer]) -> None:
    first = store.next_id("audit_answers")
    store.append("audit_answers", [{
        "id": first + i, "concept": s.concept.id, "round": s.round, **a.__dict__}
        for i, a in enumerate(answers)])


def answers(store: Store, concept_id: str, round_label: str, case_id: str | None = None,
            history: bool = False) -> list[Answer]:
    """Current answers of a round (or every answer ever given, with ``history``)."""
    rows = [Answer(r["case_id"], r["check"], r["reviewer"], r["reviewer_role"], r["result"],
                   r["note"], r["answered_at"], r["via"])
            for r in reads.audit_answers(store, concept_id, round_label, case_id)]
    if history:
        return rows
    latest: dict[tuple, Answer] = {}
    for a in rows:
        latest[(a.case_id, a.check, a.reviewer_role)] = a  # one verdict per case, check, role
    return list(latest.values())


@dataclass
class CaseProgress:
    position: int
    case_id: str
    unit: str | None
    calibration: bool
    answered: int  # checks answered by an internal reviewer
    checks: int
    errors: int
    external: int  # checks answered by an external reviewer

    @property
    def done(self) -> bool:
        return self.answered >= self.checks


def progress(store: Store, s: Sample) -> list[CaseProgress]:
    cur = answers(store, s.concept.id, s.round)
    out = []
    for x in s.cases:
        mine = [a for a in cur if a.case_id == x.case_id]
        intern = {a.check for a in mine if a.reviewer_role == "intern"}
        errors = {a.check for a in mine if a.reviewer_role == "intern" and a.result == "fejl"}
        ext = {a.check for a in mine if a.reviewer_role == "ekstern"}
        out.append(CaseProgress(x.position, x.case_id, x.unit, x.calibration, len(intern),
                                len(s.concept.checks), len(errors), len(ext)))
    return out


def import_csv(store: Store, concept_id: str, round_label: str, path: str | Path,
               reviewer: str | None = None, now: datetime | None = None) -> CsvReport:
    """Answers from a reviewer's CSV/XLSX file: columns case_id, check, result, and optionally
    note, reviewer, reviewer_role. Valid rows are saved; every rejected row is reported."""
    from ..ingest.read import ROW, ReadError, read_table, shown_name
    from ..ingest.validate import unstorable
    from ..settings import Settings

    s = _open_sample(store, concept_id, round_label)
    _writable(s)
    settings = Settings()
    try:
        df = read_table(Path(path), settings)
    except ReadError as exc:
        raise AuditUsageError(str(exc)) from exc
    df = df.rename({c: c.strip().lower() for c in df.columns if c != ROW})
    df, too_long = unstorable(df, settings.import_max_field_chars)
    missing = [c for c in ("case_id", "check", "result") if c not in df.columns]
    if missing:
        raise AuditUsageError(f"Filen {shown_name(path)} mangler kolonnen {missing[0]}; der "
                              "skal være kolonnerne case_id, check og result (og evt. note, "
                              "reviewer, reviewer_role).")
    report = CsvReport(rejects=[{"row": r[ROW], "reason": r["reason"]}
                                for r in too_long.unique(ROW, keep="first", maintain_order=True)
                                .iter_rows(named=True)])
    good: list[Answer] = []
    when = now or datetime.now().replace(microsecond=0)
    for r in df.iter_rows(named=True):
        who = r.get("reviewer") or reviewer or ""
        try:
            res, who = _checked(s, str(r.get("case_id") or "").strip(),
                                str(r.get("check") or "").strip(), r.get("result") or "", who,
                                (r.get("reviewer_role") or "intern").strip().lower())
        except AuditUsageError as exc:
            report.rejects.append({"row": r[ROW], "reason": str(exc)})
            continue
        good.append(Answer(str(r["case_id"]).strip(), str(r["check"]).strip(), who,
                           (r.get("reviewer_role") or "intern").strip().lower(), res,
                           (r.get("note") or "").strip() or None, when, "csv"))
    if good:
        with store.transaction():
            _append(store, s, good)
            event(store, s.concept.id, s.round, "svar indlæst fra fil", reviewer, None,
                  f"{len(good)} svar fra {shown_name(path)}, {len(report.rejects)} afvist", when)
    report.loaded = len(good)
    return report


def close_round(store: Store, concept_id: str, round_label: str, actor: str | None = None,
                now: datetime | None = None) -> int:
    """Close a fully reviewed round and publish its answers as reviews. Returns the batch."""
    s = _open_sample(store, concept_id, round_label)
    _writable(s)
    missing = [p for p in progress(store, s) if not p.done]
    if missing:
        raise AuditError(f"Runden kan ikke afsluttes: {len(missing)} af {len(s.cases)} sager "
                         f"mangler svar (fx sag {missing[0].case_id}).")
    now = now or datetime.now().replace(microsecond=0)
    units = {x.case_id: x.unit for x in s.cases}
    cur = answers(store, s.concept.id, s.round)
    # a case's reviewer (per role) is whoever answered it first, so that a changed answer
    # replaces the published review instead of adding a second one
    first: dict[tuple, str] = {}
    for a in answers(store, s.concept.id, s.round, history=True):
        first.setdefault((a.case_id, a.reviewer_role), a.reviewer)
    kind = KINDS["reviews"]
    recs = pl.DataFrame([{
        "round": s.round, "concept": s.concept.id, "case_id": a.case_id,
        "unit": units.get(a.case_id), "reviewer": first[(a.case_id, a.reviewer_role)],
        "reviewer_role": a.reviewer_role, "check": a.check, "result": a.result}
        for a in cur], schema={f: pl.Utf8 for f in kind.names})
    recs = recs.with_columns(
        _source=pl.lit(SOURCE),
        _key=pl.concat_str([pl.col(k).fill_null("") for k in kind.key], separator="|"))
    with store.transaction():
        batch = store.next_batch_id()
        w = store.write_records(kind, batch, recs.to_arrow())
        store.record_batch({
            "id": batch, "kind": "reviews", "source": SOURCE,
            "file": f"runde {s.concept.id} {s.round}", "sha256": None,
            "covers_start": None, "covers_end": None, "covers_declared": False,
            "rows_read": recs.height, "rows_loaded": w.loaded, "rows_unchanged": w.unchanged,
            "rows_rejected": 0, "status": "indlæst", "strict": False, "loaded_at": now,
            "message": f"Runden {s.round} for {s.concept.name} afsluttet"}, None)
        store.update("audit_rounds", {"status": "afsluttet", "closed_at": now, "batch": batch},
                     {"concept": s.concept.id, "round": s.round})
        event(store, s.concept.id, s.round, "afsluttet", actor, None,
              f"{w.loaded} nye eller ændrede gennemgange i batch {batch}", now)
    return batch


def reopen_round(store: Store, concept_id: str, round_label: str, reason: str,
                 actor: str | None = None, now: datetime | None = None) -> None:
    """Reopen a closed round; a reason is required and kept in the history."""
    s = _open_sample(store, concept_id, round_label)
    if s.status != "afsluttet":
        raise AuditError(f"Runden {s.round} for {s.concept.name} er ikke afsluttet.")
    if not (reason or "").strip():
        raise AuditUsageError("En afsluttet runde kan kun genåbnes med en begrundelse.")
    with store.transaction():
        store.update("audit_rounds", {"status": "åben"},
                     {"concept": s.concept.id, "round": s.round})
        event(store, s.concept.id, s.round, "genåbnet", actor, reason.strip(), None, now)


def choose_calibration(store: Store, concept_id: str, round_label: str, n: int | None = None,
                       case_ids: list[str] | None = None, actor: str | None = None) -> list[str]:
    """Mark cases of the sample for a second (external) reviewer: the given ones, or ``n``
    drawn reproducibly from the round's seed (default: a fifth of the sample, at least 5)."""
    s = _open_sample(store, concept_id, round_label)
    ids = [x.case_id for x in s.cases]
    if case_ids:
        unknown = [c for c in case_ids if c not in ids]
        if unknown:
            raise AuditUsageError(f"Sagen {unknown[0]} er ikke med i stikprøven for runden "
                                  f"{s.round}.")
        chosen = [c for c in ids if c in set(case_ids)]
    else:
        n = n if n is not None else max(5, math.ceil(len(ids) / 5))
        if n < 1:
            raise AuditUsageError("Vælg mindst én sag til kalibrering.")
        rng = random.Random(f"kalibrering-{s.seed}")
        chosen = sorted(rng.sample(ids, min(n, len(ids))), key=ids.index)
    with store.transaction():
        store.update("audit_samples", {"calibration": False},
                     {"concept": s.concept.id, "round": s.round})
        for cid in chosen:
            store.update("audit_samples", {"calibration": True},
                         {"concept": s.concept.id, "round": s.round, "case_id": cid})
        event(store, s.concept.id, s.round, "kalibrering valgt", actor, None,
              f"{len(chosen)} sager til anden bedømmer")
    return chosen


@dataclass
class Disagreement:
    case_id: str
    check: str
    intern: str
    ekstern: str


def disagreements(store: Store, concept_id: str, round_label: str) -> list[Disagreement]:
    """(case, check) pairs where the internal and the external review differ, from the
    reviews the agreement KPI reads."""
    rows = [(r["case_id"], r["check"], r["reviewer_role"], r["result"])
            for r in reads.round_reviews(store, concept_id, round_label)]  # inside the scope
    by: dict[tuple, dict[str, str]] = {}
    for cid, chk, role, res in sorted(rows, key=lambda r: (str(r[0]), str(r[1]), r[2], r[3])):
        by.setdefault((cid, chk), {}).setdefault(role, res)
    return [Disagreement(cid, chk, r["intern"], r["ekstern"])
            for (cid, chk), r in sorted(by.items())
            if "intern" in r and "ekstern" in r and r["intern"] != r["ekstern"]]


@dataclass
class Event:
    at: datetime
    action: str
    actor: str | None
    reason: str | None
    detail: str | None


def history(store: Store, concept_id: str, round_label: str) -> list[Event]:
    return [Event(r["at"], r["action"], r["actor"], r["reason"], r["detail"])
            for r in reads.audit_events(store, concept_id, round_label)]
