"""One function per page: the tables and charts it shows, for given filters."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from ..access import current
from ..danish import number
from ..data_quality import warnings
from ..kpis import get as get_kpi
from ..kpis.measures import AGE_BAND, AGE_BAND_LABELS
from ..present.charts import bar_chart, table_chart
from ..present.control import status as control_status
from ..present.labels import KIND_LABELS
from ..present.overview import signals
from ..present.overview import tiles as overview_tiles
from ..present.seed import seed_table
from ..present.tables import Cell, Column, Table
from ..store import reads
from ..targets import evaluate
from . import control
from .pages import LEVELS, Figures, Filters, kpi_table, months

# the control charts (kpis/spc.py) each page shows for its scope, month by month
SPC_CASES = ["deadline_compliance", "processing_days_median"]
SPC_COMPLAINTS = ["complaint_rate", "complaint_response_days_median"]


def overview(fig: Figures, f: Filters) -> dict[str, Any]:
    """Overblik: KPI tiles per administration with target status, trend and signals; the
    worklist's counts on the deadline tile for readers of case data; seed 000."""
    labels = fig.labels()
    targets = _targets(fig)
    tiles = overview_tiles(fig.get, labels, f.period, f.where(), f.level or "case_type",
                           targets, lambda k: _target(fig, k, f), f.drill,
                           lambda k: _over_time(fig, f, k))
    seed = None if f.where() else fig.memo(
        ("seed", f.period), lambda: seed_table(fig.get, labels, f.period))
    return {"tiles": tiles, "signals": signals(tiles), "tables": [seed] if seed else [],
            "target_list": list(targets.values()),
            "worklist": _worklist_counts(fig, f) if current().can("cases") else None}


def _over_time(fig: Figures, f: Filters, kpi: str) -> dict[str, Any] | None:
    """A tile's Making Data Count status: variation and assurance on the control chart of
    the page's scope (none for a KPI without monthly figures, such as audit rounds), and
    where its chart is drawn."""
    if get_kpi(kpi).audit:  # audit rounds are quarterly or yearly: no months to chart
        return None
    st = control_status(control.chart(fig, kpi, f.period, f.where()))
    if not st["points"]:
        return None
    page = "sager" if kpi in SPC_CASES else "klager" if kpi in SPC_COMPLAINTS else None
    st["href"] = (f"/side/{page}?{urlencode(f.params())}#kontrolkort_{kpi}" if page
                  else None)
    return st


def _worklist_counts(fig: Figures, f: Filters) -> dict[str, Any]:
    """The worklist's two lists for the page's filters: counts, the day and the links (the
    deadline tile shows them to readers of case data)."""
    from .. import worklist as wl
    from .worklist import link

    where = {d: getattr(f, d) for d in LEVELS if getattr(f, d)}

    def counts() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind in wl.KINDS:
            w = wl.worklist(fig.store, kind, **where)
            out[kind] = {"count": len(w.rows), "link": link(kind, where),
                         "title": w.kind.title}
            days = set(w.as_of.values())
            # else: each where its data end
            out["day"] = w.day.isoformat() if w.day and len(days) == 1 else None
        return out

    # kept per day: the lists are as of today where the data reach it
    c = fig.memo_db(("worklist_counts", tuple(where.items()), date.today().isoformat()),
                    counts, kept=True)
    return {**c, "day": date.fromisoformat(c["day"]) if c["day"] else None}


def _targets(fig: Figures) -> dict[tuple, Any]:
    """Every target inside the caller's scope, evaluated (a target of the whole municipality
    or of another administration is not the caller's: ``reads.targets``)."""
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
    for t in reads.targets(fig.store):
        st = evaluate(fig.store, t, lambda k, p, w: fig.get(k, p, [], w))
        out[(t["kpi"], t["administration"], t["period"])] = st
    return out


