"""The *Rapporter* page: pick a committee report, a period and filters, and download it as
PDF, Excel or HTML. A thin layer over ``sagsindsigt.reports``; the figures come through the
dashboard's ``Figures`` cache, so they are the dashboard's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from ..contract.codes import ADMINISTRATIONS
from ..kpis import KpiUsageError
from ..overview import default_period
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
    # imported here: the core imports the dashboard's chart spec from web.pages, so a
    # module-level import would be circular when the core is imported first (the CLI)
    from ..reports import FORMATS, KINDS, TITLES, Source, build_report, render

    r = APIRouter(include_in_schema=False)

    def units() -> list[tuple[str, str, str]]:
        rows = fig.query("SELECT code, name, parent FROM organisation WHERE level = 'center' "
                         "ORDER BY parent, name")
        return [(c, n, p) for c, n, p in rows]

    def latest() -> str:
        with fig.lock:
            return default_period(fig.store)

    @r.get("/rapporter", response_class=HTMLResponse)
    def page(request: Request, period: str | None = None):
        fig.refresh()
        period = period or fig.memo(("default_period",), latest)
        html = templates.get_template("rapporter.html").render({
            "request": request, "slug": "/rapporter", "title": "Rapporter",
            "f": Filters(period), "query": "", "charts_json": "[]",
            "periods": fig.memo(("periods",), lambda: period_options(fig)),
            "kinds": [(k, TITLES[k], DESCRIPTIONS[k]) for k in KINDS],
            "admins": ADMINISTRATIONS, "units": fig.memo(("report_units",), units),
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
        name = "-".join([kind, rep.period.label, *[w.split("=", 1)[1] for w in where]])
        disposition = "inline" if format == "html" else "attachment"
        return Response(data, media_type=FORMATS[format], headers={
            "Content-Disposition": f'{disposition}; filename="{name}.{format}"'})

    return r
