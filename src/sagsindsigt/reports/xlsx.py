"""A report as an Excel workbook (XlsxWriter): a front sheet, a sheet per table with real
numbers in Danish display formats, native charts, traffic-light conditional formats and frozen
headers, then the KPI definitions and the import batches behind the figures. Every sheet is
set up to print: A4, one page wide, its header row on every page, landscape where wide.

Excel number formats are written with the format-code separators (``#,##0``, ``0.0 %``),
which Excel shows in the reader's locale: 154.440 and 2,6 % in a Danish Excel. A percentage
is stored as the fraction Excel's ``%`` format expects (0.026), as in the page downloads
(:func:`sagsindsigt.present.exports.excel_number`).
"""

from __future__ import annotations

import io
from datetime import date, datetime

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..danish import long_date
from ..kpis import get as get_kpi
from ..present.charts import horizontal
from ..present.exports import A4, PERCENT_FORMAT, excel_number
from ..present.labels import DIM_LABELS, KIND_LABELS, UNIT_NAMES
from .model import COUNT, DAYS, PCT, TEXT, Cell, Report, Table

NUMBER_FORMATS = {COUNT: "#,##0", PCT: PERCENT_FORMAT, DAYS: '0.0" dage"'}
AXIS_FORMATS = {COUNT: "#,##0", PCT: "0 %", DAYS: '0" dage"'}
HEADER_ROW = 3  # title, header line, blank, then the table's header
LIGHT_FILLS = {"green": "#c6efce", "yellow": "#ffeb9c", "red": "#ffc7ce"}
LABEL_WIDTH, FIGURE_WIDTH, TEXT_WIDTH = (30, 62), 15, 46  # characters: names (min, max),
# a column of figures, a column of text (at most)
PORTRAIT_CHARS = 95  # wider sheets print in landscape (A4, narrow margins, one page wide)
CHART_WIDTH = 640  # px
FRONT_WIDTH = 80  # characters: the front sheet's one column, inside an upright page
# the printable page in px (96 per inch) inside the margins of ``print_setup``: A4 is
# 8.27 × 11.69 in; (width, height) upright and on its side
PAGE_PX = {False: (int((8.27 - 0.8) * 96), int((11.69 - 1.3) * 96)),
           True: (int((11.69 - 0.8) * 96), int((8.27 - 1.3) * 96))}
ROW_PX, HEADER_PX = 20, 60  # a default row; the table's header row (45 pt)


