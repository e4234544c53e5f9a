"""The *Rapporter* page: pick a committee report, a period and filters, and download it as
PDF, Excel or HTML. A thin layer over ``sagsindsigt.reports``; the figures come through the
dashboard's ``Figures`` cache, so they are the dashboard's.

With JavaScript the page makes a PDF or workbook as a job (``report_jobs``): ``/rapporter/start``
checks the request and starts it, ``/rapporter/job/{id}`` tells how far it is, and
``/rapporter/job/{id}/fil`` gives the file to the person who asked. Without JavaScript the
form asks ``/rapporter/hent`` for the file directly. Both check the same request the same
way (``asked``) and make the same report (``make``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from ..access import current
from ..kpis import KpiUsageError, keep
from ..store import reads
from .pages import Figures, Filters, period_options
from .report_jobs import Busy, ReportJobs

DESCRIPTIONS = {
    "oekonomiudvalg": "Klager i forhold til sagsmængde pr. forvaltning (med fodnoter), "
                      "udviklingen over årene, omgørelsesprocent og måltal.",
    "kvartal": "Kritiske sagsområder: overholdte frister, sagsbehandlingstid (median og "
               "90 %-fraktil), pukler og sager over frist pr. center.",
    "borgerraadgiver": "Alle klager efter klagetype, klagepunkt, udfald og forvaltning, og "
                       "Styrket borgerkontakt.",
    "kvalitet": "Trafiklys og fejlstatistik pr. koncept, runde, enhed og kontrolpunkt.",
}


GONE = ("Rapporten findes ikke: den er hentet for længe siden (efter 10 minutter), eller den "
        "blev bestilt af en anden bruger. Dan den igen.")


@dataclass(frozen=True)
class Asked:
    """A checked request for a report: what to make and the file's name."""

    kind: str
    period: str
    where: tuple[str, ...]
    fmt: str
    internal: bool
    threshold: int
    filename: str


def reports_router(fig: Figures, templates: Jinja2Templates) -> APIRouter:
    from ..reports import FORMATS, KINDS, TITLES, Source, build_report, check, render
    from ..reports.pdf import prepare_in_background
    from ..stats import scipy_stats

    r = APIRouter(include_in_schema=False)
    jobs = ReportJobs()
    r.jobs = jobs  # the app keeps them as app.state.report_jobs (tests look at them)

    def asked(kind: str, period: str | None, administration: str | None, unit: str | None,
              case_type: str | None, fmt: str, internal: bool, threshold: int) -> Asked:
        """The request checked before any figure is computed: a Danish 404 for an unknown
        report, 400 for a bad format, period or threshold, "Ingen adgang" (403) for a filter
        outside the caller's scope."""
        if kind not in KINDS:
            raise HTTPException(404, f"Rapporten '{kind}' findes ikke.")
        if fmt not in FORMATS:
            raise HTTPException(400, "Vælg formatet pdf, xlsx eller html.")
        fig.refresh()
        period = period or fig.memo(("default_period",), latest)
        where = [f"{d}={v}" for d, v in (("administration", administration), ("unit", unit),
                                         ("case_type", case_type)) if v]
        try:
            p = check(source(), kind, period, where, threshold)
        except KpiUsageError as exc:
            raise HTTPException(400, str(exc)) from exc
        scope = fig.labels().scope_of(administration, unit)["code"]
        name = "-".join([kind, p.label, scope, *([case_type] if case_type else [])])
        return Asked(kind, p.label, tuple(where), fmt, internal, threshold, f"{name}.{fmt}")

    def source() -> Source:
        return Source(fig.store, get=fig.get, lock=fig.lock)

    def make(a: Asked, progress=None) -> bytes:
        rep = build_report(fig.store, a.kind, a.period, list(a.where), internal=a.internal,
                           threshold=a.threshold, source=source(), progress=progress)
        return render(rep, a.fmt, progress)

    def file(fmt: str, filename: str, data: bytes) -> Response:
        disposition = "inline" if fmt == "html" else "attachment"
        return Response(data, media_type=FORMATS[fmt], headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "no-store"})

    def nodes(level: str) -> list[tuple[str, str, str | None]]:
        """The administrations or centres inside the caller's scope: (code, name, parent)."""
        scope = current().data_scope
        return sorted(((n.code, n.name, n.parent) for n in fig.read(reads.organisation)
                       if n.level == level and scope.covers(n.code)),
                      key=lambda x: (x[2] or "", x[1]))

    def latest() -> str:
        return fig.read(keep.latest_year)

    @r.get("/rapporter", response_class=HTMLResponse)
    def page(request: Request, period: str | None = None):
        # WeasyPrint and the chart engine before the first report, and scipy.stats (the
        # borgerrådgiver report's Mann-Whitney test): a server pays each once, ahead
        prepare_in_background(then=scipy_stats)
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
        a = asked(kind, period, administration, unit, case_type, format, internal, threshold)
        try:
            data = make(a)
        except KpiUsageError as exc:
            raise HTTPException(400, str(exc)) from exc
        return file(a.fmt, a.filename, data)

    @r.get("/rapporter/start")
    def start(kind: str, period: str | None = None, administration: str | None = None,
              unit: str | None = None, case_type: str | None = None,
              format: Annotated[str, Query(alias="format")] = "pdf",
              internal: bool = False, threshold: int = 5):
        """Start making the report; 202 with the job's status (``/rapporter/job/{id}``)."""
        a = asked(kind, period, administration, unit, case_type, format, internal, threshold)
        try:
            job = jobs.start(current(), a.fmt, a.filename, lambda progress: make(a, progress),
                             around=fig.serving)
        except Busy as exc:
            raise HTTPException(429, str(exc)) from exc
        return JSONResponse(job.status(), status_code=202, headers={
            "Location": f"/rapporter/job/{job.id}", "Cache-Control": "no-store"})

    @r.get("/rapporter/job/{job_id}")
    def progress(job_id: str):
        """How far the caller's report is: its stage in Danish and the share done."""
        job = jobs.find(job_id, current())
        if job is None:
            raise HTTPException(404, GONE)
        return JSONResponse(job.status(), headers={"Cache-Control": "no-store"})

    @r.get("/rapporter/job/{job_id}/fil")
    def job_file(job_id: str):
        """The caller's finished report (to anyone else the job does not exist)."""
        job = jobs.find(job_id, current())
        if job is None:
            raise HTTPException(404, GONE)
        if job.error is not None:
            raise HTTPException(409, job.error)
        if job.data is None:
            raise HTTPException(409, "Rapporten er ikke færdig endnu.")
        return file(job.fmt, job.filename, job.data)

    return r
