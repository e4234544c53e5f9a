"""One function per page: the tables and charts it shows, for given filters."""

from __future__ import annotations

from typing import Any

from ..access import current
from ..contract.codes import ADMINISTRATIONS
from ..danish import value as dk_value
from ..kpis import get as get_kpi
from ..kpis.measures import AGE_BAND, AGE_BAND_LABELS
from ..overview import overview_table
from ..quality import warnings
from ..targets import evaluate
from .pages import (
    Cell,
    Column,
    Figures,
    Filters,
    Table,
    bar_chart,
    by_member,
    kpi_table,
    months,
    name,
    previous,
    table_chart,
)

TILE_KPIS = ["complaint_rate", "deadline_compliance", "processing_days_median", "timeliness",
             "audit_correct_rate"]


def overview(fig: Figures, f: Filters) -> dict[str, Any]:
    """Overblik: KPI tiles per administration with target status and trend; seed 000."""
    targets = _targets(fig)
    prev = previous(f.period)
    tiles = []
    scope_dim = f.level or "case_type"
    for k in TILE_KPIS:
        kd = get_kpi(k)
        now = fig.get(k, f.period, [scope_dim], f.where(), True)
        before = fig.get(k, prev, [scope_dim], f.where(), True) if prev else None
        total = fig.get(k, f.period, [], f.where(), True)
        items = []
        for r in now.rows:
            if r.value is None and not r.note:
                continue
            m = r.dims.get(scope_dim)
            old = by_member(before, scope_dim).get(m) if before else None
            items.append({
                "name": name(scope_dim, m), "cell": Cell(r.value, kd.unit, r.note,
                                                         r.extra.get("light"), None, r.estimate),
                "trend": _trend(r.value, old.value if old else None, kd.unit, prev),
                "target": targets.get((k, m if scope_dim == "administration" else None,
                                       f.period)),
                "link": f.drill(m) if m is not None else None,
            })
        tot = total.rows[0] if total.rows else None
        tiles.append({"kpi": kd, "items": items,
                      "total": Cell(tot.value if tot else None, kd.unit,
                                    tot.note if tot else "ingen data"),
                      "target": _target(fig, k, f)})
    seed = None if f.where() else fig.memo_db(("seed", f.period),
                                              lambda: overview_table(fig.store, f.period))
    return {"tiles": tiles, "seed": seed, "target_list": list(targets.values())}


def _trend(now, before, unit: str, prev: str | None) -> str | None:
    if now is None or before is None:
        return None
    if abs(now - before) < 1e-9:
        return f"uændret fra {prev}"
    arrow = "↑" if now > before else "↓"
    return f"{arrow} fra {dk_value(before, unit)} i {prev}"


def _targets(fig: Figures) -> dict[tuple, Any]:
    return fig.memo_db(("targets",), lambda: _evaluate_targets(fig))


def _target(fig: Figures, kpi: str, f: Filters):
    """The target status of a KPI for the page's scope (kommune or one administration) and
    period; none below administration level (targets are set per administration)."""
    if f.unit or f.case_type:
        return None
    return _targets(fig).get((kpi, f.administration, f.period))


def _target_value(fig: Figures, kpi: str, f: Filters) -> float | None:
    """The target a KPI's chart draws (see ``_target``)."""
    st = _target(fig, kpi, f)
    return st.target if st is not None else None


def _evaluate_targets(fig: Figures) -> dict[tuple, Any]:
    out = {}
    rows = fig.query("SELECT id, kpi, administration, unit, case_type, period, direction, "
                     "value, relative_period, relative_factor FROM targets ORDER BY id")
    cols = ["id", "kpi", "administration", "unit", "case_type", "period", "direction",
            "value", "relative_period", "relative_factor"]
    for r in rows:
        t = dict(zip(cols, r, strict=True))
        st = evaluate(fig.store, t, lambda k, p, w: fig.get(k, p, [], w))
        out[(t["kpi"], t["administration"], t["period"])] = st
    return out


