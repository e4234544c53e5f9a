"""The web app: a thin layer over the core. ``create_app`` builds everything; nothing is built
at import time."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from ..access import Principal, acting_as, current
from ..danish import day as dk_day
from ..danish import number
from ..danish import value as dk_value
from ..kpis import KpiUsageError, all_kpis, keep
from ..present.exports import csv_bytes, xlsx_bytes
from ..present.labels import scope_label
from ..present.tables import Cell
from ..store import Store, StoreError, reads
from .audits import audits_router
from .pages import LEVELS, MENU, PAGES, Figures, Filters, href, period_options
from .reports import reports_router
from .security import Hardened
from .views import TEMPLATES, VIEWS

HERE = Path(__file__).parent
LIGHTS = {"green": "Grøn", "yellow": "Gul", "red": "Rød"}
Period_ = Annotated[str | None, Query(description="2014, 2014-H1, 2014-Q3 eller 2014-03")]
Adjustment_ = Annotated[Literal["auto", "none", "multiplicative", "additive"],
                        Query(description="tragtvisning: justering for overspredning")]


def create_app(db: str | Store, warm: bool = True, auth: bool = True,
               secure_cookies: bool | None = None, lake: str | None = None,
               ready: Callable[[], object] | None = None) -> FastAPI:
    """The app over one store. ``warm``: before it accepts the first request, the app reads
    the figures of the first pages into its cache (kept in the store when the data changed,
    :func:`prepare`; computed and kept now if not), so the first visitors never wait for a
    computation. ``auth`` False
    is the ``--no-auth`` mode: one local user with every right (loopback only, see the CLI).
    ``ready()`` is called once the app accepts requests (the CLI says so then).
    """
    from ..settings import Settings
    from . import access as web_access
    from . import sso as web_sso

    store = db if isinstance(db, Store) else Store(db, lake=lake)
    if store.read_only:
        raise StoreError("Web-appen gemmer brugere, sessioner og adgangslog og kan ikke køre "
                         "på en datasø alene: brug --db DATABASE --lake spark:MAPPE.")
    store.require()
    settings = Settings()
    fig = Figures(store, pool=settings.pool_size)
    trust = web_access.Trust(fig, auth)

    @asynccontextmanager
    async def lifespan(app):
        if warm:  # before the first request is accepted: read from the kept figures
            await run_in_threadpool(_warm, fig, app.state.citizen.figures)
        if ready is not None:
            ready()
        yield
        fig.close()

    # /docs is served from vendored Swagger UI files (FastAPI's default loads a CDN)
    app = FastAPI(lifespan=lifespan, title="Sagsindsigt",
                  description="Nøgletal om sagsbehandlingens kvalitet. "
                  "Samme JSON som `sagsindsigt kpi --format json`. Maskiner logger ind med "
                  "en API-nøgle: `Authorization: Bearer ssi_…` (`sagsindsigt tokens create`).",
                  version="0.1.0", docs_url=None, redoc_url=None,
                  dependencies=[Depends(web_access.guard)])
    app.state.trust = trust

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
    app.add_middleware(_Sessions, always_secure=secure,
                       secret_key=web_access.session_secret(store),
                       session_cookie="sagsindsigt", max_age=settings.session_hours * 3600,
                       same_site="lax")
    app.add_middleware(Hardened, max_body=settings.max_request_kb * 1024,  # outermost
                       embed_origins=settings.embed_origins)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.filters["cell"] = _cell_text
    env.filters["num"] = number
    env.filters["day"] = dk_day
    env.globals.update(PAGES=PAGES, MENU=MENU, href=href, LIGHTS=LIGHTS, urlencode=urlencode,
                       Cell=Cell,
                       CSRF_MARK=web_access.CSRF_MARK, USER_MARK=web_access.USER_MARK,
                       visible=web_access.visible, csrf_field=_csrf_field,
                       signed_in_as=_signed_in_as, as_me=_as_me,
                       whose=lambda f=None: whose(fig, f), labels=fig.labels)
    env.tests["visible"] = web_access.visible  # {{ group | select("visible") }}
    web_access.handlers(app, templates, fig)
    app.include_router(web_access.router(trust, templates,
                                         sso_enabled=bool(settings.oidc_issuer)))
    if settings.oidc_issuer:
        app.include_router(web_sso.router(trust, templates, settings))
    reports = reports_router(fig, templates)
    app.state.report_jobs = reports.jobs
    app.include_router(reports)

    def filters(period: str | None, administration: str | None, unit: str | None,
                case_type: str | None, overdispersion: str = "auto",
                casemix: bool = False) -> Filters:
        """The view's filters; one outside the caller's scope answers "Ingen adgang"."""
        p = period or fig.memo(("default_period",), lambda: _default_period(fig))
        f = Filters(p, administration or None, unit or None, case_type or None,
                    overdispersion, casemix)
        fig.memo_db(("visible", f.administration, f.unit, f.case_type), lambda: (
            reads.require_visible(fig.store, f.administration, f.unit, f.case_type)))
        return f

    def page(request: Request, slug: str, f: Filters) -> HTMLResponse:
        """A page is a function of its filters and the store's version: rendered once."""
        fig.refresh()

        def render() -> bytes:
            try:
                content = VIEWS[slug](fig, f)
            except KpiUsageError as exc:
                raise HTTPException(400, str(exc)) from exc
            return templates.get_template(TEMPLATES[slug]).render({
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
                 case_type: str | None = None, overdispersion: Adjustment_ = "auto",
                 casemix: bool = False):
        if slug not in VIEWS:
            raise HTTPException(404, "Siden findes ikke.")
        return page(request, slug, filters(period, administration, unit, case_type,
                                           overdispersion, casemix))

    @app.get("/download/{slug}/{table_id}.{fmt}", include_in_schema=False)
    def download(slug: str, table_id: str, fmt: str, period: Period_ = None,
                 administration: str | None = None, unit: str | None = None,
                 case_type: str | None = None, overdispersion: Adjustment_ = "auto",
                 casemix: bool = False):
        if slug not in VIEWS or fmt not in ("csv", "xlsx"):
            raise HTTPException(404, "Filen findes ikke.")
        fig.refresh()
        f = filters(period, administration, unit, case_type, overdispersion, casemix)
        content = fig.memo(("content", slug, f), lambda: VIEWS[slug](fig, f))
        tables = [t for t in content.get("tables", []) if t.id == table_id]
        if not tables:
            raise HTTPException(404, "Tabellen findes ikke på siden.")
        who = whose(fig, f)
        code = fig.labels().scope_of(f.administration, f.unit)["code"]
        name = f"{slug}-{table_id}-{f.period}-{code}"
        if fmt == "csv":
            return Response(csv_bytes(tables[0], who), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        data = xlsx_bytes(tables, [f"Område: {who}", f"Periode: {f.period}"])
        return Response(data, headers={
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
                view: Annotated[str | None, Query(
                    description="funnel: tragtvisning; spc: kontrolkort pr. måned")] = None,
                overdispersion: Adjustment_ = "auto",
                casemix: Annotated[bool, Query(description="tragtvisning: standardisér "
                                               "efter sagstype")] = False):
        from ..kpis import Query as KQ
        from ..kpis import funnel

        fig.refresh()
        try:
            period = period or fig.memo(("default_period",), lambda: _default_period(fig))
            q = KQ.make(kpi_id, period, by, where or [], annualise)
            fig.read(reads.require_visible, q.where.get("administration"),
                     q.where.get("unit"), q.where.get("case_type"))
            if view == "spc":
                body = _spc_json(fig, q)
                body["scope"] = fig.labels().scope_of_where(q.where)
                return JSONResponse(json.loads(json.dumps(body, ensure_ascii=False,
                                                          default=str)))
            if view == "funnel":
                q.by = q.by or list(funnel.DEFAULT_BY)
            res = fig.get(kpi_id, q.period, q.by, [(k, v) for k, v in q.where.items()],
                          annualise)
            if view == "funnel":
                mix = fig.get(kpi_id, q.period, funnel.mix_query(q).by,
                              [(k, v) for k, v in q.where.items()]) if casemix else None
                res = funnel.funnel_of(res, overdispersion=overdispersion, mix=mix)
        except KpiUsageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        body = res.as_json()
        body["scope"] = fig.labels().scope_of_where(q.where)
        return JSONResponse(json.loads(json.dumps(body, ensure_ascii=False, default=str)))

    from . import (  # with routes of their own
        citizen,
        complaints,
        imports,
        process,
        strengthened_contact,
        targets,
        worklist,
    )

    public = citizen.router(fig, templates, settings)
    app.state.citizen = public.public
    app.include_router(public)
    app.include_router(complaints.router(fig, templates))
    app.include_router(imports.router(fig, changed=lambda: threading.Thread(
        target=_warm, args=(fig, public.public.figures), daemon=True).start()))
    app.include_router(strengthened_contact.router(fig, templates))
    app.include_router(targets.router(fig, templates))
    app.include_router(process.router(fig, templates))
    app.include_router(worklist.router(fig, templates))
    app.include_router(audits_router(fig, templates))
    return app


def _spc_json(fig: Figures, q) -> dict:
    """``view=spc``: the control chart of the query's scope, as ``kpi … --view spc``."""
    from ..kpis import get as get_kpi
    from ..kpis.spc import check
    from .control import chart

    check(get_kpi(q.kpi), q.by, q.annualise)
    return chart(fig, q.kpi, q.period.label,
                 [f"{k}={','.join(v)}" for k, v in q.where.items()]).as_json()


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
    return fig.read(keep.latest_year)


def whose(fig: Figures, f: Filters | None = None) -> str:
    """Whose data a view shows, by name: the narrowest of its filters and the caller's
    scope ("Jobcenter Amager (JCA)")."""
    if f is None:
        return scope_label(current().data_scope)
    return fig.labels().where(f.administration, f.unit, f.case_type)


def prepare(store: Store) -> None:
    """Compute the figures of the pages people open first and keep them in the store
    (:mod:`sagsindsigt.kpis.keep`): the citizens' page, every page of the default period,
    each administration's and centre's first pages and the first pages of every scope users
    and tokens have. Run when the data change (``sagsindsigt import``, ``demo``,
    ``prepare``), so that no visitor waits for a computation after a start."""
    from ..settings import Settings
    from .citizen import Public

    fig = Figures(store)
    _warm(fig, Public(fig, Settings()).figures)


def _warm(fig: Figures, public=None) -> None:
    """Fill the figure cache, most visited views first (the citizens' public figures,
    ``public``, before all): at start, before the first request, and in the background after
    an upload changed the data. In the background it computes only while no request is being
    served (``Figures.serving``), so it never slows a visitor."""
    # the thread object, not its ident: idents are reused by later threads (a request's
    # worker thread taking the ident of a finished warm-up would wait for itself)
    fig.background = threading.current_thread()
    try:
        fig.refresh()
        if public is not None:
            public()
        period = fig.memo(("default_period",), lambda: _default_period(fig))
        for slug, f in _warm_plan(fig, period):
            VIEWS[slug](fig, f)
        from . import process

        process.prepare(fig)
        _warm_reports(fig, period)
        # then the default pages of every scope users and tokens have: figures are cached
        # per scope, so a scoped user's first visit would otherwise compute them all
        for scope in _user_scopes(fig):
            with acting_as(Principal("opvarmning", "laeser", scope, "lokal")):
                p = fig.memo(("default_period",), lambda: _default_period(fig))
                for slug in ("overblik", "sager", "klager"):
                    VIEWS[slug](fig, Filters(p))
                process.prepare(fig)
    except Exception:  # warming is a courtesy; a real request reports real errors
        pass
    finally:
        fig.background = None
        fig.warmed.set()


def _warm_reports(fig: Figures, period: str) -> None:
    """The Rapporter page's default choices made ready: WeasyPrint, the fonts and the chart
    engine loaded, the figures of each report for the whole municipality in the default
    period computed and its charts drawn and kept in the store (then a report costs its
    layout only, here and in a one-shot ``sagsindsigt report``)."""
    from ..reports import KINDS, Source, build_report
    from ..reports.pdf import draw_charts, prepare

    prepare()
    for kind in KINDS:
        try:
            report = build_report(fig.store, kind, period, [],
                                  source=Source(fig.store, get=fig.get, lock=fig.lock))
            with fig.lock:
                draw_charts(report, store=fig.store)
        except Exception:  # warming is a courtesy: the request that asks reports the error
            continue


def _user_scopes(fig: Figures) -> list:
    from ..access import AccessError, resolve
    from ..access.users import scoped_codes

    with fig.lock:
        codes = scoped_codes(fig.store)
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


class _Sessions:
    """Signed session cookies that are ``Secure`` whenever the request came over HTTPS (also
    behind a TLS proxy: uvicorn takes the scheme from the trusted proxy's
    ``X-Forwarded-Proto``), and always when ``always_secure`` (settings.secure_cookies)."""

    def __init__(self, app, always_secure: bool, **options):
        from starlette.middleware.sessions import SessionMiddleware

        self.always = always_secure
        self.plain = SessionMiddleware(app, https_only=False, **options)
        self.secure = SessionMiddleware(app, https_only=True, **options)

    async def __call__(self, scope, receive, send):
        https = self.always or scope.get("scheme") in ("https", "wss")
        await (self.secure if https else self.plain)(scope, receive, send)


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


__all__ = ["LEVELS", "create_app", "prepare"]
