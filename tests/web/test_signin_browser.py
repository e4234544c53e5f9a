"""Signing in with a real browser (Chromium): the sign-in page, the session cookie, the user
box, a form with its CSRF token, and signing out."""

from __future__ import annotations

import pytest

from sagsindsigt.access import users
from sagsindsigt.web import create_app

from .conftest import serving
from .test_browser import browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.xdist_group("demo")
PASSWORD = "en-lang-adgangskode"


@pytest.fixture(scope="module")
def signed_server(demo_store):
    for name, role, scope in [("b-leder", "leder", "BIF"), ("b-laeser", "laeser", "JCA")]:
        if users.get(demo_store, name) is None:
            users.add(demo_store, name, role, scope, PASSWORD)
    app = create_app(demo_store, warm=False, auth=True, secure_cookies=False)
    with serving(app) as url:
        yield url


@pytest.fixture
def page(browser):  # noqa: F811
    """A page whose console must stay clean, except the 401 and 403 this test provokes."""
    ctx = browser.new_context(locale="da-DK")
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and not any(
        f"status of {c}" in m.text for c in (401, 403)) else None)
    yield pg
    ctx.close()
    assert errors == [], errors


def sign_in(page, url, name, password=PASSWORD):  # noqa: F811
    page.goto(f"{url}/side/sager?period=2013")
    assert "/login" in page.url  # sent to the sign-in page, with the way back
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_sign_in_see_own_scope_and_sign_out(page, signed_server):  # noqa: F811
    sign_in(page, signed_server, "b-leder")
    assert "/side/sager" in page.url and "period=2013" in page.url
    box = page.locator("header .who").inner_text()
    assert "b-leder" in box and "Leder" in box
    # the leader of BIF is not offered Socialforvaltningen's rows
    body = page.locator("main").inner_text()
    assert "Beskæftigelses- og Integrationsforvaltningen" in body
    assert "Socialforvaltningen" not in body
    # a form of the app posts with its CSRF token: the target form saves or explains
    page.goto(f"{signed_server}/maaltal/nyt")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token and token != "__CSRF__"
    page.click("header .who button")
    assert "/login" in page.url
    page.goto(f"{signed_server}/side/sager")
    assert "/login" in page.url  # the session is gone


def test_wrong_password_and_role_without_access(page, signed_server):  # noqa: F811
    sign_in(page, signed_server, "b-laeser", "forkert-kode-her")
    assert "Forkert brugernavn eller adgangskode" in page.locator(".error").inner_text()
    page.fill("#name", "b-laeser")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert "Registrér klage" not in page.locator("header nav").inner_text()
    r = page.goto(f"{signed_server}/klager/registrering")
    assert r.status == 403 and "Ingen adgang" in page.content()
