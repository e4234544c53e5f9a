"""Data-quality warnings about what was loaded: the Data page shows them, in Danish.

Each warning says what is wrong, where, and what the figures do about it, so a BI clerk can
decide whether to correct the source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from .calendar import merge_spans
from .contract.codes import ADMINISTRATIONS
from .danish import number
from .store import reads


@dataclass(frozen=True)
class Warning_:
    kind: str  # overlapping_volumes | overlapping_volume_periods | partial_period | ...
    administration: str | None
    message: str  # Danish, one sentence or two

    def as_dict(self) -> dict:
        return asdict(self)


def _admin(code: str | None) -> str:
    if not code:
        return "ukendt forvaltning"
    return f"{ADMINISTRATIONS[code]} ({code})" if code in ADMINISTRATIONS else code


def _dk(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def warnings(store) -> list[Warning_]:
    """Every warning about the data inside the caller's scope, read through the store's
    scoped door (:mod:`sagsindsigt.store.reads` and ``Store.table``)."""
    out: list[Warning_] = []
    out += _overlapping_volumes(store)
    out += _overlapping_volume_periods(store)
    out += _partial_periods(store)
    out += _unknown_codes(store)
    for file, n in reads.pending_rejects(store):
        out.append(Warning_(
            "rejected_rows", None,
            f"{number(n)} {'række' if n == 1 else 'rækker'} i {file} blev afvist og ligger i "
            "karantæne; ret dem i kilden og indlæs filen igen."))
    return out


def _overlapping_volumes(store) -> list[Warning_]:
    """Aggregate volumes for an (administration, case type) that also has case-level rows in
    the same span: the case rows count, the volumes are left out."""
    v = store.table("volumes")
    v = v.filter(v.case_type.notnull())
    spans = v.group_by(["administration", "case_type"]).aggregate(
        start=v.period_start.min(), end=v.period_end.max(), vol=v.cases_received.sum())
    c = store.table("cases")
    c = c.select(c_admin=c.administration, c_type=c.case_type, received=c.received)
    j = spans.left_join(c, (c.c_admin == spans.administration) & (c.c_type == spans.case_type)
                        & (c.received >= spans.start) & (c.received <= spans.end))
    counts = j.group_by(["administration", "case_type", "start", "end", "vol"]).aggregate(
        cases=j.c_admin.count()).order_by(["administration", "case_type"])
    out = []
    for r in store.run(counts).to_dicts():
        if r["cases"]:
            out.append(Warning_(
                "overlapping_volumes", r["administration"],
                f"{_admin(r['administration'])} har både indberettet sagsmængder "
                f"({number(r['vol'])}) og {number(r['cases'])} sager på sagsniveau for "
                f"sagstype {r['case_type']} i perioden {_dk(r['start'])}–{_dk(r['end'])}; "
                "nøgletallene bruger sagerne og ser bort fra sagsmængderne."))
    return out


def _overlapping_volume_periods(store) -> list[Warning_]:
    """Volume rows whose periods overlap for the same administration, unit and case type."""
    v = store.table("volumes")
    a = v.select("administration", "unit", "case_type", s1=v.period_start, e1=v.period_end,
                 k1=v["_key"])
    b = v.select(b_admin=v.administration, b_unit=v.unit, b_type=v.case_type,
                 s2=v.period_start, e2=v.period_end, k2=v["_key"])
    j = a.join(b, (a.administration == b.b_admin)
               & (a.unit.fill_null("") == b.b_unit.fill_null(""))
               & (a.case_type.fill_null("") == b.b_type.fill_null(""))
               & (a.k1 < b.k2) & (a.s1 <= b.e2) & (b.s2 <= a.e1))
    j = j.select("administration", "unit", "case_type", "s1", "e1", "s2", "e2").order_by(
        ["administration", "unit", "case_type", "s1"])
    out = []
    for r in store.run(j).to_dicts():
        unit, ctype = r["unit"], r["case_type"]
        out.append(Warning_(
            "overlapping_volume_periods", r["administration"],
            f"Sagsmængderne for {_admin(r['administration'])}"
            + (f", enhed {unit}" if unit else "") + (f", sagstype {ctype}" if ctype else "")
            + f" dækker overlappende perioder ({_dk(r['s1'])}–{_dk(r['e1'])} og "
            f"{_dk(r['s2'])}–{_dk(r['e2'])}); tal for perioder, der rummer begge, tæller "
            "sagerne to gange."))
    return out


def _partial_periods(store) -> list[Warning_]:
    """A source that delivered only part of a year: that year's figures are estimates."""
    spans: dict[tuple[str, str, int], list[tuple[date, date]]] = {}
    seen = set()
    for b in reads.batches(store, kinds={"cases", "complaints", "volumes"}):
        key = (b["kind"], b["source"], b["covers_start"], b["covers_end"])
        if b["status"] != "indlæst" or b["covers_start"] is None or key in seen:
            continue
        seen.add(key)
        start, end = b["covers_start"], b["covers_end"]
        for y in range(start.year, end.year + 1):
            spans.setdefault((b["kind"], b["source"], y), []).append(
                (max(start, date(y, 1, 1)), min(end, date(y, 12, 31))))
    out = []
    for (kind, source, year), parts in sorted(spans.items(), key=lambda kv: (kv[0][2], kv[0])):
        covered = merge_spans(parts)
        if covered == [(date(year, 1, 1), date(year, 12, 31))]:
            continue
        text = " og ".join(f"{_dk(a)}–{_dk(b)}" for a, b in covered)
        out.append(Warning_(
            "partial_period", None,
            f"Kilden {source} har kun leveret {_kind(kind)} for {text}; tal for hele "
            f"{year} er derfor skønnet ud fra den del af året, der er leveret."))
    return out


