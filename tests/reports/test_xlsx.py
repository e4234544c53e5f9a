"""The Excel reports the CLI writes: real numbers in Danish formats, a sheet per table,
native charts, traffic lights, frozen headers, definitions and batches; figures equal to the
KPI registry's and to the Overblik table."""

from __future__ import annotations

import zipfile

import pytest
from openpyxl import load_workbook

from sagsindsigt import danish
from sagsindsigt.kpis import Query, compute
from sagsindsigt.kpis import get as get_kpi
from sagsindsigt.present.labels import DIM_LABELS
from sagsindsigt.present.seed import overview as overview_table
from sagsindsigt.reports.model import COUNT, Cell
from sagsindsigt.reports.suppression import revealed
from sagsindsigt.reports.xlsx import HEADER_ROW, NUMBER_FORMATS, sheet_names

from .conftest import CASES

pytestmark = pytest.mark.xdist_group("demo")


def book(report_files, kind, mode="publication"):
    return load_workbook(report_files[(kind, "xlsx", mode)])


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("mode", ["publication", "internal"])
def test_every_table_is_a_sheet_of_real_numbers(report_files, reports, kind, mode):
    rep = reports[(kind, mode == "internal")]
    wb = book(report_files, kind, mode)
    names = sheet_names(rep)
    assert wb.sheetnames == ["Rapport", *[names[t.id] for t in rep.tables()], "Definitioner",
                             "Indlæsninger"]
    numbers = 0
    for t in rep.tables():
        ws = wb[names[t.id]]
        assert ws["A1"].value == t.title
        assert rep.period.danish() in ws["A2"].value
        head = HEADER_ROW + 1
        assert ws.freeze_panes == f"B{head + 1}"  # header row and first column stay put
        assert [ws.cell(head, j + 1).value for j in range(len(t.columns))][0] == \
            t.columns[0].label
        for i, row in enumerate(t.rows):
            assert ws.cell(head + 1 + i, 1).value == row["label"]
            for j, col in enumerate(t.columns[1:], start=2):
                c, x = row[col.key], ws.cell(head + 1 + i, j)
                if not isinstance(c, Cell):  # text (the targets' KPI and scope)
                    assert x.value == c
                elif c.hidden:
                    assert x.value == c.hidden and mode == "publication"
                elif c.value is None:
                    assert x.value == "-"
                elif isinstance(c.value, str):
                    assert x.value == c.value
                else:
                    assert isinstance(x.value, int | float) and x.value == pytest.approx(c.value)
                    assert x.number_format == NUMBER_FORMATS[c.unit], (t.id, col.key)
                    numbers += 1
    assert numbers > 20


def test_danish_display_formats(report_files):
    wb = book(report_files, "oekonomiudvalg", "internal")
    ws = wb["klager_sagsmaengde"]
    row = next(r for r in ws.iter_rows(min_row=HEADER_ROW + 2)
               if r[0].value.startswith("Beskæftigelses"))
    cases, rate = row[4], row[5]
    assert cases.number_format == "#,##0" and isinstance(cases.value, int)
    assert rate.number_format == '0.0" %"' and isinstance(rate.value, float)
    days = wb["Rapport"]  # the front sheet names the period and every filter
    assert "Periode: 2014" in days["A2"].value


def test_seed_table_equals_the_overview(report_files, demo_store):
    """Every figure of seed 000's table as on the Overblik page and in 'sagsindsigt
    overview' (which format it), here as numbers."""
    want = overview_table(demo_store, "2014")
    ws = book(report_files, "oekonomiudvalg", "internal")["klager_sagsmaengde"]
    got = []
    for r in ws.iter_rows(min_row=HEADER_ROW + 2, max_row=HEADER_ROW + 1 + len(want["rows"])):
        v = [c.value for c in r[:6]]
        got.append([v[0]] + [x if x == "-" else danish.number(x) for x in v[1:5]]
                   + [v[5] if v[5] == "-" else danish.value(v[5], "%")])
    assert got == want["rows"]
    notes = [c.value for c in ws["A"] if isinstance(c.value, str) and c.value.startswith("* ")]
    assert [n[2:] for n in notes] == want["footnotes"]


