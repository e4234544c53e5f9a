"""The four committee reports: which tables and charts each holds, built from the KPI registry
only (through ``Source.get``, the same call and cache key as the dashboard's ``Figures.get``),
so every figure equals the dashboard's and the CLI's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..calendar import Period
from ..kpis import KpiUsageError, Result, keep
from ..kpis import get as get_kpi
from ..present.labels import Labels
from ..present.seed import seed_table
from ..present.tables import by_member, cell, kpi_table, order
from ..store import reads
from ..targets import STATUS_LABELS, evaluate
from .model import PCT, TEXT, Cell, ChartRef, Column, Report, Section, Source, Table

TITLES = {
    "oekonomiudvalg": "Rapport til Økonomiudvalget: klager og sagsmængde på tværs",
    "kvartal": "Kvartalsrapport: kritiske sagsområder",
    "borgerraadgiver": "Supplement til Borgerrådgiverens årsberetning: klager",
    "kvalitet": "Kvalitetsrapport: stikprøvegennemgange",
}
# record kinds whose import batches lie behind a KPI's figures (by the KPI's table)
BATCH_KINDS = {"complaints": ("complaints", "cases", "volumes"), "cases": ("cases", "volumes"),
               "timeliness_items": ("cases", "events", "timeliness_rules"),
               "reviews": ("concepts", "reviews")}


class Builder:
    """Tables for one report: a period, the user's filters and the figure source."""

    def __init__(self, src: Source, period: Period, where: list[str]):
        self.src, self.period, self.where = src, period, list(where)
        self.labels: Labels = src.locked(lambda: Labels.of(src.store))

    def label(self, dim: str, value: Any) -> str:
        return self.labels.name(dim, value)

    def get(self, kpi: str, by=(), where=(), period=None, annualise=False) -> Result:
        return self.src.get(kpi, period or self.period.label, list(by),
                            [*self.where, *where], annualise)

    def _get(self, kpi: str, period, by=(), where=(), annualise=False) -> Result:
        return self.src.get(kpi, period, list(by), list(where), annualise)

    # tables -----------------------------------------------------------------------------
    def kpi_table(self, tid: str, title: str, kpis: list[str], dim: str, where=(),
                  annualise: bool = False, chart: ChartRef | None = None,
                  sort: Callable | None = None) -> Table:
        """Rows = members of ``dim`` in scope, columns = KPIs, plus the total row (the
        dashboard's tables, from the same builder)."""
        return kpi_table(self._get, self.labels, tid, title, self.period.label, kpis, dim,
                         [*self.where, *where], annualise, chart=chart, sort=sort)

    def cross_table(self, tid: str, title: str, kpi: str, rows: str, cols: str,
                    chart: ChartRef | None = None, max_cols: int = 9) -> Table:
        """One KPI by two dimensions with the totals of both (rows and columns); columns
        without data in the period are left out. Without rows, saying why, when ``cols`` has
        more members than fit across an A4 page."""
        kd = get_kpi(kpi)
        per_col = self.get(kpi, [cols])
        col_members = order(cols, [r.dims.get(cols) for r in per_col.rows
                                   if r.value is not None], per_col, None)
        if len(col_members) > max_cols:
            what = self.labels.dim(cols).lower()
            return Table(tid, title, [Column("label", self.labels.dim(rows))], why_empty=(
                f"Tabellen er udeladt: med {len(col_members)} kolonner ({what}) er den for "
                f"bred til en A4-side. Den vises, når rapporten afgrænses, så der højst er "
                f"{max_cols}, fx til én forvaltning."))
        both = self.get(kpi, [rows, cols])
        per_row, total = self.get(kpi, [rows]), self.get(kpi)
        row_members = order(rows, [r.dims.get(rows) for r in per_row.rows], per_row, None)
        columns = [Column("label", self.labels.dim(rows))]
        keys = {}
        for i, m in enumerate(col_members):
            keys[m] = f"c{i}"
            columns.append(Column(f"c{i}", self.label(cols, m), kd.unit, kpi))
        columns.append(Column("total", "I alt", kd.unit, kpi))
        found = {(r.dims.get(rows), r.dims.get(cols)): r for r in both.rows}
        t = Table(tid, title, columns, total_row=True, total_col="total", chart=chart)
        rrow = by_member(per_row, rows)
        for m in row_members:
            row: dict[str, Any] = {"label": self.label(rows, m), "_key": m}
            for c in col_members:
                row[keys[c]] = cell(both, found.get((m, c)))
            row["total"] = cell(per_row, rrow.get(m))
            t.add(row)
        last: dict[str, Any] = {"label": "I alt", "_key": None}
        ccol = by_member(per_col, cols)
        for c in col_members:
            last[keys[c]] = cell(per_col, ccol.get(c))
        last["total"] = cell(total, total.rows[0] if total.rows else None)
        t.add(last)
        t.notes = t.footnotes()
        return t

    def pairs_table(self, tid: str, title: str, kpi: str, dims: list[str]) -> Table:
        """One KPI by two dimensions as a list of the pairs with data (sparse breakdowns such
        as concept × round, where each concept has its own round frequency)."""
        kd = get_kpi(kpi)
        res = self.get(kpi, dims)
        t = Table(tid, title, [Column("label", " / ".join(self.labels.dim(d) for d in dims)),
                               Column(kpi, kd.label, kd.unit, kpi)])
        for r in res.rows:
            if r.value is None:
                continue
            t.add({"label": " / ".join(self.label(d, r.dims.get(d)) for d in dims),
                   kpi: cell(res, r)})
        t.notes = t.footnotes()
        return t

    def trend_table(self, tid: str, title: str, periods: list[Period], kpis: list[str],
                    annualise: bool = False, chart: ChartRef | None = None) -> Table:
        cols = [Column("label", "Periode")]
        for k in kpis:
            kd = get_kpi(k)
            cols.append(Column(k, kd.label, kd.unit, k))
        t = Table(tid, title, cols, chart=chart)
        for p in periods:
            row: dict[str, Any] = {"label": p.danish(), "_key": p.label}
            for k in kpis:
                res = self.get(k, period=p.label, annualise=annualise)
                row[k] = cell(res, res.rows[0] if res.rows else None)
            t.add(row)
        t.notes = t.footnotes()
        return t

    def seed_table(self) -> Table:
        """Seed 000's table (:func:`sagsindsigt.present.seed.seed_table`, as on Overblik)."""
        return seed_table(self._get, self.labels, self.period.label, self.where)

    def targets_table(self) -> Table:
        t = Table("maaltal", f"Måltal for {self.period.danish()}", [
            Column("label", "Måltal"), Column("kpi", "Nøgletal"),
            Column("scope", "Afgrænsning"), Column("target", "Mål"),
            Column("actual", "Faktisk"), Column("status", "Status")])
        admins = _values(self.where, "administration")
        for target in self.targets():
            if target["period"] != self.period.label:
                continue
            if admins and target.get("administration") not in admins:
                continue
            st = evaluate(self.src.store, target,
                          lambda k, p, w: self.src.get(k, p, [], w))
            word = "højst" if st.direction == "max" else "mindst"
            light = {"met": "green", "not_met": "red"}.get(st.status)
            t.add({
                "label": self.labels.target(target), "_key": st.id, "kpi": st.kpi_label,
                "scope": ", ".join(self.label(d, v) for d, v in st.scope.items())
                or "Hele kommunen",
                "target": Cell(st.target, st.unit, st.note),
                "actual": Cell(st.actual, st.unit, st.note),
                "status": Cell(STATUS_LABELS[st.status], TEXT, st.note, light=light),
                "_direction": word})
        if not t.rows:
            t.why_empty = self._no_targets(admins)
        return t

    def targets(self) -> list[dict]:
        """The targets inside the reader's scope, kept with the figures (a one-shot report
        reads them from the store)."""
        store = self.src.store
        return self.src.locked(
            lambda: keep.cached(store, ("targets",), lambda: reads.targets(store)))

    def _no_targets(self, admins: list[str]) -> str:
        """Why the targets table is empty, and where targets are set instead."""
        scope = _in_text(self.labels.where(*_filter_scope(self.where)))
        periods = sorted({t["period"] for t in self.targets()
                          if not admins or t.get("administration") in admins})
        text = (f"Der er ikke sat måltal for {self.period.danish()} for {scope}, så der er "
                "intet at vurdere her.")
        if periods:
            names = [Period.parse(p).danish() for p in periods]
            listed = names[0] if len(names) == 1 else \
                ", ".join(names[:-1]) + " og " + names[-1]
            text += f" Der er sat måltal for {listed}."
        return text + (" Måltal sættes på siden Måltal eller med 'sagsindsigt import "
                       "targets'.")


