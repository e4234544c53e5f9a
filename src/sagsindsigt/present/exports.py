"""The one writer of downloads (CSV and XLSX) for pages and workflows.

Numbers stay numbers (Danish display formats in XLSX, decimal comma in CSV); text that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return: OWASP's CSV injection) is neutralised: in CSV with a leading apostrophe, in
XLSX by storing it as text. Every file says whose data it holds: an ``Område`` column in CSV
(which stays one rectangular table for machines), title lines in XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from .tables import Cell, Table

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PERCENT_FORMAT = "0.0 %"  # Excel's percent: the cell holds the fraction (0.026 shows 2,6 %)
NUMBER_FORMATS = {"%": PERCENT_FORMAT, "antal": "#,##0", "dage": "0.0"}
SCOPE_COLUMN = "Område"
A4 = 9  # Excel's paper size code


def excel_number(value: float | int, unit: str | None) -> float | int:
    """A figure as a spreadsheet cell holds it: a percentage as the fraction Excel's ``%``
    format expects (2.6 % is 0.026), so a formula on it computes right; all else as is."""
    return value / 100 if unit == "%" else value


def safe_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP): a leading apostrophe before a
    formula character. A lone "-" (no figure) is left as it is."""
    if text.startswith(FORMULA_START) and text != "-":
        return "'" + text
    return text


def plain(v: Any) -> Any:
    """A cell as a number (or text) for a download: the value the page formats."""
    if isinstance(v, Cell):
        return v.shown
    return v


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "ja" if v else "nej"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return safe_text(str(v))


def csv_bytes(t: Table, scope: str) -> bytes:
    """One table as semicolon-separated UTF-8 with BOM (what a Danish Excel opens), the
    scope in the first column of every row."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow([SCOPE_COLUMN] + [c.label for c in t.columns])
    for r in t.rows:
        w.writerow([_csv_value(scope)] + [_csv_value(plain(r.get(c.key))) for c in t.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _write(ws, row: int, col: int, v: Any, number_format: str | None = None) -> None:
    c = ws.cell(row, col)
    if v is None:
        return
    if isinstance(v, bool):
        c.value = "Ja" if v else "Nej"
    elif isinstance(v, int | float | date | datetime):
        c.value = v
        if isinstance(v, datetime):
            c.number_format = "DD-MM-YYYY HH:MM"
        elif isinstance(v, date):
            c.number_format = "DD-MM-YYYY"
        elif number_format:
            c.number_format = number_format
    else:
        c.value = str(v)
        c.data_type = "s"  # never a formula, whatever the text starts with


def print_setup(ws, header_row: int, wide: bool) -> None:
    """An openpyxl sheet set up to print: A4, one page wide, the header row on every page,
    landscape when ``wide``."""
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.right.text = "Side &P af &N"


def workbook(sheets: Iterable[tuple]) -> bytes:
    """A workbook of sheets, each (name, title lines, header, rows, unit per column[,
    remarks]): the title lines first (the first in bold), then the header and the rows,
    header frozen, and the remarks below; set up to print (:func:`print_setup`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, lines, header, rows, units, *rest in sheets:
        remarks = rest[0] if rest else []
        title = name[:31]
        i = 2
        while title in used:
            title = f"{name[:28]}_{i}"
            i += 1
        used.add(title)
        ws = wb.create_sheet(title)
        for n, line in enumerate(lines, start=1):
            _write(ws, n, 1, line)
            if n == 1:
                ws.cell(n, 1).font = Font(bold=True)
        top = len(lines) + (2 if lines else 1)
        for j, h in enumerate(header, start=1):
            _write(ws, top, j, h)
            ws.cell(top, j).font = Font(bold=True)
        for i, r in enumerate(rows, start=top + 1):
            for j, v in enumerate(r, start=1):
                unit = units[j - 1] if j - 1 < len(units) else None
                if isinstance(v, int | float) and not isinstance(v, bool):
                    v = excel_number(v, unit)
                _write(ws, i, j, v, NUMBER_FORMATS.get(unit or ""))
        for n, remark in enumerate(remarks, start=top + len(rows) + 2):
            _write(ws, n, 1, remark)
        ws.freeze_panes = ws.cell(top + 1, 2)
        print_setup(ws, top, wide=len(header) > 6)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_sheet(t: Table, lines: list[str]) -> tuple:
    """A table as a sheet for :func:`workbook` (a traffic-light column where cells have
    lights)."""
    header = [c.label for c in t.columns]
    units: list[str | None] = [c.unit for c in t.columns]
    rows = [[plain(r.get(c.key)) for c in t.columns] for r in t.rows]
    if any(c.light for _, _, c in t.cells()):
        header.append("Trafiklys")
        units.append(None)
        for r, out in zip(t.rows, rows, strict=True):
            lights = [v.light for v in r.values() if isinstance(v, Cell) and v.light]
            out.append(LIGHTS.get(lights[0], lights[0]) if lights else None)
    return (t.id, [t.title, *lines], header, rows, units, list(t.remarks))


LIGHTS = {"green": "Grøn", "yellow": "Gul", "red": "Rød"}


def sample_workbook(s, labels) -> bytes:
    """An audit round's sample for the reviewers (a :class:`sagsindsigt.audits.Sample`): one
    sheet of cases, one of the concept's checks."""
    head = (f"{s.concept.name}, runde {s.round}: {len(s.cases)} af {s.population} sager, "
            f"seed {s.seed}" + (", opdelt efter enhed" if s.stratify else ""))
    cases = [[x.position, x.case_id, labels.name("unit", x.unit) if x.unit else None,
              labels.name("case_type", x.case_type) if x.case_type else None, x.decided,
              "ja" if x.calibration else ""] for x in s.cases]
    checks = [[k.id, labels.name("category", k.category), k.text] for k in s.concept.checks]
    return workbook([
        ("Stikprøve", [head, f"Område: {labels.where()}"],
         ["Nr.", "Sags-id", "Enhed", "Sagstype", "Afgjort", "Kalibrering"], cases, []),
        ("Kontrolpunkter", [s.concept.name], ["Kontrolpunkt", "Kategori", "Tekst"], checks,
         [])])


def xlsx_bytes(tables: list[Table], lines: list[str]) -> bytes:
    """Tables as the sheets of one workbook; ``lines`` (whose data, period, when made) under
    each sheet's title."""
    return workbook([table_sheet(t, lines) for t in tables])


__all__ = ["A4", "FORMULA_START", "LIGHTS", "NUMBER_FORMATS", "PERCENT_FORMAT", "SCOPE_COLUMN",
           "csv_bytes", "excel_number", "plain", "print_setup", "safe_text", "sample_workbook",
           "table_sheet", "workbook", "xlsx_bytes"]
