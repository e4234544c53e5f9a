"""The PDF reports the CLI writes, read back the way a person would: poppler's pdftotext for
the text of each page, pdftoppm for the page images."""

from __future__ import annotations

import shutil
import struct
import subprocess
from datetime import date
from pathlib import Path

import pytest

from sagsindsigt.calendar import Period
from sagsindsigt.kpis import get as get_kpi
from sagsindsigt.reports.model import COUNT, Cell, Column, Report, Section, Table
from sagsindsigt.reports.pdf import fmt, render_pdf

from .conftest import CASES

pytestmark = [pytest.mark.xdist_group("demo"),
              pytest.mark.skipif(not shutil.which("pdftotext"),
                                 reason="poppler-utils mangler (apt-get install poppler-utils)")]


def pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def page_images(path: Path, tmp_path: Path) -> list[tuple[int, int]]:
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(path), str(tmp_path / "p")], check=True)
    sizes = []
    for png in sorted(tmp_path.glob("p-*.png")):
        with open(png, "rb") as f:
            head = f.read(24)
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        sizes.append(struct.unpack(">II", head[16:24]))
    return sizes


@pytest.mark.parametrize("kind", list(CASES))
def test_pages_headers_numbers_and_figures(report_files, reports, kind, tmp_path):
    rep = reports[(kind, False)]
    path = report_files[(kind, "pdf", "publication")]
    text = pages(path)
    n = len(text)
    assert n >= 3
    images = page_images(path, tmp_path)
    assert len(images) == n
    for w, h in images:  # A4 portrait: 210 × 297 mm
        assert abs(w / h - 210 / 297) < 0.01
    period = Period.parse(CASES[kind][0]).danish()
    for i, page in enumerate(text, start=1):
        # the running header names the report, the period and every filter; the footer the page
        assert rep.title in page and f"Periode: {period}" in page, (kind, i)
        for label, value in rep.filters:
            assert f"{label}: {value}" in " ".join(page.split()), (kind, i)
        assert f"Side {i} af {n}" in page
    whole = "\n".join(text)
    flat = " ".join(whole.split())
    assert "Dannet " + _long_today() in flat
    # every figure of the total rows as the registry gives it, in Danish format
    for t in rep.tables():
        assert t.title in flat
        last = t.rows[-1]
        for c in t.columns[1:]:
            cell = last.get(c.key)
            if isinstance(cell, Cell) and cell.value is not None and not cell.hidden \
                    and not isinstance(cell.value, str):
                assert fmt(cell) in whole, (kind, t.id, c.key, fmt(cell))
    # the definitions appendix lists every KPI used, with its registry description's start
    appendix = flat[flat.rindex("Bilag: Definitioner af nøgletal"):]
    for k in rep.kpis:
        assert get_kpi(k).label in appendix and k in appendix
    if len(rep.tables()) >= 5:
        assert "Indhold" in text[0]  # a table of contents for long reports


def _long_today() -> str:
    from sagsindsigt.danish import long_date

    return long_date(date.today())


def test_danish_numbers_in_the_seed_table(report_files, demo_store):
    from sagsindsigt.present.seed import overview as overview_table

    text = " ".join(" ".join(pages(report_files[("oekonomiudvalg", "pdf", "publication")]))
                    .split())
    want = overview_table(demo_store, "2014")
    bif = want["rows"][0]
    assert bif[0].startswith("Beskæftigelses")
    assert " ".join(bif[3:]) in text  # e.g. "4.000 154.440 2,6 %"
    for note in want["footnotes"][:-1]:
        assert note in text


