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