def cases(fig: Figures, f: Filters) -> dict[str, Any]:
    """Sager: intake vs decided per month, backlog, compliance and times per level."""
    dim = f.level or "case_type"
    flow = kpi_table(fig, "sager", f"Sagsflow pr. {_lower(dim)}", f,
                     ["cases_received", "cases_decided", "open_cases", "overdue_open_cases"],
                     dim, drill=f.level is not None)
    quality = kpi_table(fig, "frister", f"Frister, sagsbehandlingstid og afslag pr. "
                        f"{_lower(dim)}", f,
                        ["deadline_compliance", "processing_days_median",
                         "processing_days_p90", "refusal_rate", "incomplete_on_receipt_rate"],
                        dim, drill=f.level is not None)
    per_month = []
    table = Table("maaned", "Modtagne og afgjorte sager pr. måned",
                  [Column("month", "Måned"), Column("cases_received", "Modtagne sager", "antal",
                                                    "cases_received"),
                   Column("cases_decided", "Afgjorte sager", "antal", "cases_decided")])
    for m in months(f.period):
        row = {"month": m, "_key": m}
        for k, lab in (("cases_received", "Modtagne"), ("cases_decided", "Afgjorte")):
            res = fig.get(k, m, [], f.where())
            r = res.rows[0] if res.rows else None
            row[k] = Cell(r.value if r else None, "antal", r.note if r else "ingen data")
            per_month.append({"måned": m, "antal": r.value if r else None, "serie": lab})
        table.add(row)
    rules = kpi_table(fig, "rettidighed", "Rettidighed (regler på hændelsesloggen)", f,
                      ["timeliness"], "rule")
    backlog, backlog_chart = _backlog(fig, f)
    charts = [table_chart(quality, "deadline_compliance",
                          f"Overholdte frister pr. {_lower(dim)} (%)",
                          _target_value(fig, "deadline_compliance", f)),
              bar_chart("Modtagne og afgjorte sager pr. måned", per_month, "måned", "antal",
                        "serie"),
              backlog_chart]
    return {"tables": [flow, backlog, quality, table, rules], "charts": charts}


def _backlog(fig: Figures, f: Filters) -> tuple[Table, dict]:
    """Open and overdue cases at the period's end by age band, in band order."""
    t = kpi_table(fig, "alder", "Åbne sager og sager over frist efter alder ved periodens "
                  "slutning", f, ["open_cases", "overdue_open_cases"], AGE_BAND)
    t.rows[:-1] = sorted(t.rows[:-1], key=lambda r: AGE_BAND_LABELS.index(r["_key"]))
    data = [{"alder": r[AGE_BAND], "antal": r[k].value, "serie": series}
            for r in t.rows[:-1]
            for k, series in (("open_cases", "Åbne"), ("overdue_open_cases", "Over frist"))
            if r[k].value is not None]
    return t, bar_chart("Åbne sager og sager over frist efter alder", data, "alder", "antal",
                        "serie")


def complaints(fig: Figures, f: Filters) -> dict[str, Any]:
    """Klager: by kind, point, benefit area, channel, outcome; appeals; Styrket borgerkontakt."""
    w = [x for x in f.where()]
    level = f.level or "case_type"
    main = kpi_table(fig, "klager", f"Klager pr. {_lower(level)}", f,
                     ["complaints_received", "complaint_rate", "procedural_complaint_rate",
                      "upheld_rate", "appeal_change_rate", "complaints_answered_within"],
                     level, drill=f.level is not None)
    tables = [main]
    charts = [table_chart(main, "complaint_rate",
                          f"Klager i forhold til sagsmængde pr. {_lower(level)} (%)",
                          _target_value(fig, "complaint_rate", f))]
    for dim, title in (("kind", "Klager pr. klagetype"), ("points", "Klager pr. klagepunkt"),
                       ("benefit_area", "Klager pr. ydelsesområde"),
                       ("channel", "Klager pr. kanal"), ("outcome", "Klager pr. udfald"),
                       ("appeal_outcome", "Ankestyrelsens afgørelser")):
        t = kpi_table(fig, f"klager_{dim}", title, f, ["complaints_received"], dim,
                      limit=15)
        tables.append(t)
        if dim in ("kind", "points", "outcome"):
            res = fig.get("complaints_received", f.period, [dim], w)
            data = [{"gruppe": name(dim, r.dims.get(dim)), "antal": r.value}
                    for r in res.rows if r.value]
            data.sort(key=lambda d: -d["antal"])
            charts.append(bar_chart(title, data[:15], "gruppe", "antal"))
    sb = kpi_table(fig, "styrket_borgerkontakt", "Styrket borgerkontakt", f,
                   ["sb_share", "sb_resolved_share", "sb_vs_written"], level)
    tables.append(sb)
    return {"tables": tables, "charts": charts}