def cases(fig: Figures, f: Filters) -> dict[str, Any]:
    """Sager: intake vs decided per month, backlog, compliance and times per level."""
    labels = fig.labels()
    dim = f.level or "case_type"
    flow = kpi_table(fig, "sager", f"Sagsflow pr. {_lower(fig, dim)}", f,
                     ["cases_received", "cases_decided", "open_cases", "overdue_open_cases"],
                     dim, drill=f.level is not None)
    quality = kpi_table(fig, "frister", f"Frister, sagsbehandlingstid og afslag pr. "
                        f"{_lower(fig, dim)}", f,
                        ["deadline_compliance", "processing_days_median",
                         "processing_days_p90", "refusal_rate", "incomplete_on_receipt_rate"],
                        dim, drill=f.level is not None)
    per_month = []
    table = Table("maaned", "Modtagne og afgjorte sager pr. måned",
                  [Column("label", "Måned"), Column("cases_received", "Modtagne sager", "antal",
                                                    "cases_received"),
                   Column("cases_decided", "Afgjorte sager", "antal", "cases_decided")])
    for m in months(f.period):
        row = {"label": labels.name("month", m), "_key": m}
        for k, lab in (("cases_received", "Modtagne"), ("cases_decided", "Afgjorte")):
            res = fig.get(k, m, [], f.where())
            r = res.rows[0] if res.rows else None
            row[k] = Cell(r.value if r else None, "antal", r.note if r else "ingen data")
            per_month.append({"måned": m, "antal": r.value if r else None, "serie": lab})
        table.add(row)
    rules = kpi_table(fig, "rettidighed", "Rettidighed (regler på hændelsesloggen)", f,
                      ["timeliness"], "rule")
    backlog, backlog_chart = _backlog(fig, f)
    mirror = deadline_mirror(fig, f)
    charts = [table_chart(quality, "deadline_compliance",
                          f"Overholdte frister pr. {_lower(fig, dim)} (%)",
                          _target_value(fig, "deadline_compliance", f)),
              bar_chart("Modtagne og afgjorte sager pr. måned", per_month, "måned", "antal",
                        "serie", across=False),  # months read left to right
              backlog_chart]
    tables = [flow, backlog, quality, mirror, table, rules]
    for k in SPC_CASES:
        spec, t = control.section(fig, f, k)
        charts.append(spec)
        tables.append(t)
    return {"tables": tables, "charts": charts}



def deadline_mirror(fig: Figures, f: Filters) -> Table:
    """The leader's mirror (issue 18): beside each case type its published deadline, the
    time 8 of 10 cases took (P80, what citizens are told on /borger/sagsbehandlingstider)
    and whether the deadline is unrealistic either way (:func:`sagsindsigt.citizen.realism`).
    For the page's period and filters, inside the reader's scope."""
    from .. import citizen
    from ..present.tables import by_member, cell

    t = Table("frist_og_virkelighed", "Offentliggjort frist og borgernes ventetid pr. sagstype",
              [Column("label", "Sagstype"), Column("deadline", "Offentliggjort frist"),
               Column("deadline_days", "Frist i dage", "antal"),
               Column("processing_days_p80", "8 ud af 10 afgjort inden for", "dage",
                      "processing_days_p80"),
               Column("cases_decided", "Afgjorte sager", "antal", "cases_decided"),
               Column("realism", "Fristen er")])
    labels = fig.labels()
    p80 = fig.get("processing_days_p80", f.period, ["case_type"], f.where())
    decided = fig.get("cases_decided", f.period, ["case_type"], f.where())
    p80_of, decided_of = by_member(p80, "case_type"), by_member(decided, "case_type")
    types = fig.memo_db(("case_types",), lambda: reads.case_types(fig.store))
    for ct in types:
        code = ct["code"]
        if (f.administration and ct["administration"] != f.administration) or \
                (f.case_type and code != f.case_type):
            continue
        n = decided_of.get(code)
        if n is None or not n.value:
            continue  # no case decided in the period (or only monthly volumes)
        p = p80_of.get(code)
        verdict = citizen.realism(ct["deadline"], p.value if p is not None else None) \
            if n.value >= citizen.MIN_CASES else None
        text = citizen.REALISM_WORDS.get(verdict, "-") if n.value >= citizen.MIN_CASES else \
            "For få sager til en vurdering"
        days = citizen.deadline_days(ct["deadline"])
        t.add({"label": labels.name("case_type", code), "_key": code,
               "deadline": ct["deadline"] or "-",
               "deadline_days": Cell(days, "antal",
                                     None if days else "ingen offentliggjort frist"),
               "processing_days_p80": cell(p80, p), "cases_decided": cell(decided, n),
               "realism": text})
    t.sort_body(lambda r: (r["realism"] == "Realistisk", str(r["label"])))
    t.remarks.append(
        f"Urealistisk kort: 8 ud af 10 sager tager mere end {number(citizen.TOO_SHORT, 2)} "
        f"gange fristen. Urealistisk lang: 8 ud af 10 sager er afgjort på under "
        f"{number(citizen.TOO_LONG * 100)} % af fristen. Frister i måneder er regnet som 30,44 "
        "dage, arbejdsdage som 7/5 dag. Borgerne ser 8 ud af 10-tiden for de seneste 12 "
        "måneder på Sagsbehandlingstider (/borger/sagsbehandlingstider).")
    t.why_empty = "Ingen sager blev afgjort i perioden."
    return t


