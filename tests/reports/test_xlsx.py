"""The Excel reports the CLI writes: real numbers in Danish formats (percentages as the
fractions Excel's % format expects), a sheet per table, native charts with value axes from
zero, traffic lights, frozen headers, every sheet set up to print, definitions and batches;
figures equal to the KPI registry's and to the Overblik table."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile

import pytest
from openpyxl import load_workbook

from sagsindsigt import danish
from sagsindsigt.kpis import Query, compute
from sagsindsigt.kpis import get as get_kpi
from sagsindsigt.present.labels import DIM_LABELS, UNIT_NAMES
from sagsindsigt.present.seed import overview as overview_table
from sagsindsigt.reports.model import COUNT, PCT, Cell
from sagsindsigt.reports.suppression import revealed
from sagsindsigt.reports.xlsx import HEADER_ROW, NUMBER_FORMATS, chart_type, sheet_names

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
                else:  # a percentage as the fraction Excel's % format shows as one
                    want = c.value / 100 if c.unit == PCT else c.value
                    assert isinstance(x.value, int | float) and x.value == pytest.approx(want)
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
    # 2,6 % is stored as 0.026 and shown by Excel's percent format (in Danish: 2,6 %)
    assert rate.number_format == "0.0 %" and 0 < rate.value < 0.1
    days = wb["Rapport"]  # the front sheet names the period and every filter
    assert "Periode: 2014" in days["A2"].value


def test_seed_table_equals_the_overview(report_files, demo_store):
    """Every figure of seed 000's table as on the Overblik page and in 'sagsindsigt
    overview' (which format it), here as numbers."""
    want = overview_table(demo_store, "2014")
    ws = book(report_files, "oekonomiudvalg", "internal")["klager_sagsmaengde"]
    # a row without any figure (Økonomiforvaltningen) is left out, and named below the table
    kept = [r for r in want["rows"] if any(x != "-" for x in r[1:])]
    left_out = [r[0] for r in want["rows"] if r not in kept]
    assert left_out == ["Økonomiforvaltningen"]
    got = []
    for r in ws.iter_rows(min_row=HEADER_ROW + 2, max_row=HEADER_ROW + 1 + len(kept)):
        v = [c.value for c in r[:6]]
        got.append([v[0]] + [x if x == "-" else danish.number(x) for x in v[1:5]]
                   + [v[5] if v[5] == "-" else danish.value(v[5] * 100, "%")])
    assert got == kept
    assert ws.cell(HEADER_ROW + 2 + len(kept), 1).value is None  # nothing after the rows
    texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert [n[2:] for n in texts if n.startswith("* ")] == want["footnotes"]
    assert "Udeladt, fordi der ingen tal er: Økonomiforvaltningen." in texts


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
    scale = 100 if get_kpi(kpi).unit == PCT else 1  # the workbook holds fractions
    want = sorted(r.value for r in res.rows if r.value is not None)
    got = sorted(v * scale for k, v in values.items() if k != "I alt" and v != "-")
    assert got == pytest.approx(want) and want
    assert values["I alt"] * scale == pytest.approx(total)


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
        charted = [t for t in rep.tables() if t.chart and t.body]
        with zipfile.ZipFile(report_files[(kind, "xlsx", "publication")]) as z:
            charts = sorted((n for n in z.namelist() if n.startswith("xl/charts/chart")),
                            key=lambda n: int(re.sub(r"\D", "", n)))
            assert len(charts) == len(charted), kind
            for name, t in zip(charts, charted, strict=True):
                xml = z.read(name).decode()
                # a trend is a line; many or long names lie as horizontal bars
                kind_xml = {"line": "<c:lineChart>", "bar": "<c:barChart>",
                            "column": "<c:barChart>"}[chart_type(t)]
                assert kind_xml in xml, (kind, t.id)
                if chart_type(t) != "line":
                    direction = "bar" if chart_type(t) == "bar" else "col"
                    assert f'<c:barDir val="{direction}"/>' in xml, (kind, t.id)
                # the value axis starts at zero
                value_axis = xml[xml.index("<c:valAx>"):xml.index("</c:valAx>")]
                assert '<c:min val="0"/>' in value_axis, (kind, t.id)
    kinds = {chart_type(t) for kind in CASES for t in reports[(kind, False)].tables()
             if t.chart and t.body}
    assert kinds == {"line", "bar"}  # the demo's trends and its many named rows
    wb = book(report_files, "kvalitet")
    rules = [r for rng in wb["koncepter"].conditional_formatting for r in rng.rules]
    fills = {r.dxf.fill.bgColor.rgb[-6:] for r in rules}
    assert {"C6EFCE", "FFEB9C", "FFC7CE"} <= {f.upper() for f in fills}
    assert {r.operator for r in rules} >= {"greaterThanOrEqual", "between", "lessThan"}
    # thresholds on fractions: green from 94,5 %
    assert {r.formula[0] for r in rules if r.operator == "greaterThanOrEqual"} == {"0.945"}
    targets = book(report_files, "oekonomiudvalg")["maaltal"]
    texts = {r.formula[0] for rng in targets.conditional_formatting for r in rng.rules}
    assert texts == {'"Opfyldt"', '"Ikke opfyldt"'}


