"""The Proces page (/proces) and its API (/api/proces/...): the demo's events log drawn as a
process map for every case type that has events, the tables carrying the numbers the API and
the CLI give, the drill-down to the cases, escaped text and Danish 400s for bad parameters."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from fastapi.testclient import TestClient

from sagsindsigt.access import SYSTEM, acting_as
from sagsindsigt.danish import number
from sagsindsigt.kpis.process import ProcessQuery, dfg, variants

pytestmark = pytest.mark.xdist_group("demo")


def test_a_process_map_for_every_case_type_with_events(client, demo_store):
    with acting_as(SYSTEM):
        types = sorted({r["case_type"] for r in demo_store.run(
            demo_store.table("events").join(demo_store.table("cases"), ["_source", "case_id"])
            .select("case_type").distinct()).to_dicts()})
    assert types == ["FL", "KH"]
    for t in types:
        r = client.get("/proces", params={"case_type": t, "period": "2013"})
        assert r.status_code == 200, r.text
        assert r.text.count("<svg") == 1 and 'role="img"' in r.text
        with acting_as(SYSTEM):
            edges = dfg(demo_store, ProcessQuery.make("2013", [f"case_type={t}"]))
        table = r.text.split('id="overgange"', 1)[1].split("</table>", 1)[0]
        cells = re.findall(r'<td class="num">([^<]*)</td>', table)
        assert cells[0::3] == [number(e["count"]) for e in edges]  # the table has the numbers


def test_api_gives_the_cli_json(client, demo_store):
    r = client.get("/api/proces/dfg", params={"period": "2013", "where": "administration=BIF"})
    assert r.status_code == 200
    with acting_as(SYSTEM):
        want = dfg(demo_store, ProcessQuery.make("2013", ["administration=BIF"]))
    assert r.json() == {"rows": want}
    assert {x["from"] for x in want} >= {"▶", "visiteret"}
    v = client.get("/api/proces/variants", params={"top": 2}).json()["rows"]
    with acting_as(SYSTEM):
        assert v == variants(demo_store, ProcessQuery.make(), top=2)
    assert set(v[0]) == {"variant", "cases", "share", "median_days"}
    b = client.get("/api/proces/bottlenecks", params={"period": "2013"}).json()["rows"]
    assert b and {x["kind"] for x in b} == {"transition", "activity"}
    s = client.get("/api/proces/stalled", params={"days": 60}).json()["rows"]
    assert all(x["idle_days"] >= 60 for x in s)


@pytest.mark.parametrize("url,params,fragment", [
    ("/proces", {"vaegt": "vægt"}, "Vægt skal være"),
    ("/proces", {"andel": "33"}, "Andel af overgange"),
    ("/proces", {"period": "2014-13"}, "2014-13"),
    ("/proces/sager", {"variant": "x"}, "Variant skal være"),
    ("/proces/sager", {}, "Angiv en overgang"),
    ("/api/proces/dfg", {"where": "farve=rød"}, "Ukendt dimension"),
    ("/api/proces/variants", {"top": "0"}, "top skal"),
])
def test_bad_parameters_are_danish_400s(client, url, params, fragment):
    r = client.get(url, params=params)
    assert r.status_code == 400, r.text
    assert fragment in unescape(r.text)


def test_drill_down_to_the_cases_behind_a_variant_and_an_edge(client, demo_store):
    with acting_as(SYSTEM):
        top = variants(demo_store, ProcessQuery.make("2013-03"))[0]
    r = client.get("/proces/sager", params={"period": "2013-03", "variant": "1"})
    assert r.status_code == 200
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>', r.text)
    assert len(rows) == min(top["cases"], 500)
    r = client.get("/proces/sager", params={"period": "2013-03", "fra": "visiteret",
                                            "til": "jobsamtale"})
    assert r.status_code == 200 and "Sager med overgangen visiteret → jobsamtale" in \
        unescape(r.text)


def test_text_in_the_map_is_escaped_and_a_log_on_its_own_is_drawn(tmp_path):
    from sagsindsigt.ingest import import_file
    from sagsindsigt.store import Store
    from sagsindsigt.web.app import create_app

    store = Store(str(tmp_path / "p.duckdb"))
    store.init()
    (tmp_path / "e.csv").write_text(
        'case_id,activity,at\nx1,"<script>alert(1)</script>",2015-01-01 08:00:00\n'
        'x1,"Tom & ""Jerry""",2015-01-02 08:00:00\n', encoding="utf-8")
    assert import_file(store, "events", tmp_path / "e.csv", source="log",
                       today=date(2016, 1, 1)).rows_rejected == 0
    with TestClient(create_app(store, warm=False, auth=False, secure_cookies=False)) as c:
        r = c.get("/proces")
        assert r.status_code == 200
        svg = r.text.split("<svg", 1)[1].split("</svg>", 1)[0]
        assert "<script>alert" not in r.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
        assert "Tom &amp; &#x27;Jerry&#x27;" in svg or "Tom &amp; &quot;Jerry&quot;" in svg
        r = c.get("/proces", params={"vaegt": "tid", "andel": "50"})
        assert r.status_code == 200 and "Viser 2 af 3 overgange" in r.text
    store.close()


def test_service_times_where_the_log_has_lifecycles(tmp_path):
    from sagsindsigt.ingest import import_file
    from sagsindsigt.store import Store
    from sagsindsigt.web.app import create_app

    from ..ingest.test_eventlogs import LIFECYCLE

    store = Store(str(tmp_path / "lc.duckdb"))
    store.init()
    (tmp_path / "lc.xes").write_text(LIFECYCLE, encoding="utf-8")
    import_file(store, "events", tmp_path / "lc.xes", source="lc", today=date(2026, 1, 1))
    with TestClient(create_app(store, warm=False, auth=False, secure_cookies=False)) as c:
        r = c.get("/proces")
        table = r.text.split('id="behandlingstid"', 1)[1].split("</table>", 1)[0]
        assert re.findall(r"<td class=\"num\">([^<]*)</td>", table) == ["1", "1,5 t", "1,5 t"]
    store.close()
