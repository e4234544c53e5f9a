"""The quality-audit pages (/kvalitet/...): the årshjul with the size calculator, a round's
sample, the review form and its autosave API, closing and reopening, CSV upload, results and
calibration; on the demo store and, for the workflow that writes, on a store of its own."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from playwright.sync_api import expect

from sagsindsigt import audits
from sagsindsigt.web import create_app

from ..test_audits import fill
from .conftest import with_csrf
from .test_browser import browser  # noqa: F401  (the Chromium fixture)


def text(html: str) -> str:
    """The page's visible text, tags removed."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def clean(html: str) -> None:
    assert 'lang="da"' in html and "Traceback" not in html
    assert "None" not in text(html) and "https://" not in re.sub(
        r'"\$schema": "https://[^"]+"', "", html)


# -- on the demo store (read, plus answers on a round nobody else touches) -----------------
@pytest.mark.xdist_group("demo")
def test_aarshjul_shows_every_round_with_its_state(client):
    r = client.get("/kvalitet/aarshjul", params={"year": 2014})
    assert r.status_code == 200
    clean(r.text)
    assert "<h1>Årshjul 2014</h1>" in r.text
    t = text(r.text)
    for name in ("Kontanthjælp", "Delpension", "Integrations- og repatrieringsloven"):
        assert name in t
    assert "Afsluttet" in t and "Forsinket" in t  # imported rounds, drawn rounds past due
    assert "/kvalitet/runde/kontanthjaelp/2014-Q4" in r.text
    assert 'href="/kvalitet/aarshjul"' in r.text  # in the navigation


@pytest.mark.xdist_group("demo")
@pytest.mark.parametrize("params, shown", [
    ({}, "Stikprøvestørrelse: 59 sager"),
    ({"expected": 1}, "Stikprøvestørrelse: 93 sager"),
    ({"expected": 2}, "Stikprøvestørrelse: 181 sager"),
    ({"expected": 0, "population": 100}, "Stikprøvestørrelse: 45 sager"),
    ({"expected": 6}, "mindre end den tolerable"),
])
def test_size_calculator_on_the_page(client, params, shown):
    r = client.get("/kvalitet/aarshjul", params={"year": 2014, **params})
    assert shown in text(r.text)


@pytest.mark.xdist_group("demo")
def test_round_page_lists_the_sample_and_exports_xlsx(client, demo_store):
    r = client.get("/kvalitet/runde/revalidering/2014-Q4")
    clean(r.text)
    s = audits.load_sample(demo_store, "revalidering", "2014-Q4")
    assert f"seed {s.seed}" in r.text and s.cases[0].case_id in r.text
    x = client.get("/kvalitet/runde/revalidering/2014-Q4/stikproeve.xlsx")
    wb = load_workbook(BytesIO(x.content))
    ids = [row[1] for row in wb["Stikprøve"].iter_rows(min_row=5, values_only=True)]
    assert ids == [c.case_id for c in s.cases]


@pytest.mark.xdist_group("demo")
def test_results_overall_and_per_area_with_lights_in_text(client):
    r = client.get("/kvalitet/resultater", params={"period": "2013"})
    clean(r.text)
    t = text(r.text)
    assert re.search(r'class="light light-(green|yellow|red)">(Grøn|Gul|Rød)<', r.text)
    assert "Korrekte sager pr. kvalitetskoncept" in t and "Fejlstatistik pr. kategori" in t
    assert "Udvikling over årene" in t and "Mål i forhold til basisår" in t
    area = client.get("/kvalitet/resultater", params={"period": "2013", "area": "Kontanthjælp"})
    t = text(area.text)
    assert "Kvalitetsrapport: Kontanthjælp" in t and "Fejlstatistik pr. kontrolpunkt" in t
    rates = [float(x.replace(",", ".")) for x in re.findall(
        r"(\d+,\d) % 95 %-interval",
        t[t.index("pr. kontrolpunkt (flest"):t.index("Udvikling over årene")])][:-1]
    assert rates == sorted(rates, reverse=True)  # most frequent first (total row last)
    assert "2014-Q1" not in t[t.index("pr. runde"):t.index("pr. enhed")]  # only the period
    trend = t[t.index("Udvikling pr. runde 2012–2014"):]
    assert "2012-Q1" in trend and "2014-Q3" in trend  # every round of the area


