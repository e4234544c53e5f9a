"""The Registreringspraksis page on the demo shows the core scorecard for every unit."""

from __future__ import annotations

import re
from datetime import date

import pytest

from sagsindsigt.practice import scorecard
from sagsindsigt.present.labels import Labels

pytestmark = pytest.mark.xdist_group("demo")


def test_scorecard_page(client, demo_store):
    r = client.get("/side/registreringspraksis", params={"period": "2013",
                                                         "administration": "SOF"})
    assert r.status_code == 200
    cards = scorecard(demo_store, "2013", {"administration": "SOF"})
    section = r.text[r.text.index('id="scorecard"'):]
    section = section[:section.index("</table>")]
    rows = re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', section, flags=re.S)
    name = Labels.of(demo_store).name
    assert [n for n, _ in rows] == [name("unit", c.unit) for c in cards]  # "Name (CODE)"
    for (_, cells), c in zip(rows, cards, strict=True):
        assert f"{c.completeness:.1f}".replace(".", ",") + " %" in cells
        assert f"{c.open_past_days:,}".replace(",", ".") + " af " in cells
    dl = client.get("/download/registreringspraksis/felter_klager.csv",
                    params={"period": "2013", "administration": "SOF"})
    assert dl.status_code == 200 and "Klagepunkter (formalitetsklager)" in \
        dl.content.decode("utf-8-sig")


def test_open_cases_are_counted_where_the_data_end(demo_store, client):
    """SOF's cases of the demo end 30.6.2014: its cases are counted open on that day, not on
    31.12.2014 (when every case still in the data would look open for half a year), and the
    Registreringspraksis page says so."""
    from sagsindsigt.access import SYSTEM, acting_as

    with acting_as(SYSTEM):
        cards = scorecard(demo_store, "2014")
    days = {u.administration: u.open_as_of for u in cards if u.open_as_of}
    assert days["SOF"] == date(2014, 6, 30) and days["BIF"] == date(2014, 12, 31)
    page = client.get("/side/registreringspraksis", params={"period": "2014"}).text
    assert "Socialforvaltningen: sagerne går kun til 30.6.2014, så åbne sager er talt den " \
           "dag" in page
    assert "Beskæftigelses- og Integrationsforvaltningen: sagerne går kun" not in page
