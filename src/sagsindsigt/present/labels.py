"""Names for codes, wherever a person reads: units, case types, concepts, checks, timeliness
rules, targets, dimensions and code lists, with the code in parentheses where people use codes
("Handicapcenter København (HCK)"). And the line every output carries to say whose data it
shows: "Jobcenter Amager (JCA)", never the parent's name for a part of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..access import ALL, Scope, current
from ..calendar import MONTHS_DA
from ..contract import KINDS
from ..contract.codes import ADMINISTRATIONS, CODE_LISTS, DIRECTIONS
from ..danish import value as dk_value
from ..store import reads

DIM_LABELS = {
    "administration": "Forvaltning", "unit": "Center/enhed", "case_type": "Sagstype",
    "benefit_area": "Ydelsesområde", "kind": "Klagetype", "points": "Klagepunkt",
    "channel": "Kanal", "via": "Modtaget via", "outcome": "Udfald",
    "appeal_outcome": "Ankestyrelsens afgørelse", "strengthened_contact": "Styrket borgerkontakt",
    "concept": "Kvalitetskoncept", "round": "Runde", "check": "Kontrolpunkt",
    "category": "Kategori", "reviewer_role": "Bedømmer", "rule": "Regel", "month": "Måned",
    "age_band": "Alder",
}
# dimensions whose values come from a code list of the data contract
DIM_CODES = {"administration": "administration", "kind": "complaint_kind",
             "points": "complaint_point", "channel": "channel", "via": "via",
             "outcome": "complaint_outcome", "appeal_outcome": "appeal_outcome",
             "category": "check_category", "reviewer_role": "reviewer_role"}
NOT_GIVEN = "(ikke oplyst)"
# a KPI's unit in words (definitions in report appendices)
UNIT_NAMES = {"antal": "antal", "%": "procent", "dage": "dage"}
# record kinds as people call them (batches on the Data page and in report appendices)
KIND_LABELS = {k.name: k.label[:1].upper() + k.label[1:] for k in KINDS.values()}


def with_code(name: str | None, code: str) -> str:
    """``Name (CODE)``; the code alone when no name is known."""
    return f"{name} ({code})" if name and name != code else code


def scope_label(scope: Scope) -> str:
    """Whose data: "Hele kommunen", "Beskæftigelses- og Integrationsforvaltningen (BIF)",
    "Jobcenter Amager (JCA)"."""
    if scope.everything:
        return "Hele kommunen"
    return with_code(scope.name or ADMINISTRATIONS.get(scope.code), scope.code)


@dataclass
class Labels:
    """The names a caller may read, from the store's scoped readers (so a name outside the
    caller's scope is never looked up), and the caller's data scope."""

    scope: Scope = ALL
    units: dict[str, str] = field(default_factory=dict)  # organisation code → name
    case_types: dict[str, str] = field(default_factory=dict)
    concepts: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)  # check id → text, when unique
    rules: dict[str, str] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, store) -> Labels:
        """The labels of the acting principal (reads inside its scope), kept in the store
        with the figures (:func:`sagsindsigt.kpis.keep.cached`): a one-shot report names its
        rows without reading the organisation again."""
        from ..kpis import keep

        return cls(scope=current().data_scope,
                   **keep.cached(store, ("labels",), lambda: cls._names(store)))

    @classmethod
    def _names(cls, store) -> dict[str, dict[str, str]]:
        texts: dict[str, set[str]] = {}
        concepts = reads.concepts(store)
        for c in concepts:
            for k in c["checks"]:
                texts.setdefault(k["id"], set()).add(k["text"])
        lab = cls(
            scope=current().data_scope,
            units={n.code: n.name for n in reads.organisation(store)},
            case_types={r["code"]: r["name"] for r in reads.case_types(store)},
            concepts={c["id"]: c["name"] for c in concepts},
            checks={k: next(iter(v)) for k, v in texts.items() if len(v) == 1},
            rules={r["id"]: r["name"] for r in reads.timeliness_rules(store)})
        lab.targets = {t["id"]: lab.target(t) for t in reads.targets(store)}
        return {f: getattr(lab, f) for f in ("units", "case_types", "concepts", "checks",
                                             "rules", "targets")}

    # -- dimensions and their members -------------------------------------------------------
    def dim(self, dim: str) -> str:
        if dim == "administration" and self.scope.units is not None:
            return "Område"  # a centre's reader: the rows are the centre, not its parent
        return DIM_LABELS.get(dim, dim)

    def name(self, dim: str, value: Any) -> str:
        """A member of a dimension as people read it."""
        if value is None:
            return NOT_GIVEN
        if dim == "administration":
            if self.scope.units is not None and value in (self.scope.administrations or ()):
                return scope_label(self.scope)  # a part of it: named as the part
            return ADMINISTRATIONS.get(value) or self.units.get(value) or str(value)
        if dim == "unit":
            return with_code(self.units.get(value), str(value))
        if dim == "case_type":
            return with_code(self.case_types.get(value), str(value))
        if dim == "concept":
            return self.concepts.get(value, str(value))
        if dim == "check":
            text = self.checks.get(value)
            return f"{value}: {text}" if text else str(value)
        if dim == "rule":
            return self.rules.get(value, str(value))
        if dim == "strengthened_contact":
            return "Ja" if value in (True, "true") else "Nej"
        if dim == "month":
            y, _, m = str(value).partition("-")
            return f"{MONTHS_DA[int(m) - 1]} {y}" if m.isdigit() else str(value)
        if dim in DIM_CODES:
            return CODE_LISTS[DIM_CODES[dim]].get(value, str(value))
        return str(value)

    def node(self, code: str | None) -> str:
        """An organisation node (administration or unit) with its code, for scope lines and
        filters."""
        if code is None:
            return scope_label(ALL)
        return with_code(ADMINISTRATIONS.get(code) or self.units.get(code), code)

    def where(self, administration: str | None = None, unit: str | None = None,
              case_type: str | None = None) -> str:
        """Whose data a view with these filters shows, inside the caller's scope: the
        narrowest of the filters and the scope, by name."""
        if unit:
            text = self.node(unit)
        elif administration and (self.scope.everything or self.scope.units is None):
            text = self.node(administration)
        else:
            text = scope_label(self.scope)
        if case_type:
            text += f", {self.name('case_type', case_type)}"
        return text

    def scope_of(self, administration: str | None = None, unit: str | None = None,
                 case_type: str | None = None) -> dict[str, str]:
        """Whose data, for machines and file names: the code and the name (``where``)."""
        centre = self.scope.units is not None
        code = unit or (None if centre else administration) or self.scope.code
        return {"code": code, "name": self.where(administration, unit, case_type)}

    def scope_of_where(self, where: dict[str, list[str]]) -> dict[str, str]:
        """``scope_of`` for a query's filters (one value per dimension counts)."""
        one = {d: v[0] for d, v in where.items() if len(v) == 1}
        return self.scope_of(one.get("administration"), one.get("unit"), one.get("case_type"))

    # -- targets ---------------------------------------------------------------------------
    def target(self, t: dict[str, Any]) -> str:
        """A target's name, or what it says when it has none: "Korrekte sager mindst 95 %,
        Beskæftigelses- og Integrationsforvaltningen, 2014"."""
        if t.get("name"):
            return str(t["name"])
        from ..kpis import KpiUsageError
        from ..kpis import get as get_kpi

        try:
            kd = get_kpi(t["kpi"])
            what, unit = kd.label, kd.unit
        except KpiUsageError:
            what, unit = str(t["kpi"]), ""
        word = DIRECTIONS.get(t.get("direction"), "").lower()
        if t.get("value") is not None:
            goal = f"{word} {dk_value(t['value'], unit)}"
        elif t.get("relative_period"):
            factor = f"{t['relative_factor']:g}".replace(".", ",")
            goal = f"{word} {factor} × {t['relative_period']}"
        else:
            goal = ""
        where = ", ".join(self.name(d, t[d]) for d in ("administration", "unit", "case_type")
                          if t.get(d)) or "hele kommunen"
        return f"{what} {goal}, {where}, {t.get('period')}".replace("  ", " ")


__all__ = ["DIM_CODES", "DIM_LABELS", "KIND_LABELS", "NOT_GIVEN", "UNIT_NAMES", "Labels",
           "scope_label", "with_code"]
