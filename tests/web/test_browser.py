"""The dashboard in a real browser: Debian's Chromium driven by Playwright, on the demo store
served on loopback. Skips with a clear message where Chromium is not installed."""

from __future__ import annotations

import csv
import io
import shutil
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.xdist_group("demo")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium findes ikke på maskinen (apt-get install chromium); "
                    "browsertestene springes over.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@contextmanager
def watched_page(browser, **options):
    """A Danish page in a context of its own; errors in the console fail the test."""
    ctx = browser.new_context(accept_downloads=True, locale="da-DK",
                              viewport={"width": 1400, "height": 1000}, **options)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield pg
    finally:
        ctx.close()
    assert errors == [], errors


@pytest.fixture
def page(browser):
    with watched_page(browser) as pg:
        yield pg


def test_every_page_opens_and_charts_draw(page, live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    for slug, title in (("", "Overblik"), ("side/sager", "Sager"), ("side/klager", "Klager"),
                        ("side/kvalitet", "Kvalitet"), ("side/data", "Data")):
        page.goto(f"{live_server}/{slug}?period=2013")
        assert page.locator("h1").inner_text() == title
        if slug in ("side/sager", "side/klager", "side/kvalitet"):
            page.wait_for_selector("#chart-0 svg", timeout=15_000)  # vega-embed drew it
        page.screenshot(path=str(ARTIFACTS / f"{title.lower()}.png"), full_page=True)


def test_drill_down_and_period_change(page, live_server):
    page.goto(f"{live_server}/side/sager?period=2013")
    page.get_by_role("link", name="Socialforvaltningen").first.click()
    page.wait_for_url("**administration=SOF**")
    page.get_by_role("link", name="Handicapcenter København (HCK)").first.click()
    page.wait_for_url("**unit=HCK**")
    assert page.locator('[aria-current="location"]').inner_text() == \
        "Handicapcenter København (HCK)"
    assert page.get_by_role("rowheader", name="Handicapbiler (BIL)").count() >= 1
    page.select_option("#period", "2013-Q2")
    page.get_by_role("button", name="Vis").click()
    page.wait_for_url("**period=2013-Q2**")
    assert "unit=HCK" in page.url and "administration=SOF" in page.url
    page.get_by_role("link", name="Hele kommunen").click()
    page.wait_for_url("**/side/sager?period=2013-Q2")


def test_csv_download_equals_the_api(page, live_server):
    page.goto(f"{live_server}/side/klager?period=2013")
    with page.expect_download() as info:
        page.locator('#klager a[href*=".csv"]').click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0] == "Område" and rows[-1][0] == "Hele kommunen"
    total = rows[-1][1:]
    api = httpx.get(f"{live_server}/api/kpi/complaints_received",
                    params={"period": "2013"}).json()
    assert total[0] == "I alt" and int(total[1]) == api["rows"][0]["value"]


def test_keyboard_reaches_content_with_visible_focus(page, live_server):
    page.goto(f"{live_server}/?period=2013")
    page.keyboard.press("Tab")
    skip = page.locator(".skip")
    assert skip.evaluate("e => e === document.activeElement")
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    # the reason behind a "-" is reachable by keyboard, not only by mouse hover
    nodata = page.locator(".nodata").first
    nodata.focus()
    assert nodata.get_attribute("title")


def test_clicking_a_bar_drills_down_like_the_row_link(page, live_server):
    page.goto(f"{live_server}/side/sager?period=2013")
    # chart 0: deadline compliance per administration; its bars link where the rows link
    bar = page.locator('#chart-0 svg .mark-rect path[aria-label*="Socialforvaltningen"]')
    bar.wait_for(timeout=15_000)
    row_link = page.locator('#frister tbody th a', has_text="Socialforvaltningen")
    expected = row_link.get_attribute("href")
    assert expected and "administration=SOF" in expected
    bar.click()
    page.wait_for_url("**administration=SOF**")
    assert page.url.endswith(expected)
    assert page.locator('[aria-current="location"]').inner_text() == "Socialforvaltningen"
    # one level further: a centre's bar on SOF's page leads to that centre
    bar = page.locator('#chart-0 svg .mark-rect path[aria-label*="HCK"]')
    bar.wait_for(timeout=15_000)
    expected = page.locator('#frister tbody th a', has_text="HCK").get_attribute("href")
    bar.click()
    page.wait_for_url("**unit=HCK**")
    assert page.url.endswith(expected)
    # the age-band chart has no level below it: its bars do not navigate
    assert page.locator("#alder").count() == 1


