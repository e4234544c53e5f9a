"""The Sager page's backlog by age band and the chart bars that drill down, in-process on the
demo store; the API and the CLI give the same JSON for the age-band breakdown."""

from __future__ import annotations

import json
import re

import pytest

from sagsindsigt.cli import main
from sagsindsigt.kpis.measures import AGE_BAND_LABELS

pytestmark = pytest.mark.xdist_group("demo")


def specs(html: str) -> list[dict]:
    m = re.search(r'<script type="application/json" id="vega-specs">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_age_band_api_equals_cli(client, demo_store, capsys, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))
    for kpi in ("open_cases", "overdue_open_cases"):
        api = client.get(f"/api/kpi/{kpi}", params={"period": "2013",
                                                    "by": "administration,age_band"}).json()
        assert main(["--db", demo_store.url, "kpi", kpi, "--period", "2013", "--by",
                     "administration,age_band", "--format", "json"]) == 0
        assert api.pop("scope")["name"] == "Hele kommunen"  # the API says whose data
        assert api == json.loads(capsys.readouterr().out)
        assert [r["age_band"] for r in api["rows"][:5]] == AGE_BAND_LABELS
    listed = {k["id"]: k["dimensions"] for k in client.get("/api/kpi").json()}
    assert listed["open_cases"].endswith(",age_band")
    r = client.get("/api/kpi/open_cases", params={"where": "age_band=2 år"})
    assert r.status_code == 400 and "Ukendt aldersgruppe" in r.json()["error"]


def test_sager_shows_the_backlog_by_age_band(client):
    html = client.get("/side/sager", params={"period": "2013"}).text
    table = html[html.index('<section class="table" id="alder">'):]
    table = table[:table.index("</section>")]
    assert [re.sub(r"<.*?>", "", h) for h in re.findall(r'<th scope="row">(.*?)</th>', table)] \
        == [*AGE_BAND_LABELS, "I alt"]
    api = {r["age_band"]: r["value"] for r in client.get(
        "/api/kpi/open_cases", params={"period": "2013", "by": "age_band"}).json()["rows"]}
    total = client.get("/api/kpi/open_cases", params={"period": "2013"}).json()["rows"][0]
    assert sum(api.values()) == total["value"] > 0
    chart = next(s for s in specs(html) if s["title"].endswith("efter alder"))
    opened = {d["alder"]: d["antal"] for d in chart["data"]["values"] if d["serie"] == "Åbne"}
    assert opened == {b: v for b, v in api.items() if v is not None}
    assert "href" not in json.dumps(chart)  # an age band is not a drill-down level


def test_backlog_after_the_data_end_is_footnoted_not_annualised(client):
    # the demo's SOF delivers only the first half of 2014: its backlog is counted on 30.6.2014
    html = client.get("/side/sager", params={"period": "2014"}).text
    assert "SOF: opgjort pr. 30.6.2014, hvor data for perioden slutter" in html
    row = client.get("/api/kpi/open_cases", params={
        "period": "2014", "where": "administration=SOF", "annualise": "true"}).json()["rows"][0]
    half = client.get("/api/kpi/open_cases", params={
        "period": "2014-H1", "where": "administration=SOF"}).json()["rows"][0]
    assert row["value"] == half["value"] and row["estimate"] is False


def test_chart_bars_link_where_the_rows_link(client):
    for params, level in (({"period": "2013"}, "administration"),
                          ({"period": "2013", "administration": "SOF"}, "unit")):
        html = client.get("/side/sager", params=params).text
        chart = specs(html)[0]
        bars = chart["data"]["values"]
        assert bars and chart["mark"]["cursor"] == "pointer"
        for bar in bars:
            link = bar["href"].replace("&", "&amp;")
            assert f'<a href="{link}">{bar["gruppe"]}</a>' in html
            assert f"{level}=" in bar["href"]
    html = client.get("/side/klager", params={"period": "2013"}).text
    assert all("administration=" in b["href"] for b in specs(html)[0]["data"]["values"])
    # at the last level (a case type) there is nothing below: no links on the bars
    html = client.get("/side/sager", params={"period": "2013", "administration": "SOF",
                                             "unit": "HCK", "case_type": "BIL"}).text
    assert all("href" not in b for b in specs(html)[0]["data"]["values"])


def _target_line(spec: dict) -> float | None:
    rules = [lay for lay in spec.get("layer", []) if lay["mark"]["type"] == "rule"]
    return rules[0]["encoding"]["x"]["datum"] if rules else None


def test_targets_are_drawn_on_the_charts_of_their_kpi(client):
    """The demo's måltal (SOF: deadline compliance ≥ 80 %, BIF: complaint rate ≤ 2,5 % in the
    last year) are drawn on the Sager and Klager charts of that administration, with the same
    value the Måltal page evaluates; other scopes carry no line."""
    from sagsindsigt.web.views import _targets

    last = "2014"  # the test demo's last year
    targets = _targets(client.app.state.figures)
    sager = specs(client.get("/side/sager", params={"period": last,
                                                   "administration": "SOF"}).text)[0]
    assert _target_line(sager) == targets[("deadline_compliance", "SOF", last)].target == 80
    assert "Mål: 80,0 %" in json.dumps(sager, ensure_ascii=False)
    klager = specs(client.get("/side/klager", params={"period": last,
                                                     "administration": "BIF"}).text)[0]
    assert _target_line(klager) == 2.5
    other = specs(client.get("/side/sager", params={"period": last,
                                                   "administration": "BIF"}).text)[0]
    assert _target_line(other) is None and "layer" not in other


def test_the_deadline_mirror_sets_each_deadline_beside_the_p80(client, demo_store):
    """Issue 18's leader's mirror: per case type the published deadline, the time 8 of 10
    cases took (polars on the raw cases decided in 2013) and the verdict on the deadline."""
    import csv
    import io
    from datetime import date

    import polars as pl

    from sagsindsigt import citizen

    r = client.get("/download/sager/frist_og_virkelighed.csv",
                   params={"period": "2013", "administration": "SOF"})
    assert r.status_code == 200
    rows = {x["Sagstype"]: x for x in csv.DictReader(
        io.StringIO(r.content.decode("utf-8-sig")), delimiter=";")}
    cases = demo_store.run(demo_store._raw("cases").select(
        "administration", "case_type", "received", "decided"))
    want = (cases.filter((pl.col("administration") == "SOF")
                         & pl.col("decided").is_between(date(2013, 1, 1), date(2013, 12, 31)))
            .with_columns(days=(pl.col("decided") - pl.col("received")).dt.total_days())
            .group_by("case_type").agg(n=pl.len(), p80=pl.col("days").quantile(0.8, "linear")))
    deadlines = {"ENK": 28, "MER": 91, "TAB": 91, "BIL": 183, "HJM": 56, "SPS": 91, "BOT": 91}
    verdicts = set()
    for w in want.iter_rows(named=True):
        (row,) = [x for k, x in rows.items() if k.endswith(f"({w['case_type']})")]
        assert int(row["Afgjorte sager"]) == w["n"]
        assert float(row["8 ud af 10 afgjort inden for"].replace(",", ".")) == \
            pytest.approx(w["p80"], abs=0.051)
        days = deadlines[w["case_type"]]
        assert int(row["Frist i dage"]) == days
        ratio = w["p80"] / days
        verdict = "Urealistisk kort" if ratio > citizen.TOO_SHORT else \
            "Urealistisk lang" if ratio < citizen.TOO_LONG else "Realistisk"
        assert row["Fristen er"] == verdict, (w, row)
        verdicts.add(verdict)
    assert len(rows) == len(deadlines) and verdicts >= {"Urealistisk kort", "Realistisk"}
    html = client.get("/side/sager", params={"period": "2013", "administration": "SOF"}).text
    assert "Offentliggjort frist og borgernes ventetid pr. sagstype" in html
    assert "Urealistisk kort: 8 ud af 10 sager tager mere end 1,25 gange fristen" in html
