"""The worklist (/arbejdsliste) through the real sign-in: a leader sees the cases of their own
scope only, sorted by urgency; downloads carry the list, the day and the scope and never the
citizen; every view and download is in the access log; roles without case-level access get
403; the Overblik's deadline tile links to it."""

from __future__ import annotations

import re
from html import unescape

import pytest

from sagsindsigt.access import SYSTEM, access_log, acting_as
from sagsindsigt.worklist import OVERDUE, SOON, worklist

from ._access_helpers import secured_copy, sign_in, user_name
from .downloads import csv_rows, xlsx_lines, xlsx_rows

pytestmark = pytest.mark.xdist_group("demo")
DAY = "2014-12-31"  # BIF's case data end there (the demo's last year): the lists' "i dag"
HEADER = ["Sags-id", "dage", "Frist", "Modtaget", "Center/enhed", "Sagstype"]


@pytest.fixture(scope="module")
def secured(demo_store, tmp_path_factory):
    with secured_copy(demo_store, tmp_path_factory.mktemp("worklist")) as (app, store):
        clients = {}

        def client(role: str, scope: str):
            if (role, scope) not in clients:
                clients[(role, scope)] = sign_in(app, user_name(role, scope))
            return clients[(role, scope)]

        yield store, client
        for c in clients.values():
            c.close()


def rows_of(html: str) -> list[dict[str, str]]:
    """The worklist table's rows as {column: text}."""
    body = html.split('<table id="arbejdsliste">', 1)[1].split("</table>", 1)[0]
    out = []
    for tr in re.findall(r'<tr id="sag-[^"]+">(.*?)</tr>', body, flags=re.S):
        cells = [unescape(re.sub(r"<[^>]+>", "", c)) for c in
                 re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S)]
        out.append(dict(zip(HEADER, cells, strict=True)))
    return out


def expected(store, kind: str, **where) -> list[str]:
    with acting_as(SYSTEM):
        return worklist(store, kind, **where).case_ids()


def test_a_centre_leader_sees_only_the_centres_cases(secured):
    store, client = secured
    c = client("leder", "JCA")
    r = c.get("/arbejdsliste")
    assert r.status_code == 200
    rows = rows_of(r.text)
    assert rows and {x["Center/enhed"] for x in rows} == {"Jobcenter Amager (JCA)"}
    assert [x["Sags-id"] for x in rows] == expected(store, OVERDUE, unit="JCA")
    assert "Område: <strong>Jobcenter Amager (JCA)</strong>" in r.text
    assert "Dataene slutter 31.12.2014, før i dag" in r.text  # the day the list is made on
    # outside the centre: "Ingen adgang", never an empty list
    for params in ({"unit": "JCN"}, {"administration": "SOF"}, {"case_type": "ENK"}):
        assert c.get("/arbejdsliste", params=params).status_code == 403, params
        assert c.get("/arbejdsliste.csv", params=params).status_code == 403, params
    rows = csv_rows(c.get("/arbejdsliste.csv").content, "Jobcenter Amager (JCA)")
    assert {x[4] for x in rows[1:]} == {"Jobcenter Amager (JCA)"}
    # an administration's leader sees every centre of it, and nothing of SOF
    rows = rows_of(client("leder", "BIF").get("/arbejdsliste?liste=forfalder").text)
    assert len({x["Center/enhed"] for x in rows}) > 1
    assert not any("SOF" in x["Sags-id"] or "København (HCK)" in x["Center/enhed"]
                   for x in rows)


def test_sorted_by_urgency(secured):
    store, client = secured
    c = client("leder", "BIF")
    over = rows_of(c.get("/arbejdsliste?liste=over-frist&unit=JCV").text)
    days = [int(x["dage"].replace(".", "")) for x in over]
    assert days == sorted(days, reverse=True) and days[-1] >= 1  # most days over first
    soon = rows_of(c.get("/arbejdsliste?liste=forfalder&unit=JCV").text)
    left = [0 if x["dage"] == "i dag" else int(x["dage"]) for x in soon]
    assert left == sorted(left) and 0 <= left[0] and left[-1] <= 7  # soonest first
    assert [x["Sags-id"] for x in soon] == expected(store, SOON, unit="JCV")
    # the week's new overdue cases: 1 to 7 days over
    new = rows_of(c.get("/arbejdsliste?liste=over-frist&nye=7&unit=JCV").text)
    assert new and all(1 <= int(x["dage"]) <= 7 for x in new)


