"""The *Måltal* page (slug ``maaltal``): every target with status, distance and trend, a chart
per target with the target drawn as a line, seed 001's caution on complaint-volume targets,
and the form for a new target (``/maaltal/nyt``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from .. import targets as core
from ..access import current
from ..danish import change as dk_change
from ..danish import value as dk_value
from ..kpis import KpiUsageError, all_kpis, keep, spc
from ..kpis import get as get_kpi
from ..present.charts import target_chart
from ..present.tables import Cell, Column, Table
from ..store import reads
from . import control
from .pages import Figures, Filters

SLUG = "maaltal"
FORM_URL = "/maaltal/nyt"
FORM_FIELDS = ["id", "name", "kpi", "administration", "unit", "case_type", "period",
               "direction", "value", "relative_period", "relative_factor"]


def statuses(fig: Figures, f: Filters | None = None) -> list[dict[str, Any]]:
    """Every target inside the caller's scope (in the filter's administration) evaluated,
    with its trend."""
    rows = fig.read(reads.targets)
    out = []
    for t in rows:
        if f is not None and f.administration and t.get("administration") not in (
                None, f.administration):
            continue

        def get(k, p, w):
            return fig.get(k, p, [], w)

        st = core.evaluate(fig.store, t, get)
        out.append({"target": t, "status": st, "trend": core.trend(t, get),
                    "caution": core.caution(t["kpi"]), "over_time": over_time(fig, t, st)})
    return out


def over_time(fig: Figures, t: dict, st) -> spc.Chart | None:
    """The target's KPI month by month for the target's scope, up to the end of its period,
    with Making Data Count's assurance against this target (None for an unknown KPI or a
    period that cannot be read)."""
    try:
        if get_kpi(t["kpi"]).audit:  # audit rounds are quarterly or yearly: no months
            return None
    except KpiUsageError:
        return None
    where = [f"{d}={t[d]}" for d in ("administration", "unit", "case_type") if t.get(d)]
    goal = None if st.target is None else spc.Target(float(st.target), st.direction)

    def make():
        try:
            return spc.spc(fig.get, t["kpi"], str(t["period"]), where, goal,
                           lambda table: control.coverage(fig, table),
                           lambda months: control.series(fig, t["kpi"], months, where))
        except (KpiUsageError, ValueError):
            return None

    return fig.memo(("spc_target", t["id"], t["kpi"], str(t["period"]), tuple(where),
                     None if goal is None else (goal.value, goal.direction)), make)


def over_time_text(ch: spc.Chart | None) -> str:
    """"Målet nås af og til · Almindelig variation", or why there is no control chart."""
    if ch is None:
        return "ingen kontrolkort (ikke månedlige tal)"
    if ch.variation is None:
        return ch.variation_text()
    parts = [ch.assurance_text(), ch.variation_text()]
    return " · ".join(p for p in parts if p)


def view(fig: Figures, f: Filters) -> dict[str, Any]:
    items = statuses(fig, f)
    labels = fig.labels()
    table = Table("maaltal", "Måltal", [
        Column("label", "Måltal"), Column("kpi", "Nøgletal"), Column("scope", "Afgrænsning"),
        Column("period", "Periode"), Column("goal", "Mål"), Column("actual", "Faktisk"),
        Column("status", "Status"), Column("distance", "Afstand til mål"),
        Column("trend", "Udvikling i de foregående perioder"),
        Column("over_time", "Over tid (kontrolkort)")])
    charts = []
    for it in items:
        st, t = it["status"], it["target"]
        unit = st.unit
        goal = "-" if st.target is None else (
            f"{'højst' if st.direction == 'max' else 'mindst'} {dk_value(st.target, unit)}")
        if t.get("relative_period") and st.target is not None:
            factor = f"{t['relative_factor']:g}".replace(".", ",")
            goal += f" ({factor} × {t['relative_period']})"
        table.add({"label": labels.target(t), "_key": st.id, "kpi": st.kpi_label,
                   "scope": scope_text(labels, st.scope),
                   "period": st.period, "goal": goal,
                   "actual": Cell(st.actual, unit, st.note or "ingen data"),
                   "status": st.label,
                   "distance": (Cell(None, unit, "kan ikke beregnes") if st.distance is None
                                else dk_change(st.distance, unit)),  # procentpoint, signed
                   "trend": trend_text(it["trend"], unit),
                   "over_time": over_time_text(it["over_time"])})
        charts.append(target_chart(st, it["trend"], f"{st.kpi_label} – {labels.target(t)}"))
    cautions = [{"id": labels.target(it["target"]), "kpi": it["status"].kpi_label,
                 "text": it["caution"]} for it in items if it["caution"]]
    return {"tables": [table], "charts": charts, "cautions": cautions, "form_url": FORM_URL,
            "items": items}


def scope_text(labels, scope: dict[str, str]) -> str:
    if not scope:
        return "Hele kommunen"
    return ", ".join(labels.name(d, v) for d, v in scope.items())


def trend_text(trend: list[tuple[str, float | None]], unit: str) -> str:
    known = [(p, v) for p, v in trend if v is not None]
    if not known:
        return "ingen data for de foregående perioder"
    return " · ".join(f"{p}: {dk_value(v, unit)}" for p, v in trend)


def router(fig: Figures, templates: Jinja2Templates) -> APIRouter:
    r = APIRouter()

    def render(request: Request, values: dict[str, str], errors: list[dict] | None = None):
        field_errors: dict[str, list[str]] = {}
        for e in errors or []:
            field_errors.setdefault(e["field"], []).append(e["reason"])
        period = fig.read(keep.latest_year)
        kpi = values.get("kpi")
        labels = fig.labels()
        scope = current().write_scope
        nodes = fig.read(reads.organisation)
        admins = {n.code: n.name for n in nodes if n.level == "forvaltning"
                  and (scope.everything or n.code in (scope.administrations or ()))}
        return HTMLResponse(templates.get_template("targets_new.html").render({
            "request": request, "slug": SLUG, "f": Filters(period), "title": "Nyt måltal",
            "query": "", "charts_json": "[]", "values": values, "errors": errors or [],
            "field_errors": field_errors, "kpis": all_kpis(), "admins": admins,
            "units": [(n.code, labels.node(n.code)) for n in nodes
                      if n.level in ("center", "enhed") and scope.covers(n.code)],
            "whole": scope.everything, "units_only": scope.units is not None,
            "caution": core.CAUTION, "volume_kpis": sorted(core.VOLUME_KPIS),
            "chosen_caution": core.caution(kpi) if kpi else None, "form_url": FORM_URL}))

    @r.get(FORM_URL, response_class=HTMLResponse, include_in_schema=False)
    def new(request: Request, kpi: str = ""):
        return render(request, {"kpi": kpi, "direction": "max"})

    @r.post(FORM_URL, response_class=HTMLResponse, include_in_schema=False)
    async def submit(request: Request):
        form = await request.form()
        values = {k: str(form.get(k) or "").strip() for k in FORM_FIELDS}

        def save():
            with fig.lock:
                return core.save_target(fig.store, values)

        try:
            tid = await run_in_threadpool(save)
        except core.TargetError as exc:
            return render(request, values, exc.errors)
        return RedirectResponse(f"/side/{SLUG}?gemt={tid}", status_code=303)

    return r


__all__ = ["FORM_URL", "SLUG", "router", "statuses", "view"]
