"""Accessibility in a real browser: axe-core (vendored in tests/web/vendor) on every page for
WCAG 2.1 A and AA, and a focus outline that can be seen on every element reached by Tab."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import test_browser

pytestmark = pytest.mark.xdist_group("demo")
browser = test_browser.browser  # the same Chromium


@pytest.fixture
def page(browser):
    """A page as test_browser's whose Content-Security-Policy lets the test inject axe-core:
    the pages themselves allow no inline script."""
    with test_browser.watched_page(browser, bypass_csp=True) as pg:
        yield pg


AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = ["/?period=2014", "/?period=2013&administration=SOF", "/side/sager?period=2014",
         "/side/sager?period=2013&administration=SOF&unit=HCK", "/side/klager?period=2013",
         "/side/kvalitet?period=2013", "/side/data", "/arbejdsliste",
         "/arbejdsliste?liste=forfalder&administration=SOF&unit=HCK"]


def open_drawn(page, url: str) -> None:
    """Open a page and wait until vega-embed has drawn every chart on it."""
    page.goto(url)
    page.wait_for_function("() => [...document.querySelectorAll('.chart > [id^=chart-]')]"
                           ".every(e => e.dataset.ready === 'true')", timeout=20_000)


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           WCAG21_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            f"{[n['target'] for n in v['nodes']][:4]}" for v in result["violations"]]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_wcag_21_aa_violations(page, live_server, path):
    open_drawn(page, live_server + path)
    assert axe_violations(page) == []


def test_every_page_in_the_navigation_is_checked(page, live_server):
    """A page added to the navigation is checked too, not only the list above."""
    page.goto(f"{live_server}/?period=2013")
    links = page.locator('header nav a').evaluate_all("as => as.map(a => a.href)")
    assert len(links) >= 5
    for href in links:
        open_drawn(page, href)
        assert axe_violations(page) == [], href


def test_axe_finds_a_real_violation(page, live_server):
    """The check can fail: an image without a text alternative is reported."""
    open_drawn(page, f"{live_server}/side/data")
    page.evaluate("() => document.querySelector('main').insertAdjacentHTML("
                  "'beforeend', '<img src=\"data:,\">')")
    assert any(v.startswith("image-alt") for v in axe_violations(page))


FOCUS = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  let bg = e, back = [255, 255, 255];
  while (bg) { const c = rgb(getComputedStyle(bg).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) { back = c.slice(0, 3); break; }
    bg = bg.parentElement; }
  const [a, b] = [lum(rgb(s.outlineColor).slice(0, 3)), lum(back)];
  return {tag: e.tagName, text: (e.innerText || e.id || '').slice(0, 30), style: s.outlineStyle,
          width: parseFloat(s.outlineWidth),
          contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
}"""


def test_focus_outline_is_visible_when_tabbing(page, live_server):
    open_drawn(page, f"{live_server}/side/sager?period=2013")
    seen = set()
    for _ in range(40):  # skip link, navigation, period filter, crumbs, downloads, row links
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUS)
        seen.add(f["tag"])
        assert f["style"] != "none" and f["width"] >= 2, f
        # WCAG 1.4.11: a focus indicator needs 3:1 against what is next to it
        assert f["contrast"] >= 3, f
    assert {"A", "SELECT", "BUTTON"} <= seen
