"""Sign-in, sessions, CSRF, the route policy and the access log for the web app.

Every route has one line in ``POLICY`` (default deny: a route without one answers 403, and a
test checks every route has one). The ``guard`` dependency runs before every route: it finds
the principal (API token, session, or the single local user of ``--no-auth``), sets it as the
acting principal (the store filters every read by its scope, see :mod:`sagsindsigt.access`),
checks the permission and the CSRF token of every form, and marks what the access log
(adgangslog) keeps.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from .. import access
from ..access import ALL, Principal, access_log, sessions, tokens, users

SAFE = {"GET", "HEAD", "OPTIONS"}
CSRF_MARK = "__CSRF__"  # replaced per response: cached pages are shared within a role
USER_MARK = "<!--bruger-->"
LOCAL = Principal("lokal", "admin", ALL, "lokal")
PUBLIC = frozenset({"public"})
_TTL = 60.0  # seconds a resolved principal is reused (role/scope changes apply within a minute)


@dataclass(frozen=True)
class Rule:
    perms: frozenset[str]  # any of these; PUBLIC: no sign-in needed
    log: str | None = None  # the access log's action for a request, or None


def _r(*perms: str, log: str | None = None) -> Rule:
    return Rule(frozenset(perms), log)


CASE = ("cases", "audits")  # case-level audit data: the quality team and case-level roles
POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/login"): _r("public"), ("POST", "/login"): _r("public"),
    ("POST", "/logout"): _r("public"),
    ("GET", "/login/sso"): _r("public"), ("GET", "/login/sso/svar"): _r("public"),
    # the citizens' processing times and their open data (issue 18): aggregates of whole
    # case types, the same for everybody (computed as the public principal, never the caller)
    ("GET", "/borger/sagsbehandlingstider"): _r("public"),
    ("GET", "/api/open/sagsbehandlingstider.json"): _r("public"),
    ("GET", "/api/open/sagsbehandlingstider.csv"): _r("public"),
    ("GET", "/api/open/sagsbehandlingstider.jsonld"): _r("public"),
    ("GET", "/"): _r("view"), ("GET", "/docs"): _r("view"),
    ("GET", "/side/{slug}"): _r("view"),
    ("GET", "/download/{slug}/{table_id}.{fmt}"): _r("view", log="download"),
    ("GET", "/api/kpi"): _r("view"),
    ("GET", "/api/kpi/{kpi_id}"): _r("view"),
    ("GET", "/rapporter"): _r("view"),
    ("GET", "/rapporter/hent"): _r("view", log="rapport"),
    # a report made in the background (issue 16): started with the same checks as the direct
    # download; its progress and file are answered to the person who started it only
    ("GET", "/rapporter/start"): _r("view", log="rapport"),
    ("GET", "/rapporter/job/{job_id}"): _r("view"),
    ("GET", "/rapporter/job/{job_id}/fil"): _r("view", log="download"),
    ("GET", "/kvalitet/aarshjul"): _r("view"),
    ("GET", "/kvalitet/resultater"): _r("view"),
    ("GET", "/kvalitet/resultater.xlsx"): _r("view", log="download"),
    ("GET", "/kvalitet/kalibrering"): _r(*CASE, log="sagsdata"),
    ("GET", "/kvalitet/runde/{concept}/{rnd}"): _r(*CASE, log="sagsdata"),
    ("GET", "/kvalitet/runde/{concept}/{rnd}/stikproeve.xlsx"): _r(*CASE, log="download"),
    ("GET", "/kvalitet/runde/{concept}/{rnd}/sag/{case_id}"): _r(*CASE, log="sagsdata"),
    ("GET", "/kvalitet/api/svar"): _r(*CASE, log="sagsdata"),
    ("POST", "/kvalitet/runde/{concept}/{rnd}/stikproeve"): _r("audits", log="ændring"),
    ("POST", "/kvalitet/runde/{concept}/{rnd}/import"): _r("audits", log="ændring"),
    ("POST", "/kvalitet/runde/{concept}/{rnd}/kalibrering"): _r("audits", log="ændring"),
    ("POST", "/kvalitet/runde/{concept}/{rnd}/afslut"): _r("audits", log="ændring"),
    ("POST", "/kvalitet/runde/{concept}/{rnd}/genaabn"): _r("audits", log="ændring"),
    ("POST", "/kvalitet/runde/{concept}/{rnd}/sag/{case_id}"): _r("audits", log="ændring"),
    ("POST", "/kvalitet/api/svar"): _r("audits", log="ændring"),
    ("GET", "/klager/registrering"): _r("complaints", "cases", log="sagsdata"),
    ("POST", "/klager/registrering"): _r("complaints", log="ændring"),
    ("GET", "/klager/registrering/{complaint_id}"): _r("complaints", "cases", log="sagsdata"),
    ("POST", "/klager/registrering/{complaint_id}"): _r("complaints", log="ændring"),
    ("POST", "/api/complaints"): _r("complaints", log="ændring"),
    ("PATCH", "/api/complaints/{complaint_id}"): _r("complaints", log="ændring"),
    ("GET", "/api/complaints/{complaint_id}"): _r("complaints", "cases", log="sagsdata"),
    ("GET", "/api/complaints/{complaint_id}/history"): _r("complaints", "cases",
                                                          log="sagsdata"),
    ("GET", "/borgerkontakt/laering"): _r("cases", log="sagsdata"),
    ("GET", "/arbejdsliste"): _r("cases", log="sagsdata"),
    ("GET", "/arbejdsliste.{fmt}"): _r("cases", log="download"),
    ("GET", "/proces"): _r("view"),
    ("GET", "/proces/sager"): _r("cases", log="sagsdata"),
    ("GET", "/api/proces/stalled"): _r("cases", log="sagsdata"),
    ("GET", "/api/proces/{analysis}"): _r("view"),
    ("GET", "/maaltal/nyt"): _r("targets"),
    ("POST", "/maaltal/nyt"): _r("targets", log="ændring"),
    ("GET", "/admin/adgangslog"): _r("admin", log="adgangslog"),
    ("GET", "/admin/revisionslog"): _r("admin"),  # the page's old address: a redirect
    ("POST", "/api/import/{kind}"): _r("admin", log="ændring"),
}


# dashboard pages (/side/{slug}) that need more than "view"
PAGE_PERMISSIONS = {"data": "data"}  # import batches and rejects span every administration


class NotSignedIn(Exception):
    pass


class Trust:
    """The app's access state: mode, the store (users, tokens, access log) and its lock."""

    def __init__(self, fig, auth: bool):
        self.fig, self.auth = fig, auth
        self._principals: dict[tuple, tuple[float, Principal | None]] = {}

    # -- who is asking --------------------------------------------------------------------
    def principal(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return self._cached(("token", header[7:].strip()), lambda: tokens.authenticate(
                self.fig.store, header[7:].strip()))
        if not self.auth:
            return LOCAL
        s = request.session
        name = s.get("user")
        if not name:
            return None
        sid = s.get("sid")
        if s.get("via") == "sso":
            return self._cached(("sso", name, sid, s.get("role"), s.get("scope")),
                                lambda: _safe(users.principal, self.fig.store, name,
                                              s.get("role"), s.get("scope"), "sso")
                                if sessions.active(self.fig.store, sid, name) else None)
        return self._cached(("user", name, sid), lambda: self._user(name, sid))

    def _user(self, name: str, sid: str | None) -> Principal | None:
        u = users.get(self.fig.store, name)
        if u is None or not sessions.active(self.fig.store, sid, name):
            return None
        return _safe(users.principal, self.fig.store, u.name, u.role, u.scope, "adgangskode")

    def _cached(self, key: tuple, make) -> Principal | None:
        now = time.monotonic()
        hit = self._principals.get(key)
        if hit and now - hit[0] < _TTL:
            return hit[1]
        with self.fig.lock:
            p = make()
        if len(self._principals) > 10000:
            self._principals.clear()
        self._principals[key] = (now, p)
        return p

    def forget(self) -> None:
        self._principals.clear()

    # -- the access log -------------------------------------------------------------------
    def log(self, action: str, obj: str, filters: dict, outcome: str, who: Principal,
            address: str | None) -> None:
        with self.fig.lock:
            access_log.append(self.fig.store, action, obj, filters, outcome, who, address)


def _safe(fn, *args):
    try:
        return fn(*args)
    except access.AccessError:  # a scope that no longer exists: no access at all
        return None


def sign_in(request: Request, name: str, via: str, role: str | None = None,
            scope: str | None = None) -> None:
    """Start a session (a fresh one: a session fixation cannot survive sign-in). SSO passes
    the role and scope its claims mapped to."""
    trust: Trust = request.app.state.trust
    with trust.fig.lock:
        sid = sessions.start(trust.fig.store, name, via)
    request.session.clear()
    request.session.update({"user": name, "via": via, "sid": sid,
                            "csrf": secrets.token_urlsafe(32)})
    if via == "sso":
        request.session.update({"role": role, "scope": scope})


def safe_next(nxt: str | None) -> str:
    """Only a path of this site: never an open redirect (also not ``//host`` or ``/\\host``,
    which browsers read as another host)."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        return "/"
    if any(ord(c) < 32 or ord(c) == 127 for c in nxt):
        return "/"
    return nxt


def csrf_token(request: Request) -> str:
    s = request.session
    if "csrf" not in s:
        s["csrf"] = secrets.token_urlsafe(32)
    return s["csrf"]


async def guard(request: Request) -> None:
    """Runs before every route (an app-wide dependency)."""
    trust: Trust = request.app.state.trust
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    rule = POLICY.get((request.method, path)) or POLICY.get(("GET", path) if
                                                             request.method == "HEAD" else ())
    if rule is None:
        raise HTTPException(403, "Ingen adgang: siden har ingen adgangsregel.")
    token = request.session.get("csrf", "")  # made when a page first carries it
    p = await run_in_threadpool(trust.principal, request)
    if rule.perms == PUBLIC:
        if p is not None:
            access.set_current(p)
        await _check_csrf(request, p, token)
        return
    if p is None:
        raise NotSignedIn()
    access.set_current(p)  # the store filters every read by it from here on
    request.state.principal = p
    perms = rule.perms
    if path in ("/side/{slug}", "/download/{slug}/{table_id}.{fmt}") and \
            request.path_params.get("slug") in PAGE_PERMISSIONS:  # a page and its downloads
        perms = frozenset({PAGE_PERMISSIONS[request.path_params["slug"]]})
    if not any(p.can(x) for x in perms):
        _mark(request, rule.log or "adgang", "nægtet")
        raise access.Denied(f"Din rolle ({access.ROLES[p.role].label}) giver ikke adgang "
                            "til denne side.")
    await _check_csrf(request, p, token)
    if rule.log:
        _mark(request, rule.log, None)


async def _check_csrf(request: Request, p: Principal | None, token: str) -> None:
    if request.method in SAFE or (p is not None and p.via == "token"):
        return  # a bearer token is not sent by a browser on its own: no CSRF
    if request.headers.get("content-type", "").startswith("application/json"):
        return  # another site cannot send JSON without a CORS preflight, which we never allow
    sent = request.headers.get("x-csrf-token")
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf_token")
    if not sent or not token or not hmac.compare_digest(str(sent), token):
        raise access.Denied("Formularen er udløbet eller kom ikke fra Sagsindsigt: genindlæs "
                            "siden og prøv igen.")


def _mark(request: Request, action: str, outcome: str | None) -> None:
    request.state.audit = (action, outcome)


class Guarded:
    """ASGI middleware inside the session middleware: puts the user's name and CSRF token
    into HTML (pages are cached per role and scope, not per user), and appends the access
    log entry the guard marked, with the response's status."""

    def __init__(self, app, trust: Trust):
        self.app, self.trust = app, trust

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = {"code": 0}
        start: dict = {}
        body: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    start.update(message)
                    return
                await send(message)
            elif message["type"] == "http.response.body" and start:
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    head, html = _personal(scope, start, b"".join(body))
                    await send(head)
                    await send({"type": "http.response.body", "body": html})
            else:
                await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            mark = scope.get("state", {}).get("audit")
            p = scope.get("state", {}).get("principal")
            if mark and p is not None:
                action, outcome = mark
                filters = dict(_query(scope))
                filters.update(scope.get("path_params") or {})
                client = scope.get("client")
                await run_in_threadpool(
                    self.trust.log, action, f"{scope['method']} {scope['path']}", filters,
                    outcome or str(status["code"]), p, client[0] if client else None)


def _personal(scope, start: dict, html: bytes) -> tuple[dict, bytes]:
    session = scope.get("session")
    if session is None:
        session = {}
    elif CSRF_MARK.encode() in html and "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)  # the session cookie carries it
    p = scope.get("state", {}).get("principal")
    html = html.replace(CSRF_MARK.encode(), session.get("csrf", "").encode())
    if p is not None and USER_MARK.encode() in html:
        html = html.replace(USER_MARK.encode(), _user_box(p, session).encode())
    headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
    headers.append((b"content-length", str(len(html)).encode()))
    return {**start, "headers": headers}, html


def _query(scope) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(scope.get("query_string", b"").decode("latin-1"))


def _user_box(p: Principal, session: dict) -> str:
    from html import escape

    role = access.ROLES[p.role].label
    where = p.scope.name or p.scope.code
    out = (f'<span class="user">{escape(p.name)} · {escape(role)} · {escape(where)}</span>')
    if p.via in ("adgangskode", "sso"):
        out += ('<form method="post" action="/logout" class="logout">'
                f'<input type="hidden" name="csrf_token" value="{session.get("csrf", "")}">'
                '<button type="submit">Log ud</button></form>')
    return out


def handlers(app, templates, fig) -> None:
    """Danish answers for the access errors: a sign-in page for browsers, JSON for the API;
    "Ingen adgang" as a page with the menu (403), so the reader can go on."""

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith(("/api/", "/kvalitet/api/")) or \
            "text/html" not in request.headers.get("accept", "text/html")

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn):
        if wants_json(request) or request.method not in SAFE:
            return JSONResponse({"error": "Log ind først, eller send en gyldig API-nøgle "
                                 "(Authorization: Bearer …)."}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    async def message(request: Request, title: str, text: str, status: int):
        """A Danish page with the menu (JSON for the API) that tells what went wrong."""
        if wants_json(request):
            return JSONResponse({"error": f"{title}: {text}"}, status_code=status)
        from .pages import Filters

        def page() -> str:
            return templates.get_template("message.html").render({
                "request": request, "slug": "", "title": title, "query": "",
                "charts_json": "[]", "message": text, "denied": status == 403,
                "f": Filters(str(datetime.now().year))})

        signed_in = getattr(request.state, "principal", None) is not None
        html = await run_in_threadpool(page) if signed_in else _bare(title, text)
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(access.Denied)
    async def denied(request: Request, exc: access.Denied):
        return await message(request, "Ingen adgang", str(exc), 403)

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from ..complaints import NotFound

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return await message(request, "Findes ikke", str(exc), 404)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        """Every refusal a route raises, in Danish: a page for a browser, JSON otherwise."""
        text = exc.detail if isinstance(exc.detail, str) and exc.detail != _ENGLISH.get(
            exc.status_code) else DANISH.get(exc.status_code, "Forespørgslen kan ikke udføres.")
        return await message(request, TITLES.get(exc.status_code, "Fejl"), text,
                             exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        """A parameter of the wrong form (a year that is not a number, a missing field):
        one Danish sentence naming it, never the validator's dump."""
        names = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
        text = ("Parameteren " + ", ".join(f"'{n}'" for n in names) + " mangler eller har en "
                "ugyldig værdi." if names else "Forespørgslen har en ugyldig værdi.")
        return await message(request, "Ugyldig forespørgsel", text, 400)

    from ..ingest.read import TooLarge

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge):  # an upload over the size limit
        return await message(request, "For stor fil", str(exc), 413)


TITLES = {400: "Ugyldig forespørgsel", 404: "Findes ikke", 405: "Ikke tilladt",
          409: "Kan ikke udføres", 413: "For stor forespørgsel", 422: "Ugyldig forespørgsel",
          429: "For mange på én gang"}
DANISH = {404: "Siden findes ikke.", 405: "Metoden er ikke tilladt for denne adresse.",
          413: "Forespørgslen er for stor."}
_ENGLISH = {404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large"}


def _bare(title: str, message: str) -> str:
    """The message for a caller who is not signed in (a form from elsewhere): no menu."""
    return ("<!doctype html><html lang=\"da\"><head><meta charset=\"utf-8\"><title>"
            f"{_esc(title)}</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
            "<link rel=\"icon\" href=\"data:,\"></head><body><main>"
            f"<h1>{_esc(title)}</h1><p>{_esc(message)}</p><p><a href=\"/\">Til forsiden</a>"
            "</p></main></body></html>")


def _esc(s: str) -> str:
    from html import escape

    return escape(s)


def router(trust: Trust, templates, sso_enabled: bool = False):
    """Sign-in, sign-out and the access log page (adgangslog)."""
    from fastapi import APIRouter, Form

    r = APIRouter(include_in_schema=False)
    store, fig = trust.fig.store, trust.fig

    @r.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str | None = None):
        return templates.TemplateResponse(request, "login.html", {
            "next": safe_next(next), "error": None, "name": "", "csrf": csrf_token(request),
            "sso": sso_enabled})

    @r.post("/login", response_class=HTMLResponse)
    def login(request: Request, name: str = Form(""), password: str = Form(""),
              next: str = Form("/")):
        address = request.client.host if request.client else None
        try:
            with fig.lock:
                p = users.authenticate(store, name.strip(), password)
        except access.AccessError as exc:
            who = Principal(name.strip()[:100] or "?", "laeser", access.NOTHING, "adgangskode")
            trust.log("log ind", "", {}, "afvist", who, address)
            return templates.TemplateResponse(request, "login.html", {
                "next": safe_next(next), "error": str(exc), "name": name,
                "csrf": csrf_token(request), "sso": sso_enabled}, status_code=401)
        sign_in(request, p.name, "adgangskode")
        trust.log("log ind", "", {}, "ok", p, address)
        return RedirectResponse(safe_next(next), status_code=303)

    @r.post("/logout")
    def logout(request: Request):
        p = trust.principal(request)
        if p is not None and p.via != "token":
            trust.log("log ud", "", {}, "ok", p,
                      request.client.host if request.client else None)
        sid = request.session.get("sid")
        if sid:
            with fig.lock:
                sessions.end(store, sid)  # a copy of the cookie is worth nothing now
            trust.forget()
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @r.get("/admin/adgangslog", response_class=HTMLResponse)
    def access_log_page(request: Request, actor: str | None = None, action: str | None = None):
        with fig.lock:
            entries = access_log.entries(store, actor or None, action or None, limit=500)
        from .pages import Filters

        return templates.TemplateResponse(request, "access_log.html", {
            "entries": entries, "actor": actor, "action": action,
            "actions": ["log ind", "log ud", "sagsdata", "download", "rapport", "ændring",
                        "ugebrev", "adgang", "adgangslog"],
            "title": "Adgangslog", "slug": "/admin/adgangslog", "query": "",
            "charts_json": "[]",
            "f": Filters(str(datetime.now().year))})

    @r.get("/admin/revisionslog")
    def old_access_log_address(request: Request):
        q = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/admin/adgangslog{q}", status_code=301)

    return r


def visible(href: str) -> bool:
    """Whether the acting principal may open a page of the menu (pages it may not open are
    left out of the menu; the guard refuses them anyway)."""
    p = access.current()
    if href.startswith("/"):
        rule = POLICY.get(("GET", href))
        perms = rule.perms if rule else frozenset()
    else:
        perms = frozenset({PAGE_PERMISSIONS.get(href, "view")})
    return any(p.can(x) for x in perms)


def session_secret(store) -> str:
    """The key that signs session cookies: given in settings, else derived from the store's
    pseudonymisation key, so every worker of one store signs alike."""
    import hashlib

    from ..ingest import secret_for
    from ..settings import Settings

    s = Settings()
    if s.session_secret:
        return s.session_secret.get_secret_value()
    return hmac.new(secret_for(store, s).key, b"sagsindsigt-session", hashlib.sha256).hexdigest()
