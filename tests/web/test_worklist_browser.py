"""The worklist in Chromium: a leader signed in through the real sign-in page opens it from the
Overblik's deadline tile, on a laptop (1366×768) and a phone (390×844); the rows are the
leader's, the most urgent first, and the page never scrolls sideways."""

from __future__ import annotations

import pytest

from . import test_browser, test_navigation
from .test_navigation import SIZES, signed_in_page

pytestmark = pytest.mark.xdist_group("demo")
browser = test_browser.browser
secured_url = test_navigation.secured_url  # a copy of the demo with a user per role, served


def days(page) -> list[int]:
    texts = page.locator("#arbejdsliste tbody td.num").all_inner_texts()
    return [0 if t == "i dag" else int(t.replace(".", "")) for t in texts]


def no_sideways_scroll(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - innerWidth")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_leader_opens_the_worklist_from_the_overblik_tile(browser, secured_url, size):
    ctx, page = signed_in_page(browser, secured_url, "leder", size)  # a leader of BIF
    try:
        tile = page.locator("article.tile", has=page.get_by_role(
            "heading", name="Overholdte sagsbehandlingsfrister"))
        link = tile.get_by_role("link", name="sager over frist")
        assert link.is_visible()
        link.click()
        page.wait_for_url("**/arbejdsliste?liste=over-frist**")
        assert page.locator("h1").inner_text() == "Sager over frist"
        assert "Beskæftigelses- og Integrationsforvaltningen (BIF)" in \
            page.locator(".scope").inner_text()
        assert "31.12.2014" in page.locator("#i-dag").inner_text()
        rows = page.locator("#arbejdsliste tbody tr")
        assert rows.count() > 10
        units = set(page.locator("#arbejdsliste tbody td:nth-child(5)").all_inner_texts())
        assert units and all(u.startswith(("Jobcenter", "Ydelsescenter")) for u in units)
        d = days(page)
        assert d == sorted(d, reverse=True) and d[-1] >= 1
        assert no_sideways_scroll(page) <= 0, size
        # the other list, soonest first
        page.get_by_role("link", name="Sager der forfalder inden for 7 dage").click()
        page.wait_for_url("**liste=forfalder**")
        d = days(page)
        assert d and d == sorted(d) and d[-1] <= 7
        assert no_sideways_scroll(page) <= 0, size
        # narrowed to one centre with the filter form
        page.select_option("#unit", "JCA")
        page.get_by_role("button", name="Vis").click()
        page.wait_for_url("**unit=JCA**")
        units = set(page.locator("#arbejdsliste tbody td:nth-child(5)").all_inner_texts())
        assert units == {"Jobcenter Amager (JCA)"}
        assert no_sideways_scroll(page) <= 0, size
    finally:
        ctx.close()
