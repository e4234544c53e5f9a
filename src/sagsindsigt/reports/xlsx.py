"""A report as an Excel workbook (XlsxWriter): a front sheet, a sheet per table with real
numbers in Danish display formats, native charts, traffic-light conditional formats and frozen
headers, then the KPI definitions and the import batches behind the figures.

Excel number formats are written with the format-code separators (``#,##0``, ``0.0``), which
Excel shows in the reader's locale: 154.440 and 2,6 % in a Danish Excel.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import xlsxwriter

from ..danish import long_date
from ..kpis import get as get_kpi
from ..present.labels import DIM_LABELS, KIND_LABELS
from .model import COUNT, DAYS, PCT, TEXT, Cell, Report, Table

NUMBER_FORMATS = {COUNT: "#,##0", PCT: '0.0" %"', DAYS: '0.0" dage"'}
HEADER_ROW = 3  # title, header line, blank, then the table's header
LIGHT_FILLS = {"green": "#c6efce", "yellow": "#ffeb9c", "red": "#ffc7ce"}
UNIT_NAMES = {COUNT: "antal", PCT: "procent", DAYS: "dage"}


def sheet_names(report: Report) -> dict[str, str]:
    """Table id → sheet name (Excel allows 31 characters)."""
    out, used = {}, {"Rapport", "Definitioner", "Indlæsninger"}
    for t in report.tables():
        base = t.id[:31]
        nm, i = base, 2
        while nm in used:
            nm = f"{base[:28]}_{i}"
            i += 1
        used.add(nm)
        out[t.id] = nm
    return out


def render_xlsx(report: Report) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"title": report.title, "subject": report.period.danish(),
                       "author": "Sagsindsigt", "comments": "Tal fra nøgletalsregistret"})
    f = _formats(wb)
    names = sheet_names(report)
    _front(wb, f, report, names)
    for t in report.tables():
        _table_sheet(wb, f, report, t, names[t.id])
    _definitions(wb, f, report)
    _batches(wb, f, report)
    wb.close()
    return buf.getvalue()


def _formats(wb) -> dict:
    f = {"title": wb.add_format({"bold": True, "font_size": 14}),
         "sub": wb.add_format({"italic": True, "font_color": "#444444"}),
         "head": wb.add_format({"bold": True, "bottom": 1, "text_wrap": True,
                                "valign": "bottom", "bg_color": "#e8eef6"}),
         "text": wb.add_format({}), "bold": wb.add_format({"bold": True}),
         "hidden": wb.add_format({"align": "right"}),
         "hidden_total": wb.add_format({"align": "right", "bold": True, "top": 1}),
         "total": wb.add_format({"bold": True, "top": 1}),
         "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
         "date": wb.add_format({"num_format": "d.m.yyyy", "align": "left"}),
         "datetime": wb.add_format({"num_format": "d.m.yyyy hh:mm", "align": "left"}),
         "link": wb.add_format({"font_color": "blue", "underline": 1})}
    for unit, code in NUMBER_FORMATS.items():
        f[unit] = wb.add_format({"num_format": code})
        f[f"{unit}_total"] = wb.add_format({"num_format": code, "bold": True, "top": 1})
    for light, colour in LIGHT_FILLS.items():
        f[f"light_{light}"] = wb.add_format({"bg_color": colour})
    return f


def _header_lines(report: Report) -> list[str]:
    filters = "; ".join(f"{k}: {v}" for k, v in report.filters) or "ingen"
    mode = "intern (præcise tal)" if report.internal else "offentliggørelse (små tal skjult)"
    return [f"Område: {report.scope} · Periode: {report.period.danish()} · Filtre: {filters} "
            f"· Tal: {mode}",
            f"Dannet {long_date(report.made)} af Sagsindsigt"]


def _front(wb, f, report: Report, names: dict[str, str]) -> None:
    ws = wb.add_worksheet("Rapport")
    ws.set_column(0, 0, 110)
    ws.write_string(0, 0, report.title, f["title"])
    row = 1
    for line in _header_lines(report):
        ws.write_string(row, 0, line, f["sub"])
        row += 1
    row += 1
    ws.write_string(row, 0, "Indhold", f["bold"])
    row += 1
    for s in report.sections:
        ws.write_string(row, 0, s.title, f["bold"])
        row += 1
        for t in s.tables:
            ws.write_url(row, 0, f"internal:'{names[t.id]}'!A1", f["link"],
                         string=f"    {t.title} (arket {names[t.id]})")
            row += 1
    row += 1
    for n in report.notes:
        ws.write_string(row, 0, n, f["wrap"])
        row += 1
    ws.write_string(row, 0, "Definitionerne af nøgletallene står i arket Definitioner, og de "
             "indlæsninger, tallene bygger på, i arket Indlæsninger.", f["wrap"])


def _table_sheet(wb, f, report: Report, t: Table, sheet: str) -> None:
    ws = wb.add_worksheet(sheet)
    ws.write_string(0, 0, t.title, f["title"])
    ws.write_string(1, 0, _header_lines(report)[0], f["sub"])
    ws.set_column(0, 0, 46)
    ws.set_column(1, len(t.columns) - 1, 15)
    ws.set_row(HEADER_ROW, 45)
    for j, c in enumerate(t.columns):
        unit = f" ({c.unit})" if c.unit and c.unit != COUNT else ""
        ws.write_string(HEADER_ROW, j, c.label + unit, f["head"])
    first = HEADER_ROW + 1
    for i, r in enumerate(t.rows):
        total = t.total_row and i == len(t.rows) - 1
        x = first + i
        ws.write_string(x, 0, str(r.get("label", "")), f["total"] if total else f["text"])
        for j, c in enumerate(t.columns[1:], start=1):
            _write_cell(ws, f, x, j, r.get(c.key), total)
    last = first + len(t.rows) - 1
    ws.freeze_panes(first, 1)
    ws.autofilter(HEADER_ROW, 0, last, len(t.columns) - 1)
    _lights(ws, f, t, first, last)
    note_row = last + 2
    for n in t.notes:
        ws.write_string(note_row, 0, f"* {n}", f["sub"])
        note_row += 1
    if not report.internal:
        ws.write_string(note_row, 0, report.notes[0], f["sub"])
    if t.chart is not None and t.rows:
        _chart(wb, ws, t, sheet, first, last)


def _write_cell(ws, f, x: int, j: int, c, total: bool) -> None:
    if not isinstance(c, Cell):
        ws.write_string(x, j, "-" if c is None else str(c), f["total"] if total else f["text"])
        return
    if c.hidden:
        ws.write_string(x, j, c.hidden, f["hidden_total"] if total else f["hidden"])
        return
    if c.value is None:
        ws.write_string(x, j, "-", f["hidden_total"] if total else f["hidden"])
        if c.note:
            ws.write_comment(x, j, c.note)
        return
    if isinstance(c.value, str):
        ws.write_string(x, j, c.value, f["total"] if total else f["text"])
        return
    key = c.unit if c.unit in NUMBER_FORMATS else COUNT
    ws.write_number(x, j, c.value, f[f"{key}_total"] if total else f[key])
    if c.estimate and c.note:
        ws.write_comment(x, j, f"Skønnet: {c.note}")


def _lights(ws, f, t: Table, first: int, last: int) -> None:
    """Traffic lights as conditional formats: audit percentages by their thresholds (green
    95–100 %, yellow 75–94 %, red below, whole percents rounded half-up), target status by
    its text."""
    for j, c in enumerate(t.columns):
        if c.kpi == "audit_correct_rate" and c.unit == PCT:
            rng = (first, j, last, j)
            ws.conditional_format(*rng, {"type": "cell", "criteria": ">=", "value": 94.5,
                                         "format": f["light_green"]})
            ws.conditional_format(*rng, {"type": "cell", "criteria": "between",
                                         "minimum": 74.5, "maximum": 94.4999,
                                         "format": f["light_yellow"]})
            ws.conditional_format(*rng, {"type": "cell", "criteria": "<", "value": 74.5,
                                         "format": f["light_red"]})
        if c.key == "status" and c.unit == TEXT:
            rng = (first, j, last, j)
            ws.conditional_format(*rng, {"type": "cell", "criteria": "==",
                                         "value": '"Opfyldt"', "format": f["light_green"]})
            ws.conditional_format(*rng, {"type": "cell", "criteria": "==",
                                         "value": '"Ikke opfyldt"', "format": f["light_red"]})


def _chart(wb, ws, t: Table, sheet: str, first: int, last: int) -> None:
    ch = t.chart
    end = last - 1 if t.total_row else last
    if end < first:
        return
    chart = wb.add_chart({"type": "column"})
    keys = [c.key for c in t.columns]
    for k in ch.values:
        j = keys.index(k)
        chart.add_series({"name": [sheet, HEADER_ROW, j],
                          "categories": [sheet, first, 0, end, 0],
                          "values": [sheet, first, j, end, j],
                          "fill": {"color": "#1f5fa8" if k == ch.values[0] else "#d9822b"}})
    chart.set_title({"name": ch.title})
    chart.set_legend({"none": len(ch.values) == 1, "position": "bottom"})
    chart.set_y_axis({"num_format": NUMBER_FORMATS.get(ch.unit, "#,##0"),
                      "major_gridlines": {"visible": True, "line": {"color": "#dddddd"}}})
    chart.set_size({"width": 640, "height": 320})
    ws.insert_chart(HEADER_ROW, len(t.columns) + 1, chart)


def _definitions(wb, f, report: Report) -> None:
    ws = wb.add_worksheet("Definitioner")
    head = ["Nøgletal", "Navn", "Enhed", "Dimensioner", "Definition"]
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 3, 30)
    ws.set_column(4, 4, 90)
    ws.write_string(0, 0, "Definitioner af nøgletallene i rapporten (fra nøgletalsregistret)",
             f["title"])
    for j, h in enumerate(head):
        ws.write_string(2, j, h, f["head"])
    for i, k in enumerate(report.kpis, start=3):
        kd = get_kpi(k)
        dims = ", ".join(DIM_LABELS.get(d, d).lower() for d in kd.dims)
        for j, v in enumerate([kd.id, kd.label, kd.unit, dims, kd.description]):
            ws.write_string(i, j, v, f["wrap"] if j == 4 else f["text"])
    ws.freeze_panes(3, 1)


BATCH_HEAD = [("id", "Batch"), ("kind", "Datatype"), ("source", "Kilde"), ("file", "Fil"),
              ("rows_loaded", "Indlæste rækker"), ("covers_start", "Dækker fra"),
              ("covers_end", "Dækker til"), ("loaded_at", "Indlæst"), ("sha256", "SHA-256")]


def _batches(wb, f, report: Report) -> None:
    ws = wb.add_worksheet("Indlæsninger")
    ws.write_string(0, 0, "Indlæsninger (batches), som tallene bygger på", f["title"])
    widths = [8, 16, 16, 40, 14, 12, 12, 17, 66]
    for j, (_, h) in enumerate(BATCH_HEAD):
        ws.set_column(j, j, widths[j])
        ws.write_string(2, j, h, f["head"])
    for i, b in enumerate(report.batches, start=3):
        for j, (k, _) in enumerate(BATCH_HEAD):
            v = b.get(k)
            if k == "kind":
                v = KIND_LABELS.get(v, v)
            if v is None:
                ws.write_string(i, j, "-")
            elif isinstance(v, datetime):
                ws.write_datetime(i, j, v, f["datetime"])
            elif isinstance(v, date):
                ws.write_datetime(i, j, datetime(v.year, v.month, v.day), f["date"])
            elif isinstance(v, int | float):
                ws.write_number(i, j, v, f[COUNT])
            else:
                ws.write_string(i, j, str(v))
    ws.freeze_panes(3, 1)
