"""The citizens' page /borger/sagsbehandlingstider and its open data under /api/open/ on the
demo, with sign-in on and nobody signed in: the figures equal polars on the raw cases, the
same bytes for everybody (never a caller's scope), Danish 400s for bad parameters, escaping,
the embed mode and its frame headers, and a cache that follows an import."""

from __future__ import annotations

import csv
import io
import math
from datetime import date

import polars as pl
import pytest
from fastapi.testclient import TestClient

from sagsindsigt import citizen
from sagsindsigt.web import citizen as web_citizen

from ._access_helpers import demo_secret, secured_copy, signed_in_as

pytestmark = pytest.mark.xdist_group("demo")
PAGE = "/borger/sagsbehandlingstider"
OPEN = "/api/open/sagsbehandlingstider"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def secured(demo_store, tmp_path_factory):
    with secured_copy(demo_store, tmp_path_factory.mktemp("citizen")) as pair:
        yield pair


@pytest.fixture(scope="module")
def anon(secured):
    with TestClient(secured[0], follow_redirects=False) as c:
        yield c


def independent(store) -> pl.DataFrame:
    """Per administration and case type, over the 12 months up to the administration's last
    covered day (the demo: BIF 2014, SOF from 1.7.2013 to 30.6.2014): polars on the raw case
    rows, not through the KPI registry."""
    cases = store.run(store._raw("cases").select("administration", "case_type", "received",
                                                 "decided", "due"))
    windows = {"SOF": (date(2013, 7, 1), date(2014, 6, 30))}
    out = []
    for (admin,), g in cases.group_by(["administration"]):
        start, end = windows.get(admin, (date(2014, 1, 1), date(2014, 12, 31)))
        g = g.filter(pl.col("decided").is_between(start, end)).with_columns(
            days=(pl.col("decided") - pl.col("received")).dt.total_days())
        agg = g.group_by("case_type").agg(
            n=pl.len(), p80=pl.col("days").quantile(0.8, "linear"),
            median=pl.col("days").median(),
            kept=(pl.col("decided") <= pl.col("due")).filter(pl.col("due").is_not_null()).sum(),
            known=pl.col("due").is_not_null().sum())
        out.append(agg.with_columns(administration=pl.lit(admin), start=pl.lit(start),
                                    end=pl.lit(end)))
    return pl.concat(out)


def test_anonymous_page_shows_the_real_figures(anon, secured):
    _, store = secured
    r = anon.get(PAGE, headers=HTML)
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert r.headers["cache-control"].startswith("public")
    html = r.text
    assert "<h1>Hvor lang tid tager det at få svar?</h1>" in html
    assert "fra 1. juli 2013 til 30. juni 2014" in html  # SOF's data end earlier
    assert "31. december 2014" in html  # the date of the data
    want = independent(store)
    checked = 0
    for row in want.iter_rows(named=True):
        if row["n"] < citizen.MIN_CASES:
            continue
        weeks = math.ceil(row["p80"] / 7)
        sentence = ("8 ud af 10 får svar inden for <strong>"
                    + (f"{weeks} uger" if row["p80"] > 14 else f"{math.ceil(row['p80'])} dage")
                    + "</strong>.")
        article = html.split(f" {row['case_type'].lower()}\">", 1)[1].split("</article>", 1)[0]
        assert sentence in article, (row, article)
        kept = math.floor(100 * row["kept"] / row["known"] + 0.5)
        assert f"Fristen blev overholdt i {kept} % af sagerne." in article, (row, article)
        checked += 1
    assert checked >= 20
    # volume-only case types (TMF's parking and environment) have no decided cases
    assert html.count("Der er for få sager til at vise et tal.") == 2