def test_api_docs_render_from_vendored_files_only(page, live_server):
    """/docs (Swagger UI) draws the registry's endpoints without any request leaving
    loopback: municipal networks often have no internet."""
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((live_server, "data:")) else None)
    page.goto(f"{live_server}/docs")
    page.get_by_text("/api/kpi/{kpi_id}", exact=True).wait_for(timeout=15_000)
    assert outside == []


def test_a_chart_with_a_target_line_draws(page, live_server):
    page.goto(f"{live_server}/side/sager?period=2014&administration=SOF")
    page.wait_for_selector("#chart-0 svg", timeout=15_000)
    assert page.locator("#chart-0 svg text", has_text="Mål: 80,0 %").count() == 1


def test_a_chart_keeps_its_danish_name_after_vega_embed(page, live_server):
    """vega-embed names the chart's container "Vega visualization" (role graphics-document)
    when it draws; the page's Danish name and role img stay, for every chart."""
    page.goto(f"{live_server}/side/klager?period=2013")
    charts = page.locator(".chart > [id^=chart-]")
    page.wait_for_function("() => [...document.querySelectorAll('.chart > [id^=chart-]')]"
                           ".every(e => e.dataset.ready === 'true')", timeout=20_000)
    assert charts.count() >= 2
    for i in range(charts.count()):
        el = charts.nth(i)
        name = el.get_attribute("aria-label")
        assert name and "Vega" not in name and name.endswith("(tallene står i tabellerne)"), name
        assert el.get_attribute("role") == "img"
        assert el.get_attribute("aria-roledescription") is None
        assert el.locator("svg").get_attribute("aria-hidden") == "true"
    assert page.locator('[aria-label="Vega visualization"]').count() == 0
    name = "Klager i forhold til sagsmængde pr. forvaltning (%) (tallene står i tabellerne)"
    assert page.get_by_role("img", name=name, exact=True).count() == 1