@pytest.mark.parametrize("kind, sheet, kpi, dim", [
    ("borgerraadgiver", "forvaltninger", "complaints_received", "administration"),
    ("borgerraadgiver", "forvaltninger", "upheld_rate", "administration"),
    ("kvartal", "centre", "overdue_open_cases", "unit"),
    ("kvartal", "sagstyper", "processing_days_p90", "case_type"),
    ("kvalitet", "koncepter", "audit_correct_rate", "concept"),
])
def test_figures_equal_the_registry(report_files, demo_store, kind, sheet, kpi, dim):
    period, where = CASES[kind]
    res = compute(demo_store, Query.make(kpi, period, [dim], where))
    total = compute(demo_store, Query.make(kpi, period, [], where)).rows[0].value
    ws = book(report_files, kind, "internal")[sheet]
    head = [c.value for c in ws[HEADER_ROW + 1]]
    col = head.index(get_kpi(kpi).label + ("" if get_kpi(kpi).unit == COUNT
                                           else f" ({get_kpi(kpi).unit})"))
    values = {}
    for r in ws.iter_rows(min_row=HEADER_ROW + 2):
        if r[0].value is None:
            break
        values[r[0].value] = r[col].value
    want = sorted(r.value for r in res.rows if r.value is not None)
    got = sorted(v for k, v in values.items() if k != "I alt" and v != "-")
    assert got == pytest.approx(want) and want
    assert values["I alt"] == pytest.approx(total)


def test_publication_hides_small_counts_and_nothing_is_recoverable(report_files, reports):
    hidden = 0
    for kind in CASES:
        rep = reports[(kind, False)]
        wb = book(report_files, kind)
        names = sheet_names(rep)
        for t in rep.tables():
            assert revealed(t) == [], (kind, t.id)
            ws = wb[names[t.id]]
            for r in ws.iter_rows(min_row=HEADER_ROW + 2, max_row=HEADER_ROW + 1 + len(t.rows)):
                for c in r[1:len(t.columns)]:
                    units = {col.unit for col in t.columns[1:]}
                    if units == {COUNT} and isinstance(c.value, int | float):
                        assert not 0 < c.value < 5, (kind, t.id, c.coordinate)
                    hidden += c.value in ("<5", "x")
    assert hidden > 0  # the demo has small counts (e.g. BUF's complaints by kind)
    # the internal workbook shows them exactly
    ws = book(report_files, "borgerraadgiver", "internal")["klagetype"]
    assert not any(c.value in ("<5", "x") for r in ws.iter_rows() for c in r)


def test_native_charts_and_traffic_lights(report_files, reports):
    for kind in CASES:
        rep = reports[(kind, False)]
        with zipfile.ZipFile(report_files[(kind, "xlsx", "publication")]) as z:
            charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
            assert len(charts) == sum(1 for t in rep.tables() if t.chart), kind
            assert all(b"<c:barChart>" in z.read(n) for n in charts)
    wb = book(report_files, "kvalitet")
    rules = [r for rng in wb["koncepter"].conditional_formatting for r in rng.rules]
    fills = {r.dxf.fill.bgColor.rgb[-6:] for r in rules}
    assert {"C6EFCE", "FFEB9C", "FFC7CE"} <= {f.upper() for f in fills}
    assert {r.operator for r in rules} >= {"greaterThanOrEqual", "between", "lessThan"}
    targets = book(report_files, "oekonomiudvalg")["maaltal"]
    texts = {r.formula[0] for rng in targets.conditional_formatting for r in rng.rules}
    assert texts == {'"Opfyldt"', '"Ikke opfyldt"'}


@pytest.mark.parametrize("kind", list(CASES))
def test_definitions_and_batches_sheets(report_files, reports, demo_store, kind):
    rep = reports[(kind, False)]
    wb = book(report_files, kind)
    ws = wb["Definitioner"]
    rows = [[c.value for c in r[:5]] for r in ws.iter_rows(min_row=4) if r[0].value]
    assert [r[0] for r in rows] == rep.kpis and rep.kpis
    for kid, label, unit, dims, text in rows:
        k = get_kpi(kid)
        assert (label, unit, dims, text) == (k.label, k.unit, ", ".join(
            DIM_LABELS[d].lower() for d in k.dims), k.description)
    ws = wb["Indlæsninger"]
    ids = [r[0].value for r in ws.iter_rows(min_row=4) if r[0].value is not None]
    stored = {r[0]: r[1] for r in demo_store._engine.query("SELECT id, kind FROM batches")}
    assert ids and set(ids) <= set(stored)
    kinds = {stored[i] for i in ids}
    need = {"oekonomiudvalg": {"complaints", "cases", "volumes", "targets"},
            "kvartal": {"cases"}, "borgerraadgiver": {"complaints"},
            "kvalitet": {"reviews", "concepts"}}[kind]
    assert need <= kinds
    if kind == "kvartal":  # filtered to SOF: only case batches holding SOF's cases
        sof = {r[0] for r in demo_store._engine.query(
            "SELECT DISTINCT _batch FROM cases WHERE administration = 'SOF'")}
        case_batches = {i for i in ids if stored[i] == "cases"}
        assert case_batches and case_batches <= sof


def test_cells_are_plain_data():
    assert Cell(3, COUNT, hidden="<5").shown == "<5" and Cell(3, COUNT).shown == 3
