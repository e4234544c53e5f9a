"""The Styrket borgerkontakt page on the demo: the same figures as the KPI API, the Dutch
reference of seed 003, and the learning-text search against a direct count in the store."""

from __future__ import annotations

import re

import pytest

from sagsindsigt import strengthened_contact as sb
from sagsindsigt.strengthened_contact import REFERENCE, compare, p_text, p_value
from tests.web.test_browser import browser, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.xdist_group("demo")


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_page_shows_the_kpis_and_the_dutch_reference(client):
    response = client.get("/side/borgerkontakt", params={"period": "2013"})
    assert response.status_code == 200
    body = text(response.text)
    for ref in REFERENCE:
        assert ref.text in body
    total = client.get("/api/kpi/sb_vs_written", params={"period": "2013"}).json()["rows"][0]
    share = client.get("/api/kpi/sb_share", params={"period": "2013"}).json()["rows"][0]
    assert total["median_with"] < total["median_without"]  # the demo's SB answers faster
    med = f"{total['median_with']:.1f}".replace(".", ",")
    diff = f"{total['value']:.1f}".replace(".", ",")
    assert re.search(rf"I alt {med} dage [0-9,]+ dage {diff} %", body), body[-3000:]
    assert f"{share['value']:.1f}".replace(".", ",") + " %" in body
    assert "Mann–Whitney" in body and "Hollandske resultater" in body
    dl = client.get("/download/borgerkontakt/sb_svartid.csv", params={"period": "2013"})
    assert dl.status_code == 200 and "Median med" in dl.content.decode("utf-8-sig")


def test_learning_search_matches_the_store(client, demo_store):
    word = "partshøring"
    r = client.get("/borgerkontakt/laering", params={"q": word.upper(), "period": "2013"})
    assert r.status_code == 200
    expected = demo_store._engine.query(
        "SELECT count(*) FROM complaints WHERE lower(summary) LIKE ? "
        "AND received BETWEEN '2013-01-01' AND '2013-12-31'", [f"%{word}%"])[0][0]
    assert expected > 0
    shown = re.search(r'id="antal">([0-9.]+) klager', r.text).group(1)
    assert int(shown.replace(".", "")) == expected
    rows, total = sb.search_learning(demo_store, f"{word}  ", "2013", only_sb=True)
    assert 0 < total < expected and all(row["strengthened_contact"] for row in rows)
    assert all(word in row["summary"].lower() for row in rows)
    none, zero = sb.search_learning(demo_store, "ordetfindesikke", "2013")
    assert none == [] and zero == 0


def test_reference_comparison_and_p_value_wording():
    stopped, faster = REFERENCE[2], REFERENCE[4]
    assert compare(stopped, 50) == "På niveau med de hollandske resultater."
    assert compare(stopped, 70).startswith("Bedre") and compare(stopped, 10).startswith("Svag")
    assert compare(faster, -44).startswith("Bedre") and compare(faster, -10).startswith("Svag")
    assert compare(faster, None) == "Ingen data for perioden."
    assert compare(REFERENCE[0], 12) == "Måles ikke i Sagsindsigt."
    assert p_value(0.0004) == "< 0,001" and p_value(0.0123) == "0,012" and p_value(None) == "-"
    assert "næppe tilfældig" in p_text(0.01) and "tilfældigheder" in p_text(0.2)


def test_borgerkontakt_in_the_browser(page, live_server):  # noqa: F811
    page.goto(f"{live_server}/side/borgerkontakt?period=2013")
    assert page.locator("h1").inner_text() == "Styrket borgerkontakt"
    page.wait_for_selector("#chart-0 svg", timeout=15_000)  # vega-embed drew the first chart
    assert page.locator('nav[aria-label="Sider"] [aria-current="page"]').text_content() == \
        "Styrket borgerkontakt"
    page.fill("#q", "telefon")
    page.get_by_role("button", name="Søg").click()
    page.wait_for_url("**/borgerkontakt/laering?q=telefon**")
    assert "»telefon«" in page.locator("#antal").inner_text()
    assert page.locator("#laeringstekster tbody tr").count() > 0
