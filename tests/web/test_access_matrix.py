"""The access matrix: every route of the app, for every role in every kind of scope, signed in
through the real sign-in form, answers exactly as the role's permissions say (allowed: not
401/403; denied: 403); without a session, pages redirect to /login and the API answers 401.
Plus: scope (a BIF leder never sees SOF rows or figures), CSRF, lock-out and the audit log."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sagsindsigt import access
from sagsindsigt.access import access_log, tokens
from sagsindsigt.reports import KINDS as REPORT_KINDS
from sagsindsigt.store.reads import organisation as tree
from sagsindsigt.web import create_app
from sagsindsigt.web.access import PAGE_PERMISSIONS, POLICY, PUBLIC
from sagsindsigt.web.views import VIEWS

from ._access_helpers import (
    CENTER_OF_BIF,
    PASSWORD,
    ROLES,
    SCOPES,
    add_users,
    copy_of_demo,
    csrf_of,
    demo_secret,
    sign_in,
    user_name,
)

pytestmark = pytest.mark.xdist_group("demo")
CONCEPT, ROUND = "kontanthjaelp", "2014-Q4"
CONCEPT_ADMIN = "BIF"  # the administration of the demo concept kontanthjaelp
REPORT_KIND = next(iter(REPORT_KINDS))
BIF_COMPLAINT, SOF_COMPLAINT = ("K-BIF-2012-00001", "bif-klager"), ("K-SOF-2012-00001",
                                                                    "sof-klager")


@pytest.fixture(autouse=True)
def _demo_key(demo_store, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))


@pytest.fixture(scope="session")
def secured(demo_store, tmp_path_factory):
    """(app, store): auth on, over a writable copy of the demo, with one user per role and
    scope."""
    with demo_secret(demo_store):
        store = copy_of_demo(demo_store, tmp_path_factory.mktemp("matrix") / "demo.duckdb")
        nodes = {n.code: n for n in tree(store)}
        assert nodes[CENTER_OF_BIF].parent == "BIF" and nodes[CENTER_OF_BIF].level == "center"
        assert nodes["SOF"].level == nodes["BIF"].level == "forvaltning"
        add_users(store)
        app = create_app(store, warm=False, auth=True, secure_cookies=False)
    yield app, store
    store.close()


@pytest.fixture(scope="session")
def signed_in(secured, demo_store):
    """One signed-in client per (role, scope)."""
    app, _ = secured
    out = {}
    with demo_secret(demo_store):
        for role in ROLES:
            for scope in SCOPES:
                out[(role, scope)] = sign_in(app, user_name(role, scope))
    yield out
    for c in out.values():
        c.close()


@dataclass(frozen=True)
class Route:
    path: str
    methods: frozenset[str]


def api_routes(app) -> list[Route]:
    """Every APIRoute of the app with its full path. FastAPI (0.16x) keeps an included
    router as one entry of ``app.routes`` whose routes are reached through it."""
    out: list[Route] = []

    def walk(items) -> None:
        for r in items:
            if isinstance(r, APIRoute):
                out.append(Route(r.path, frozenset(r.methods)))
            elif hasattr(r, "effective_candidates"):  # an included router
                for c in r.effective_candidates():
                    if hasattr(c, "effective_candidates"):
                        walk([c])
                    elif isinstance(c.original_route, APIRoute):
                        out.append(Route(c.path, frozenset(c.original_route.methods)))

    walk(app.routes)
    return out


def first_case(store) -> str:
    with store.lock:  # the app's report jobs query the same connection in the background
        return store._engine.query("SELECT min(case_id) FROM audit_samples WHERE concept = ? "
                                  "AND round = ?", [CONCEPT, ROUND])[0][0]


def request_for(method: str, path: str, store) -> dict:
    """A realistic request of a route: real ids from the demo, and the query and body the
    pages would send."""
    values = {"slug": "sager", "kpi_id": "cases_received", "concept": CONCEPT, "rnd": ROUND,
              "case_id": first_case(store), "complaint_id": BIF_COMPLAINT[0],
              "table_id": "klager", "fmt": "csv", "kind": "cases", "analysis": "dfg",
              "job_id": "ukendt-job"}
    if path.startswith("/download/"):
        values["slug"] = "klager"
    url = path
    for k, v in values.items():
        url = url.replace("{" + k + "}", v)
    assert "{" not in url, f"ingen eksempelværdi til {path}"
    params: dict = {}
    if "complaint_id" in path:
        params["source"] = BIF_COMPLAINT[1]
    if path.startswith(("/api/kpi/", "/side/", "/download/")) or path == "/":
        params["period"] = "2013"
    if path == "/rapporter/hent":
        params.update(kind=REPORT_KIND, period="2013", format="html")
    if path == "/rapporter/start":
        params.update(kind=REPORT_KIND, period="2013", format="xlsx")
    if path == "/kvalitet/api/svar" and method == "GET":
        params.update(concept=CONCEPT, round=ROUND)
    if path == "/borgerkontakt/laering":
        params.update(q="afslag")
    if path.startswith(("/proces", "/api/proces/")):
        params["period"] = "2013-01"
    if path == "/proces/sager":
        params["variant"] = "1"
    req: dict = {"method": method, "url": url, "params": params}
    if method in ("POST", "PATCH", "PUT"):
        if path.startswith(("/api/", "/kvalitet/api/")):
            req["json"] = {}
        else:
            req["data"] = {"ingen": ""}
    return req


def outside(store, scope: str, path: str) -> bool:
    """Whether the matrix's request of ``path`` names data outside ``scope``: the audit
    concept of another administration, or the complaint of another area."""
    with access.acting_as(access.SYSTEM), store.lock:  # (report jobs share the connection)
        s = access.resolve(store, scope)
        if "{concept}" in path or path.startswith("/kvalitet/api/svar"):
            return not s.contains(CONCEPT_ADMIN)
        if "{complaint_id}" in path:
            rec = store._engine.query("SELECT administration, unit FROM complaints WHERE _key = ? "
                                      "AND _source = ?", list(BIF_COMPLAINT))[0]
            return not s.contains(*rec)
    return False


def allowed(role: str, path_rule) -> bool:
    return path_rule.perms == PUBLIC or any(p in access.ROLES[role].permissions
                                            for p in path_rule.perms)


def test_every_route_has_a_policy_line(secured):
    app, _ = secured
    routes = api_routes(app)
    assert len(routes) > 30
    missing = [(m, r.path) for r in routes for m in sorted(r.methods)
               if (m, r.path) not in POLICY]
    assert not missing, f"ruter uden adgangsregel: {missing}"
    stale = set(POLICY) - {(m, r.path) for r in routes for m in r.methods}
    stale -= {("GET", "/login/sso"), ("GET", "/login/sso/svar")}  # only with SSO configured
    assert not stale, f"adgangsregler uden rute: {stale}"


def test_case_level_routes_are_never_open_to_aggregate_roles():
    """A check of the policy independent of how it is written: no route the access log calls
    case data is open to the roles that see aggregates only."""
    for (method, path), rule in POLICY.items():
        if rule.log == "sagsdata":
            for role in ("analytiker", "laeser"):
                assert not allowed(role, rule), (role, method, path)
        if method != "GET" and rule.perms != PUBLIC:
            assert not allowed("laeser", rule) and not allowed("analytiker", rule), path


SKIP = {("POST", "/login"), ("POST", "/logout")}  # would end the session; tested below


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("scope", SCOPES)
def test_matrix(secured, signed_in, role, scope):
    app, store = secured
    c = signed_in[(role, scope)]
    wrong = []
    n = 0
    for route in api_routes(app):
        for method in sorted(route.methods):
            if (method, route.path) in SKIP:
                continue
            rule = POLICY[(method, route.path)]
            r = c.request(**request_for(method, route.path, store))
            n += 1
            want = allowed(role, rule)
            if (method == "POST" and route.path.startswith("/kvalitet/")
                    and role != "admin" and scope not in ("kommune", CONCEPT_ADMIN)):
                # a change to a round of another administration (or, from a centre, to a
                # whole administration's round) is outside the scope: refused, or rejected
                # as incomplete before anything is read (the matrix sends empty bodies)
                if r.status_code not in (403, 400, 422):
                    wrong.append((method, route.path, r.status_code, "uden for området"))
                continue
            got = r.status_code
            refused = "Ingen adgang" in r.text or "dit eget område" in r.text
            if want and got == 403 and refused and outside(store, scope, route.path):
                continue  # allowed by the role, but the request names another area's data
            if r.status_code >= 500:
                wrong.append((method, route.path, got, "serverfejl", r.text[:200]))
            elif want and got in (401, 403):
                wrong.append((method, route.path, got, "burde være tilladt", r.text[:200]))
            elif not want and got != 403:
                wrong.append((method, route.path, got, "burde være nægtet (403)"))
    assert n > 30
    assert not wrong, "\n".join(map(str, wrong))


def test_every_view_slug_follows_its_permission(secured, signed_in):
    for slug in VIEWS:
        need = PAGE_PERMISSIONS.get(slug, "view")
        for role in ROLES:
            r = signed_in[(role, "BIF")].get(f"/side/{slug}", params={"period": "2013"})
            want = 200 if need in access.ROLES[role].permissions else 403
            assert r.status_code == want, (slug, role, r.status_code)
    assert PAGE_PERMISSIONS["data"] == "data"  # import batches of every administration



def test_without_a_session_pages_redirect_and_the_api_answers_401(secured):
    app, store = secured
    with TestClient(app, follow_redirects=False) as anon:
        assert anon.get("/login").status_code == 200
        for route in api_routes(app):
            for method in sorted(route.methods):
                rule = POLICY[(method, route.path)]
                if rule.perms == PUBLIC:
                    continue
                req = request_for(method, route.path, store)
                r = anon.request(**req, headers={"Accept": "text/html"})
                api = route.path.startswith(("/api/", "/kvalitet/api/"))
                if api or method != "GET":
                    assert r.status_code == 401, (method, route.path, r.status_code)
                    assert "Log ind" in r.json()["error"]
                else:
                    assert r.status_code == 303, (method, route.path, r.status_code)
                    assert r.headers["location"].startswith("/login?next=%2F")


def test_sign_out_ends_the_session(secured, demo_store):
    app, _ = secured
    c = sign_in(app, user_name("laeser", "BIF"))
    assert c.get("/").status_code == 200
    copy = TestClient(app, follow_redirects=False)  # somebody who copied the cookie
    copy.cookies.update(c.cookies)
    assert copy.get("/").status_code == 200
    r = c.post("/logout", data={"csrf_token": csrf_of(c)})
    assert r.status_code == 303
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 303
    # the copied cookie is worth nothing after sign-out: the session ended on the server
    assert copy.get("/", headers={"Accept": "text/html"}).status_code == 303


# -- scope ---------------------------------------------------------------------------------
def _kpi_rows(c, **params):
    r = c.get("/api/kpi/cases_received", params={"period": "2013", **params})
    assert r.status_code == 200, r.text
    return r.json()["rows"]


def test_bif_leder_never_sees_sof_figures(secured, signed_in):
    app, store = secured
    admin, leder = signed_in[("admin", "kommune")], signed_in[("leder", "BIF")]
    everything = {r["administration"]: r["value"] for r in _kpi_rows(admin, by="administration")}
    assert everything["SOF"] and everything["BIF"]
    mine = _kpi_rows(leder, by="administration")
    assert [r["administration"] for r in mine if r["value"]] == ["BIF"]
    assert {r["administration"]: r["value"] for r in mine}["BIF"] == everything["BIF"]
    # asking for SOF by filter is refused ("Ingen adgang"), never answered with nothing
    sof = leder.get("/api/kpi/cases_received", params={"period": "2013", "by": "administration",
                                                        "where": "administration=SOF"})
    assert sof.status_code == 403 and "Ingen adgang" in sof.json()["error"], sof.text
    total = _kpi_rows(leder)
    assert total[0]["value"] == everything["BIF"]
    # pages with SOF as filter
    sof_figure = f"{everything['SOF']:,}".replace(",", ".")
    page_leaks = []
    for url in ("/", "/side/sager", "/side/klager"):
        for params in ({"period": "2013", "administration": "SOF"}, {"period": "2013"}):
            r = leder.get(url, params=params, headers={"Accept": "text/html"})
            if "administration" in params:  # outside the scope: the menu and "Ingen adgang"
                assert r.status_code == 403 and "Ingen adgang" in r.text, url
                assert '<nav aria-label="Sider"' in r.text
            if sof_figure in r.text:
                page_leaks.append((url, params))
    # downloads
    r = leder.get("/download/sager/sager.csv", params={"period": "2013",
                                                         "administration": "SOF"})
    assert r.status_code == 403
    r = leder.get("/download/sager/sager.csv", params={"period": "2013"})
    assert r.status_code == 200, "download-tabellen sager/sager findes ikke"
    assert sof_figure not in r.content.decode("utf-8-sig")
    rows = _csv(r.content)
    assert {line[0] for line in rows[1:]} == {
        "Beskæftigelses- og Integrationsforvaltningen (BIF)"}  # whose data, in every row
    assert [line[1] for line in rows[1:]] == [
        "Beskæftigelses- og Integrationsforvaltningen", "I alt"]
    assert int(rows[-1][2]) == everything["BIF"]
    # reports
    for fmt in ("html", "xlsx"):
        r = leder.get("/rapporter/hent", params={"kind": REPORT_KIND, "period": "2013",
                                                  "administration": "SOF", "format": fmt})
        assert r.status_code == 403, r.status_code
    assert not page_leaks, f"SOF-tal ({sof_figure}) vises for en BIF-leder på {page_leaks}"


def test_bif_leder_cannot_read_sof_records(secured, signed_in):
    app, store = secured
    admin, leder = signed_in[("admin", "kommune")], signed_in[("leder", "BIF")]
    cid, src = SOF_COMPLAINT
    assert admin.get(f"/api/complaints/{cid}", params={"source": src}).status_code == 200
    assert leder.get(f"/api/complaints/{cid}", params={"source": src}).status_code == 403
    assert leder.get(f"/api/complaints/{cid}/history",
                     params={"source": src}).status_code == 403
    page = leder.get(f"/klager/registrering/{cid}", params={"source": src})
    assert page.status_code == 403 and "Ingen adgang" in page.text
    bif = leder.get(f"/api/complaints/{BIF_COMPLAINT[0]}", params={"source": BIF_COMPLAINT[1]})
    assert bif.status_code == 200 and bif.json()["administration"] == "BIF"
    # the list of recent registrations on the form shows no SOF complaint
    reg = signed_in[("registrator", "SOF")]
    made = reg.post("/api/complaints", json=_complaint("SOF"), headers={
        "X-Registered-By": "Test"})
    assert made.status_code == 201, made.text
    sof_id = made.json()["id"]
    link = f"/klager/registrering/{sof_id}"
    assert link in admin.get("/klager/registrering").text
    assert link in reg.get("/klager/registrering").text
    html = signed_in[("registrator", "BIF")].get("/klager/registrering").text
    assert link not in html
    # search of learning from complaints
    words = leder.get("/borgerkontakt/laering", params={"q": "", "period": "2013",
                                                         "administration": "SOF"})
    assert words.status_code == 403 and "SOF /" not in words.text


def test_audit_cases_of_another_center_are_out_of_reach(secured, signed_in):
    """The demo audits BIF's concepts only, so the scope line runs between BIF's centres: a
    leder of Jobcenter Amager sees the round's cases of JCA, not those of other centres, and
    a SOF leder none."""
    app, store = secured
    with store.lock:  # the matrix's report jobs may still use the connection
        rows = store._engine.query("SELECT case_id, unit FROM audit_samples WHERE concept = ? "
                                  "AND round = ? ORDER BY case_id", [CONCEPT, ROUND])
    own = next(c for c, u in rows if u == CENTER_OF_BIF)
    other = next(c for c, u in rows if u != CENTER_OF_BIF)
    center = signed_in[("leder", CENTER_OF_BIF)]
    sof = signed_in[("leder", "SOF")]
    base = f"/kvalitet/runde/{CONCEPT}/{ROUND}"
    assert signed_in[("admin", "kommune")].get(f"{base}/sag/{other}").status_code == 200
    assert center.get(f"{base}/sag/{own}").status_code == 200
    r = center.get(f"{base}/sag/{other}")
    assert r.status_code in (400, 403, 404)  # "not in the sample" (of the own units)
    round_page = center.get(base).text
    assert own in round_page and other not in round_page
    page = sof.get(base)
    assert page.status_code == 403 and "Ingen adgang" in page.text  # another's concept
    assert all(c not in page.text for c, _ in rows)
    assert sof.get(f"{base}/sag/{own}").status_code == 403
    answers = sof.get("/kvalitet/api/svar", params={"concept": CONCEPT, "round": ROUND})
    assert answers.status_code == 403 and all(c not in answers.text for c, _ in rows)


def test_analytiker_sees_every_administration_but_no_case_rows(secured, signed_in):
    admin, ana = signed_in[("admin", "kommune")], signed_in[("analytiker", "BIF")]
    assert _kpi_rows(ana, by="administration") == _kpi_rows(admin, by="administration")
    for url, params in [(f"/api/complaints/{SOF_COMPLAINT[0]}", {"source": SOF_COMPLAINT[1]}),
                        ("/borgerkontakt/laering", {"q": "afslag"}),
                        (f"/kvalitet/runde/{CONCEPT}/{ROUND}", {}),
                        ("/klager/registrering", {})]:
        assert ana.get(url, params=params).status_code == 403, url


def _complaint(admin: str) -> dict:
    return {"administration": admin, "unit": {"BIF": CENTER_OF_BIF, "SOF": "HCK"}[admin],
            "received": "2014-06-02", "closed": "2014-06-20", "kind": "begge",
            "points": ["begrundelse"], "channel": "telefon", "outcome": "delvis_medhold",
            "summary": "Adgangstest"}


def test_registrator_cannot_register_or_move_a_complaint_outside_the_scope(secured,
                                                                          signed_in):
    bif = signed_in[("registrator", "BIF")]
    r = bif.post("/api/complaints", json=_complaint("SOF"), headers={"X-Registered-By": "T"})
    assert r.status_code == 403, r.text
    ok = bif.post("/api/complaints", json=_complaint("BIF"), headers={"X-Registered-By": "T"})
    assert ok.status_code == 201, ok.text
    moved = bif.patch(f"/api/complaints/{ok.json()['id']}",
                      json={"administration": "SOF", "unit": "HCK"},
                      headers={"X-Registered-By": "T"})
    assert moved.status_code == 403, moved.text
    form = bif.post("/klager/registrering", data={**_complaint("SOF"), "registered_by": "T",
                                                  "csrf_token": bif.headers["X-CSRF-Token"]})
    assert form.status_code == 403
    center = signed_in[("registrator", CENTER_OF_BIF)]
    other = center.post("/api/complaints", json={**_complaint("BIF"), "unit": "JCN"},
                        headers={"X-Registered-By": "T"})
    assert other.status_code == 403, other.text


def test_api_tokens_carry_their_scope_and_die_when_revoked(secured):
    app, store = secured
    bif = tokens.create(store, "matrix-bif", "leder", "BIF")
    every = tokens.create(store, "matrix-alle", "admin", "kommune")
    with TestClient(app) as c:
        def rows(tok):
            r = c.get("/api/kpi/cases_received", params={"period": "2013",
                                                         "by": "administration"},
                      headers={"Authorization": f"Bearer {tok}"})
            assert r.status_code == 200, r.text
            return {x["administration"]: x["value"] for x in r.json()["rows"] if x["value"]}

        assert set(rows(bif)) == {"BIF"} and len(rows(every)) > 2
        assert rows(bif)["BIF"] == rows(every)["BIF"]
        tokens.revoke(store, "matrix-bif")
        app.state.trust.forget()
        r = c.get("/api/kpi", headers={"Authorization": f"Bearer {bif}"})
        assert r.status_code == 401
        assert c.get("/api/kpi", headers={"Authorization": "Bearer ssi_x_y"}).status_code == 401


# -- CSRF, lock-out ------------------------------------------------------------------------
def test_a_form_post_needs_the_sessions_csrf_token(secured):
    app, _ = secured
    c = sign_in(app, user_name("leder", "BIF"))
    token = c.headers.pop("X-CSRF-Token")
    form = {"kpi": "cases_received", "period": "2014"}
    assert c.post("/maaltal/nyt", data=form).status_code == 403
    assert c.post("/maaltal/nyt", data={**form, "csrf_token": "forkert"}).status_code == 403
    assert c.post("/maaltal/nyt", data=form, headers={"X-CSRF-Token": "x" * 43}
                  ).status_code == 403
    ok = c.post("/maaltal/nyt", data={**form, "csrf_token": token})
    assert ok.status_code not in (401, 403), ok.text[:300]
    ok = c.post("/maaltal/nyt", data=form, headers={"X-CSRF-Token": token})
    assert ok.status_code not in (401, 403)
    # the token of another session does not do either
    other = sign_in(app, user_name("leder", "SOF"))
    assert c.post("/maaltal/nyt", data={**form, "csrf_token": other.headers["X-CSRF-Token"]}
                  ).status_code == 403


def test_five_wrong_passwords_lock_the_account(secured):
    app, store = secured
    from sagsindsigt.access import users

    users.add(store, "laast_bruger", "laeser", "BIF", PASSWORD)
    c = TestClient(app, follow_redirects=False)
    for i in range(5):
        r = c.post("/login", data={"name": "laast_bruger", "password": f"forkert-{i}-kode",
                                   "csrf_token": csrf_of(c)})
        assert r.status_code == 401
    r = c.post("/login", data={"name": "laast_bruger", "password": PASSWORD,
                               "csrf_token": csrf_of(c)})
    assert r.status_code == 401 and "låses kontoen" in r.text  # locked: the right one too
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 303
    # an unknown name gets the same answer, however often it is tried (no account oracle)
    for i in range(6):
        u = c.post("/login", data={"name": "ingen_saadan", "password": f"forkert-{i}",
                                   "csrf_token": csrf_of(c)})
        assert u.status_code == 401
    error = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)
    assert error.search(u.text).group(1) == error.search(r.text).group(1)


# -- the audit log -------------------------------------------------------------------------
def test_audit_log_keeps_case_views_downloads_reports_and_refusals(secured):
    app, store = secured
    c = sign_in(app, user_name("leder", "kommune"))
    before = {e.id for e in access_log.entries(store, limit=100000)}
    cid, src = BIF_COMPLAINT
    assert c.get(f"/api/complaints/{cid}", params={"source": src}).status_code == 200
    assert c.get("/download/klager/klager.csv", params={"period": "2013",
                                                        "administration": "BIF"}
                 ).status_code == 200
    assert c.get("/rapporter/hent", params={"kind": REPORT_KIND, "period": "2013",
                                            "format": "html"}).status_code == 200
    assert c.get("/admin/adgangslog").status_code == 403
    new = [e for e in access_log.entries(store, limit=100000) if e.id not in before]
    mine = [e for e in new if e.actor == "leder_kommune"]
    by_action = {e.action: e for e in mine}
    case = by_action["sagsdata"]
    assert case.object == f"GET /api/complaints/{cid}" and case.outcome == "200"
    assert json.loads(case.filters) == {"complaint_id": cid, "source": src}
    dl = by_action["download"]
    assert json.loads(dl.filters)["administration"] == "BIF" and dl.outcome == "200"
    assert json.loads(by_action["rapport"].filters)["kind"] == REPORT_KIND
    refused = [e for e in mine if e.outcome == "nægtet"]
    assert refused and refused[0].object == "GET /admin/adgangslog"
    assert all(e.role == "leder" and e.scope == "kommune" for e in mine)
    # the admin sees them on the log page
    page = sign_in(app, user_name("admin", "kommune")).get(
        "/admin/adgangslog", params={"actor": "leder_kommune"}).text
    assert "nægtet" in page and "/rapporter/hent" in page


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_audit_changes_outside_the_scope_are_refused(secured, signed_in):
    """A complete answer to a BIF round from SOF's quality coordinator, or from a centre's,
    is refused with 403; BIF's own coordinator may give it."""
    app, store = secured
    from sagsindsigt import audits

    sample = audits.load_sample(store, CONCEPT, ROUND)
    case = sample.cases[0].case_id if sample is not None and sample.cases else "x"
    body = {"concept": CONCEPT, "round": ROUND, "case_id": case,
            "check": sample.concept.checks[0].id if sample else "x", "result": "ja",
            "reviewer": "nogen", "role": "intern"}
    r = signed_in[("kvalitet", "SOF")].post("/kvalitet/api/svar", json=body)
    assert r.status_code == 403 and "anden forvaltning" in r.json()["error"], r.text
    r = signed_in[("kvalitet", "JCA")].post("/kvalitet/api/svar", json=body)
    assert r.status_code == 403 and "eget område" in r.json()["error"], r.text
    # BIF's concepts are not listed for SOF
    assert CONCEPT not in signed_in[("kvalitet", "SOF")].get(
        "/kvalitet/aarshjul", params={"year": "2014"}).text
    r = signed_in[("kvalitet", "BIF")].post("/kvalitet/api/svar", json=body)
    assert r.status_code not in (401, 403), r.text


def test_changes_are_recorded_as_the_signed_in_user(secured, signed_in):
    """The complaint form and the API record who is signed in, not a typed-in name."""
    app, store = secured
    reg = signed_in[("registrator", "SOF")]
    made = reg.post("/api/complaints", json={**_complaint("SOF"), "registered_by": "en anden"})
    assert made.status_code == 201, made.text
    hist = reg.get(f"/api/complaints/{made.json()['id']}/history",
                   params={"source": made.json()["source"]}).json()
    assert hist[-1]["by"] == user_name("registrator", "SOF")
    form = reg.get("/klager/registrering").text
    assert f'name="registered_by" value="{user_name("registrator", "SOF")}" readonly' in form