def test_long_tables_run_over_pages_with_repeated_headers(tmp_path):
    """A table of 150 rows: every page it runs over starts with the table's header row."""
    cols = [Column("label", "Sagstype"), Column("n", "Modtagne sager", COUNT),
            Column("m", "Afgjorte sager", COUNT)]
    t = Table("lang", "En lang tabel", cols)
    for i in range(150):
        t.rows.append({"label": f"Række {i + 1:03d}", "n": Cell(1000 + i, COUNT),
                       "m": Cell(2000 * i, COUNT)})
    rep = Report("kvartal", "Prøverapport", Period.parse("2014-Q2"), [("Forvaltning", "SOF")],
                 "Socialforvaltningen (SOF)",
                 False, 5, [Section("s", "Afsnit", "", [t])], ["cases_received"], [])
    path = tmp_path / "lang.pdf"
    path.write_bytes(render_pdf(rep))
    text = pages(path)
    with_rows = [p for p in text if "Række " in p]
    assert len(with_rows) >= 3
    for p in with_rows:
        lines = [ln.strip() for ln in p.splitlines() if ln.strip()]
        first_row = next(i for i, ln in enumerate(lines) if ln.startswith("Række "))
        assert lines[first_row - 1].split() == ["Sagstype", "Modtagne", "sager", "Afgjorte",
                                                "sager"], p[:400]
    assert "Række 150" in text[-3] or any("Række 150" in p for p in text)
    assert "2.000" in " ".join(text) and "298.000" in " ".join(text)  # Danish thousands


# -- reports that print (issue 17): nothing overlaps, nothing is cut, nothing twice ----------