def _in_text(scope: str) -> str:
    """A scope line inside a sentence ("hele kommunen", names keep their capitals)."""
    return "hele kommunen" if scope == "Hele kommunen" else scope


def _values(where: list[str], dim: str) -> list[str]:
    out = []
    for w in where:
        d, _, v = w.partition("=")
        if d.strip() == dim:
            out += [x.strip() for x in v.split(",")]
    return out


def _filter_scope(where: list[str]) -> tuple[str | None, str | None]:
    admins, units = _values(where, "administration"), _values(where, "unit")
    return (admins[0] if len(admins) == 1 else None, units[0] if len(units) == 1 else None)


def _periods_back(p: Period, n: int) -> list[Period]:
    """The last ``n`` periods of the report's kind ending with it (quarters of a year)."""
    if p.kind == "year" and n == 4:
        return [Period.quarter(p.start.year, q) for q in range(1, 5)]
    return [p.previous(i) for i in range(n - 1, -1, -1)]


# -- the four kinds --------------------------------------------------------------------------
def oekonomiudvalg(b: Builder) -> list[Section]:
    years = [b.period.previous(i) for i in range(3, -1, -1)]
    return [
        Section("klager", "Klager i forhold til sagsmængde",
                "Klager i forhold til den samlede sagsmængde pr. forvaltning (som i "
                "foranalysen til Økonomiudvalget). Delvist dækkede tal er opregnet til hele "
                "perioden og markeret med *.", [b.seed_table()]),
        Section("udvikling", "Udviklingen over årene",
                f"{b.labels.where(*_filter_scope(b.where))}, opregnet som tabellen ovenfor.",
                [b.trend_table("udvikling", "Klager og sager over tid", years,
                               ["complaints_received", "cases_received", "complaint_rate",
                                "appeal_change_rate"], annualise=True,
                               chart=ChartRef("Klager i forhold til sagsmængde pr. år (%)",
                                              ["complaint_rate"], PCT, kind="line"))]),
        Section("omgoerelse", "Omgørelsesprocent og medhold", "",
                [b.kpi_table("omgoerelse", "Omgørelse og medhold pr. forvaltning",
                             ["complaints_received", "appeal_change_rate", "upheld_rate"],
                             "administration",
                             chart=ChartRef("Omgørelsesprocent (%)", ["appeal_change_rate"],
                                            PCT))]),
        Section("maaltal", "Måltal", "Måltal for perioden: opfyldt, ikke opfyldt eller "
                "ingen data.", [b.targets_table()]),
    ]


