"""Targets (måltal): met, not met or no data, for a KPI, scope and period (kpis.md)."""

from __future__ import annotations

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


def all_targets(store) -> list[dict]:
    t = store.table("targets")
    return t.order_by("id").to_pyarrow().to_pylist()
