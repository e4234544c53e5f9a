"""The four committee reports: which tables and charts each holds, built from the KPI registry
only (through ``Source.get``, the same call and cache key as the dashboard's ``Figures.get``),
so every figure equals the dashboard's and the CLI's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..access import current
from ..calendar import Period
from ..contract.codes import ADMINISTRATIONS
from ..kpis import KpiUsageError, Result
from ..kpis import get as get_kpi
from ..targets import STATUS_LABELS, all_targets, evaluate
from ..web.pages import DIM_LABELS, name
from .model import COUNT, PCT, TEXT, ChartRef, Column, Report, Section, Source, Table
from .model import Cell as RCell

TITLES = {
    "oekonomiudvalg": "Rapport til Økonomiudvalget: klager og sagsmængde på tværs",
    "kvartal": "Kvartalsrapport: kritiske sagsområder",
    "borgerraadgiver": "Supplement til Borgerrådgiverens årsberetning: klager",
    "kvalitet": "Kvalitetsrapport: stikprøvegennemgange",
}
FILTER_LABELS = {**DIM_LABELS, "unit": "Center/enhed"}
# record kinds whose import batches lie behind a KPI's figures (by the KPI's table)
BATCH_KINDS = {"complaints": ("complaints", "cases", "volumes"), "cases": ("cases", "volumes"),
               "timeliness_items": ("cases", "events", "timeliness_rules"),
               "reviews": ("concepts", "reviews")}


class Builder:
    """Tables for one report: a period, the user's filters and the figure source."""

    def __init__(self, src: Source, period: Period, where: list[str]):
        self.src, self.period, self.where = src, period, list(where)
        self._names: dict[str, dict[str, str]] | None = None

    # names ------------------------------------------------------------------------------
    def names(self, dim: str) -> dict[str, str]:
        if self._names is None:
            self._names = {"unit": {}, "case_type": {}}
            for code, nm in self.src.query("SELECT code, name FROM organisation"):
                self._names["unit"][code] = nm
            for code, nm in self.src.query("SELECT code, name FROM case_types"):
                self._names["case_type"][code] = nm
        return self._names.get(dim, {})

    def label(self, dim: str, value: Any) -> str:
        full = self.names(dim).get(value) if value is not None else None
        return f"{full} ({value})" if full else name(dim, value)

    # cells ------------------------------------------------------------------------------
    @staticmethod
    def cell(res: Result, row) -> RCell:
        k = res.kpi
        if row is None:
            return RCell(None, k.unit, "ingen data")
        ci = None
        if row.extra.get("ci_low") is not None:
            ci = (row.extra["ci_low"], row.extra["ci_high"])
        den = row.denominator if k.ratio else row.n  # quantiles: the number of cases
        return RCell(row.value, k.unit, row.note, row.numerator, den, row.extra.get("light"),
                     row.estimate, ci)

    def get(self, kpi: str, by=(), where=(), period=None, annualise=False) -> Result:
        return self.src.get(kpi, period or self.period.label, list(by),
                            [*self.where, *where], annualise)

    # tables -----------------------------------------------------------------------------
    def kpi_table(self, tid: str, title: str, kpis: list[str], dim: str, where=(),
                  annualise: bool = False, chart: ChartRef | None = None,
                  sort: Callable | None = None) -> Table:
        """Rows = members of ``dim`` in scope, columns = KPIs, plus the total row (as the
        dashboard's tables)."""
        cols = [Column("label", FILTER_LABELS.get(dim, dim))]
        results = []
        for k in kpis:
            kd = get_kpi(k)
            cols.append(Column(k, kd.label, kd.unit, k))
            results.append(self.get(k, [dim], where, annualise=annualise))
        members: list[Any] = []
        for res in results:
            for r in res.rows:
                if r.dims.get(dim) not in members:
                    members.append(r.dims.get(dim))
        members = _order(dim, members, results[0], sort)
        t = Table(tid, title, cols, total_row=True, chart=chart)
        for m in members:
            row: dict[str, Any] = {"label": self.label(dim, m)}
            for k, res in zip(kpis, results, strict=True):
                row[k] = self.cell(res, _by(res, dim).get(m))
            t.rows.append(row)
        total: dict[str, Any] = {"label": "I alt"}
        for k in kpis:
            res = self.get(k, [], where, annualise=annualise)
            total[k] = self.cell(res, res.rows[0] if res.rows else None)
        t.rows.append(total)
        t.notes = _estimate_notes(t)
        return t

    def cross_table(self, tid: str, title: str, kpi: str, rows: str, cols: str,
                    chart: ChartRef | None = None, max_cols: int = 9) -> Table | None:
        """One KPI by two dimensions with the totals of both (rows and columns); columns
        without data in the period are left out. None when ``cols`` has more members than fit
        across an A4 page."""
        kd = get_kpi(kpi)
        per_col = self.get(kpi, [cols])
        col_members = _order(cols, [r.dims.get(cols) for r in per_col.rows
                                    if r.value is not None], per_col, None)
        if len(col_members) > max_cols:
            return None
        both = self.get(kpi, [rows, cols])
        per_row, total = self.get(kpi, [rows]), self.get(kpi)
        row_members = _order(rows, [r.dims.get(rows) for r in per_row.rows], per_row, None)
        columns = [Column("label", FILTER_LABELS.get(rows, rows))]
        keys = {}
        for i, m in enumerate(col_members):
            keys[m] = f"c{i}"
            columns.append(Column(f"c{i}", self.label(cols, m), kd.unit, kpi))
        columns.append(Column("total", "I alt", kd.unit, kpi))
        found = {(r.dims.get(rows), r.dims.get(cols)): r for r in both.rows}
        t = Table(tid, title, columns, total_row=True, total_col="total", chart=chart)
        rrow = _by(per_row, rows)
        for m in row_members:
            row: dict[str, Any] = {"label": self.label(rows, m)}
            for c in col_members:
                row[keys[c]] = self.cell(both, found.get((m, c)))
            row["total"] = self.cell(per_row, rrow.get(m))
            t.rows.append(row)
        last: dict[str, Any] = {"label": "I alt"}
        ccol = _by(per_col, cols)
        for c in col_members:
            last[keys[c]] = self.cell(per_col, ccol.get(c))
        last["total"] = self.cell(total, total.rows[0] if total.rows else None)
        t.rows.append(last)
        t.notes = _estimate_notes(t)
        return t

    def pairs_table(self, tid: str, title: str, kpi: str, dims: list[str]) -> Table:
        """One KPI by two dimensions as a list of the pairs with data (sparse breakdowns such
        as concept × round, where each concept has its own round frequency)."""
        kd = get_kpi(kpi)
        res = self.get(kpi, dims)
        t = Table(tid, title, [Column("label", " / ".join(FILTER_LABELS.get(d, d)
                                                         for d in dims)),
                               Column(kpi, kd.label, kd.unit, kpi)])
        for r in res.rows:
            if r.value is None:
                continue
            t.rows.append({"label": " / ".join(self.label(d, r.dims.get(d)) for d in dims),
                           kpi: self.cell(res, r)})
        t.notes = _estimate_notes(t)
        return t

    def trend_table(self, tid: str, title: str, periods: list[Period], kpis: list[str],
                    annualise: bool = False, chart: ChartRef | None = None) -> Table:
        cols = [Column("label", "Periode")]
        for k in kpis:
            kd = get_kpi(k)
            cols.append(Column(k, kd.label, kd.unit, k))
        t = Table(tid, title, cols, chart=chart)
        for p in periods:
            row: dict[str, Any] = {"label": p.danish()}
            for k in kpis:
                res = self.get(k, period=p.label, annualise=annualise)
                row[k] = self.cell(res, res.rows[0] if res.rows else None)
            t.rows.append(row)
        t.notes = _estimate_notes(t)
        return t

    def seed_table(self) -> Table:
        """Seed 000's table, as ``overview.overview_table`` (the Overblik page and the CLI's
        ``overview``) computes it: the same queries, numbers kept as numbers."""
        ann = True

        def per_admin(kpi, where=()):
            res = self.get(kpi, ["administration"], where, annualise=ann)
            return res, _by(res, "administration")

        fres, formal = per_admin("complaints_received", ["kind=formalitet,begge"])
        rres, real = per_admin("complaints_received", ["kind=realitet,begge"])
        res, rate = per_admin("complaint_rate")
        t = Table("klager_sagsmaengde",
                  f"Antal klager i forhold til den samlede sagsmængde, {self.period.danish()}",
                  [Column("label", "Forvaltning"),
                   Column("formal", "Formalitetsklager", COUNT, "complaints_received"),
                   Column("real", "Realitetsklager", COUNT, "complaints_received"),
                   Column("complaints", "Klager", COUNT, "complaint_rate"),
                   Column("cases", "Sager", COUNT, "complaint_rate"),
                   Column("complaint_rate", "Klager ift. sagsmængde", PCT, "complaint_rate")],
                  chart=ChartRef("Klager i forhold til sagsmængde (%)", ["complaint_rate"], PCT))
        order = list(ADMINISTRATIONS)
        notes = {}
        for admin in sorted(rate, key=lambda a: (order.index(a) if a in order else 99, a)):
            r = rate[admin]
            label = ADMINISTRATIONS.get(admin, admin)
            if r.estimate and r.note:
                notes[admin] = r.note
                label += "*"
            t.rows.append({
                "label": label,
                "formal": self.cell(fres, formal.get(admin)),
                "real": self.cell(rres, real.get(admin)),
                "complaints": RCell(r.numerator, COUNT, r.note, estimate=r.estimate),
                "cases": RCell(r.denominator, COUNT, r.note, estimate=r.estimate),
                "complaint_rate": self.cell(res, r)})
        t.notes = [f"Tal for {ADMINISTRATIONS.get(a, a)} er {n}." for a, n in notes.items()]
        t.notes.append("Klager, der både er formalitets- og realitetsklager, tælles i begge "
                       "kolonner. '-' betyder, at der ikke er data for perioden.")
        return t

    def targets_table(self) -> Table:
        t = Table("maaltal", f"Måltal for {self.period.danish()}", [
            Column("label", "Måltal"), Column("kpi", "Nøgletal"),
            Column("scope", "Afgrænsning"), Column("target", "Mål"),
            Column("actual", "Faktisk"), Column("status", "Status")])
        admins = _values(self.where, "administration")
        with_lock = self.src.lock
        rows = all_targets(self.src.store) if with_lock is None else _locked(
            with_lock, lambda: all_targets(self.src.store))
        for target in rows:
            if target["period"] != self.period.label:
                continue
            if admins and target.get("administration") not in admins:
                continue
            st = evaluate(self.src.store, target,
                          lambda k, p, w: self.src.get(k, p, [], w))
            word = "højst" if st.direction == "max" else "mindst"
            light = {"met": "green", "not_met": "red"}.get(st.status)
            t.rows.append({
                "label": st.id, "kpi": st.kpi_label,
                "scope": ", ".join(self.label(d, v) for d, v in st.scope.items()) or "Kommunen",
                "target": RCell(st.target, st.unit, st.note) if st.target is not None
                else RCell(None, st.unit, st.note),
                "actual": RCell(st.actual, st.unit, st.note),
                "status": RCell(STATUS_LABELS[st.status], TEXT, st.note, light=light),
                "_direction": word})
        return t