def kvartal(b: Builder) -> list[Section]:
    quarters = _periods_back(b.period, 4)
    return [
        Section("sagstyper", "Frister og sagsbehandlingstid pr. sagstype", "",
                [b.kpi_table("sagstyper", "Frister og sagsbehandlingstid pr. sagstype",
                             ["cases_received", "cases_decided", "deadline_compliance",
                              "processing_days_median", "processing_days_p90"], "case_type",
                             chart=ChartRef("Overholdte frister pr. sagstype (%)",
                                            ["deadline_compliance"], PCT))]),
        Section("centre", "Pukler og sager over frist pr. center",
                "Åbne sager og sager over frist ved periodens slutning.",
                [b.kpi_table("centre", "Åbne sager og frister pr. center",
                             ["open_cases", "overdue_open_cases", "deadline_compliance",
                              "processing_days_median", "processing_days_p90"], "unit",
                             chart=ChartRef("Åbne sager og sager over frist pr. center",
                                            ["open_cases", "overdue_open_cases"])),
                 b.cross_table("over_frist", "Åbne sager over frist pr. sagstype og center",
                               "overdue_open_cases", "case_type", "unit")]),
        Section("udvikling", "Udviklingen de seneste kvartaler", "",
                [b.trend_table("kvartaler", "Frister, sagsbehandlingstid og pukler pr. kvartal",
                               quarters, ["deadline_compliance", "processing_days_median",
                                          "processing_days_p90", "open_cases",
                                          "overdue_open_cases"],
                               chart=ChartRef("Overholdte frister pr. kvartal (%)",
                                              ["deadline_compliance"], PCT, kind="line"))]),
    ]