@pytest.mark.parametrize("kind", list(CASES))
def test_definitions_and_batches_sheets(report_files, reports, demo_store, kind):
    rep = reports[(kind, False)]
    wb = book(report_files, kind)
    ws = wb["Definitioner"]
    assert [c.value for c in ws[3]][:5] == ["Nøgletal", "Enhed", "Kan opdeles efter",
                                            "Definition", "Navn i kommandolinjen og API'et"]
    rows = [[c.value for c in r[:5]] for r in ws.iter_rows(min_row=4) if r[0].value]
    assert [r[4] for r in rows] == rep.kpis and rep.kpis
    for label, unit, dims, text, kid in rows:  # in Danish; the id last, for the CLI
        k = get_kpi(kid)
        assert (label, unit, dims, text) == (k.label, UNIT_NAMES[k.unit], ", ".join(
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


@pytest.mark.parametrize("kind", list(CASES))
def test_every_sheet_is_set_up_to_print(report_files, reports, kind):
    """A4, one page wide (as many long as it takes), the header row on every page, landscape
    where the table is wide, page numbers in the footer: LibreOffice printed 21 and 23
    pages of cut-off columns before."""
    rep = reports[(kind, False)]
    wb = book(report_files, kind)
    names = sheet_names(rep)
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.paperSize == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ps.fitToWidth, ps.fitToHeight) == (1, 0), ws.title
        assert ws.oddFooter.right.text == "Side &P af &N"
    for t in rep.tables():
        ws = wb[names[t.id]]
        assert ws.print_title_rows == f"${HEADER_ROW + 1}:${HEADER_ROW + 1}", t.id
        widths = sum(ws.column_dimensions[chr(65 + j)].width for j in range(len(t.columns)))
        assert ws.page_setup.orientation == ("landscape" if widths > 95 else "portrait"), t.id
    assert wb["Definitioner"].page_setup.orientation == "landscape"
    assert wb["Indlæsninger"].print_title_rows == "$3:$3"


def test_percentages_are_fractions_with_a_percent_format(report_files, reports):
    """Every percentage cell holds the fraction (2,6 % as 0.026) with the format 0.0 %, so a
    formula on it (a sum, a ratio) gives the right answer."""
    seen = 0
    for kind in CASES:
        rep = reports[(kind, True)]
        wb = book(report_files, kind, "internal")
        names = sheet_names(rep)
        for t in rep.tables():
            ws = wb[names[t.id]]
            for i, row in enumerate(t.rows):
                for j, col in enumerate(t.columns[1:], start=2):
                    c = row.get(col.key)
                    if isinstance(c, Cell) and c.unit == PCT and \
                            isinstance(c.value, int | float):
                        x = ws.cell(HEADER_ROW + 2 + i, j)
                        assert x.number_format == "0.0 %"
                        assert x.value == pytest.approx(c.value / 100), (kind, t.id, col.key)
                        assert -1.0 <= x.value <= 1.0
                        seen += 1
    assert seen > 50


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice mangler (apt-get install "
                    "libreoffice-calc-nogui); sidetallet ved udskrift tjekkes ikke")
def test_libreoffice_prints_few_whole_pages(report_files, tmp_path):
    """LibreOffice prints each workbook as the report it is: a page or two a sheet."""
    pages = {}
    for kind in ("oekonomiudvalg", "kvartal"):
        src = tmp_path / f"{kind}.xlsx"
        shutil.copy(report_files[(kind, "xlsx", "publication")], src)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
                        "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                       check=True, capture_output=True, timeout=180,
                       env={**os.environ, "HOME": str(tmp_path)})
        info = subprocess.run(["pdfinfo", str(tmp_path / f"{kind}.pdf")], check=True,
                              capture_output=True, text=True).stdout
        pages[kind] = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages["oekonomiudvalg"] <= 9 and pages["kvartal"] <= 10, pages