def test_open_data_json_equals_polars_and_csv_equals_json(anon, secured):
    _, store = secured
    body = anon.get(f"{OPEN}.json").json()
    want = {(r["administration"], r["case_type"]): r
            for r in independent(store).iter_rows(named=True)}
    assert body["min_cases"] == 20 and body["period_end"] == "2014-12-31"
    shown = [r for r in body["rows"] if r["shown"]]
    assert len(shown) >= 20
    for r in shown:
        w = want[(r["administration"], r["case_type"])]
        assert r["decided_cases"] == w["n"]
        assert r["p80_days"] == pytest.approx(w["p80"], abs=0.051)
        assert r["median_days"] == pytest.approx(w["median"], abs=0.051)
        assert r["deadline_kept_percent"] == pytest.approx(100 * w["kept"] / w["known"],
                                                           abs=0.051)
        assert r["period_end"] == w["end"].isoformat()
        assert r["period_start"] == w["start"].isoformat()
    hidden = [r for r in body["rows"] if not r["shown"]]
    assert {r["case_type"] for r in hidden} == {"LIC", "MIL"}
    assert all(r["decided_cases"] is None and r["p80_days"] is None for r in hidden)
    r = anon.get(f"{OPEN}.csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["access-control-allow-origin"] == "*"
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert [x["Sagstypekode"] for x in rows] == [x["case_type"] for x in body["rows"]]
    for x, j in zip(rows, body["rows"], strict=True):
        assert x["Afgjorte sager"] == ("" if j["decided_cases"] is None
                                       else str(j["decided_cases"]))


def test_metadata_is_dcat_json_ld_pointing_at_the_files(anon):
    r = anon.get(f"{OPEN}.jsonld")
    assert r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    ds = doc["dcat:dataset"][0]
    for key in ("dct:title", "dct:description", "dct:publisher", "dct:license",
                "dct:temporal", "dct:accrualPeriodicity", "dcat:distribution"):
        assert ds.get(key), key
    assert ds["dct:publisher"]["foaf:name"] == "Københavns Kommune"
    for d in ds["dcat:distribution"]:
        path = d["dcat:downloadURL"]["@id"].split("8000", 1)[1]
        assert anon.get(path).status_code == 200


def test_the_same_page_for_everybody_whoever_is_signed_in(anon, secured, demo_store):
    app, _ = secured
    page = anon.get(PAGE).content
    leader = signed_in_as(app, demo_store, "leder", "BIF")
    assert leader.get(PAGE).content == page  # not BIF's figures, not the leader's name
    assert leader.get(f"{OPEN}.json").content == anon.get(f"{OPEN}.json").content
    assert b"leder_bif" not in page and b"Log ud" not in page
    # the dashboard itself stays closed to the anonymous visitor
    assert anon.get("/side/sager", headers=HTML).status_code == 303


def test_search_and_bad_parameters(anon):
    r = anon.get(PAGE, params={"q": "handicap"})
    assert r.status_code == 200
    assert "Handicapbiler" in r.text and "Kontanthjælp" not in r.text
    assert "af 24 ydelser passer på »handicap«" in r.text
    r = anon.get(PAGE, params={"q": "serviceloven 114"})  # the legal basis is searched too
    assert "Handicapbiler" in r.text and r.text.count('class="case-type"') == 1
    r = anon.get(PAGE, params={"q": "<script>alert(1)</script>"}, headers=HTML)
    assert r.status_code == 200 and "<script>alert" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    for params, word in (({"embed": "ja"}, "embed"), ({"q": "x" * 101}, "100 tegn")):
        r = anon.get(PAGE, params=params, headers=HTML)
        assert r.status_code == 400 and word in r.text and "Ugyldig forespørgsel" in r.text
        r = anon.get(PAGE, params=params)
        assert r.status_code == 400 and word in r.json()["error"]


def test_searches_are_not_kept_in_the_shared_cache(anon, secured):
    """Any number of different searches leaves the figure cache as it was (it is shared with
    the dashboard's figures, which must not be pushed out)."""
    fig = secured[0].state.figures
    anon.get(PAGE, params={"q": "første"})
    before = len(fig._cache)  # noqa: SLF001
    for i in range(40):
        assert anon.get(PAGE, params={"q": f"ord{i}"}).status_code == 200
    assert len(fig._cache) == before  # noqa: SLF001


def test_embed_has_no_menu_and_may_be_framed(anon):
    full = anon.get(PAGE)
    embed = anon.get(PAGE, params={"embed": "1"})
    assert "<header>" in full.text and '<nav aria-label="Sider">' in full.text
    assert "<header>" not in embed.text and "<nav" not in embed.text
    assert "<footer>" not in embed.text
    assert 'name="embed" value="1"' in embed.text  # a search stays embedded
    for r in (full, embed):
        assert "frame-ancestors *" in r.headers["content-security-policy"]
        assert "x-frame-options" not in r.headers
    dash = anon.get("/login")
    assert dash.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in dash.headers["content-security-policy"]


def test_the_cache_follows_a_change_of_the_cases(secured, anon, demo_store, tmp_path,
                                                 monkeypatch):
    """A case type held back or not is a setting; a change of the data reaches the page: an
    import of 30 BUF cases decided in December 2014 changes BUF's count."""
    from sagsindsigt.ingest import import_file

    app, store = secured
    monkeypatch.setattr(web_citizen, "REFRESH_EVERY", 0.0)
    before = {r["case_type"]: r for r in anon.get(f"{OPEN}.json").json()["rows"]}
    path = tmp_path / "nye.csv"
    path.write_text("case_id;administration;unit;case_type;received;decided\n" + "".join(
        f"NY-{i};BUF;BFC;FAM;2014-11-0{1 + i % 9};2014-12-1{i % 10}\n" for i in range(30)),
        encoding="utf-8")
    with demo_secret(demo_store):
        assert import_file(store, "cases", path, source="nye-sager").rows_rejected == 0
    after = {r["case_type"]: r for r in anon.get(f"{OPEN}.json").json()["rows"]}
    assert after["FAM"]["decided_cases"] == before["FAM"]["decided_cases"] + 30
    assert after["KH"] == before["KH"]
    assert f"{after['FAM']['decided_cases']:,}".replace(",", ".") in anon.get(PAGE).text
