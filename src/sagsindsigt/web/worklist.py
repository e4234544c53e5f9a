"""The worklist page (``/arbejdsliste``): open cases over their deadline, or due within 7 days,
case by case for the caller's scope, with CSV and XLSX downloads (``/arbejdsliste.csv``,
``/arbejdsliste.xlsx``). Case-level data: the route policy asks for ``cases`` and writes every
view (``sagsdata``) and download (``download``) to the access log. The list comes from
:mod:`sagsindsigt.worklist`, its table and texts from :mod:`sagsindsigt.present.worklist`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from .. import worklist as core
from ..danish import number
from ..present import worklist as present
from ..present.exports import csv_bytes, xlsx_bytes
from ..store import reads
from .pages import Filters

URL = "/arbejdsliste"
SHOWN = 500  # rows on the page; the downloads hold them all
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
List_ = Annotated[str, Query(description="over-frist eller forfalder")]
New_ = Annotated[int | None, Query(description="kun sager, der kom over frist de seneste N dage")]


def link(kind: str, filters: dict[str, str] | None = None, **more) -> str:
    """The worklist's address for a list and filters (the Overblik tile and the digest)."""
    params = {"liste": kind, **(filters or {}), **{k: v for k, v in more.items() if v}}
    return f"{URL}?{urlencode(params)}"


def router(fig, templates: Jinja2Templates) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def make(liste: str, administration, unit, case_type, nye) -> core.Worklist:
        fig.refresh()
        filters = {"administration": administration or None, "unit": unit or None,
                   "case_type": case_type or None}
        fig.read(reads.require_visible, *filters.values())  # else "Ingen adgang"
        try:
            with fig.lock:
                return core.worklist(fig.store, liste, **filters, new_within=nye)
        except core.WorklistError as exc:
            raise HTTPException(400, str(exc)) from exc

    @r.get(URL + ".{fmt}")
    def download(fmt: str, liste: List_ = core.OVERDUE, administration: str | None = None,
                 unit: str | None = None, case_type: str | None = None, nye: New_ = None):
        if fmt not in ("csv", "xlsx"):
            raise HTTPException(404, "Filen findes ikke.")
        wl = make(liste, administration, unit, case_type, nye)
        labels = fig.labels()
        t = present.table(wl, labels)
        name = quote(present.file_name(wl, labels, fmt))
        head = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt == "csv":
            return Response(csv_bytes(t, present.whose(wl, labels)),
                            media_type="text/csv; charset=utf-8", headers=head)
        return Response(xlsx_bytes([t], present.export_lines(wl, labels)), media_type=XLSX,
                        headers=head)

    @r.get(URL, response_class=HTMLResponse)
    def page(request: Request, liste: List_ = core.OVERDUE, administration: str | None = None,
             unit: str | None = None, case_type: str | None = None, nye: New_ = None):
        wl = make(liste, administration, unit, case_type, nye)
        labels = fig.labels()
        f = Filters("", administration or None, unit or None, case_type or None)
        keep = {"liste": liste, **({"nye": str(nye)} if nye else {})}
        crumbs = [(text, {**keep, **{k: v for k, v in params.items() if k != "period"}})
                  for text, params in f.crumbs(labels)]
        query = urlencode({**keep, **wl.filters})
        html = templates.get_template("worklist.html").render({
            "request": request, "slug": URL, "f": f, "title": present.title(wl),
            "query": "", "charts_json": "[]", "periods": [], "wl": wl,
            "table": present.table(wl, labels), "shown": SHOWN,
            "note": present.day_note(wl, labels), "whose": present.whose(wl, labels),
            "crumbs": crumbs, "kinds": core.KINDS, "current": liste,
            "tabs": {k: link(k, wl.filters) for k in core.KINDS},
            "csv": f"{URL}.csv?{query}", "xlsx": f"{URL}.xlsx?{query}",
            "units": _units(fig, f), "case_types": _case_types(fig, f),
            "count": number(len(wl.rows))})
        return HTMLResponse(html)

    return r


def _units(fig, f: Filters) -> list[tuple[str, str]]:
    """The centres and units a reader may choose (under the administration filter)."""
    nodes = fig.read(reads.organisation)
    admin_of = reads.administrations((n.code, n.parent, n.level) for n in nodes)
    labels = fig.labels()
    return [(n.code, labels.name("unit", n.code)) for n in nodes
            if n.level in ("center", "enhed") and labels.scope.covers(n.code)
            and (f.administration is None or admin_of.get(n.code) == f.administration)]


def _case_types(fig, f: Filters) -> list[tuple[str, str]]:
    labels = fig.labels()
    return [(c["code"], labels.name("case_type", c["code"])) for c in fig.read(reads.case_types)
            if f.administration is None or c["administration"] == f.administration]


__all__ = ["URL", "link", "router"]
