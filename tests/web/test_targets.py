"""The Måltal page on the demo (status, distance, trend, the target drawn on its chart, seed
001's caution) and the target form on a fresh store."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from sagsindsigt.store import Store
from sagsindsigt.web import create_app
from sagsindsigt.web.pages import Filters
from sagsindsigt.web.targets import view
from tests.web.test_browser import browser, page  # noqa: F401  (fixtures)

from .conftest import with_csrf

pytestmark = pytest.mark.xdist_group("demo")


def test_maaltal_page_on_the_demo(client):
    html = client.get("/side/maaltal", params={"period": "2014"}).text
    api = client.get("/api/kpi/complaint_rate", params={
        "period": "2014", "where": "administration=BIF"}).json()["rows"][0]["value"]
    row = re.search(r"Færre klager i BIF</th>(.*?)</tr>", html, flags=re.S).group(1)
    assert "højst 2,5 %" in row and f"{api:.1f}".replace(".", ",") + " %" in row
    assert ("Ikke opfyldt" if api > 2.5 else "Opfyldt") in row
    # the distance in procentpoint, with its sign (issue 17): never "0,2 %"
    distance = f"{abs(api - 2.5):.1f}".replace(".", ",")
    assert f"{'+' if api > 2.5 else '−'}{distance} procentpoint" in row
    # seed 001: a target on complaint volume gets the caution and the suggestion
    assert "retssikkerhedsgaranti" in html and "kpi=procedural_complaint_rate" in html
    assert html.count('class="caution"') == 1  # only klager_bif is on complaint volume
    charts = view(client.app.state.figures, Filters("2014"))["charts"]
    assert json.dumps(charts[0], ensure_ascii=False) in html  # the page carries the specs
    bif = next(c for c in charts if c["title"].endswith("Færre klager i BIF"))
    rule = next(layer for layer in bif["layer"] if layer["mark"]["type"] == "rule")
    assert rule["encoding"]["y"]["datum"] == 2.5
    assert [d["periode"] for d in bif["data"]["values"]][-1] == "2014"


def test_target_form_saves_and_refuses(tmp_path):
    store = Store(str(tmp_path / "t.duckdb"))
    store.init()
    try:
        with TestClient(create_app(store, warm=False, auth=False, secure_cookies=False)) as c:
            c = with_csrf(c)
            form = c.get("/maaltal/nyt", params={"kpi": "complaints_received"}).text
            assert "retssikkerhedsgaranti" in form
            bad = c.post("/maaltal/nyt", data={"id": "a", "kpi": "complaint_rate",
                                               "period": "2015", "direction": "max"})
            assert bad.status_code == 200 and 'role="alert"' in bad.text
            assert "Angiv enten en værdi" in bad.text
            ok = c.post("/maaltal/nyt", data={"id": "frister", "kpi": "deadline_compliance",
                                              "administration": "SOF", "period": "2015",
                                              "direction": "min", "value": "90"},
                        follow_redirects=False)
            assert ok.status_code == 303
            page = c.get(ok.headers["location"] + "&period=2015").text
            row = re.search(r"Overholdte sagsbehandlingsfrister mindst 90,0 %, "
                            r"Socialforvaltningen, 2015</th>(.*?)</tr>", page,
                            flags=re.S).group(1)  # no name given: described
            assert "mindst 90,0 %" in row and "Ingen data" in row
    finally:
        store.close()


def test_maaltal_in_the_browser(page, live_server):  # noqa: F811
    page.goto(f"{live_server}/side/maaltal?period=2014")
    assert page.locator("h1").inner_text() == "Måltal"
    page.wait_for_selector("#chart-0 svg", timeout=15_000)  # vega-embed drew the first chart
    assert page.locator('nav[aria-label="Sider"] [aria-current="page"]').text_content() == \
        "Måltal"


def test_the_target_is_on_the_tile_of_its_kpi(client):
    html = client.get("/", params={"period": "2014", "administration": "BIF"}).text
    tile = html[html.index("<h3>Klager i forhold til sagsmængde</h3>"):]
    tile = tile[:tile.index("</article>")]
    assert re.search(r'class="tile-target">Måltal «Færre klager i BIF»: <span class="status '
                     r'status-(not_met|met)">(Ikke opfyldt|Opfyldt)</span> \(højst 2,5 %\)',
                     tile), tile[:600]
    whole = client.get("/", params={"period": "2014"}).text
    assert "tile-target" not in whole  # the demo has no municipality-wide target


def test_changes_are_signed_with_the_period_compared():
    from sagsindsigt.danish import change
    from sagsindsigt.present.overview import _trend

    assert change(-2.14, "%") == "−2,1 procentpoint" and change(1.5, "dage") == "+1,5 dage"
    assert change(120, "antal") == "+120" and change(0, "%") == "±0,0 procentpoint"
    assert _trend(81.2, 83.3, "%", "2013") == "↓ −2,1 procentpoint fra 2013 (83,3 %)"
    assert _trend(17.0, 15.5, "dage", "2013") == "↑ +1,5 dage fra 2013 (15,5 dage)"
    assert _trend(1.42, 1.44, "%", "2014") == "uændret fra 2014 (1,4 %)"  # not "↓ −0,0"


def test_a_tile_row_with_a_target_shows_one_status(client):
    """The Korrekte sager tile: BIF's row has a target, so it shows the target's status and
    not also the audit's traffic light beside it (issue 17: "a yellow light beside ✗ Ikke
    opfyldt")."""
    html = client.get("/", params={"period": "2014"}).text
    tile = html[html.index("<h3>Korrekte sager</h3>"):]
    tile = tile[:tile.index("</article>")]
    rows = [row for row in re.findall(r"<tr>.*?</tr>", tile, flags=re.S)
            if 'class="status status-' in row]
    assert rows, "the demo's audit target shows on the tile"
    for row in rows:
        assert 'class="light' not in row, row
