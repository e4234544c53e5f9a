"""The citizens' page in a real browser, as an anonymous visitor of the app with sign-in on:
the page at 1366 px and on a phone (390 px) without sideways scrolling, WCAG 2.1 AA by axe,
the search as you type, the embed in another site's frame, and the open data files fetched by
the browser holding the page's figures."""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from . import test_browser
from ._access_helpers import secured_copy
from .conftest import serving
from .test_accessibility import axe_violations

pytestmark = pytest.mark.xdist_group("demo")
browser = test_browser.browser  # the same Chromium
PAGE = "/borger/sagsbehandlingstider"
OPEN = "/api/open/sagsbehandlingstider"
ARTIFACTS = test_browser.ARTIFACTS


@pytest.fixture(scope="module")
def public_server(demo_store, tmp_path_factory):
    """The app with sign-in on over a copy of the demo; nobody signs in."""
    with secured_copy(demo_store, tmp_path_factory.mktemp("citizen-browser")) as (app, _):
        with serving(app) as url:
            yield url


@pytest.fixture
def page(browser):
    # axe is injected by the test: the page's own policy allows no inline script
    with test_browser.watched_page(browser, bypass_csp=True) as pg:
        yield pg


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_page_reads_on_a_laptop_and_a_phone_and_passes_axe(page, public_server, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(public_server + PAGE)
    assert page.locator("h1").inner_text() == "Hvor lang tid tager det at få svar?"
    assert "/login" not in page.url  # no sign-in
    first = page.locator("article.case-type").first
    assert "8 ud af 10 får svar inden for" in first.inner_text()
    assert "Fristen blev overholdt i" in first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"borger-{width}.png"), full_page=False)
    assert axe_violations(page) == []


def test_search_filters_as_you_type(page, public_server):
    page.goto(public_server + PAGE)
    total = page.locator("article.case-type").count()
    assert total == 24
    page.get_by_label("Søg efter en ydelse").fill("handicap")
    visible = page.locator("article.case-type:visible")
    assert visible.count() == 3
    assert all("andicap" in t for t in visible.all_inner_texts())
    assert page.locator("#antal").inner_text() == "3 af 24 ydelser passer på »handicap«."
    assert page.locator("section.area:visible").count() == 1  # only Socialforvaltningen
    page.get_by_label("Søg efter en ydelse").fill("")
    assert page.locator("article.case-type:visible").count() == total
    # the form works without the script too: the server searches
    page.get_by_label("Søg efter en ydelse").fill("kontanthjælp")
    page.get_by_role("button", name="Søg").click()
    page.wait_for_url("**q=kontanthj**")
    assert page.locator("article.case-type").count() == 1
    assert axe_violations(page) == []


@contextmanager
def other_site(directory):
    """A plain web server on another port of loopback: another origin, as the municipality's
    own site is."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_embed_in_another_sites_frame(browser, public_server, tmp_path):
    """A municipality's own page (another origin) frames ?embed=1: it loads (frame-ancestors
    allows it), without the menu, fits the phone's frame and passes axe inside the frame."""
    (tmp_path / "kommune.html").write_text(
        '<!doctype html><html lang="da"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Kommunens side'
        '</title></head><body><main><h1>Ansøg om hjælp</h1><iframe title="Sagsbehandlingstider" '
        f'src="{public_server}{PAGE}?embed=1" width="370" height="700"></iframe>'
        '</main></body></html>', encoding="utf-8")
    with other_site(tmp_path) as site, \
            test_browser.watched_page(browser, bypass_csp=True) as pg:
        pg.set_viewport_size({"width": 390, "height": 844})
        pg.goto(f"{site}/kommune.html")
        frame = pg.frame_locator("iframe")
        frame.locator("h1").wait_for()
        assert frame.locator("h1").inner_text() == "Hvor lang tid tager det at få svar?"
        assert frame.locator("header").count() == 0 and frame.locator("nav").count() == 0
        assert frame.locator("article.case-type").count() == 24
        inner = pg.frames[1]
        assert inner.evaluate("document.documentElement.scrollWidth") <= 370
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "borger-indlejret.png"))
        inner.add_script_tag(path=str(Path(__file__).parent / "vendor" / "axe.min.js"))
        result = inner.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                                "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
        assert result["violations"] == []
    # a dashboard page refuses the same frame (frame-ancestors 'none'): the check can fail
    (tmp_path / "fremmed.html").write_text(
        '<!doctype html><html lang="da"><head><meta charset="utf-8"><title>Fremmed</title>'
        f'</head><body><iframe title="x" src="{public_server}/login"></iframe></body></html>',
        encoding="utf-8")
    with other_site(tmp_path) as site, browser.new_context() as ctx:
        pg = ctx.new_page()
        pg.goto(f"{site}/fremmed.html")
        pg.wait_for_timeout(1000)
        assert pg.frames[1].url.startswith("chrome-error://")  # the browser refused it


def test_open_data_files_hold_the_pages_figures(page, public_server):
    page.goto(public_server + PAGE)
    texts = page.locator("article.case-type").all_inner_texts()
    body = page.evaluate(f"fetch('{OPEN}.json').then(r => r.json())")
    shown = [r for r in body["rows"] if r["shown"]]
    for r in shown:
        (text,) = [t for t in texts if t.startswith(r["case_type_name"] + "\n")]
        weeks = r["p80_weeks"]
        assert (f"inden for {weeks} uger" in text) or r["p80_days"] <= 14, (r, text)
        assert f"{r['decided_cases']:,}".replace(",", ".") in text
    raw = page.evaluate(f"fetch('{OPEN}.csv').then(r => r.text())")
    rows = list(csv.DictReader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
    assert [x["Sagstype"] for x in rows] == [r["case_type_name"] for r in body["rows"]]
    meta = json.loads(page.evaluate(f"fetch('{OPEN}.jsonld').then(r => r.text())"))
    assert meta["dcat:dataset"][0]["dct:license"]["@id"].startswith("https://creativecommons")
    # the links on the page lead to the files (followed by fetch: opened as a page, Chromium
    # would also ask for a favicon, and its 404 would count as a console error)
    href = page.get_by_role("link", name="Hent tallene som JSON").get_attribute("href")
    assert href.endswith(f"{OPEN}.json")
    linked = page.evaluate(f"fetch('{href}').then(r => r.json())")
    assert linked["rows"] == body["rows"]
