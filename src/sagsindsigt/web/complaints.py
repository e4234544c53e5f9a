"""Complaint registration in the web app: the form (new and edit, with the history of
versions) and the JSON API ``/api/complaints``. A thin layer over
:mod:`sagsindsigt.complaints`; writes share the app's store lock (``Figures.lock``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from .. import complaints as core
from ..access import acting_name, current
from ..complaints.form import FIELDS, fields_for, form_values
from ..kpis import keep
from ..store import reads
from .pages import Figures, Filters

FORM_URL = "/klager/registrering"
Registrant = Annotated[str | None, Header(alias="X-Registered-By",
                                          description="Hvem der registrerer (indtil login)")]


def router(fig: Figures, templates: Jinja2Templates) -> APIRouter:
    r = APIRouter()

    def render(request: Request, values: dict[str, Any], *, complaint_id: str | None = None,
               source: str = core.SOURCE, errors: list[dict] | None = None,
               message: str | None = None, history: list[dict] | None = None,
               registered_by: str = "", status: int = 200) -> HTMLResponse:
        field_errors: dict[str, list[str]] = {}
        for e in errors or []:
            field_errors.setdefault(e["field"], []).append(e["reason"])
        period = fig.memo(("default_period",), lambda: fig.read(keep.latest_year))
        fields = fields_for(current().write_scope, fig.read(reads.organisation),
                            fig.labels().node)
        html = templates.get_template("complaint_registration.html").render({
            "request": request, "slug": FORM_URL, "f": Filters(period),
            "title": "Ret klage" if complaint_id else "Registrér klage", "query": "",
            "charts_json": "[]", "fields": fields, "values": values, "errors": errors or [],
            "field_errors": field_errors, "complaint_id": complaint_id, "source": source,
            "message": message, "history": history or [], "registered_by": registered_by,
            "recent": core.recent(fig.store, lock=fig.lock), "form_url": FORM_URL,
        })
        return HTMLResponse(html, status_code=status)

    # -- the form ----------------------------------------------------------------------
    @r.get(FORM_URL, response_class=HTMLResponse, include_in_schema=False)
    def new_form(request: Request):
        return render(request, form_values(None))

    @r.post(FORM_URL, response_class=HTMLResponse, include_in_schema=False)
    async def submit_new(request: Request):
        data, by = await _form(request)
        by = acting_name(by)
        try:
            done = await run_in_threadpool(core.register, fig.store, data, by, lock=fig.lock)
        except core.RegistrationError as exc:
            return render(request, data, errors=exc.errors, registered_by=by or "",
                          status=exc.status if exc.status == 403 else 200)
        return RedirectResponse(f"{FORM_URL}/{quote(done.complaint_id)}?gemt=oprettet",
                                status_code=303)

    @r.get(FORM_URL + "/{complaint_id}", response_class=HTMLResponse, include_in_schema=False)
    def edit_form(request: Request, complaint_id: str, source: str = core.SOURCE,
                  gemt: str | None = None):
        with fig.lock:
            record = core.found(fig.store, complaint_id, source)  # 404, or 403 outside
        message = {"oprettet": f"Klagen {complaint_id} er registreret.",
                   "rettet": f"Rettelsen af klage {complaint_id} er gemt som en ny version.",
                   "uændret": "Ingen ændringer: der er ikke gemt en ny version."}.get(gemt or "")
        return render(request, form_values(record), complaint_id=complaint_id, source=source,
                      message=message, history=core.history(fig.store, complaint_id, source,
                                                            lock=fig.lock))

    @r.post(FORM_URL + "/{complaint_id}", response_class=HTMLResponse,
            include_in_schema=False)
    async def submit_edit(request: Request, complaint_id: str, source: str = core.SOURCE):
        data, by = await _form(request)
        by = acting_name(by)
        data.pop("complaint_id", None)
        try:
            done = await run_in_threadpool(core.edit, fig.store, complaint_id, data, by,
                                           source=source, lock=fig.lock)
        except core.RegistrationError as exc:
            hist = await run_in_threadpool(core.history, fig.store, complaint_id, source,
                                           fig.lock)
            return render(request, {**data, "complaint_id": complaint_id}, errors=exc.errors,
                          complaint_id=complaint_id, source=source, history=hist,
                          registered_by=by or "", status=exc.status if exc.status == 403
                          else 200)
        q = "" if source == core.SOURCE else f"&source={quote(source)}"
        return RedirectResponse(f"{FORM_URL}/{quote(complaint_id)}?gemt={done.action}{q}",
                                status_code=303)

    # -- the API -----------------------------------------------------------------------
    @r.post("/api/complaints", tags=["klager"], status_code=201,
            summary="Registrér en klage (201 med id)")
    def api_register(payload: Annotated[dict[str, Any], Body()],
                     x_registered_by: Registrant = None):
        data = dict(payload)
        by = acting_name(data.pop("registered_by", None) or x_registered_by)
        try:
            done = core.register(fig.store, data, by, lock=fig.lock, channel="api")
        except core.RegistrationError as exc:
            return JSONResponse({"errors": exc.errors}, status_code=exc.status)
        return done.as_dict()

    @r.patch("/api/complaints/{complaint_id}", tags=["klager"],
             summary="Ret en klage (ny version)")
    def api_edit(complaint_id: str, payload: Annotated[dict[str, Any], Body()],
                 source: str = core.SOURCE, x_registered_by: Registrant = None):
        data = dict(payload)
        by = acting_name(data.pop("registered_by", None) or x_registered_by)
        try:
            done = core.edit(fig.store, complaint_id, data, by, source=source, lock=fig.lock,
                             channel="api")
        except core.NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except core.RegistrationError as exc:
            return JSONResponse({"errors": exc.errors}, status_code=exc.status)
        return done.as_dict()

    @r.get("/api/complaints/{complaint_id}", tags=["klager"], summary="Klagen, som den er nu")
    def api_get(complaint_id: str, source: str = core.SOURCE):
        try:
            with fig.lock:
                record = core.found(fig.store, complaint_id, source)
        except core.NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse(_jsonable({k: v for k, v in record.items()
                                       if k in core.KIND.names or k == "_version"}))

    @r.get("/api/complaints/{complaint_id}/history", tags=["klager"],
           summary="Alle versioner: hvem, hvornår og hvad der blev ændret")
    def api_history(complaint_id: str, source: str = core.SOURCE):
        try:
            return JSONResponse(_jsonable(core.history(fig.store, complaint_id, source,
                                                       lock=fig.lock)))
        except core.NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    return r


async def _form(request: Request) -> tuple[dict[str, Any], str | None]:
    form = await request.form()
    data: dict[str, Any] = {}
    for f in FIELDS:
        if f.input == "checkboxes":
            data[f.name] = [str(v) for v in form.getlist(f.name)]
        else:
            data[f.name] = str(form.get(f.name) or "")
    return data, str(form.get("registered_by") or "") or None


def _jsonable(x):
    import json

    return json.loads(json.dumps(x, ensure_ascii=False, default=str))


__all__ = ["FORM_URL", "router"]