@pytest.mark.xdist_group("demo")
def test_results_xlsx_holds_the_page_figures(client):
    x = client.get("/kvalitet/resultater.xlsx", params={"period": "2013"})
    wb = load_workbook(BytesIO(x.content))
    assert {"koncepter", "runder", "enheder", "kategorier", "udvikling", "maal"} <= set(
        wb.sheetnames)
    rows = list(wb["koncepter"].iter_rows(min_row=6, values_only=True))  # title lines above
    total = rows[-1]
    api = client.get("/api/kpi/audit_correct_rate", params={"period": "2013"}).json()
    # a percentage as Excel holds it: the fraction, shown by the format 0.0 %
    assert total[0] == "I alt" and total[1] * 100 == pytest.approx(api["rows"][0]["value"])
    assert total[2] in ("Grøn", "Gul", "Rød")  # the light in words


@pytest.mark.xdist_group("demo")
def test_calibration_page_warns_about_kappa_and_lists_disagreements(client, demo_store):
    r = client.get("/kvalitet/kalibrering", params={"concept": "kontanthjaelp",
                                                    "round": "2013-Q2"})
    clean(r.text)
    t = text(r.text)
    assert "Kappa er ustabil, når fejl er sjældne" in t
    dis = audits.disagreements(demo_store, "kontanthjaelp", "2013-Q2")
    assert f"Sager, hvor bedømmerne er uenige ({len(dis)})" in t
    assert all(d.case_id in t for d in dis)
    api = client.get("/api/kpi/audit_agreement", params={
        "period": "2013-Q2", "where": "concept=kontanthjaelp"}).json()["rows"][0]
    assert f"{api['kappa']:.2f}".replace(".", ",") in t


# -- the workflow on a store of its own -------------------------------------------------
@pytest.fixture
def town(store, tmp_path):
    fill(store, tmp_path)
    return store


@pytest.fixture
def town_client(town):
    with TestClient(create_app(town, warm=False, auth=False, secure_cookies=False)) as c:
        c = with_csrf(c)
        yield c


def test_draw_answer_close_reopen_in_the_browser_forms(town_client, town):
    """On DuckDB and on PostgreSQL."""
    c = town_client
    r = c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/stikproeve",
               data={"size": "4", "stratify": "unit", "seed": "77", "actor": "Koordinator"})
    assert r.status_code == 200 and "seed 77" in r.text  # followed the redirect
    s = audits.load_sample(town, "kontanthjaelp", "2014-Q1")
    assert s.seed == 77 and s.drawn_by == "Koordinator"
    assert s.allocation() == {"JCA": 2, "JCN": 1, "JCV": 1}  # 90/60/30/20 of 200 → 1,8/1,2/…
    checks = [k.id for k in s.concept.checks]
    first = s.cases[0].case_id
    bad = c.post("/kvalitet/api/svar", json={"concept": "kontanthjaelp", "round": "2014-Q1",
                                             "case_id": first, "check": "n1", "result": "ok"})
    assert bad.status_code == 400 and "bedømmerens navn" in bad.json()["error"]
    ok = c.post("/kvalitet/api/svar", json={
        "concept": "kontanthjaelp", "round": "2014-Q1", "case_id": first, "check": "n1",
        "result": "fejl", "reviewer": "Anna", "note": "Forkert sats"})
    assert ok.status_code == 200 and ok.json()["message"].startswith("Gemt")
    # the form without JavaScript: the whole case at once, then on to the next case
    form = {"reviewer": "Anna", **{f"result-{k}": "ok" for k in checks[1:]},
            "next": s.cases[1].case_id}
    r = c.post(f"/kvalitet/runde/kontanthjaelp/2014-Q1/sag/{first}", data=form)
    assert f"{len(checks) - 1} svar gemt." in r.text and f"Sag {s.cases[1].case_id}" in r.text
    page = c.get(f"/kvalitet/runde/kontanthjaelp/2014-Q1/sag/{first}")
    assert re.search(r'name="result-n1" value="fejl" checked', page.text)
    assert "Forkert sats" in page.text
    r = c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/afslut", data={"actor": "K"})
    assert "Ikke udført: Runden kan ikke afsluttes: 3 af 4 sager mangler svar" in text(r.text)
    # the other three cases come from an offline reviewer's file
    lines = ["case_id;check;result"] + [f"{x.case_id};{k};ok" for x in s.cases[1:]
                                        for k in checks]
    r = c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/import", data={"reviewer": "Bo"},
               files={"file": ("svar.csv", "\n".join(lines).encode("cp1252"), "text/csv")})
    assert f"{3 * len(checks)} svar indlæst, 0 afvist." in text(r.text)
    r = c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/afslut", data={"actor": "K"})
    assert "Runden er afsluttet" in text(r.text)
    res = c.get("/api/kpi/audit_correct_rate", params={
        "period": "2014-Q1", "where": "concept=kontanthjaelp"}).json()["rows"][0]
    assert (res["numerator"], res["denominator"], res["light"]) == (3, 4, "yellow")
    r = c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/genaabn", data={"reason": ""})
    assert "Ikke udført" in text(r.text) and "begrundelse" in text(r.text)
    r = c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/genaabn",
               data={"reason": "Sats rettet", "actor": "K"})
    assert "Runden er genåbnet." in text(r.text) and "Sats rettet" in text(r.text)
    aar = c.get("/kvalitet/aarshjul", params={"year": 2014})
    clean(aar.text)