def _locked(lock, fn):
    with lock:
        return fn()


def _values(where: list[str], dim: str) -> list[str]:
    out = []
    for w in where:
        d, _, v = w.partition("=")
        if d.strip() == dim:
            out += [x.strip() for x in v.split(",")]
    return out


def _by(res: Result, dim: str) -> dict:
    return {r.dims.get(dim): r for r in res.rows}


def _order(dim: str, members: list, first: Result, sort) -> list:
    members = list(dict.fromkeys(members))
    if sort is not None:
        return sorted(members, key=sort)
    if dim == "administration":
        order = list(ADMINISTRATIONS)
        return sorted(members, key=lambda m: (order.index(m) if m in order else 99, str(m)))
    if first is not None and first.kpi.unit == COUNT and dim not in ("round",):
        counts = _by(first, dim)
        return sorted(members, key=lambda m: (-(counts[m].value or 0) if m in counts else 0,
                                              str(m)))
    return sorted(members, key=lambda m: (m is None, str(m)))


def _estimate_notes(t: Table) -> list[str]:
    return sorted({c.note for _, _, c in t.cells() if c.estimate and c.note})


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
                "Hele kommunen (eller de valgte filtre), opregnet som tabellen ovenfor.",
                [b.trend_table("udvikling", "Klager og sager over tid", years,
                               ["complaints_received", "cases_received", "complaint_rate",
                                "appeal_change_rate"], annualise=True,
                               chart=ChartRef("Klager i forhold til sagsmængde (%)",
                                              ["complaint_rate"], PCT))]),
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
                "Åbne sager og sager over frist ved periodens slutning. Opdelingen på "
                "sagstype og center vises, når rapporten er afgrænset til én forvaltning.",
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
                                              ["deadline_compliance"], PCT))]),
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
        Section("klagepunkter", "Klagepunkter",
                "En klage kan have flere klagepunkter; summen kan derfor overstige antallet "
                "af klager.",
                [b.kpi_table("klagepunkter", "Klager pr. klagepunkt", ["complaints_received"],
                             "points", chart=ChartRef("Klager pr. klagepunkt",
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
    body = sorted(checks.rows[:-1], key=lambda r: (-(r["audit_check_error_rate"].value or 0),
                                                   r["label"]))
    checks.rows[:-1] = body
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
    organisation, case types and targets. With an administration filter, batches of cases,
    volumes and complaints only when they hold rows of the filtered administrations."""
    kinds = {"organisation", "case_types", "targets"}
    for k in kpis:
        kinds |= set(BATCH_KINDS.get(get_kpi(k).table, ()))
    admins = _values(list(where), "administration")
    scope = current().data_scope  # a scoped reader sees batches of its own rows only
    if not scope.everything:
        admins = [a for a in (admins or sorted(scope.administrations))
                  if a in scope.administrations] or ["-"]
    outside: set = set()
    own_rows: dict = {}  # batch → rows of the scope, for a scoped reader
    if admins:
        for kind in kinds & {"cases", "volumes", "complaints"}:
            mine: dict = {}
            for batch, admin, unit, n in src.query(
                    f'SELECT "_batch", administration, unit, count(*) FROM "{kind}" '
                    f'GROUP BY "_batch", administration, unit'):
                mine.setdefault(batch, set()).add(admin)
                if admin in admins and scope.contains(admin, unit):
                    own_rows[batch] = own_rows.get(batch, 0) + n
            outside |= {b for b, a in mine.items() if not a & set(admins)}
    cols = ["id", "kind", "source", "file", "status", "rows_loaded", "covers_start",
            "covers_end", "loaded_at", "sha256"]
    out = []
    for r in src.query(f"SELECT {', '.join(cols)} FROM batches ORDER BY id"):
        d = dict(zip(cols, r, strict=True))
        if d["kind"] not in kinds or d["status"] != "indlæst" or d["id"] in outside:
            continue
        if not scope.everything and d["kind"] in ("cases", "volumes", "complaints"):
            if d["id"] not in own_rows:
                continue
            d["rows_loaded"] = own_rows[d["id"]]  # not the rows of other administrations
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
        out.append((FILTER_LABELS.get(dim.strip(), dim.strip()), ", ".join(vals)))
    return out


def build(src: Source, kind: str, period: str | Period, where: list[str] | None = None,
          internal: bool = False, threshold: int = 5) -> Report:
    """One report of ``kind`` for a period and filters ("DIM=VALUE")."""
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
    b = Builder(src, p, where)
    sections = KINDS[kind](b)
    for s in sections:  # a cross table too wide for the page is left out (see its section)
        s.tables = [t for t in s.tables if t is not None]
    report = Report(kind, TITLES[kind], p, filter_labels(b), internal, threshold, sections,
                    list(src.used), [])
    report.batches = batches_behind(src, report.kpis, p, where)
    return report