def borgerraadgiver(b: Builder) -> list[Section]:
    return [
        Section("forvaltninger", "Klager pr. forvaltning", "",
                [b.kpi_table("forvaltninger", "Klager pr. forvaltning",
                             ["complaints_received", "complaint_rate", "upheld_rate",
                              "appeal_change_rate", "complaints_answered_within"],
                             "administration",
                             chart=ChartRef("Modtagne klager pr. forvaltning",
                                            ["complaints_received"]))]),
        Section("klagetyper", "Klager pr. klagetype og udfald", "",
                [b.cross_table("klagetype", "Klager pr. forvaltning og klagetype",
                               "complaints_received", "administration", "kind"),
                 b.cross_table("udfald", "Klager pr. forvaltning og udfald",
                               "complaints_received", "administration", "outcome")]),
        Section("klagepunkter", "Klagepunkter og Ankestyrelsen", "",
                [b.kpi_table("klagepunkter", "Klager pr. klagepunkt", ["complaints_received"],
                             "points", chart=ChartRef("Antal klager med hvert klagepunkt",
                                                      ["complaints_received"])),
                 b.kpi_table("ankestyrelsen", "Ankestyrelsens afgørelser",
                             ["complaints_received"], "appeal_outcome")]),
        Section("styrket", "Styrket borgerkontakt", "",
                [b.kpi_table("styrket", "Styrket borgerkontakt pr. forvaltning",
                             ["sb_share", "sb_resolved_share", "sb_vs_written"],
                             "administration")]),
    ]


def kvalitet(b: Builder) -> list[Section]:
    checks = b.kpi_table("kontrolpunkter", "Fejlstatistik pr. kontrolpunkt",
                         ["audit_check_error_rate"], "check")
    checks.sort_body(lambda r: (-(r["audit_check_error_rate"].value or 0), r["label"]))
    return [
        Section("koncepter", "Korrekte sager pr. koncept",
                "Trafiklys: grøn 95–100 %, gul 75–94 %, rød under 75 % korrekte sager.",
                [b.kpi_table("koncepter", "Korrekte sager pr. koncept", ["audit_correct_rate"],
                             "concept", chart=ChartRef("Korrekte sager pr. koncept (%)",
                                                       ["audit_correct_rate"], PCT)),
                 b.pairs_table("koncept_runde", "Korrekte sager pr. koncept og runde",
                               "audit_correct_rate", ["concept", "round"])]),
        Section("enheder", "Korrekte sager pr. enhed", "",
                [b.kpi_table("enheder", "Korrekte sager pr. enhed", ["audit_correct_rate"],
                             "unit")]),
        Section("fejl", "Fejlstatistik", "Fejl i procent af kontroller med resultat ok "
                "eller fejl.",
                [checks, b.kpi_table("kategorier", "Fejlstatistik pr. kategori",
                                     ["audit_check_error_rate"], "category")]),
        Section("enighed", "Enighed mellem intern og ekstern gennemgang", "",
                [b.kpi_table("enighed", "Enighed pr. koncept", ["audit_agreement"],
                             "concept")]),
    ]