def test_downloads_carry_list_day_and_scope_and_no_citizen(secured):
    store, client = secured
    c = client("leder", "BIF")
    r = c.get("/arbejdsliste.csv?liste=over-frist")
    assert r.status_code == 200
    assert f'filename="sager-over-frist-{DAY}-BIF.csv"' in r.headers["content-disposition"]
    rows = csv_rows(r.content, "Beskæftigelses- og Integrationsforvaltningen (BIF)")
    assert rows[0] == ["Sags-id", "Dage over frist", *HEADER[2:]]
    ids = [x[0] for x in rows[1:]]
    assert ids == expected(store, OVERDUE, administration="BIF")
    days = [int(x[1]) for x in rows[1:]]
    assert days == sorted(days, reverse=True)
    x = c.get("/arbejdsliste.xlsx?liste=forfalder&unit=JCA")
    assert f'filename="sager-forfalder-7-dage-{DAY}-JCA.xlsx"' in \
        x.headers["content-disposition"]
    lines = xlsx_lines(x.content)
    assert lines[0] == "Sager der forfalder inden for 7 dage"
    assert lines[1] == "Område: Jobcenter Amager (JCA)" and "31.12.2014" in lines[2]
    header, xrows = xlsx_rows(x.content)
    assert header == ["Sags-id", "Dage til frist", *HEADER[2:]]
    assert [r[0] for r in xrows] == expected(store, SOON, unit="JCA")
    assert all(isinstance(r[1], int) for r in xrows)
    # never the citizen: no column for it, and none of the cases' pseudonyms
    with acting_as(SYSTEM):
        t = store.table("cases")
        citizens = {r["citizen"] for r in store.run(
            t.filter(t.case_id.isin(ids[:200] + [r[0] for r in xrows]))
            .select("citizen")).to_dicts() if r["citizen"]}
    assert citizens
    text = r.content.decode("utf-8-sig") + repr(xrows) + repr(lines)
    assert not any(ct in text for ct in citizens)
    assert "borger" not in text.lower() and "citizen" not in text.lower()
    assert c.get("/arbejdsliste.pdf").status_code == 404


def test_every_view_and_download_is_in_the_access_log(secured):
    store, client = secured
    c = client("leder", "SOF")
    assert c.get("/arbejdsliste?liste=forfalder&unit=HCK").status_code == 200
    assert c.get("/arbejdsliste.csv?liste=over-frist").status_code == 200
    assert c.get("/arbejdsliste.xlsx?liste=over-frist&nye=7").status_code == 200
    log = [e for e in access_log.entries(store, actor=user_name("leder", "SOF"), limit=20)
           if e.object.startswith("GET /arbejdsliste")]
    got = {(e.action, e.object, e.outcome) for e in log}
    assert ("sagsdata", "GET /arbejdsliste", "200") in got
    assert ("download", "GET /arbejdsliste.csv", "200") in got
    assert ("download", "GET /arbejdsliste.xlsx", "200") in got
    view = next(e for e in log if e.action == "sagsdata")
    assert '"liste": "forfalder"' in view.filters and '"unit": "HCK"' in view.filters
    assert view.role == "leder" and view.scope == "SOF"


@pytest.mark.parametrize("role", ["laeser", "analytiker", "registrator", "kvalitet"])
def test_roles_without_case_level_access_get_403(secured, role):
    store, client = secured
    c = client(role, "BIF")
    for url in ("/arbejdsliste", "/arbejdsliste?liste=forfalder", "/arbejdsliste.csv",
                "/arbejdsliste.xlsx"):
        r = c.get(url, headers={"accept": "text/html"})
        assert r.status_code == 403, (role, url)
        assert "Ingen adgang" in r.text and "Sags-id" not in r.text
    home = c.get("/").text
    assert "/arbejdsliste" not in home  # neither the menu nor the tile links to it
    refused = [e for e in access_log.entries(store, actor=user_name(role, "BIF"), limit=10)
               if e.object == "GET /arbejdsliste"]
    assert refused and refused[0].outcome == "nægtet"


def test_the_overblik_deadline_tile_links_to_both_lists(secured):
    store, client = secured
    c = client("leder", "BIF")
    html = c.get("/?administration=BIF").text
    links = re.search(r'<p class="tile-links">(.*?)</p>', html, flags=re.S).group(1)
    n_over = len(expected(store, OVERDUE, administration="BIF"))
    n_soon = len(expected(store, SOON, administration="BIF"))
    assert "Arbejdsliste pr. 31.12.2014" in links
    assert ('<a href="/arbejdsliste?liste=over-frist&amp;administration=BIF">'
            f"{n_over} sager over frist</a>") in links
    assert ('<a href="/arbejdsliste?liste=forfalder&amp;administration=BIF">'
            f"{n_soon} forfalder inden for 7 dage</a>") in links
    assert '<a href="/arbejdsliste">Arbejdsliste</a>' in html  # in the menu's Sager group
    # the tiles' signals: exactly the units the funnel flags (as in the digest), in the KPI's
    # own direction, and the explanation only when there is one
    from tests.test_digest import expected_signals

    want = expected_signals(store, "BIF", "2014")
    shown = re.findall(r'>([^<>]+)</a><br><span class="signal">Signal: ([^<]+)</span>', html)
    assert sorted(shown) == sorted(want)
    assert ("Signal: tallet ligger uden for 99,8 %-kontrolgrænserne" in html) == bool(want)


@pytest.mark.parametrize(("query", "word"), [
    ("liste=ukendt", "Ukendt arbejdsliste"), ("nye=abc", "'nye'"), ("nye=0", "1 til 366"),
    ("liste=forfalder&nye=7", "kun på listen over sager over frist")])
def test_bad_parameters_answer_a_danish_400(secured, query, word):
    _, client = secured
    r = client("leder", "BIF").get(f"/arbejdsliste?{query}")
    assert r.status_code == 400 and word in r.text