class PrintedSheet(Worksheet):
    """A worksheet that says ``fitToWidth="1"`` out loud when it fits one page wide: it is
    the file format's default, which XlsxWriter leaves out, and readers such as openpyxl then
    report it as unset."""

    def _xml_empty_tag(self, tag, attributes=()):
        if tag == "pageSetup" and self.fit_page and self.fit_width == 1:
            attributes = [("fitToWidth", 1), *attributes]
        super()._xml_empty_tag(tag, attributes)


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
    f = {"title": wb.add_format({"bold": True, "font_size": 14, "text_wrap": True,
                                 "valign": "top"}),
         "heading": wb.add_format({"bold": True, "font_size": 14}),  # one line, runs over
         "sub": wb.add_format({"italic": True, "font_color": "#444444"}),
         "sub_wrap": wb.add_format({"italic": True, "font_color": "#444444",
                                    "text_wrap": True, "valign": "top"}),
         "head": wb.add_format({"bold": True, "bottom": 1, "text_wrap": True,
                                "valign": "bottom", "bg_color": "#e8eef6"}),
         "text": wb.add_format({}), "bold": wb.add_format({"bold": True}),
         "text_top": wb.add_format({"valign": "top"}),
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


def print_setup(ws, report: Report, *, landscape: bool, header_row: int | None) -> None:
    """A sheet set up to print: A4, one page wide and as many long as it takes, the header row
    on every page, the report, period and page number in the margins."""
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    if header_row is not None:
        ws.repeat_rows(header_row)
    title = f"{report.title}, {report.period.danish()}".replace("&", "&&")
    ws.set_header(f"&L&8{title}", {"margin": 0.3})
    ws.set_footer("&L&8Sagsindsigt&R&8Side &P af &N", {"margin": 0.3})


def column_widths(t: Table) -> list[int]:
    """Each column's width in characters: the names' column as wide as its longest name
    (within ``LABEL_WIDTH``), a column of text as its longest text (within ``TEXT_WIDTH``), a
    column of figures ``FIGURE_WIDTH`` (its heading wraps)."""
    out = []
    for j, c in enumerate(t.columns):
        texts = [str(v.value if isinstance(v, Cell) else v) for r in t.rows
                 for v in [r.get(c.key)] if isinstance(v, str) or
                 (isinstance(v, Cell) and isinstance(v.value, str))]
        if j == 0:
            out.append(min(max(LABEL_WIDTH[0], max(map(len, texts), default=0) + 2),
                           LABEL_WIDTH[1]))
        elif texts:
            out.append(min(max(FIGURE_WIDTH, max(map(len, texts)) + 2), TEXT_WIDTH))
        else:
            out.append(FIGURE_WIDTH)
    return out


def paragraph(ws, row: int, text: str, fmt, last_col: int, chars: int,
              line_pt: int = 15) -> float:
    """Text wrapped inside the table's columns 0..``last_col`` (``chars`` wide in all), its
    row as high as its lines (of ``line_pt``): text that runs past the columns would widen
    the printed page (and shrink it to fit). The row's height in px."""
    lines = _lines(text, max(chars, 1))
    ws.set_row(row, line_pt * lines)
    if last_col > 0:
        ws.merge_range(row, 0, row, last_col, text, fmt)
    else:
        ws.write_string(row, 0, text, fmt)
    return line_pt * lines * 96 / 72


def _front(wb, f, report: Report, names: dict[str, str]) -> None:
    ws = wb.add_worksheet("Rapport", PrintedSheet)
    ws.set_column(0, 0, FRONT_WIDTH)
    print_setup(ws, report, landscape=False, header_row=None)
    paragraph(ws, 0, report.title, f["title"], 0, int(FRONT_WIDTH / 1.4), 20)
    row = 1
    for line in _header_lines(report):
        paragraph(ws, row, line, f["sub_wrap"], 0, FRONT_WIDTH)
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
    for n in [*report.notes, "Definitionerne af nøgletallene står i arket Definitioner, og "
              "de indlæsninger, tallene bygger på, i arket Indlæsninger."]:
        paragraph(ws, row, n, f["wrap"], 0, FRONT_WIDTH)
        row += 1


def _table_sheet(wb, f, report: Report, t: Table, sheet: str) -> None:
    ws = wb.add_worksheet(sheet, PrintedSheet)
    widths = column_widths(t)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    last_col = len(t.columns) - 1
    if last_col == 0:  # a table without figures (left out, saying why) still has room
        ws.set_column(1, 3, FIGURE_WIDTH)
        widths += [FIGURE_WIDTH] * 3
        last_col = 3
    chars = sum(widths)
    wide = chars > PORTRAIT_CHARS
    print_setup(ws, report, landscape=wide, header_row=HEADER_ROW)
    heights = {0: paragraph(ws, 0, t.title, f["title"], last_col, int(chars / 1.4), 20),
               1: paragraph(ws, 1, _header_lines(report)[0], f["sub_wrap"], last_col, chars),
               HEADER_ROW: HEADER_PX}
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
    note_row = last + 2
    if t.rows:
        ws.autofilter(HEADER_ROW, 0, last, len(t.columns) - 1)
        _lights(ws, f, t, first, last)
    else:  # no rows: the sentence that says why, where the rows would be
        heights[first] = paragraph(ws, first, t.why_empty, f["sub_wrap"], last_col, chars)
        note_row = first + 2
    lines = ([t.caption] if t.caption else []) + list(t.remarks) + [f"* {n}" for n in t.notes]
    if not report.internal:
        lines.append(report.notes[0])
    for n in lines:
        heights[note_row] = paragraph(ws, note_row, n, f["sub_wrap"], last_col, chars)
        note_row += 1
    if t.chart is not None and t.rows:
        height = _chart(wb, ws, t, sheet, first, last, note_row + 1)
        if height and not _fits_below(heights, note_row + 1, height, chars * 7 + 5, wide):
            ws.set_h_pagebreaks([note_row + 1])  # the chart whole on a page of its own


def _fits_below(heights: dict[int, float], row: int, height: int, width_px: int,
                landscape: bool) -> bool:
    """Whether a chart of ``height`` px put at ``row`` ends on the page that row prints on
    (one page wide: the sheet is scaled down to the page's width; every page after the first
    repeats the header row). ``heights``: rows of other than the default height, in px."""
    page_w, page_h = PAGE_PX[landscape]
    room = page_h / min(1.0, page_w / width_px)  # the page's height in the sheet's px
    y = 0.0
    for r in range(row):
        h = heights.get(r, ROW_PX)
        if y + h > room:
            y = HEADER_PX  # a new page starts with the repeated header row
        y += h
    return y + height <= room


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
    ws.write_number(x, j, excel_number(c.value, c.unit),
                    f[f"{key}_total"] if total else f[key])
    if c.estimate and c.note:
        ws.write_comment(x, j, f"Skønnet: {c.note}")


def _lights(ws, f, t: Table, first: int, last: int) -> None:
    """Traffic lights as conditional formats: audit percentages by their thresholds (green
    95–100 %, yellow 75–94 %, red below, whole percents rounded half-up; the cells hold
    fractions), target status by its text."""
    for j, c in enumerate(t.columns):
        if c.kpi == "audit_correct_rate" and c.unit == PCT:
            rng = (first, j, last, j)
            ws.conditional_format(*rng, {"type": "cell", "criteria": ">=", "value": 0.945,
                                         "format": f["light_green"]})
            ws.conditional_format(*rng, {"type": "cell", "criteria": "between",
                                         "minimum": 0.745, "maximum": 0.944999,
                                         "format": f["light_yellow"]})
            ws.conditional_format(*rng, {"type": "cell", "criteria": "<", "value": 0.745,
                                         "format": f["light_red"]})
        if c.key == "status" and c.unit == TEXT:
            rng = (first, j, last, j)
            ws.conditional_format(*rng, {"type": "cell", "criteria": "==",
                                         "value": '"Opfyldt"', "format": f["light_green"]})
            ws.conditional_format(*rng, {"type": "cell", "criteria": "==",
                                         "value": '"Ikke opfyldt"', "format": f["light_red"]})


def chart_type(t: Table) -> str:
    """Excel's chart type for a table's chart: a line for a trend, horizontal bars ("bar")
    for many categories or long names, else columns, as on paper and on the pages."""
    if t.chart.kind == "line":
        return "line"
    return "bar" if horizontal([r["label"] for r in t.body]) else "column"


def _chart(wb, ws, t: Table, sheet: str, first: int, last: int, at_row: int) -> int:
    """The table's chart below its notes (inside the printed page), value axis from zero;
    its height in px (0: no chart)."""
    ch = t.chart
    end = last - 1 if t.total_row else last
    if end < first:
        return 0
    kind = chart_type(t)
    chart = wb.add_chart({"type": kind})
    keys = [c.key for c in t.columns]
    colours = ["#1f5fa8", "#c46a12", "#5b8c3a", "#7a4f9a"]
    for n, k in enumerate(ch.values):
        j = keys.index(k)
        series = {"name": [sheet, HEADER_ROW, j], "categories": [sheet, first, 0, end, 0],
                  "values": [sheet, first, j, end, j]}
        colour = colours[n % len(colours)]
        if kind == "line":
            series |= {"line": {"color": colour, "width": 2.25},
                       "marker": {"type": "circle", "size": 6,
                                  "fill": {"color": colour}, "border": {"color": colour}}}
        else:
            series["fill"] = {"color": colour}
        chart.add_series(series)
    chart.set_title({"name": ch.title, "name_font": {"size": 11, "bold": True}})
    chart.set_legend({"none": len(ch.values) == 1, "position": "top"})
    value_axis = {"min": 0, "num_format": AXIS_FORMATS.get(ch.unit, "#,##0"),
                  "major_gridlines": {"visible": True, "line": {"color": "#dddddd"}}}
    if kind == "bar":  # XlsxWriter's x axis is the value axis of a horizontal bar chart
        # categories top to bottom in the table's order, the values' axis below them
        chart.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 9}})
        chart.set_x_axis(value_axis)
        height = max(260, 100 + 22 * (end - first + 1) * len(ch.values))
    else:
        chart.set_x_axis({"num_font": {"size": 9}})
        chart.set_y_axis(value_axis)
        height = 300
    chart.set_size({"width": CHART_WIDTH, "height": height})
    ws.insert_chart(at_row, 0, chart, {"object_position": 1})
    return height