KINDS: dict[str, Callable[[Builder], list[Section]]] = {
    "oekonomiudvalg": oekonomiudvalg, "kvartal": kvartal, "borgerraadgiver": borgerraadgiver,
    "kvalitet": kvalitet,
}


def batches_behind(src: Source, kpis: list[str], period: Period,
                   where: list[str] = ()) -> list[dict]:
    """The import batches whose data the figures are made of: every loaded batch of a record
    kind the KPIs read that covers part of the period (or states no coverage), plus the
    organisation, case types and targets; with an administration filter (or a scoped
    reader), those that loaded rows of it, counted as those rows (``reads.batches``)."""
    kinds = {"organisation", "case_types", "targets"}
    for k in kpis:
        kinds |= set(BATCH_KINDS.get(get_kpi(k).table, ()))
    admins = _values(list(where), "administration") or None
    out = []
    def batches() -> list[dict]:
        return reads.batches(src.store, kinds, administrations=admins)

    for d in src.locked(lambda: keep.cached(src.store, ("batches", sorted(kinds), admins),
                                            batches)):
        if d["status"] != "indlæst":
            continue
        s, e = d["covers_start"], d["covers_end"]
        if s is not None and e is not None and (e < period.start or s > period.end):
            continue
        out.append(d)
    return out


def filter_labels(b: Builder) -> list[tuple[str, str]]:
    out = []
    for w in b.where:
        dim, _, value = w.partition("=")
        vals = [b.label(dim.strip(), v.strip()) for v in value.split(",")]
        out.append((b.labels.dim(dim.strip()), ", ".join(vals)))
    return out


def check(src: Source, kind: str, period: str | Period, where: list[str] | None = None,
           threshold: int = 5) -> Period:
    """The report's period, once its request is known to be valid: a known kind, a valid
    period, a threshold of at least 1, filters written DIM=VALUE (KpiUsageError, Danish) and
    inside the acting principal's scope ("Ingen adgang"). Cheap: no figure is computed."""
    if kind not in KINDS:
        raise KpiUsageError(f"Ukendt rapport '{kind}': brug en af {', '.join(KINDS)}.")
    if threshold < 1:
        raise KpiUsageError("Grænsen for diskretionering skal være mindst 1.")
    from ..calendar import PeriodError

    try:
        p = period if isinstance(period, Period) else Period.parse(str(period))
    except PeriodError as exc:
        raise KpiUsageError(str(exc)) from exc
    where = list(where or [])
    for w in where:
        if "=" not in w:
            raise KpiUsageError(f"Filteret '{w}' skal skrives som DIMENSION=VÆRDI.")
    src.locked(lambda: reads.require_visible(  # "Ingen adgang" for a filter outside the scope
        src.store, *(_values(where, d) for d in ("administration", "unit", "case_type"))))
    return p


def build(src: Source, kind: str, period: str | Period, where: list[str] | None = None,
          internal: bool = False, threshold: int = 5) -> Report:
    """One report of ``kind`` for a period and filters ("DIM=VALUE")."""
    p = check(src, kind, period, where, threshold)
    where = list(where or [])
    b = Builder(src, p, where)
    sections = KINDS[kind](b)
    report = Report(kind, TITLES[kind], p, filter_labels(b),
                    b.labels.where(*_filter_scope(where)), internal, threshold, sections,
                    list(src.used), [])
    report.batches = batches_behind(src, report.kpis, p, where)
    return report
