"""Targets (måltal): met, not met or no data, for a KPI, scope and period (kpis.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .kpis import KpiUsageError, Query, compute

STATUS_LABELS = {"met": "Opfyldt", "not_met": "Ikke opfyldt", "no_data": "Ingen data"}


@dataclass
class TargetStatus:
    id: str
    kpi: str
    scope: dict[str, str]
    period: str
    direction: str
    target: float | None
    actual: float | None
    status: str  # met | not_met | no_data
    note: str | None = None
    unit: str = ""
    kpi_label: str = ""

    @property
    def distance(self) -> float | None:
        if self.target is None or self.actual is None:
            return None
        return round(self.actual - self.target, 2)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


def _value(store, kpi: str, period: str, where: list[str], compute_fn) -> float | None:
    res = compute_fn(kpi, period, where)
    return res.rows[0].value if res.rows else None


def evaluate(store, target: dict, compute_fn=None) -> TargetStatus:
    """One target row (from the ``targets`` table) against the KPI's figure."""
    st = _evaluate(store, target, compute_fn)
    try:
        from .kpis import get

        k = get(target["kpi"])
        st.unit, st.kpi_label = k.unit, k.label
    except KpiUsageError:
        st.kpi_label = target["kpi"]
    return st


def _evaluate(store, target: dict, compute_fn=None) -> TargetStatus:
    compute_fn = compute_fn or (lambda k, p, w: compute(store, Query.make(k, p, [], w)))
    scope = {d: target[d] for d in ("administration", "unit", "case_type") if target.get(d)}
    where = [f"{d}={v}" for d, v in scope.items()]
    goal = target.get("value")
    note = None
    if goal is None and target.get("relative_period"):
        try:
            base = _value(store, target["kpi"], target["relative_period"], where, compute_fn)
        except KpiUsageError:
            base = None
        factor = target.get("relative_factor") or 1
        goal = round(base * factor, 2) if base is not None else None
        if goal is None:
            note = f"ingen data for basisperioden {target['relative_period']}"
    try:
        actual = _value(store, target["kpi"], target["period"], where, compute_fn)
    except KpiUsageError as exc:  # a target on a KPI id the registry does not know
        return TargetStatus(target["id"], target["kpi"], scope, target["period"],
                            target["direction"], goal, None, "no_data", str(exc))
    if goal is None or actual is None:
        status = "no_data"
        note = note or "ingen data for perioden"
    elif target["direction"] == "max":
        status = "met" if actual <= goal else "not_met"
    else:
        status = "met" if actual >= goal else "not_met"
    return TargetStatus(target["id"], target["kpi"], scope, target["period"],
                        target["direction"], goal, actual, status, note)


# -- trend, caution and targets set in a form ------------------------------------------------
VOLUME_KPIS = {"complaints_received", "complaint_rate"}
SUGGESTED_KPI = "procedural_complaint_rate"
CAUTION = (
    "Klagemuligheden er en retssikkerhedsgaranti for borgerne, som ikke bør begrænses af "
    "måltal: antallet af klager varierer ofte med ændringer i serviceniveauet, "
    "omstruktureringer og ny lovgivning (Børne- og Ungdomsudvalget, 2016). Overvej i stedet et "
    "måltal for formalitetsklager i forhold til sagsmængden (procedural_complaint_rate): de "
    "peger på fejl i sagsbehandlingen, som forvaltningen selv kan rette, fx manglende svar, "
    "overskredne frister, partshøring og begrundelser.")


def caution(kpi: str) -> str | None:
    """Seed 001's caution for a target on complaint volume, else None."""
    return CAUTION if kpi in VOLUME_KPIS else None


def trend(target: dict, compute_fn, n: int = 3) -> list[tuple[str, float | None]]:
    """The KPI for the target's scope in the ``n`` periods before the target's period, oldest
    first, as (period label, value)."""
    from .calendar import Period, PeriodError

    try:
        p = Period.parse(str(target["period"]))
    except PeriodError:
        return []
    where = [f"{d}={target[d]}" for d in ("administration", "unit", "case_type")
             if target.get(d)]
    out = []
    for k in range(n, 0, -1):
        label = p.previous(k).label
        try:
            out.append((label, _value(None, target["kpi"], label, where, compute_fn)))
        except KpiUsageError:
            out.append((label, None))
    return out


class TargetError(ValueError):
    """A target from the form that was refused, with one plain Danish reason per field."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(e["reason"] for e in errors))


FORM_SOURCE = "maaltal-formular"
ID = re.compile(r"[A-Za-z0-9_æøåÆØÅ-]{1,64}")


def _outside(spec: dict) -> list[dict[str, str]]:
    """A target must lie inside the writer's scope: the one write rule
    (``Principal.require_within``), told as an error of the field that leaves it."""
    from .access import Denied, current

    try:
        current().require_within(spec.get("administration"), spec.get("unit"))
    except Denied as exc:
        return [{"field": exc.field, "reason": str(exc)}]
    return []


def save_target(store, spec: dict, today=None, settings=None) -> str:
    """Save one target from the form through the importer (the same validation as a YAML
    file of targets); a known id gets a new version. Returns the id."""
    import tempfile
    from pathlib import Path

    import yaml

    from .ingest import import_file
    from .kpis import all_kpis

    spec = {k: v for k, v in spec.items() if v not in (None, "")}
    errors = []
    if spec.get("id") and not ID.fullmatch(str(spec["id"])):
        errors.append({"field": "id", "reason": "id'et må kun have bogstaver, tal, - og _ "
                       "(højst 64 tegn), fx frister_sof_2015"})
    if spec.get("kpi") and spec["kpi"] not in {k.id for k in all_kpis()}:
        errors.append({"field": "kpi", "reason": f"nøgletallet '{spec['kpi']}' findes ikke"})
    has_rel = spec.get("relative_period") or spec.get("relative_factor")
    if spec.get("value") is None and not has_rel:
        errors.append({"field": "value", "reason": "angiv enten en værdi eller en basisperiode "
                       "med en faktor"})
    if has_rel and not (spec.get("relative_period") and spec.get("relative_factor")):
        errors.append({"field": "relative_period", "reason": "et relativt måltal kræver både "
                       "basisperiode og faktor"})
    if spec.get("value") is not None and has_rel:
        errors.append({"field": "value", "reason": "angiv enten en værdi eller en basisperiode, "
                       "ikke begge"})
    if not errors:
        errors += _outside(spec)
    if errors:
        raise TargetError(errors)
    if has_rel:
        spec["relative_to"] = {"period": str(spec.pop("relative_period")),
                               "factor": str(spec.pop("relative_factor"))}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "maaltal-formular.yaml"  # the id is data, never a path
        path.write_text(yaml.safe_dump([{k: str(v) if not isinstance(v, dict) else v
                                         for k, v in spec.items()}], allow_unicode=True),
                        encoding="utf-8")
        res = import_file(store, "targets", path, source=FORM_SOURCE, today=today,
                          settings=settings)
    if res.rows_rejected:
        raise TargetError([{"field": r["field"], "reason": r["reason"]} for r in res.rejects])
    return spec["id"]
