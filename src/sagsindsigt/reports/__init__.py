"""Committee reports (issue 6): four kinds of report, each a set of tables and charts built
from the KPI registry only, rendered as HTML, PDF (WeasyPrint) or XLSX (XlsxWriter).

``build_report`` makes the report (figures, publication-mode suppression, chart specs);
``render`` turns it into bytes. The CLI's ``report`` and the *Rapporter* page call these two.
Both tell an optional ``progress(stage, share)`` how far they are: "figures", then "charts"
and "pages" (PDF) or "workbook" (XLSX), each with the share of it done (0 to 1).
"""

from __future__ import annotations

from collections.abc import Callable

from ..calendar import Period
from ..present.charts import report_chart
from ..present.tables import LEFT_OUT, Table, has_figure
from ..store.deps import tracking
from .kinds import KINDS, TITLES, build, check
from .model import COUNT, Report, Source
from .suppression import suppress

Progress = Callable[[str, float], None]
STAGES = {"pdf": ("figures", "charts", "pages"), "xlsx": ("figures", "workbook"),
          "html": ("figures", "charts")}
# the figures a report of a kind asked for last time (its progress is a share of them)
_QUERIES: dict[str, int] = {}
FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def build_report(store, kind: str, period: str | Period, where: list[str] | None = None,
                 internal: bool = False, threshold: int = 5, source: Source | None = None,
                 progress: Progress | None = None) -> Report:
    """The report with every figure from the registry; in publication mode (the default)
    small counts and what would reveal them are hidden (see ``suppression``)."""
    src = source or Source(store)
    start = src.calls
    if progress is not None:
        expected = _QUERIES.get(kind, 30)
        progress("figures", 0.0)
        src.on_get = lambda n: progress("figures", min(0.95, (n - start) / expected))
    try:
        with tracking() as seen:
            report = build(src, kind, period, where, internal, threshold)
        report.reads = frozenset(seen)
    finally:
        src.on_get = None
    _QUERIES[kind] = max(src.calls - start, 1)
    for t in report.tables():
        leave_out_rows_without_figures(t, report)
    if not internal:
        for t in report.tables():
            suppress(t, threshold)
        report.notes.append(
            f"Offentliggørelse: antal fra 1 til {threshold - 1} vises som \"<{threshold}\"; "
            "\"x\" er skjult, så et lille tal ikke kan regnes ud af totaler og andele, eller "
            f"fordi tallet bygger på færre end {threshold} sager.")
    else:
        report.notes.append("Intern rapport med præcise tal: må ikke offentliggøres, hvis "
                            "den indeholder små antal.")
    for t in report.tables():
        if t.chart is not None:
            t.chart.spec = report_chart(t)
    if progress is not None:
        progress("figures", 1.0)
    return report


def leave_out_rows_without_figures(t: Table, report: Report) -> None:
    """On paper a row of "-" says nothing: such rows are left out and named in a remark
    (:meth:`Table.drop_rows_without_figures`); a table left with no figure at all keeps
    only the sentence that says why (``why_empty``). Before suppression, which protects
    the rows that remain (a row without figures adds nothing to a total)."""
    t.drop_rows_without_figures()
    if t.rows and (t.body or has_figure(t.rows[-1], t.columns)):
        return
    t.rows, t.links = [], []
    t.remarks = [r for r in t.remarks if not r.startswith(LEFT_OUT)]
    if not t.why_empty:
        scope = "hele kommunen" if report.scope == "Hele kommunen" else report.scope
        t.why_empty = (f"Der er ingen tal for {report.period.danish()} for {scope} med de "
                       "valgte filtre, så tabellen er tom.")


def render(report: Report, fmt: str, progress: Progress | None = None, store=None) -> bytes:
    """The report as bytes in ``fmt``. With ``store`` the drawn charts are kept there
    (:func:`sagsindsigt.reports.pdf.draw_charts`), for a one-shot command's next report."""
    say = progress or (lambda stage, share: None)
    if fmt == "xlsx":
        from .xlsx import render_xlsx

        say("workbook", 0.0)
        data = render_xlsx(report)
        say("workbook", 1.0)
        return data
    if fmt == "html":
        from .pdf import draw_charts, render_html

        charts = draw_charts(report, lambda share: say("charts", share), store)
        return render_html(report, charts).encode("utf-8")
    if fmt == "pdf":
        from .pdf import render_pdf

        return render_pdf(report, progress, store)
    raise ValueError(f"Ukendt format '{fmt}': brug pdf, xlsx eller html.")


__all__ = ["COUNT", "FORMATS", "KINDS", "STAGES", "TITLES", "Progress", "Report", "Source",
           "build_report", "check", "render"]