def words(path: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words with their boxes (poppler's ``pdftotext -bbox``)."""
    import html
    import re

    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    box = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                     r'yMax="([\d.]+)">([^<]*)</word>')
    return [[(*map(float, m.groups()[:4]), html.unescape(m.group(5))) for m in box.finditer(p)]
            for p in xml.split("<page ")[1:]]


def overlapping(page: list[tuple]) -> list[tuple[str, str]]:
    """Pairs of words whose boxes overlap by more than a quarter of the smaller one (rotated
    bar names crossing each other did; glyphs that merely touch do not)."""
    out = []
    for i, a in enumerate(page):
        for b in page[i + 1:]:
            w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
            smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
            if w > 0 and h > 0 and smaller > 0 and w * h / smaller > 0.25:
                out.append((a[4], b[4]))
    return out


@pytest.mark.parametrize("kind", list(CASES))
def test_no_text_overlaps_and_nothing_runs_off_the_page(report_files, kind, tmp_path):
    """Every word of every page stands clear of the others, and each page rendered to PNG
    (pdftoppm) is blank in its side margins: no table or chart runs past the text column."""
    from PIL import Image

    path = report_files[(kind, "pdf", "publication")]
    for i, page in enumerate(words(path), start=1):
        assert len(page) > 20 and overlapping(page) == [], (kind, i, overlapping(page)[:5])
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert pngs
    for png in pngs:
        with Image.open(png) as im:
            gray = im.convert("L")
            mm = gray.width / 210  # A4: 15 mm margins, 11 mm of them must stay blank
            for strip in ((0, 0, int(11 * mm), gray.height),
                          (gray.width - int(11 * mm), 0, gray.width, gray.height)):
                assert gray.crop(strip).getextrema() == (255, 255), (kind, png.name, strip)


def chart_text(spec: dict, tmp_path: Path) -> str:
    """The text of one chart as the PDF prints it (the same SVG, in a page of its own)."""
    from weasyprint import HTML

    from sagsindsigt.reports.pdf import svg

    path = tmp_path / "chart.pdf"
    HTML(string=f'<img src="{svg(spec)}" alt="">').write_pdf(path)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def times(text: str, name: str, others: list[str]) -> int:
    """How often ``name`` stands in ``text``, not counting where it is part of a longer name
    of the same chart ("Åbne sager" in "Åbne sager over frist")."""
    return text.count(name) - sum(text.count(o) * o.count(name) for o in others
                                  if o != name and name in o)


@pytest.mark.parametrize("kind", list(CASES))
def test_every_chart_name_whole_and_once(reports, kind, tmp_path):
    """Each bar's name and each series' name (the legend) is printed whole, once, and level:
    no ellipsis, no name cut at the legend's edge ("Åbne sager over fris"), no letters of
    rotated names scattered over the page."""
    checked = 0
    for t in reports[(kind, False)].tables():
        spec = t.chart.spec if t.chart else None
        if not spec or not spec["data"]["values"]:
            continue
        text = chart_text(spec, tmp_path)
        names = list(dict.fromkeys(d["gruppe"] for d in spec["data"]["values"]))
        series = list(dict.fromkeys(d["serie"] for d in spec["data"]["values"]))
        if len(series) > 1:
            names += series
        assert "…" not in text, (kind, t.id)
        for name in names:
            assert times(text, name, names) == 1, (kind, t.id, name, text[:300])
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("kind", list(CASES))
def test_every_heading_once(report_files, reports, kind):
    """Every section, table and chart title stands once in the report (a section of one
    table of the same name is headed once): among the lines printed as headings (taller than
    the tables' text, which may hold the same words, e.g. a column "Måltal"); every table is
    drawn or says why not."""
    rep = reports[(kind, False)]
    path = report_files[(kind, "pdf", "publication")]
    headings = [text for text, height in lines(path) if height > 10.5]
    titles = [s.title for s in rep.sections] + [t.title for t in rep.tables()] + \
        [t.chart.title for t in rep.tables() if t.chart and t.body]
    for title in dict.fromkeys(titles):
        assert headings.count(title) == 1, (kind, title, headings.count(title))
    flat = " ".join(" ".join(pages(path)).split())
    for t in rep.tables():
        if not t.rows:
            assert t.why_empty and " ".join(t.why_empty.split()) in flat


def lines(path: Path) -> list[tuple[str, float]]:
    """Every printed line's text and height in points (``pdftotext -bbox-layout``): a
    heading's line is taller than a table's."""
    import html
    import re

    xml = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    out = []
    for m in re.finditer(r'<line xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" '
                         r'yMax="([\d.]+)">(.*?)</line>', xml, re.S):
        text = " ".join(html.unescape(w) for w in re.findall(r">([^<]*)</word>", m.group(3)))
        out.append((text, float(m.group(2)) - float(m.group(1))))
    return out


def test_no_row_of_dashes_and_an_empty_section_says_why(report_files, reports, demo_store,
                                                        tmp_path):
    """The finance committee's report for 2014 looks four years back: 2011 has no data, so
    its row is left out and named, not printed as a row of "-". A period without targets
    says so (and where targets are), instead of an empty Måltal table."""
    from sagsindsigt.reports import build_report

    rep = reports[("oekonomiudvalg", False)]
    trend = next(t for t in rep.tables() if t.id == "udvikling")
    assert [r["label"] for r in trend.rows] == ["2012", "2013", "2014"]
    assert "Udeladt, fordi der ingen tal er: 2011." in trend.remarks
    for t in rep.tables():  # no row of the report is without a figure
        for r in t.rows:
            assert any(isinstance(c, Cell) and (c.value is not None or c.hidden)
                       or isinstance(c, str) for k, c in r.items()
                       if not k.startswith("_") and k != "label"), (t.id, r["label"])
    text = " ".join(" ".join(pages(report_files[("oekonomiudvalg", "pdf", "publication")]))
                    .split())
    assert "Udeladt, fordi der ingen tal er: 2011." in text
    assert "2011 - - - -" not in text and "Økonomiforvaltningen - -" not in text

    empty = build_report(demo_store, "oekonomiudvalg", "2013")
    targets = next(t for t in empty.tables() if t.id == "maaltal")
    assert targets.rows == [] and targets.why_empty.startswith(
        "Der er ikke sat måltal for 2013 for hele kommunen, så der er intet at vurdere her.")
    assert "Der er sat måltal for 2014." in targets.why_empty
    path = tmp_path / "oeu-2013.pdf"
    path.write_bytes(render_pdf(empty))
    section = " ".join(" ".join(pages(path)).split())
    section = section[section.index("Måltal for perioden"):section.index("Bilag:")]
    assert " ".join(targets.why_empty.split()) in section
    assert "Afgrænsning" not in section  # no empty table under it
