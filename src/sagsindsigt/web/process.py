"""The *Proces* page (``/proces``): where the time goes in the cases, from the events log
(issue 15). A process map drawn on the server as SVG (``present/process.py``), the variants,
the bottlenecks and the rework, for the caller's scope and the page's filters; the cases
behind an edge or a variant on ``/proces/sager`` (case-level: ``cases``, in the access log).
The API gives the CLI's JSON: ``/api/proces/{dfg|variants|bottlenecks|rework}`` and
``/api/proces/stalled`` (case-level).

Everything is computed by :mod:`sagsindsigt.kpis.process`; this module parses, checks and
renders. Every query parameter is checked: a bad one answers 400 with a Danish sentence.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from .. import worklist as wl
from ..kpis import KpiUsageError
from ..kpis import process as core
from ..present.process import WEIGHTS, hours_text, process_map, shown_edges
from ..store import reads
from .pages import Filters, period_options

URL = "/proces"
SHARES = (10, 25, 50, 75, 100)
SHOWN_VARIANTS = 10
SHOWN_CASES = 500
Text = Annotated[str | None, Query()]


def analysis(fig, fn, q: core.ProcessQuery, *args):
    """An analysis of the events (aggregates only), kept in the store like the pages'
    figures until the events or cases change."""
    return fig.memo_db(("process", fn.__name__, q.key(), args),
                       lambda: fn(fig.store, q, *args), kept=True)


def prepare(fig) -> None:
    """The analyses of the page as it first opens (the whole log, the caller's scope)."""
    q = core.ProcessQuery.make(None, [])
    for fn in (core.dfg, core.variants, core.bottlenecks, core.rework, core.service_times,
               core.summary):
        analysis(fig, fn, q)


def router(fig, templates: Jinja2Templates) -> APIRouter:
    r = APIRouter()
    api = r

    def query(period, administration, unit, case_type) -> tuple[Filters, core.ProcessQuery]:
        fig.refresh()
        f = Filters(period or "", administration or None, unit or None, case_type or None)
        fig.read(reads.require_visible, f.administration, f.unit, f.case_type)
        try:
            return f, core.ProcessQuery.make(f.period or None, f.where())
        except KpiUsageError as exc:
            raise HTTPException(400, str(exc)) from exc

    def compute(fn, q: core.ProcessQuery, *args):
        return analysis(fig, fn, q, *args)

    @r.get(URL, response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, period: Text = None, administration: Text = None,
             unit: Text = None, case_type: Text = None, vaegt: Text = "antal",
             andel: Text = "100"):
        if vaegt not in WEIGHTS:
            raise HTTPException(400, "Vægt skal være 'antal' eller 'tid'.")
        if andel not in [str(s) for s in SHARES]:
            raise HTTPException(400, "Andel af overgange skal være 10, 25, 50, 75 eller 100.")
        f, q = query(period, administration, unit, case_type)
        edges = compute(core.dfg, q)
        var = compute(core.variants, q)
        total = sum(v["cases"] for v in var)
        labels = fig.labels()
        base = f.params()
        shown = shown_edges(edges, vaegt, int(andel))
        svg = process_map(edges, vaegt, int(andel),
                          f"Procesforløb for {labels.where(f.administration, f.unit, f.case_type)}")
        keep = {"vaegt": vaegt, "andel": andel}
        html = templates.get_template("process.html").render({
            "request": request, "slug": URL, "f": f, "title": "Proces",
            "query": urlencode(base), "charts_json": "[]",
            "periods": [("", "Hele loggen"), *fig.memo(("periods",),
                                                       lambda: period_options(fig))],
            "whose": labels.where(f.administration, f.unit, f.case_type),
            "crumbs": [(t, {**p, **keep, "period": f.period} if f.period else {**keep, **{
                k: v for k, v in p.items() if k != "period"}}) for t, p in f.crumbs(labels)],
            "svg": Markup(svg), "edges": edges, "shown": len(shown), "weights": WEIGHTS,
            "weight": vaegt, "shares": SHARES, "share": int(andel),
            "variants": var[:SHOWN_VARIANTS], "variant_total": len(var), "cases": total,
            "bottlenecks": compute(core.bottlenecks, q), "rework": compute(core.rework, q),
            "service": compute(core.service_times, q),
            "summary": compute(core.summary, q), "hours": hours_text,
            "can_drill": _can_drill(request),
            "edge_link": lambda e: f"{URL}/sager?" + urlencode({**base, "fra": e["from"],
                                                                 "til": e["to"]}),
            "variant_link": lambda i: f"{URL}/sager?" + urlencode({**base, "variant": i}),
        })
        return HTMLResponse(html)

    @r.get(URL + "/sager", response_class=HTMLResponse, include_in_schema=False)
    def cases(request: Request, period: Text = None, administration: Text = None,
              unit: Text = None, case_type: Text = None, fra: Text = None, til: Text = None,
              variant: Text = None):
        f, q = query(period, administration, unit, case_type)
        if variant is not None:
            if not variant.isdigit() or not 1 <= int(variant) <= SHOWN_VARIANTS:
                raise HTTPException(400, f"Variant skal være et tal fra 1 til "
                                         f"{SHOWN_VARIANTS}.")
            var = compute(core.variants, q, SHOWN_VARIANTS)
            if int(variant) > len(var):
                raise HTTPException(404, "Varianten findes ikke for filtrene.")
            steps = var[int(variant) - 1]["variant"]
            rows = fig.read(core.case_times, q, variant=steps, limit=SHOWN_CASES)
            what = f"Sager med variant {variant}: " + " → ".join(steps)
        elif fra and til and len(fra) <= 500 and len(til) <= 500:
            rows = fig.read(core.case_times, q, edge=(fra, til), limit=SHOWN_CASES)
            what = f"Sager med overgangen {fra} → {til}"
        else:
            raise HTTPException(400, "Angiv en overgang (fra og til) eller en variant.")
        labels = fig.labels()
        html = templates.get_template("process_cases.html").render({
            "request": request, "slug": URL + "/sager", "f": f, "title": "Proces: sager",
            "query": "", "charts_json": "[]", "periods": [], "what": what, "rows": rows,
            "limit": SHOWN_CASES, "whose": labels.where(f.administration, f.unit,
                                                         f.case_type),
            "back": f"{URL}?" + urlencode(f.params()), "labels": labels,
            "crumbs": [], "hours": hours_text})
        return HTMLResponse(html)

    @api.get("/api/proces/stalled", tags=["proces"],
             summary="Sager der står stille (som CLI'en)")
    def api_stalled(period: Text = None, where: Annotated[list[str] | None, Query()] = None,
                    days: int = wl.STALLED_DAYS):
        try:
            q = core.ProcessQuery.make(period or None, where or [])
            fig.refresh()
            w = q.where
            fig.read(reads.require_visible, *(w[d][0] if d in w else None
                                              for d in ("administration", "unit", "case_type")))
            rows = fig.read(core.stalled, q, days)
        except (KpiUsageError, wl.WorklistError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return _json({"rows": rows})

    @api.get("/api/proces/{analysis}", tags=["proces"], summary="Procesanalyse som i CLI'en")
    def api_process(analysis: str, period: Text = None,
                    where: Annotated[list[str] | None, Query(description="DIMENSION=VÆRDI")]
                    = None, top: int | None = None):
        fns = {"dfg": core.dfg, "variants": core.variants, "bottlenecks": core.bottlenecks,
               "rework": core.rework}
        if analysis not in fns:
            return JSONResponse({"error": f"Ukendt procesanalyse '{analysis}': brug "
                                          f"{', '.join(fns)} eller stalled."}, status_code=404)
        try:
            q = core.ProcessQuery.make(period or None, where or [])
            if top is not None and not 1 <= top <= 10000:
                raise KpiUsageError("top skal være mellem 1 og 10000.")
            fig.refresh()
            w = q.where
            fig.read(reads.require_visible, list(w.get("administration", ())),
                     list(w.get("unit", ())), list(w.get("case_type", ())))
            rows = (compute(core.variants, q, top) if analysis == "variants"
                    else compute(fns[analysis], q))
        except KpiUsageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return _json({"rows": rows})

    return r


def _can_drill(request: Request) -> bool:
    p = getattr(request.state, "principal", None)
    return p is None or p.can("cases")


def _json(body: dict) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(body, ensure_ascii=False, default=str)))


__all__ = ["URL", "router"]