def audits(fig: Figures, f: Filters) -> dict[str, Any]:
    """Kvalitet: correct share with lights and Wilson intervals; error statistics."""
    w = f.where()
    concepts = kpi_table(fig, "koncepter", "Korrekte sager pr. koncept", f,
                         ["audit_correct_rate"], "concept")
    rounds = kpi_table(fig, "runder", "Korrekte sager pr. runde", f, ["audit_correct_rate"],
                       "round")
    units = kpi_table(fig, "enheder", "Korrekte sager pr. enhed", f, ["audit_correct_rate"],
                      "unit")
    checks = kpi_table(fig, "kontrolpunkter", "Fejlstatistik pr. kontrolpunkt", f,
                       ["audit_check_error_rate"], "check")
    checks.rows[:-1] = sorted(checks.rows[:-1], key=lambda r: -(r["audit_check_error_rate"]
                                                                 .value or 0))
    categories = kpi_table(fig, "kategorier", "Fejlstatistik pr. kategori", f,
                           ["audit_check_error_rate"], "category")
    agreement = kpi_table(fig, "enighed", "Enighed mellem intern og ekstern gennemgang", f,
                          ["audit_agreement"], "concept")
    res = fig.get("audit_correct_rate", f.period, ["concept"], w)
    data = [{"koncept": r.dims["concept"], "korrekte": r.value} for r in res.rows
            if r.value is not None]
    chart = bar_chart("Korrekte sager pr. koncept (%)", data, "koncept", "korrekte", unit="%")
    return {"tables": [concepts, rounds, units, checks, categories, agreement],
            "charts": [chart]}


def data(fig: Figures, f: Filters) -> dict[str, Any]:
    """Data: batches, rejected rows, coverage per source, data-quality warnings."""
    batches = Table("batches", "Indlæsninger", [
        Column("id", "Batch"), Column("kind", "Datatype"), Column("source", "Kilde"),
        Column("file", "Fil"), Column("status", "Status"),
        Column("rows_loaded", "Indlæst", "antal"), Column("rows_unchanged", "Uændrede", "antal"),
        Column("rows_rejected", "Afvist", "antal"), Column("covers", "Dækker")])
    for r in fig.query(
            "SELECT id, kind, source, file, status, rows_loaded, rows_unchanged, rows_rejected, "
            "covers_start, covers_end FROM batches ORDER BY id DESC"):
        batches.add({"id": str(r[0]), "kind": r[1], "source": r[2], "file": r[3],
                     "status": r[4], "rows_loaded": Cell(r[5], "antal"),
                     "rows_unchanged": Cell(r[6], "antal"), "rows_rejected": Cell(r[7], "antal"),
                     "covers": f"{r[8]:%d.%m.%Y}–{r[9]:%d.%m.%Y}" if r[8] else "-"})
    rejects = Table("afviste", "Afviste rækker (karantæne)", [
        Column("batch", "Batch"), Column("file", "Fil"), Column("row", "Række"),
        Column("field", "Felt"), Column("value", "Værdi"), Column("reason", "Årsag")])
    # rejected rows are rows of source files (case data): shown to administrators only
    for r in fig.query("SELECT batch, file, row, field, value, reason FROM rejects "
                       "ORDER BY batch DESC, row LIMIT 500") if current().can("admin") else []:
        rejects.add({"batch": str(r[0]), "file": r[1], "row": str(r[2]), "field": r[3],
                     "value": r[4] or "-", "reason": r[5]})
    coverage = Table("daekning", "Dækning pr. kilde", [
        Column("source", "Kilde"), Column("kind", "Datatype"), Column("first", "Fra"),
        Column("last", "Til"), Column("batches", "Batches", "antal")])
    for r in fig.query("SELECT source, kind, min(covers_start), max(covers_end), count(*) "
                       "FROM batches WHERE status = 'indlæst' GROUP BY source, kind "
                       "ORDER BY source, kind"):
        coverage.add({"source": r[0], "kind": r[1],
                      "first": f"{r[2]:%d.%m.%Y}" if r[2] else "-",
                      "last": f"{r[3]:%d.%m.%Y}" if r[3] else "-",
                      "batches": Cell(r[4], "antal")})
    warns = fig.memo_db(("warnings",), lambda: warnings(fig.store))
    return {"tables": [coverage, batches, rejects], "warnings": warns}


def _lower(dim: str) -> str:
    return {"administration": "forvaltning", "unit": "enhed", "case_type": "sagstype"}.get(
        dim, dim)


VIEWS = {"overblik": overview, "sager": cases, "klager": complaints, "kvalitet": audits,
         "data": data}

from . import comparison, practice, sb, targets  # noqa: E402  (they use pages.py only)

VIEWS.update({sb.SLUG: sb.view, targets.SLUG: targets.view, comparison.SLUG: comparison.view,
              practice.SLUG: practice.view})
ADMIN_NAMES = ADMINISTRATIONS
