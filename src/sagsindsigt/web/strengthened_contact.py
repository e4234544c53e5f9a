"""The *Styrket borgerkontakt* page (slug ``borgerkontakt``) and its learning-text search.

Every figure comes from the KPI registry (``sb_share``, ``sb_resolved_share``,
``sb_vs_written``); :mod:`sagsindsigt.sb` adds the Dutch reference and the search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from .. import strengthened_contact as core
from ..kpis import keep
from ..present.charts import bar_chart
from ..present.tables import Cell, Column, Table
from ..store import reads
from .pages import LEVELS, Figures, Filters, kpi_table

SLUG = "borgerkontakt"
SEARCH_URL = "/borgerkontakt/laering"


def view(fig: Figures, f: Filters) -> dict[str, Any]:
    w = f.where()
    labels = fig.labels()
    level = f.level or "case_type"
    tables = [
        kpi_table(fig, "sb_forvaltning", "Styrket borgerkontakt pr. forvaltning", f,
                  ["sb_share", "sb_resolved_share"], "administration",
                  drill=f.level == "administration"),
        kpi_table(fig, "sb_enhed", "Styrket borgerkontakt pr. center/enhed", f,
                  ["sb_share", "sb_resolved_share"], "unit"),
    ]
    times = Table("sb_svartid", "Svartid med og uden Styrket borgerkontakt", [
        Column("label", "Forvaltning" if level == "administration" else "Enhed"),
        Column("median_with", "Median med", "dage"),
        Column("median_without", "Median uden", "dage"),
        Column("diff", "Forskel", "%"), Column("n_with", "Klager med", "antal"),
        Column("n_without", "Klager uden", "antal"), Column("p", "p-værdi"),
        Column("meaning", "Betydning")],
        caption="Tovejs Mann–Whitney-test af svartiderne for klager besvaret i perioden.")
    dim = "administration" if level == "administration" else "unit"
    for r in [*fig.get("sb_vs_written", f.period, [dim], w).rows,
              *fig.get("sb_vs_written", f.period, [], w).rows]:
        x = r.extra
        times.add({"label": labels.name(dim, r.dims[dim]) if dim in r.dims else "I alt",
                   "median_with": Cell(x.get("median_with"), "dage"),
                   "median_without": Cell(x.get("median_without"), "dage"),
                   "diff": Cell(r.value, "%", r.note), "n_with": Cell(x.get("n_with"), "antal"),
                   "n_without": Cell(x.get("n_without"), "antal"),
                   "p": core.p_value(x.get("p_value")),
                   "meaning": core.p_text(x.get("p_value"))})
    tables.append(times)
    total_resolved = fig.get("sb_resolved_share", f.period, [], w).rows
    total_diff = fig.get("sb_vs_written", f.period, [], w).rows
    ours = {"sb_resolved_share": total_resolved[0].value if total_resolved else None,
            "sb_vs_written": total_diff[0].value if total_diff else None}
    reference = Table("sb_reference", "Hollandske resultater (reference) og vores tal", [
        Column("label", "Hollandsk resultat"), Column("ours", "Vores tal", "%"),
        Column("measure", "Hvad vi måler"), Column("compare", "Sammenligning")],
        caption=core.REFERENCE_SOURCE)
    for ref in core.REFERENCE:
        v = ours.get(ref.compare_with) if ref.compare_with else None
        reference.add({"label": ref.text,
                       "ours": Cell(v, "%", "måles ikke" if not ref.compare_with
                                    else "ingen data for perioden"),
                       "measure": ref.how or "-", "compare": core.compare(ref, v)})
    tables.append(reference)
    share = fig.get("sb_share", f.period, ["administration"], w)
    data = [{"forvaltning": labels.name("administration", r.dims["administration"]),
             "andel": r.value} for r in share.rows if r.value is not None]
    charts = [bar_chart("Andel af klager med Styrket borgerkontakt (%)", data, "forvaltning",
                        "andel", unit="%")] if data else []
    return {"tables": tables, "charts": charts, "search_url": SEARCH_URL}


def router(fig: Figures, templates: Jinja2Templates) -> APIRouter:
    r = APIRouter()

    @r.get(SEARCH_URL, response_class=HTMLResponse, include_in_schema=False)
    def search(request: Request, q: str = "", period: str | None = None,
               administration: str | None = None, unit: str | None = None,
               kun_sb: bool = False):
        f = Filters(period or _period(fig), administration or None, unit or None)
        fig.read(reads.require_visible, f.administration, f.unit)  # else "Ingen adgang"
        with fig.lock:
            rows, total = core.search_learning(
                fig.store, q, f.period, {d: getattr(f, d) for d in LEVELS if d != "case_type"},
                only_sb=kun_sb)
        labels = fig.labels()
        for row in rows:
            row["kind"] = labels.name("kind", row["kind"])
            row["where"] = labels.name("unit", row["unit"]) if row["unit"] else \
                labels.name("administration", row["administration"])
        html = templates.get_template("strengthened_contact_learning.html").render({
            "request": request, "slug": SLUG, "f": f, "title": "Læring fra klager",
            "query": "", "charts_json": "[]", "q": q, "rows": rows, "total": total,
            "kun_sb": kun_sb, "words": core.words(q), "periods": [],
            "search_url": SEARCH_URL})
        return HTMLResponse(html)

    return r


def _period(fig: Figures) -> str:
    return fig.read(keep.latest_year)


__all__ = ["SEARCH_URL", "SLUG", "router", "view"]
