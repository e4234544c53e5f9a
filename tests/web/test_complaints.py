"""Complaint registration over HTTP: the JSON API, 20 concurrent clients on loopback, and the
form in a real browser (validation error, then an edit that shows in the history)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from sagsindsigt.store import Store
from sagsindsigt.web import create_app
from tests.web.conftest import serving
from tests.web.test_browser import browser, page  # noqa: F401  (fixtures)

from .conftest import with_csrf

GOOD = {"administration": "BIF", "unit": "JC1", "received": "2014-06-02",
        "closed": "2014-06-20", "kind": "begge", "points": ["begrundelse"],
        "channel": "telefon", "strengthened_contact": True, "resolved_at_contact": False,
        "outcome": "delvis_medhold", "summary": "Manglende begrundelse; ring 1203851234."}


@pytest.fixture
def reg_app(tmp_path):
    store = Store(str(tmp_path / "reg.duckdb"))
    store.init()
    yield create_app(store, warm=False, auth=False, secure_cookies=False)
    store.close()


def test_api_register_edit_and_history(reg_app):
    with TestClient(reg_app) as c:
        c = with_csrf(c)
        r = c.post("/api/complaints", json=GOOD, headers={"X-Registered-By": "ida"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert cid == "KL-BIF-2014-0001" and r.json()["version"] == 1
        got = c.get(f"/api/complaints/{cid}").json()
        assert got["summary"] == "Manglende begrundelse; ring ****.****." or \
            "1203851234" not in got["summary"]
        bad = c.post("/api/complaints", json={**GOOD, "kind": "x", "registered_by": "ida"})
        assert bad.status_code == 422
        reasons = {e["field"]: e["reason"] for e in bad.json()["errors"]}
        assert "kind" in reasons and "Traceback" not in bad.text
        assert c.post("/api/complaints", json=GOOD).status_code == 422  # no registrant
        p = c.patch(f"/api/complaints/{cid}", json={"outcome": "medhold",
                                                    "registered_by": "Åse Ørum"})
        assert p.status_code == 200 and p.json()["version"] == 2
        assert p.json()["changes"][0]["field"] == "outcome"
        h = c.get(f"/api/complaints/{cid}/history").json()
        assert [(v["version"], v["by"], v["action"]) for v in h] == [
            (1, "ida", "oprettet"), (2, "Åse Ørum", "rettet")]
        assert h[1]["changes"] == [{"field": "outcome", "label": "udfald",
                                    "old": "Delvis medhold", "new": "Medhold"}]
        assert c.patch("/api/complaints/NOPE", json={"outcome": "medhold"},
                       headers={"X-Registered-By": "ida"}).status_code == 404
        assert c.get("/api/complaints/NOPE/history").status_code == 404
        # the new complaint is counted by the KPI API at once (the figure cache is renewed)
        k = c.get("/api/kpi/complaints_received", params={"period": "2014"}).json()
        assert k["rows"][0]["value"] == 1


def test_twenty_concurrent_clients_on_loopback(reg_app):
    store = reg_app.state.figures.store
    with serving(reg_app) as url:
        def post(i):
            return httpx.post(f"{url}/api/complaints", timeout=60,
                              json={**GOOD, "summary": f"klient {i}", "registered_by": f"k{i}"})

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(post, range(20)))
    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 20
    rows = store._engine.query("SELECT _key, summary FROM complaints_history")
    assert len(rows) == 20 and {k for k, _ in rows} == ids
    assert sorted(s for _, s in rows) == sorted(f"klient {i}" for i in range(20))
    assert store._engine.query("SELECT count(*) FROM complaints")[0][0] == 20


def test_form_shows_errors_then_an_edit_in_the_history(page, reg_app):  # noqa: F811
    with serving(reg_app) as url:
        page.goto(f"{url}/klager/registrering")
        assert page.locator("h1").inner_text() == "Registrér klage"
        # the help explains formalitet vs realitet and each procedural point
        assert "sagsbehandlingen" in page.locator("#h-kind").inner_text()
        assert "forvaltningslovens § 19" in page.locator("#h-points-partshoering").inner_text()
        page.select_option("#f-administration", "SOF")
        page.fill("#f-unit", "HCK")
        page.fill("#f-received", "2014-03-10")
        page.fill("#f-closed", "2014-03-01")  # before received: refused
        page.check("#f-kind-formalitet")
        page.check("#f-points-sagsbehandlingstid")
        page.fill("#f-summary", "Borger 010170-1234 ventede for længe.")
        page.fill("#f-registered_by", "Hanne")
        page.get_by_role("button", name="Registrér klagen").click()
        alert = page.get_by_role("alert")
        assert "ligger før" in alert.inner_text()
        assert page.locator("#f-closed").get_attribute("aria-invalid") == "true"
        # what was typed is kept; fix the date and save
        assert page.locator("#f-unit").input_value() == "HCK"
        page.fill("#f-closed", "2014-03-20")
        page.get_by_role("button", name="Registrér klagen").click()
        page.wait_for_url("**/klager/registrering/KL-SOF-2014-0001?gemt=oprettet")
        assert "er registreret" in page.get_by_role("status").inner_text()
        assert "010170-1234" not in page.locator("#f-summary").input_value()
        # an edit by someone else becomes version 2 with what changed
        page.select_option("#f-outcome", "medhold")
        page.fill("#f-registered_by", "Bo")
        page.get_by_role("button", name="Gem rettelse").click()
        page.wait_for_url("**gemt=rettet")
        rows = page.locator("#historik tbody tr")
        assert rows.count() == 2
        newest = rows.nth(0).inner_text()
        assert "Bo" in newest and "Rettet" in newest and "Udfald: (tom) → Medhold" in newest
        assert "Hanne" in rows.nth(1).inner_text()
