"""The Rapporter page builds and downloads the same reports as 'sagsindsigt report', with the
dashboard's figures."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from sagsindsigt.reports.xlsx import HEADER_ROW

from . import test_accessibility, test_browser
from .downloads import xlsx_rows

pytestmark = pytest.mark.xdist_group("demo")
browser = test_browser.browser  # the same Chromium
page = test_accessibility.page  # (one that lets the test inject axe-core)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CASES = {
    "oekonomiudvalg": {"period": "2014"},
    "kvartal": {"period": "2014-Q2", "administration": "SOF"},
    "borgerraadgiver": {"period": "2014"},
    "kvalitet": {"period": "2014", "administration": "BIF"},
}


def test_the_page_offers_every_report(client):
    r = client.get("/rapporter", params={"period": "2014"})
    assert r.status_code == 200
    html = r.text
    assert "<h1>Rapporter</h1>" in html and 'action="/rapporter/hent"' in html
    for kind in CASES:
        assert f'value="{kind}"' in html
    assert 'href="/rapporter" aria-current="page"' in html  # in the navigation
    assert '<option value="SOF">Socialforvaltningen (SOF)</option>' in html
    assert '<option value="2014-Q2">2. kvartal 2014</option>' in html


def _sheet(content: bytes, sheet: str) -> dict:
    ws = load_workbook(io.BytesIO(content))[sheet]
    head = [c.value for c in ws[HEADER_ROW + 1]]
    rows = {}
    for r in ws.iter_rows(min_row=HEADER_ROW + 2):
        if r[0].value is None:
            break
        rows[r[0].value] = dict(zip(head, [c.value for c in r], strict=False))
    return rows


@pytest.mark.parametrize("kind", list(CASES))
def test_the_page_downloads_pdf_and_xlsx(client, kind):
    params = {"kind": kind, **CASES[kind]}
    x = client.get("/rapporter/hent", params={**params, "format": "xlsx"})
    assert x.status_code == 200 and x.headers["content-type"] == XLSX
    name = "-".join([kind, CASES[kind]["period"], CASES[kind].get("unit")
                     or CASES[kind].get("administration") or "kommune"])
    assert f'filename="{name}.xlsx"' in x.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames[0] == "Rapport" and wb.sheetnames[-2:] == ["Definitioner",
                                                                    "Indlæsninger"]
    p = client.get("/rapporter/hent", params={**params, "format": "pdf"})
    assert p.status_code == 200 and p.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=p.content, check=True,
                              capture_output=True).stdout.decode()
        assert "Side 1 af" in text and wb["Rapport"]["A1"].value in text


def test_page_figures_equal_the_dashboard_api(client):
    """The page's workbook holds the numbers /api/kpi gives (the dashboard's and the CLI's)."""
    x = client.get("/rapporter/hent", params={"kind": "borgerraadgiver", "period": "2014",
                                              "format": "xlsx", "internal": "true"})
    rows = _sheet(x.content, "forvaltninger")
    api = client.get("/api/kpi/complaints_received",
                     params={"period": "2014", "by": "administration"}).json()
    names = {"BIF": "Beskæftigelses- og Integrationsforvaltningen", "SOF": "Socialforvaltningen"}
    by_admin = {r["administration"]: r["value"] for r in api["rows"]}
    for code, label in names.items():
        assert rows[label]["Modtagne klager"] == by_admin[code]
    total = client.get("/api/kpi/complaints_received", params={"period": "2014"}).json()
    assert rows["I alt"]["Modtagne klager"] == total["rows"][0]["value"]
    rate = client.get("/api/kpi/upheld_rate", params={"period": "2014",
                                                      "by": "administration"}).json()
    # the workbook holds the percentage as the fraction Excel's % format shows (41,6 %: 0.416)
    assert rows[names["SOF"]]["Medholdsprocent (%)"] * 100 == pytest.approx(
        next(r["value"] for r in rate["rows"] if r["administration"] == "SOF"))
    # the same report for publication hides the small counts of the cross tables
    pub = client.get("/rapporter/hent", params={"kind": "borgerraadgiver", "period": "2014",
                                                "format": "xlsx"})
    values = [c for r in _sheet(pub.content, "klagetype").values() for c in r.values()]
    exact = [c for r in _sheet(x.content, "klagetype").values() for c in r.values()]
    small = [c for c in exact if isinstance(c, int) and 0 < c < 5]
    assert "<5" not in exact
    # every small count of the internal workbook is hidden in the published one
    assert ("<5" in values) == bool(small)
    assert not [c for c in values if isinstance(c, int) and 0 < c < 5]


