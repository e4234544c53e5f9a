"""The Registreringspraksis page on the demo shows the core scorecard for every unit."""

from __future__ import annotations

import re

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
