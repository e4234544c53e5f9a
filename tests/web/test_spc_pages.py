"""Control charts on the pages (issue 14, point 4), on the demo: the Overblik tiles' status,
the Sager and Klager pages' charts and tables, and the Måltal page's assurance all agree with
``/api/kpi/{id}?view=spc`` for the same scope (the API is checked against an independent
computation in tests/kpis/test_spc.py)."""

from __future__ import annotations

import html as htmllib
import json
import re

import pytest

from sagsindsigt.kpis.spc import ASSURANCE, VARIATION
from sagsindsigt.present.control import month_label

pytestmark = pytest.mark.xdist_group("demo")


def api(client, kpi, **params):
    r = client.get(f"/api/kpi/{kpi}", params={"view": "spc", **params})
    assert r.status_code == 200, r.text
    return r.json()


def specs(page: str) -> list[dict]:
    raw = page.split('<script type="application/json" id="vega-specs">', 1)[1]
    return json.loads(raw.split("</script>", 1)[0].replace("<\\/", "</"))


def test_sager_page_has_the_control_charts_of_its_scope(client):
    page = client.get("/side/sager", params={"period": "2014", "administration": "SOF"}).text
    for kpi in ("deadline_compliance", "processing_days_median"):
        body = api(client, kpi, period="2014", where="administration=SOF")
        section = page[page.index(f'id="kontrolkort_{kpi}"'):]
        section = section[:section.index("</section>")]
        months = re.findall(r'<th scope="row">([^<]+)</th>', section)
        assert months == [month_label(r["month"]) for r in body["rows"]]
        # the summary sentence under the table and the chart's subtitle
        assert f"over {body['points']} måneder" in htmllib.unescape(section)
        title = f"{kpi_label(client, kpi)} pr. måned"
        chart = next(s for s in specs(page) if isinstance(s["title"], dict)
                     and s["title"]["text"] == title)
        assert chart["title"]["subtitle"][0].startswith(
            f"Kontrolkort: {VARIATION[body['variation']]}")
        points = [d for d in chart["data"]["values"] if d["værdi"] is not None]
        assert [d["øvre"] for d in points] == [r["upper"] for r in body["rows"]
                                               if r["value"] is not None]
    # SOF's target on deadline compliance: its line and its assurance on the chart
    dc = api(client, "deadline_compliance", period="2014", where="administration=SOF")
    assert dc["target"] is not None and dc["assurance"] in ASSURANCE
    chart = next(s for s in specs(page) if isinstance(s["title"], dict)
                 and s["title"]["text"] == "Overholdte sagsbehandlingsfrister pr. måned")
    assert ASSURANCE[dc["assurance"]] in chart["title"]["subtitle"][0]
    assert chart["title"]["subtitle"][1] == "Mål: mindst 80,0 % (stiplet linje)"
    assert any(layer["mark"].get("type") == "rule" and layer["encoding"]["y"]["datum"]
               == dc["target"] for layer in chart["layer"])


def kpi_label(client, kpi):
    return next(k["label"] for k in client.get("/api/kpi").json() if k["id"] == kpi)


def test_klager_page_has_the_complaint_rate_on_a_p_prime_chart(client):
    page = client.get("/side/klager", params={"period": "2014"}).text
    body = api(client, "complaint_rate", period="2014")
    assert body["chart"] == "p_prime" and 'id="kontrolkort_complaint_rate"' in page
    # the municipality's months after SOF's data end are shown without a value, and why
    section = page[page.index('id="kontrolkort_complaint_rate"'):]
    section = section[:section.index("</section>")]
    assert "måneden er ikke helt dækket af data" in section
    assert "p′-kort (Laney)" in htmllib.unescape(section)


def test_overview_tiles_say_variation_and_assurance(client):
    page = htmllib.unescape(client.get("/", params={"period": "2014",
                                                    "administration": "SOF"}).text)
    body = api(client, "deadline_compliance", period="2014", where="administration=SOF")
    tile = page[page.index("<h3>Overholdte sagsbehandlingsfrister</h3>"):]
    tile = tile[:tile.index("</article>")]
    status = re.search(r'<p class="tile-spc"[^>]*>(.*?)</p>', tile, flags=re.S).group(1)
    assert f'spc-{body["variation"]}">{VARIATION[body["variation"]]}' in status
    assert ASSURANCE[body["assurance"]] in status
    assert "#kontrolkort_deadline_compliance" in status
    assert "Making Data Count" in page
    # audit rounds are not monthly: no control-chart status on their tile
    audit = page[page.index("<h3>Korrekte sager"):]
    assert 'class="tile-spc"' not in audit[:audit.index("</article>")]


def test_maaltal_page_gives_the_assurance_of_each_target(client):
    page = htmllib.unescape(client.get("/side/maaltal", params={"period": "2014"}).text)
    assert "Over tid (kontrolkort)" in page
    body = api(client, "deadline_compliance", period="2014", where="administration=SOF")
    row = re.search(r"Frister overholdt i SOF</th>(.*?)</tr>", page, flags=re.S).group(1)
    assert f"{ASSURANCE[body['assurance']]} · {VARIATION[body['variation']]}" in row