def test_html_report_and_danish_errors(client):
    r = client.get("/rapporter/hent", params={"kind": "kvartal", "period": "2014-Q2",
                                              "administration": "SOF", "format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Forvaltning: Socialforvaltningen" in r.text and "2. kvartal 2014" in r.text
    assert "<thead>" in r.text and "data:image/svg+xml;base64," in r.text
    bad = client.get("/rapporter/hent", params={"kind": "kvartal", "period": "2014-Q9"})
    assert bad.status_code == 400 and "Ukendt periode" in bad.json()["error"]
    assert client.get("/rapporter/hent", params={"kind": "findes_ikke"}).status_code == 404
    fmt = client.get("/rapporter/hent", params={"kind": "kvartal", "format": "doc"})
    assert fmt.status_code == 400 and "pdf, xlsx eller html" in fmt.json()["error"]


# -- in a real browser ---------------------------------------------------------------------


def test_a_person_downloads_a_report_in_the_browser(page, live_server, tmp_path):
    page.goto(f"{live_server}/rapporter?period=2014")
    assert test_accessibility.axe_violations(page) == []
    page.get_by_label("Kvartalsrapport: kritiske sagsområder").check()
    page.get_by_label("Periode", exact=True).last.select_option("2014-Q2")
    page.get_by_label("Forvaltning").select_option("SOF")
    page.get_by_label("Excel (tal til videre beregning)").check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Dan rapport").click()
    download = info.value
    assert download.suggested_filename == "kvartal-2014-Q2-SOF.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    wb = load_workbook(path)
    assert "Forvaltning: Socialforvaltningen" in wb["Rapport"]["A2"].value
    assert "2. kvartal 2014" in wb["Rapport"]["A2"].value


def _download(client, url, params) -> dict:
    r = client.get(url, params=params)
    assert r.status_code == 200, r.text
    head, rows = xlsx_rows(r.content)
    return {row[0]: dict(zip(head, row, strict=False)) for row in rows}


@pytest.mark.parametrize("kind, params, page_table, sheet, kpis", [
    ("kvalitet", {"period": "2014", "administration": "BIF"}, "kvalitet/koncepter",
     "koncepter", ["audit_correct_rate"]),
    ("kvartal", {"period": "2014-Q2", "administration": "SOF"}, "sager/frister", "centre",
     ["deadline_compliance", "processing_days_median", "processing_days_p90"]),
])
def test_report_tables_equal_the_dashboard_tables(client, kind, params, page_table, sheet,
                                                  kpis):
    """The same rows on the dashboard page (its XLSX download) and in the report."""
    from sagsindsigt.kpis import get as get_kpi

    page = _download(client, f"/download/{page_table}.xlsx", params)
    x = client.get("/rapporter/hent", params={"kind": kind, **params, "format": "xlsx",
                                              "internal": "true"})
    report = _sheet(x.content, sheet)
    compared = 0
    for k in kpis:
        col = get_kpi(k).label
        page_values = sorted(r[col] for key, r in page.items()
                             if key != "I alt" and r[col] is not None)
        report_values = sorted(r[f"{col} ({get_kpi(k).unit})"] for key, r in report.items()
                               if key != "I alt" and r[f"{col} ({get_kpi(k).unit})"] != "-")
        assert report_values == pytest.approx(page_values), k
        assert report["I alt"][f"{col} ({get_kpi(k).unit})"] == pytest.approx(
            page["I alt"][col])
        compared += len(page_values)
    assert compared >= 3