def test_an_answers_file_over_the_size_limit_answers_413(town_client, town, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_IMPORT_MAX_FILE_MB", "1")
    big = ("case_id;check;result\n" + "S1;n1;ok\n" * 200_000).encode()  # 1,8 MB
    r = town_client.post("/kvalitet/runde/kontanthjaelp/2014-Q1/import", data={"reviewer": "Bo"},
                         files={"file": ("svar.csv", big, "text/csv")})
    assert r.status_code == 413
    assert "Filen svar.csv er større end de 1 MB" in r.text
    assert not audits.history(town, "kontanthjaelp", "2014-Q1")


def test_calibration_cases_are_chosen_on_the_round_page(town_client, town):
    c = town_client
    c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/stikproeve", data={"size": "10", "seed": "3"})
    r = c.post("/kvalitet/runde/kontanthjaelp/2014-Q1/kalibrering", data={"cases": "3"})
    assert "3 sager er valgt til anden bedømmer." in text(r.text)
    chosen = [x.case_id for x in audits.load_sample(town, "kontanthjaelp", "2014-Q1").cases
              if x.calibration]
    assert len(chosen) == 3
    assert r.text.count("rolle=ekstern") == 3
    page = c.get(f"/kvalitet/runde/kontanthjaelp/2014-Q1/sag/{chosen[0]}",
                 params={"rolle": "ekstern"})
    assert "Anden bedømmer (ekstern)" in page.text and 'data-role="ekstern"' in page.text


# -- the review form in a real browser ---------------------------------------------------
@pytest.mark.xdist_group("demo")
def test_review_form_saves_each_answer_before_the_page_closes(browser, live_server, client,  # noqa: F811
                                                               demo_store):
    s = audits.load_sample(demo_store, "loentilskud", "2014-Q4")
    case = s.cases[1].case_id
    url = f"{live_server}/kvalitet/runde/loentilskud/2014-Q4/sag/{case}"
    ctx = browser.new_context(locale="da-DK")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.fill("#reviewer", "Browser Bente")
    page.locator("#reviewer").dispatch_event("change")
    n1 = page.locator('fieldset[data-check="n1"]')
    n1.get_by_label("Fejl").check()
    n1.get_by_label("Bemærkning (valgfri)").fill("Refusion på forkert konto")
    page.locator('fieldset[data-check="k1"]').get_by_label("Ikke relevant").check()
    page.locator('fieldset[data-check="f1"]').get_by_label("OK").check()
    for chk in ("n1", "k1", "f1"):  # locators, not evaluated strings: the CSP forbids eval
        expect(page.locator(f'fieldset[data-check="{chk}"] .saved')).to_have_text(
            re.compile("^Gemt"), timeout=10_000)
    page.wait_for_timeout(900)  # the note is saved 0,7 s after the last keystroke
    assert "3 af" in page.locator("#answered").inner_text()
    page.close()  # midway: four checks are still unanswered, nothing was submitted
    again = ctx.new_page()
    again.goto(url)
    assert again.locator('fieldset[data-check="n1"] input[value="fejl"]').is_checked()
    assert again.locator('fieldset[data-check="k1"] input[value="ikke_relevant"]').is_checked()
    assert again.locator('fieldset[data-check="f1"] input[value="ok"]').is_checked()
    assert not again.locator('fieldset[data-check="n2"] input:checked').count()
    assert again.locator('textarea[name="note-n1"]').input_value() == "Refusion på forkert konto"
    assert again.locator("#reviewer").input_value() == "Browser Bente"
    saved = client.get("/kvalitet/api/svar", params={
        "concept": "loentilskud", "round": "2014-Q4", "case_id": case}).json()
    assert {(a["check"], a["result"], a["reviewer"]) for a in saved} == {
        ("n1", "fejl", "Browser Bente"), ("k1", "ikke_relevant", "Browser Bente"),
        ("f1", "ok", "Browser Bente")}
    ctx.close()
    assert errors == []
