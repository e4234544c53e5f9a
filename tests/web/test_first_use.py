"""What a new user meets (issue 17, point 5): the Årshjul opens on the latest year with data in
the user's scope, and a role without concepts of its own gets a plain sentence, not a
command line."""

from __future__ import annotations

import re

import pytest

from sagsindsigt.web import create_app

from ._access_helpers import add_users, copy_of_demo, demo_secret, sign_in, user_name

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def secured(demo_store, tmp_path_factory):
    with demo_secret(demo_store):
        store = copy_of_demo(demo_store, tmp_path_factory.mktemp("first") / "demo.duckdb")
        add_users(store)
        app = create_app(store, warm=False, auth=True, secure_cookies=False)
    yield app, demo_store
    store.close()


def page(secured, role: str, scope: str, url: str) -> str:
    app, demo_store = secured
    with demo_secret(demo_store):
        c = sign_in(app, user_name(role, scope))
        r = c.get(url)
    assert r.status_code == 200, r.text[:300]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))


def test_aarshjul_opens_on_the_latest_year_with_data(secured):
    text = page(secured, "kvalitet", "BIF", "/kvalitet/aarshjul")
    assert "Årshjul for kvalitetsopfølgningen 2014" in text  # the demo ends in 2014, not today


def test_a_coordinator_without_concepts_gets_a_sentence_not_a_command(secured):
    text = page(secured, "kvalitet", "SOF", "/kvalitet/aarshjul")
    assert "Der er ingen kvalitetskoncepter for Socialforvaltningen (SOF) endnu" in text
    assert "Spørg jeres administrator" in text
    assert "sagsindsigt import" not in text
    admin = page(secured, "admin", "kommune", "/kvalitet/aarshjul")
    assert "sagsindsigt import concepts" in admin  # the one who can load them is told how


@pytest.mark.parametrize(("role", "scope", "whose"), [
    ("leder", "BIF", "Beskæftigelses- og Integrationsforvaltningen"),
    ("laeser", "JCA", "Jobcenter Amager"),
    ("admin", "kommune", "Hele kommunen")])
def test_the_first_screen_says_what_it_shows_and_for_whom(secured, role, scope, whose):
    text = page(secured, role, scope, "/")
    intro = text[text.index("Overblikket viser"):][:400]
    assert f"Overblikket viser, hvordan sagsbehandlingen går for {whose}" in intro, intro
    assert "inden for fristen" in intro and "klager" in intro
