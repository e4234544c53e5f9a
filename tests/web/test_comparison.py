"""The Sammenligning page on the demo: funnel tables and plots agree with the funnel view of
the KPI API, units are not ranked, and a target for the KPI is drawn on its plot."""

from __future__ import annotations

import json
import re

import pytest

from sagsindsigt.present.labels import Labels
from sagsindsigt.web.comparison import view
from sagsindsigt.web.pages import Filters
from tests.web.test_browser import browser, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.xdist_group("demo")


def test_page_agrees_with_the_funnel_api(client):
    sizes = client.get("/api/kpi/cases_received", params={"period": "2013",
                                                          "by": "administration"}).json()
    largest = max(sizes["rows"], key=lambda r: r["value"] or 0)["administration"]
    name = Labels.of(client.app.state.figures.store).name
    auto = client.get("/side/sammenligning", params={"period": "2013"}).text
    # units are compared within one administration by default: the largest one
    assert f"sammenlignes inden for <strong>{name('administration', largest)}</strong>" \
        in auto and "φ = " in auto
    html = client.get("/side/sammenligning", params={"period": "2013",
                                                     "overdispersion": "none"}).text
    api = client.get("/api/kpi/deadline_compliance", params={
        "period": "2013", "view": "funnel", "overdispersion": "none",
        "where": f"administration={largest}"}).json()
    assert api["view"] == "funnel" and api["by"] == ["unit"] and api["centre"] > 0
    assert api["adjustment"] == "none" and api["phi"] > 1
    rows = [r for r in api["rows"] if r["lower95"] is not None]
    assert rows and any(r["flag"] for r in rows)
    section = html[html.index('id="tragt_deadline_compliance"'):]
    section = section[:section.index("</table>")]
    shown = re.findall(r'<th scope="row">([^<]+)</th>', section)
    assert shown == sorted(shown)  # alphabetical: no ranking by rate
    for r in rows:
        cells = re.search(rf'<th scope="row">{re.escape(name("unit", r["unit"]))}</th>(.*?)</tr>',
                          section, flags=re.S).group(1)
        # deadline compliance is better when higher: a flag says better or worse
        expected = {"better": "Bedre end forventet", "worse": "Dårligere end forventet",
                    None: "Inden for grænserne"}[r["judgement"]]
        assert expected in cells
        assert (r["flag"] == "markant_over") == (r["judgement"] == "better")
        assert f"{r['lower998']:.1f}".replace(".", ",") + " %" in cells
    # the plain KPI API is unchanged by the funnel view (cached results are not touched)
    plain = client.get("/api/kpi/deadline_compliance", params={"period": "2013",
                                                                "by": "unit"}).json()
    assert "lower95" not in plain["rows"][0]
    refused = client.get("/api/kpi/cases_received", params={"view": "funnel"})
    assert refused.status_code == 400 and "kræver en andel" in refused.json()["error"]
    bad = client.get("/side/sammenligning", params={"overdispersion": "1 OR 1=1"})
    assert bad.status_code == 400 and "overdispersion" in bad.text


def test_all_units_standardised_by_case_type(client):
    html = client.get("/side/sammenligning", params={"period": "2013", "casemix": "1"}).text
    assert "standardiseret efter sagstype" in html and "Faktisk / forventet" in html
    assert "sammenlignes inden for" not in html  # across the administrations
    api = client.get("/api/kpi/complaint_rate", params={
        "period": "2013", "view": "funnel", "casemix": "true"}).json()
    assert api["standardised"] == "case_type"
    ratios = [r["ratio"] for r in api["rows"] if r.get("ratio") is not None]
    assert len(ratios) >= 5 and all(0.5 < x < 2 for x in ratios)


def test_target_is_drawn_on_the_funnel_plot(client):
    fig = client.app.state.figures
    charts = view(fig, Filters("2014", "SOF"))["charts"]
    deadline = next(c for c in charts if c["title"].startswith("Overholdte"))
    rules = [layer["encoding"]["y"]["datum"] for layer in deadline["layer"]
             if layer["mark"]["type"] == "rule"]
    centre = client.get("/api/kpi/deadline_compliance", params={
        "period": "2014", "view": "funnel", "where": "administration=SOF"}).json()["centre"]
    assert rules == [centre, 80]  # the demo's target frister_sof: at least 80 % in 2014
    points = next(layer for layer in deadline["layer"] if layer["mark"]["type"] == "point")
    assert {p["enhed"] for p in points["data"]["values"]} == {
        "Handicapcenter København (HCK)", "Rådgivningscenter København (RCK)",
        "Socialcenter København (SCK)"}
    json.dumps(charts)  # the specs go to the page as JSON


def test_sammenligning_in_the_browser(page, live_server):  # noqa: F811
    page.goto(f"{live_server}/side/sammenligning?period=2013")
    assert page.locator("h1").inner_text() == "Sammenligning"
    page.wait_for_selector("#chart-0 svg", timeout=15_000)  # vega-embed drew the first chart
    assert page.locator('nav[aria-label="Sider"] [aria-current="page"]').text_content() == \
        "Sammenligning"