DEFINITION_HEAD = ["Nøgletal", "Enhed", "Kan opdeles efter", "Definition",
                   "Navn i kommandolinjen og API'et"]
DEFINITION_WIDTHS = [30, 9, 34, 70, 30]


def _lines(text: str, width: int) -> int:
    """How many lines ``text`` wraps to in a column ``width`` characters wide (roughly:
    Excel and LibreOffice do not grow a row to its wrapped text by themselves)."""
    return max(1, -(-int(len(text) * 1.1) // width))


def _definitions(wb, f, report: Report) -> None:
    """The registry's definition of every KPI in the report, in Danish; the KPI's id (what
    the command line and the API call it) last."""
    ws = wb.add_worksheet("Definitioner", PrintedSheet)
    for j, width in enumerate(DEFINITION_WIDTHS):
        ws.set_column(j, j, width)
    print_setup(ws, report, landscape=True, header_row=2)
    ws.write_string(0, 0, "Definitioner af nøgletallene i rapporten (fra nøgletalsregistret)",
                    f["heading"])
    for j, h in enumerate(DEFINITION_HEAD):
        ws.write_string(2, j, h, f["head"])
    for i, k in enumerate(report.kpis, start=3):
        kd = get_kpi(k)
        dims = ", ".join(DIM_LABELS.get(d, d).lower() for d in kd.dims)
        values = [kd.label, UNIT_NAMES.get(kd.unit, kd.unit), dims, kd.description, kd.id]
        for j, v in enumerate(values):
            ws.write_string(i, j, v, f["wrap"] if j in (0, 2, 3) else f["text_top"])
        ws.set_row(i, 15 * max(_lines(v, w) for v, w in zip(values, DEFINITION_WIDTHS,
                                                             strict=True)))
    ws.freeze_panes(3, 1)


BATCH_HEAD = [("id", "Indlæsning"), ("kind", "Datatype"), ("source", "Kilde"), ("file", "Fil"),
              ("rows_loaded", "Indlæste rækker"), ("covers_start", "Dækker fra"),
              ("covers_end", "Dækker til"), ("loaded_at", "Indlæst"), ("sha256", "SHA-256")]


def _batches(wb, f, report: Report) -> None:
    ws = wb.add_worksheet("Indlæsninger", PrintedSheet)
    ws.write_string(0, 0, "Indlæsninger (batches), som tallene bygger på", f["heading"])
    print_setup(ws, report, landscape=True, header_row=2)
    widths = [11, 16, 16, 40, 14, 12, 12, 17, 34]  # the SHA-256 in two lines
    for j, (_, h) in enumerate(BATCH_HEAD):
        ws.set_column(j, j, widths[j])
        ws.write_string(2, j, h, f["head"])
    for i, b in enumerate(report.batches, start=3):
        ws.set_row(i, 30)  # the SHA-256 in two lines
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
                ws.write_string(i, j, str(v), f["wrap"] if k == "sha256" else None)
    ws.freeze_panes(3, 1)
