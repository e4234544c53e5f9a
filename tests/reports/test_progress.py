"""A report tells how far it is (the Rapporter page's progress bar), and what it loads once
is loaded once (issue 16)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("demo")


@pytest.mark.parametrize("fmt, stages", [("pdf", ["figures", "charts", "pages"]),
                                         ("xlsx", ["figures", "workbook"]),
                                         ("html", ["figures", "charts"])])
def test_progress_goes_through_the_stages_in_order(demo_store, fmt, stages):
    from sagsindsigt.reports import STAGES, build_report, render

    seen: list[tuple[str, float]] = []
    rep = build_report(demo_store, "kvartal", "2014-Q2", ["administration=SOF"],
                       progress=lambda stage, share: seen.append((stage, share)))
    data = render(rep, fmt, lambda stage, share: seen.append((stage, share)))
    assert data
    assert list(dict.fromkeys(s for s, _ in seen)) == stages == list(STAGES[fmt])
    for stage in stages:
        shares = [x for s, x in seen if s == stage]
        assert shares == sorted(shares) and 0 <= shares[0] and shares[-1] == 1.0, stage
    assert len([1 for s, _ in seen if s == "figures"]) > 5  # one step per figure asked for


def test_a_chart_is_drawn_once_and_prepare_loads_ahead():
    import copy

    from sagsindsigt.reports import pdf

    pdf.prepare()
    assert pdf._ready.is_set() and pdf.prepare_in_background() is None
    spec = {"mark": "bar", "data": {"values": [{"gruppe": "A", "værdi": 3}]},
            "encoding": {"y": {"field": "gruppe", "type": "ordinal"},
                         "x": {"field": "værdi", "type": "quantitative"}}}
    first = pdf.svg(spec)
    hits = pdf._drawn.cache_info().hits
    assert pdf.svg(copy.deepcopy(spec)) == first  # the same chart: kept, not drawn again
    assert pdf._drawn.cache_info().hits == hits + 1
    assert first.startswith("data:image/svg+xml;base64,")