def _unknown_codes(store) -> list[Warning_]:
    """Cases kept with a case type that is not among their administration's case types, or a
    unit the loaded organisation does not name under an administration whose units it names
    (a mapping file's ``allow_unknown``; the importer's rule, ``ingest/known.py``): each code
    named with its number of cases, since they have no deadline or no place in the tree."""
    c, t = store.table("cases"), store.table("case_types")
    known = t.select(k_code=t.code, k_admin=t.administration)
    j = c.left_join(known, (c.case_type == known.k_code) & (c.administration == known.k_admin))
    found = [("unknown_case_type", "case_type", j.filter(j.k_code.isnull()),
              "som ikke findes blandt forvaltningens sagstyper; de har derfor ingen frist og "
              "intet ydelsesområde. Indlæs sagstypen med 'sagsindsigt import case_types'.")]
    nodes = [n for n in reads.organisation(store) if not n.derived]
    owner = reads.administrations((n.code, n.parent, n.level) for n in nodes)
    described = sorted({a for u, a in owner.items() if u != a})  # has units in the file
    if described:
        named = sorted(owner)
        found.append(("unknown_unit", "unit", c.filter(
            c.unit.notnull() & c.administration.isin(described) & ~c.unit.isin(named)),
            "som ikke findes under forvaltningen i den indlæste organisation; indlæs enheden "
            "med 'sagsindsigt import organisation'."))
    out = []
    for kind, field, rows, why in found:
        counts = rows.group_by(["administration", field]).aggregate(n=rows.count())
        for r in store.run(counts.order_by(["administration", field])).to_dicts():
            noun = {"case_type": "sagstypen", "unit": "enheden"}[field]
            out.append(Warning_(
                kind, r["administration"],
                f"{number(r['n'])} {'sag' if r['n'] == 1 else 'sager'} i "
                f"{_admin(r['administration'])} har {noun} '{r[field]}', {why}"))
    return out


def _kind(kind: str) -> str:
    return {"cases": "sager", "complaints": "klager", "volumes": "sagsmængder"}.get(kind, kind)