def test_the_rapporter_page_shows_progress_while_a_pdf_is_made(page, live_server, tmp_path):
    """A PDF is made as a job: from the click until the file is saved the button reads
    "Laver rapporten …" with a spinner and is aria-busy, and a status line and a progress bar
    say how far the report is ("Beregner tal …", "Sætter siderne …"); then the file is saved
    under the server's name (inside the page's Content-Security-Policy)."""
    import json

    from playwright.sync_api import expect

    held = []  # the request that starts the job, held until the page has been seen busy
    page.route("**/rapporter/start?*", lambda route: held.append(route))
    polls, waiting = [], []

    def poll(route):  # the first answer about the job says "Sætter siderne … 72 %", and
        polls.append(route.request.url)  # the second waits until the page has been seen
        if len(polls) == 1:
            job_id = route.request.url.rsplit("/", 1)[1]
            route.fulfill(status=200, content_type="application/json", body=json.dumps({
                "id": job_id, "state": "running", "stage": "pages",
                "text": "Sætter siderne …", "percent": 72}))
        elif len(polls) == 2:
            waiting.append(route)
        else:
            route.continue_()

    page.route("**/rapporter/job/*", poll)
    page.goto(f"{live_server}/rapporter?period=2014")
    page.get_by_label("Rapport til Økonomiudvalget: klager og sagsmængde på tværs").check()
    page.get_by_label("Periode", exact=True).last.select_option("2014")
    button = page.locator("button.make-report")
    status = page.locator("#report-status")
    bar = page.locator("#report-progress")
    assert status.get_attribute("role") == "status"
    expect(bar).to_be_hidden()
    button.click()
    expect(button).to_have_attribute("aria-busy", "true")
    expect(button).to_have_text("Laver rapporten …")
    expect(page.locator("form.report")).to_have_attribute("aria-busy", "true")
    expect(button.locator(".spinner")).to_be_visible()
    expect(status).to_contain_text("Laver rapporten")
    expect(bar).to_be_visible()
    page.wait_for_timeout(100)
    assert len(held) == 1 and "format=pdf" in held[0].request.url
    button.click(force=True)  # a second click while busy (aria-disabled) starts no other
    page.wait_for_timeout(200)
    assert len(held) == 1
    with page.expect_download(timeout=60_000) as info:
        held[0].continue_()
        expect(status).to_have_text("Sætter siderne …")
        expect(bar).to_have_attribute("value", "72")
        expect(page.locator(".report-progress .percent")).to_have_text("72 %")
        for _ in range(100):
            if waiting:
                break
            page.wait_for_timeout(50)
        waiting[0].continue_()
    download = info.value
    assert download.suggested_filename == "oekonomiudvalg-2014-kommune.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    assert len(polls) >= 2  # the real answers followed the made-up one
    expect(button).to_have_attribute("aria-busy", "false")
    expect(button).to_have_text("Dan rapport")
    expect(button.locator(".spinner")).to_be_hidden()
    expect(bar).to_be_hidden()
    expect(status).to_have_text(
        "Rapporten er lavet og hentet: oekonomiudvalg-2014-kommune.pdf.")


def test_the_rapporter_page_shows_the_servers_danish_error(browser, live_server):
    """A report the server refuses (a Danish 400) leaves the page ready again, with the
    server's sentence in the status line. (Its own page: Chromium logs the 400 to the
    console, which the ``page`` fixture counts as an error.)"""
    ctx = browser.new_context(locale="da-DK")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.route("**/rapporter/start?*", lambda route: route.fulfill(
            status=400, content_type="application/json",
            body='{"error": "Ukendt periode \'2014-Q9\'."}'))
        page.goto(f"{live_server}/rapporter?period=2014")
        page.get_by_role("button", name="Dan rapport").click()
        status = page.locator("#report-status")
        status.filter(has_text="Ukendt periode '2014-Q9'.").wait_for(timeout=10_000)
        assert "error" in (status.get_attribute("class") or "")
        assert page.locator("button.make-report").get_attribute("aria-busy") == "false"
        assert page.url.endswith("/rapporter?period=2014")  # still on the page
    finally:
        ctx.close()
    assert errors == []


def test_the_rapporter_page_falls_back_to_the_direct_download(browser, live_server, tmp_path):
    """A job the server does not know when asked (another worker process answered, or it
    expired): the page makes the report once more by the direct download, and saves it. (Its
    own page: Chromium logs the 404 to the console.)"""
    ctx = browser.new_context(locale="da-DK", accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    direct = []
    page.on("request", lambda r: direct.append(r.url) if "/rapporter/hent?" in r.url else None)
    try:
        page.route("**/rapporter/job/*", lambda route: route.fulfill(
            status=404, content_type="application/json",
            body='{"error": "Findes ikke: Rapporten findes ikke."}'))
        page.goto(f"{live_server}/rapporter?period=2014")
        page.get_by_label("Excel (tal til videre beregning)").check()
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="Dan rapport").click()
        assert info.value.suggested_filename == "oekonomiudvalg-2014-kommune.xlsx"
        status = page.locator("#report-status")
        status.filter(has_text="Rapporten er lavet og hentet").wait_for(timeout=10_000)
        assert len(direct) == 1 and "format=xlsx" in direct[0]
        assert page.locator("#report-progress").is_hidden()
    finally:
        ctx.close()
    assert errors == []
