"""The menu fits, for every role, on a laptop (1366×768) and a phone (390×844): every page of
the menu opens without scrolling sideways, the groups open as lists, and on a phone the menu
sits behind a "Menu" button. Signed in through the real sign-in page, in Chromium."""

from __future__ import annotations

import pytest

from . import test_browser
from ._access_helpers import PASSWORD, ROLES, secured_copy, user_name
from .conftest import serving

pytestmark = pytest.mark.xdist_group("demo")
browser = test_browser.browser
SIZES = {"laptop": (1366, 768), "phone": (390, 844)}


@pytest.fixture(scope="module")
def secured_url(demo_store, tmp_path_factory):
    with secured_copy(demo_store, tmp_path_factory.mktemp("nav")) as (app, _), \
            serving(app) as url:
        yield url


def signed_in_page(browser, url: str, role: str, size: str):
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="da-DK")
    page = ctx.new_page()
    page.goto(f"{url}/login")
    page.fill("#name", user_name(role, "BIF"))
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return ctx, page


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_menu_fits_the_screen(browser, secured_url, role, size):
    ctx, page = signed_in_page(browser, secured_url, role, size)
    try:
        links = page.locator("#menu a").evaluate_all("as => as.map(a => a.href)")
        assert links, "the menu is empty"
        wide = []
        for link in links:
            page.goto(link, wait_until="domcontentloaded")  # charts draw in boxes of their own
            over = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
            if over > 0:
                wide.append((link, over))
        assert not wide, f"{role} ({size}): sider bredere end skærmen {wide}"
    finally:
        ctx.close()


def test_the_menu_on_a_phone_and_on_a_laptop(browser, secured_url):
    ctx, page = signed_in_page(browser, secured_url, "admin", "phone")
    try:
        button = page.get_by_role("button", name="Menu")
        assert button.is_visible() and not page.locator("#menu").is_visible()
        button.click()
        assert page.locator("#menu").is_visible()
        assert button.get_attribute("aria-expanded") == "true"
        page.locator("#menu summary", has_text="Klager").click()
        page.get_by_role("link", name="Registrér klage").click()
        page.wait_for_url("**/klager/registrering")
    finally:
        ctx.close()
    ctx, page = signed_in_page(browser, secured_url, "leder", "laptop")
    try:
        assert not page.get_by_role("button", name="Menu").is_visible()
        top = page.locator("#menu > ul > li")
        boxes = [top.nth(i).bounding_box() for i in range(top.count())]
        tops = [b["y"] for b in boxes]
        assert max(tops) - min(tops) < 10  # one line
        group = page.locator("#menu summary", has_text="Kvalitet")
        group.click()
        assert page.get_by_role("link", name="Årshjul").is_visible()
        page.keyboard.press("Escape")
        assert not page.get_by_role("link", name="Årshjul").is_visible()
        # the group of the open page is marked, and the page itself in it
        page.goto(f"{secured_url}/kvalitet/aarshjul")
        assert page.locator("#menu details.current summary").inner_text().startswith(
            "Kvalitet")
    finally:
        ctx.close()
