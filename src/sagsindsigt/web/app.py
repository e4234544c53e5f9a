"""The web app: a thin layer over the core. ``create_app`` builds everything; nothing is built
at import time."""

from __future__ import annotations

import csv
import io
import json
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ..access import Principal, acting_as
from ..danish import number
from ..danish import value as dk_value
from ..kpis import KpiUsageError, all_kpis
from ..overview import default_period
from ..store import Store
from .audits import audits_router
from .pages import LEVELS, PAGES, Cell, Figures, Filters, Table, period_options
from .reports import reports_router
from .views import VIEWS

HERE = Path(__file__).parent
LIGHTS = {"green": "Grøn", "yellow": "Gul", "red": "Rød"}
Period_ = Annotated[str | None, Query(description="2014, 2014-H1, 2014-Q3 eller 2014-03")]


def create_app(db: str | Store, warm: bool = True, auth: bool = True,
               secure_cookies: bool | None = None) -> FastAPI:
    """The app over one store. ``warm`` fills the figure cache for the default views in the
    background, so the first visitors do not wait for the first computations. ``auth`` False
    is the ``--no-auth`` mode: one local user with every right (loopback only, see the CLI).
    """
    from starlette.middleware.sessions import SessionMiddleware

    from ..settings import Settings
    from . import access as web_access
    from . import sso as web_sso

    store = db if isinstance(db, Store) else Store(db)
    store.require()
    fig = Figures(store)
    settings = Settings()
    trust = web_access.Trust(fig, auth)

    @asynccontextmanager
    async def lifespan(app):
        if warm:
            threading.Thread(target=_warm, args=(fig,), daemon=True).start()
        yield

    # /docs is served from vendored Swagger UI files (FastAPI's default loads a CDN)
    app = FastAPI(lifespan=lifespan, title="Sagsindsigt",
                  description="Nøgletal om sagsbehandlingens kvalitet. "
                  "Samme JSON som `sagsindsigt kpi --format json`. Maskiner logger ind med "
                  "en API-nøgle: `Authorization: Bearer ssi_…` (`sagsindsigt tokens create`).",
                  version="0.1.0", docs_url=None, redoc_url=None,
                  dependencies=[Depends(web_access.guard)])
    app.state.trust = trust
    web_access.handlers(app)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title="Sagsindsigt – API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="data:,")
    app.state.figures = fig
    app.add_middleware(_Serving, fig=fig)
    app.add_middleware(web_access.Guarded, trust=trust)
    secure = settings.secure_cookies if secure_cookies is None else secure_cookies
    app.add_middleware(SessionMiddleware, secret_key=web_access.session_secret(store),
                       session_cookie="sagsindsigt", max_age=settings.session_hours * 3600,
                       same_site="lax", https_only=secure)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.filters["cell"] = _cell_text
    env.filters["num"] = number
    env.globals.update(PAGES=PAGES, LIGHTS=LIGHTS, urlencode=urlencode, Cell=Cell,
                       CSRF_MARK=web_access.CSRF_MARK, USER_MARK=web_access.USER_MARK,
                       visible=web_access.visible, csrf_field=_csrf_field,
                       signed_in_as=_signed_in_as, as_me=_as_me)
    app.include_router(web_access.router(trust, templates,
                                         sso_enabled=bool(settings.oidc_issuer)))
    if settings.oidc_issuer:
        app.include_router(web_sso.router(trust, templates, settings))
    app.include_router(reports_router(fig, templates))

    def filters(period: str | None, administration: str | None, unit: str | None,
                case_type: str | None) -> Filters:
        p = period or fig.memo(("default_period",), lambda: _default_period(fig))
        return Filters(p, administration or None, unit or None, case_type or None)

    def page(request: Request, slug: str, f: Filters) -> HTMLResponse:
        """A page is a function of its filters and the store's version: rendered once."""
        fig.refresh()

        def render() -> bytes:
            try:
                content = VIEWS[slug](fig, f)
            except KpiUsageError as exc:
                raise HTTPException(400, str(exc)) from exc
            return templates.get_template(f"{slug}.html").render({
                "request": request, "slug": slug, "f": f, "content": content,
                "periods": fig.memo(("periods",), lambda: period_options(fig)),
                "title": dict(PAGES)[slug], "query": urlencode(f.params()),
                "charts_json": json.dumps(content.get("charts", []), ensure_ascii=False)
                .replace("</", "<\\/"),
            }).encode("utf-8")

        return HTMLResponse(fig.memo(("page", slug, f), render))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, period: Period_ = None, administration: str | None = None,
             unit: str | None = None, case_type: str | None = None):
        return page(request, "overblik", filters(period, administration, unit, case_type))

    @app.get("/side/{slug}", response_class=HTMLResponse, include_in_schema=False)
    def any_page(request: Request, slug: str, period: Period_ = None,
                 administration: str | None = None, unit: str | None = None,
                 case_type: str | None = None):
        if slug not in VIEWS:
            raise HTTPException(404, "Siden findes ikke.")
        return page(request, slug, filters(period, administration, unit, case_type))

    @app.get("/download/{slug}/{table_id}.{fmt}", include_in_schema=False)
    def download(slug: str, table_id: str, fmt: str, period: Period_ = None,
                 administration: str | None = None, unit: str | None = None,
                 case_type: str | None = None):
        if slug not in VIEWS or fmt not in ("csv", "xlsx"):
            raise HTTPException(404, "Filen findes ikke.")
        fig.refresh()
        f = filters(period, administration, unit, case_type)
        content = fig.memo(("content", slug, f), lambda: VIEWS[slug](fig, f))
        tables = [t for t in content.get("tables", []) if t.id == table_id]
        if not tables:
            raise HTTPException(404, "Tabellen findes ikke på siden.")
        name = f"{slug}-{table_id}-{f.period}"
        if fmt == "csv":
            return Response(_csv(tables[0]), media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="{name}.csv"'})
        return Response(_xlsx(tables[0]), headers={
            "Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.get("/api/kpi", tags=["nøgletal"], summary="Alle nøgletal i registret")
    def api_list():
        return [{"id": k.id, "label": k.label, "unit": k.unit, "theme": k.theme,
                 "dimensions": ",".join(k.dims), "description": k.description}
                for k in all_kpis()]

    @app.get("/api/kpi/{kpi_id}", tags=["nøgletal"], summary="Ét nøgletal som i CLI'en")
    def api_kpi(kpi_id: str, period: Period_ = None,
                by: Annotated[str | None, Query(description="fx administration,unit")] = None,
                where: Annotated[list[str] | None, Query(description="DIMENSION=VÆRDI")] = None,
                annualise: bool = False,
                view: Annotated[str | None, Query(description="funnel: tragtvisning")] = None):
        from ..kpis import Query as KQ
        from ..kpis import funnel

        fig.refresh()
        try:
            period = period or fig.memo(("default_period",), lambda: _default_period(fig))
            q = KQ.make(kpi_id, period, by, where or [], annualise)
            if view == "funnel":
                q.by = q.by or list(funnel.DEFAULT_BY)
            res = fig.get(kpi_id, q.period, q.by, [(k, v) for k, v in q.where.items()],
                          annualise)
            res = funnel.funnel_of(res) if view == "funnel" else res
        except KpiUsageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(json.loads(json.dumps(res.as_json(), ensure_ascii=False,
                                                  default=str)))

    from . import complaints, imports, sb, targets  # modules with routes of their own

    app.include_router(complaints.router(fig, templates))
    app.include_router(imports.router(fig))
    app.include_router(sb.router(fig, templates))
    app.include_router(targets.router(fig, templates))
    app.include_router(audits_router(fig, templates))
    return app


def _signed_in_as() -> str | None:
    """The signed-in user's name, which forms record changes as (None: a local user)."""
    from ..access import acting_name

    return acting_name(None)


def _as_me():
    """A name field's attributes: the signed-in user's name, read-only."""
    from markupsafe import Markup, escape

    me = _signed_in_as()
    return Markup(f' value="{escape(me)}" readonly') if me else ""


def _csrf_field():
    from markupsafe import Markup

    from .access import CSRF_MARK

    return Markup(f'<input type="hidden" name="csrf_token" value="{CSRF_MARK}">')


def _default_period(fig: Figures) -> str:
    with fig.lock:
        return default_period(fig.store)


def _warm(fig: Figures) -> None:
    """Fill the figure cache in the background, most visited views first. It computes only
    while no request is being served (``Figures.serving``), so it never slows a visitor."""
    # the thread object, not its ident: idents are reused by later threads (a request's
    # worker thread taking the ident of a finished warm-up would wait for itself)
    fig.background = threading.current_thread()
    try:
        fig.refresh()
        period = fig.memo(("default_period",), lambda: _default_period(fig))
        for slug, f in _warm_plan(fig, period):
            VIEWS[slug](fig, f)
        # then the default pages of every scope users and tokens have: figures are cached
        # per scope, so a scoped user's first visit would otherwise compute them all
        for scope in _user_scopes(fig):
            with acting_as(Principal("opvarmning", "laeser", scope, "lokal")):
                p = fig.memo(("default_period",), lambda: _default_period(fig))
                for slug in ("overblik", "sager", "klager"):
                    VIEWS[slug](fig, Filters(p))
    except Exception:  # warming is a courtesy; a real request reports real errors
        pass
    finally:
        fig.background = None
        fig.warmed.set()


def _user_scopes(fig: Figures) -> list:
    from ..access import AccessError, resolve

    with fig.lock:
        codes = {r[0] for t in ("users", "api_tokens") for r in fig.store.engine.query(
            f"SELECT DISTINCT scope FROM {t} WHERE role NOT IN ('admin', 'analytiker')")}
        out = []
        for code in sorted(c for c in codes if c):
            try:
                s = resolve(fig.store, code)
            except AccessError:
                continue
            if not s.everything:
                out.append(s)
    return out


def _warm_plan(fig: Figures, period: str):
    """Every page of the default period; then each administration's Overblik, Sager and
    Klager; then the Sager page of each centre (the drill-down's next step)."""
    top = Filters(period)
    yield from ((slug, top) for slug in VIEWS)
    admins = [r.dims["administration"] for k in ("cases_received", "complaints_received")
              for r in fig.get(k, period, ["administration"]).rows if r.value]
    admins = list(dict.fromkeys(admins))
    for admin in admins:
        for slug in ("overblik", "sager", "klager"):
            yield slug, Filters(period, admin)
    for admin in admins:
        for r in fig.get("cases_received", period, ["unit"], [f"administration={admin}"]).rows:
            if r.value and r.dims["unit"] is not None:
                yield "sager", Filters(period, admin, r.dims["unit"])


class _Serving:
    """ASGI middleware: every request counts as being served (``Figures.serving``)."""

    def __init__(self, app, fig: Figures):
        self.app, self.fig = app, fig

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        with self.fig.serving():
            await self.app(scope, receive, send)


def _cell_text(c) -> str:
    if not isinstance(c, Cell):
        return "-" if c is None else str(c)
    return dk_value(c.value, c.unit) if c.value is not None else "-"


def _plain(c):
    """A cell as a number (or text) for downloads: the same value the page formats."""
    if isinstance(c, Cell):
        return c.value
    return c


def _csv(t: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow([c.label for c in t.columns])
    for r in t.rows:
        w.writerow([_csv_value(_plain(r.get(c.key))) for c in t.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return str(v)


def _xlsx(t: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = t.id[:31]
    ws.append([c.label for c in t.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in t.rows:
        ws.append([_plain(r.get(c.key)) for c in t.columns])
    for i, c in enumerate(t.columns, start=1):
        fmt = {"%": '0.0" %"', "antal": "#,##0", "dage": '0.0'}.get(c.unit)
        if fmt:
            for row in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                row[0].number_format = fmt
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["LEVELS", "create_app"]