def _backlog(fig: Figures, f: Filters) -> tuple[Table, dict]:
    """Open and overdue cases at the period's end by age band, in band order."""
    t = kpi_table(fig, "alder", "Åbne sager og sager over frist efter alder ved periodens "
                  "slutning", f, ["open_cases", "overdue_open_cases"], AGE_BAND)
    t.sort_body(lambda r: AGE_BAND_LABELS.index(r["_key"]))
    data = [{"alder": r["label"], "antal": r[k].value, "serie": series}
            for r in t.body
            for k, series in (("open_cases", "Åbne"), ("overdue_open_cases", "Over frist"))
            if r[k].value is not None]
    return t, bar_chart("Åbne sager og sager over frist efter alder", data, "alder", "antal",
                        "serie", across=False)  # age bands in order, left to right


def complaints(fig: Figures, f: Filters) -> dict[str, Any]:
    """Klager: by kind, point, benefit area, channel, outcome; appeals; Styrket borgerkontakt."""
    labels = fig.labels()
    level = f.level or "case_type"
    main = kpi_table(fig, "klager", f"Klager pr. {_lower(fig, level)}", f,
                     ["complaints_received", "complaint_rate", "procedural_complaint_rate",
                      "upheld_rate", "appeal_change_rate", "appeals_pending",
                      "complaints_answered_within"],
                     level, drill=f.level is not None)
    tables = [main]
    charts = [table_chart(main, "complaint_rate",
                          f"Klager i forhold til sagsmængde pr. {_lower(fig, level)} (%)",
                          _target_value(fig, "complaint_rate", f))]
    for dim, title in (("kind", "Klager pr. klagetype"), ("points", "Klager pr. klagepunkt"),
                       ("benefit_area", "Klager pr. ydelsesområde"),
                       ("channel", "Klager pr. kanal"), ("outcome", "Klager pr. udfald"),
                       ("appeal_outcome", "Ankestyrelsens afgørelser")):
        t = kpi_table(fig, f"klager_{dim}", title, f, ["complaints_received"], dim,
                      limit=15)
        tables.append(t)
        if dim in ("kind", "points", "outcome"):
            res = fig.get("complaints_received", f.period, [dim], f.where())
            data = [{"gruppe": labels.name(dim, r.dims.get(dim)), "antal": r.value}
                    for r in res.rows if r.value]
            data.sort(key=lambda d: -d["antal"])
            charts.append(bar_chart(title, data[:15], "gruppe", "antal"))
    sb = kpi_table(fig, "styrket_borgerkontakt", "Styrket borgerkontakt", f,
                   ["sb_share", "sb_resolved_share", "sb_vs_written"], level)
    tables.append(sb)
    for k in SPC_COMPLAINTS:
        spec, t = control.section(fig, f, k)
        charts.append(spec)
        tables.append(t)
    return {"tables": tables, "charts": charts}


def audits(fig: Figures, f: Filters) -> dict[str, Any]:
    """Kvalitet: correct share with lights and Wilson intervals; error statistics."""
    labels = fig.labels()
    concepts = kpi_table(fig, "koncepter", "Korrekte sager pr. kvalitetskoncept", f,
                         ["audit_correct_rate"], "concept")
    rounds = kpi_table(fig, "runder", "Korrekte sager pr. runde", f, ["audit_correct_rate"],
                       "round")
    units = kpi_table(fig, "enheder", "Korrekte sager pr. enhed", f, ["audit_correct_rate"],
                      "unit")
    checks = kpi_table(fig, "kontrolpunkter", "Fejlstatistik pr. kontrolpunkt", f,
                       ["audit_check_error_rate"], "check")
    checks.sort_body(lambda r: -(r["audit_check_error_rate"].value or 0))
    categories = kpi_table(fig, "kategorier", "Fejlstatistik pr. kategori", f,
                           ["audit_check_error_rate"], "category")
    agreement = kpi_table(fig, "enighed", "Enighed mellem intern og ekstern gennemgang", f,
                          ["audit_agreement"], "concept")
    res = fig.get("audit_correct_rate", f.period, ["concept"], f.where())
    data = [{"koncept": labels.name("concept", r.dims["concept"]), "korrekte": r.value}
            for r in res.rows if r.value is not None]
    chart = bar_chart("Korrekte sager pr. kvalitetskoncept (%)", data, "koncept", "korrekte",
                      unit="%")
    return {"tables": [concepts, rounds, units, checks, categories, agreement],
            "charts": [chart]}


