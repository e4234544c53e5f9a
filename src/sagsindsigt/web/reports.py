"""The *Rapporter* page: pick a committee report, a period and filters, and download it as
PDF, Excel or HTML. A thin layer over ``sagsindsigt.reports``; the figures come through the
dashboard's ``Figures`` cache, so they are the dashboard's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from ..access import current
from ..kpis import KpiUsageError
from ..store import reads
from .pages import Figures, Filters, period_options

DESCRIPTIONS = {
    "oekonomiudvalg": "Klager i forhold til sagsmængde pr. forvaltning (med fodnoter), "
                      "udviklingen over årene, omgørelsesprocent og måltal.",
    "kvartal": "Kritiske sagsområder: overholdte frister, sagsbehandlingstid (median og "
               "90 %-fraktil), pukler og sager over frist pr. center.",
    "borgerraadgiver": "Alle klager efter klagetype, klagepunkt, udfald og forvaltning, og "
                       "Styrket borgerkontakt.",
    "kvalitet": "Trafiklys og fejlstatistik pr. koncept, runde, enhed og kontrolpunkt.",
}


def reports_router(fig: Figures, templates: Jinja2Templates) -> APIRouter:
    from ..reports import FORMATS, KINDS, TITLES, Source, build_report, render

    r = APIRouter(include_in_schema=False)

    def nodes(level: str) -> list[tuple[str, str, str | None]]:
        """The administrations or centres inside the caller's scope: (code, name, parent)."""
        scope = current().data_scope
        return sorted(((n.code, n.name, n.parent) for n in fig.read(reads.organisation)
                       if n.level == level and scope.covers(n.code)),
                      key=lambda x: (x[2] or "", x[1]))

    def latest() -> str:
        return fig.read(reads.latest_year)

    @r.get("/rapporter", response_class=HTMLResponse)
    def page(request: Request, period: str | None = None):
        fig.refresh()
        period = period or fig.memo(("default_period",), latest)
        html = templates.get_template("reports.html").render({
            "request": request, "slug": "/rapporter", "title": "Rapporter",
            "f": Filters(period), "query": "", "charts_json": "[]",
            "periods": fig.memo(("periods",), lambda: period_options(fig)),
            "kinds": [(k, TITLES[k], DESCRIPTIONS[k]) for k in KINDS],
            "admins": dict((c, n) for c, n, _ in fig.memo(("report_admins",),
                                                           lambda: nodes("forvaltning"))),
            "units": fig.memo(("report_units",), lambda: nodes("center")),
            "period": period})
        return HTMLResponse(html)

    @r.get("/rapporter/hent")
    def download(kind: str, period: str | None = None, administration: str | None = None,
                 unit: str | None = None, case_type: str | None = None,
                 format: Annotated[str, Query(alias="format")] = "pdf",
                 internal: bool = False, threshold: int = 5):
        if kind not in KINDS:
            raise HTTPException(404, f"Rapporten '{kind}' findes ikke.")
        if format not in FORMATS:
            raise HTTPException(400, "Vælg formatet pdf, xlsx eller html.")
        fig.refresh()
        period = period or fig.memo(("default_period",), latest)
        where = [f"{d}={v}" for d, v in (("administration", administration), ("unit", unit),
                                         ("case_type", case_type)) if v]
        try:
            rep = build_report(fig.store, kind, period, where, internal=internal,
                               threshold=threshold,
                               source=Source(fig.store, get=fig.get, lock=fig.lock))
        except KpiUsageError as exc:
            raise HTTPException(400, str(exc)) from exc
        data = render(rep, format)
        scope = fig.labels().scope_of(administration, unit)["code"]
        name = "-".join([kind, rep.period.label, scope, *([case_type] if case_type else [])])
        disposition = "inline" if format == "html" else "attachment"
        return Response(data, media_type=FORMATS[format], headers={
            "Content-Disposition": f'{disposition}; filename="{name}.{format}"'})

    return r
