"""What a new user meets (issue 17, point 5): the Årshjul opens on the latest year with data in
the user's scope, and a role without concepts of its own gets a plain sentence, not a
command line."""

from __future__ import annotations

import re

import pytest

from ._access_helpers import secured_copy, signed_in_as

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def secured(demo_store, tmp_path_factory):
    with secured_copy(demo_store, tmp_path_factory.mktemp("first")) as (app, _):
        yield app, demo_store


def page(secured, role: str, scope: str, url: str) -> str:
    app, demo_store = secured
    r = signed_in_as(app, demo_store, role, scope).get(url)
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