def data(fig: Figures, f: Filters) -> dict[str, Any]:
    """Data: batches, rejected rows, coverage per source, data-quality warnings."""
    batches = Table("batches", "Indlæsninger", [
        Column("label", "Batch"), Column("kind", "Datatype"), Column("source", "Kilde"),
        Column("file", "Fil"), Column("status", "Status"),
        Column("rows_loaded", "Indlæst", "antal"), Column("rows_unchanged", "Uændrede", "antal"),
        Column("rows_rejected", "Afvist", "antal"), Column("covers", "Dækker")])
    for r in reversed(fig.read(reads.batches)):
        batches.add({"label": str(r["id"]), "_key": r["id"],
                     "kind": KIND_LABELS.get(r["kind"], r["kind"]), "source": r["source"],
                     "file": r["file"], "status": r["status"],
                     "rows_loaded": Cell(r["rows_loaded"], "antal"),
                     "rows_unchanged": Cell(r["rows_unchanged"], "antal"),
                     "rows_rejected": Cell(r["rows_rejected"], "antal"),
                     "covers": _span(r["covers_start"], r["covers_end"])})
    rejects = Table("afviste", "Afviste rækker (karantæne)", [
        Column("label", "Batch"), Column("file", "Fil"), Column("row", "Række"),
        Column("field", "Felt"), Column("value", "Værdi"), Column("reason", "Årsag")])
    # rejected rows are rows of source files (case data): administrators only
    for r in (fig.read(reads.rejects, limit=500) if current().can("admin") else []):
        rejects.add({"label": str(r["batch"]), "file": r["file"], "row": str(r["row"]),
                     "field": r["field"], "value": r["value"] or "-", "reason": r["reason"]})
    coverage = Table("daekning", "Dækning pr. kilde", [
        Column("label", "Kilde"), Column("kind", "Datatype"), Column("first", "Fra"),
        Column("last", "Til"), Column("batches", "Batches", "antal")])
    for r in fig.read(reads.coverage_by_source):
        coverage.add({"label": r["source"], "kind": KIND_LABELS.get(r["kind"], r["kind"]),
                      "first": f"{r['first']:%d.%m.%Y}" if r["first"] else "-",
                      "last": f"{r['last']:%d.%m.%Y}" if r["last"] else "-",
                      "batches": Cell(r["batches"], "antal")})
    warns = fig.memo_db(("warnings",), lambda: warnings(fig.store))
    return {"tables": [coverage, batches, rejects], "warnings": warns}


def _span(start, end) -> str:
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}" if start else "-"


def _lower(fig: Figures, dim: str) -> str:
    """A dimension in running text: "forvaltning", "center/enhed", "sagstype" ("område" for
    a centre's reader, whose rows are the centre)."""
    return fig.labels().dim(dim).lower()


from . import (  # noqa: E402  (pages of their own; they use pages.py only)
    comparison,
    practice,
    strengthened_contact,
    targets,
)

# The dashboard's pages: URL slug (Danish) → view function and template (English names).
VIEWS = {"overblik": overview, "sager": cases, "klager": complaints, "kvalitet": audits,
         "data": data, strengthened_contact.SLUG: strengthened_contact.view,
         targets.SLUG: targets.view, comparison.SLUG: comparison.view,
         practice.SLUG: practice.view}
TEMPLATES = {"overblik": "overview.html", "sager": "cases.html", "klager": "complaints.html",
             "kvalitet": "audits.html", "data": "data.html",
             strengthened_contact.SLUG: "strengthened_contact.html",
             targets.SLUG: "targets.html", comparison.SLUG: "comparison.html",
             practice.SLUG: "practice.html"}
