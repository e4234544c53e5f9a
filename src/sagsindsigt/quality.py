"""Data-quality warnings about what was loaded: the Data page shows them, in Danish.

Each warning says what is wrong, where, and what the figures do about it, so a BI clerk can
decide whether to correct the source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from .contract.codes import ADMINISTRATIONS
from .danish import number


@dataclass(frozen=True)
class Warning_:
    kind: str  # overlapping_volumes | overlapping_volume_periods | partial_period | ...
    administration: str | None
    message: str  # Danish, one sentence or two

    def as_dict(self) -> dict:
        return asdict(self)


def _admin(code: str | None) -> str:
    return ADMINISTRATIONS.get(code or "", code or "ukendt forvaltning")


def _dk(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def warnings(store) -> list[Warning_]:
    q = store.engine.query
    out: list[Warning_] = []
    # aggregate volumes for an (administration, case type) that also has case-level rows in
    # the same span: the case rows count, the volumes are left out
    for admin, ctype, start, end, vol, cases in q(
        "SELECT v.administration, v.case_type, min(v.period_start), max(v.period_end), "
        "sum(v.cases_received), (SELECT count(*) FROM cases c WHERE "
        "c.administration = v.administration AND c.case_type = v.case_type AND "
        "c.received BETWEEN min(v.period_start) AND max(v.period_end)) "
        "FROM volumes v WHERE v.case_type IS NOT NULL "
        "GROUP BY v.administration, v.case_type ORDER BY 1, 2"):
        if cases:
            out.append(Warning_(
                "overlapping_volumes", admin,
                f"{_admin(admin)} har både indberettet sagsmængder ({number(vol)}) og "
                f"{number(cases)} sager på sagsniveau for sagstype {ctype} i perioden "
                f"{_dk(start)}–{_dk(end)}; nøgletallene bruger sagerne og ser bort fra "
                "sagsmængderne."))
    # volume rows whose periods overlap for the same administration, unit and case type
    for admin, unit, ctype, s1, e1, s2, e2 in q(
        "SELECT a.administration, a.unit, a.case_type, a.period_start, a.period_end, "
        "b.period_start, b.period_end FROM volumes a JOIN volumes b ON "
        "a.administration = b.administration "
        "AND coalesce(a.unit, '') = coalesce(b.unit, '') "
        "AND coalesce(a.case_type, '') = coalesce(b.case_type, '') "
        "AND a._key < b._key AND a.period_start <= b.period_end "
        "AND b.period_start <= a.period_end ORDER BY 1, 2, 3, 4"):
        out.append(Warning_(
            "overlapping_volume_periods", admin,
            f"Sagsmængderne for {_admin(admin)}"
            + (f", enhed {unit}" if unit else "") + (f", sagstype {ctype}" if ctype else "")
            + f" dækker overlappende perioder ({_dk(s1)}–{_dk(e1)} og {_dk(s2)}–{_dk(e2)}); "
            "tal for perioder, der rummer begge, tæller sagerne to gange."))
    # a source that delivered only part of a year: that year's figures are estimates
    spans: dict[tuple[str, str, int], list[tuple[date, date]]] = {}
    for kind, source, start, end in q(
        "SELECT DISTINCT kind, source, covers_start, covers_end FROM batches "
        "WHERE status = 'indlæst' AND covers_start IS NOT NULL AND kind IN "
        "('cases', 'complaints', 'volumes')"):
        for y in range(start.year, end.year + 1):
            spans.setdefault((kind, source, y), []).append(
                (max(start, date(y, 1, 1)), min(end, date(y, 12, 31))))
    for (kind, source, year), parts in sorted(spans.items(), key=lambda kv: (kv[0][2], kv[0])):
        covered = _merge(parts)
        if covered == [(date(year, 1, 1), date(year, 12, 31))]:
            continue
        text = " og ".join(f"{_dk(a)}–{_dk(b)}" for a, b in covered)
        out.append(Warning_(
            "partial_period", None,
            f"Kilden {source} har kun leveret {_kind(kind)} for {text}; tal for hele "
            f"{year} er derfor skønnet ud fra den del af året, der er leveret."))
    # cases whose case type is not in the case-type list: no deadline, no benefit area
    for admin, n in q(
        "SELECT administration, count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM "
        "case_types t WHERE t.code = c.case_type) GROUP BY administration ORDER BY 1"):
        out.append(Warning_(
            "unknown_case_type", admin,
            f"{number(n)} sager i {_admin(admin)} har en sagstype, der ikke findes i listen "
            "over sagstyper; de har derfor ingen frist og intet ydelsesområde."))
    # rejected rows waiting to be corrected: those of the latest loaded delivery of a file
    # (a later batch of the same kind, source and file name supersedes them)
    for file, n in q(
            "SELECT r.file, count(DISTINCT r.row) FROM rejects r JOIN batches b ON b.id = r.batch "
            "WHERE NOT EXISTS (SELECT 1 FROM batches l WHERE l.kind = b.kind AND "
            "l.source = b.source AND l.file = b.file AND l.id > b.id AND l.status = 'indlæst') "
            "GROUP BY r.file ORDER BY r.file"):
        out.append(Warning_(
            "rejected_rows", None,
            f"{number(n)} {'række' if n == 1 else 'rækker'} i {file} blev afvist og ligger i "
            "karantæne; ret dem i kilden og indlæs filen igen."))
    return out


def _merge(parts: list[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for a, b in sorted(parts):
        if out and a <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _kind(kind: str) -> str:
    return {"cases": "sager", "complaints": "klager", "volumes": "sagsmængder"}.get(kind, kind)
