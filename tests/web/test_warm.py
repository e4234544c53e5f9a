"""The background warm-up: which views it prepares, and that it computes nothing while a
request is being served (so it never slows down a visitor)."""

from __future__ import annotations

import threading
import time

import pytest

from sagsindsigt.web import app as web_app
from sagsindsigt.web import pages
from sagsindsigt.web.pages import Figures, Filters
from sagsindsigt.web.views import VIEWS

pytestmark = pytest.mark.xdist_group("demo")


def test_warm_plan_covers_every_page_then_the_drill_down(demo_store):
    plan = list(web_app._warm_plan(Figures(demo_store), "2014"))
    assert plan[:len(VIEWS)] == [(slug, Filters("2014")) for slug in VIEWS]
    for step in (("overblik", Filters("2014", "BIF")), ("klager", Filters("2014", "SOF")),
                 ("sager", Filters("2014", "SOF", "HCK"))):
        assert step in plan, step
    assert sum(1 for slug, f in plan if slug == "sager" and f.administration == "BIF"
               and f.unit) > 1  # each of BIF's centres
    assert len(plan) == len(set(plan))


@pytest.fixture
def computed(monkeypatch):
    """The KPIs computed (on any connection), with the warm-up limited to one page."""
    seen: list[str] = []
    real = pages.compute

    def counting(store, q):
        seen.append(q.kpi)
        return real(store, q)

    monkeypatch.setattr(pages, "compute", counting)
    monkeypatch.setattr(web_app, "_warm_plan",
                        lambda fig, period: [("kvalitet", Filters(period))])
    return seen


def test_warm_up_yields_to_requests_and_fills_the_cache(demo_store, computed):
    fig = Figures(demo_store)
    with fig.serving():  # a request is being served: the warm-up computes nothing
        warm = threading.Thread(target=web_app._warm, args=(fig,))
        warm.start()
        time.sleep(1.5)
        assert computed == [] and warm.is_alive()
    warm.join(timeout=300)
    assert not warm.is_alive() and "audit_correct_rate" in computed
    computed.clear()
    VIEWS["kvalitet"](fig, Filters(fig.memo(("default_period",), lambda: "")))
    assert computed == []  # the visitor finds every figure ready


def test_a_request_after_the_warm_up_never_waits_for_itself(demo_store, computed):
    """Regression: the warm-up was recognised by its thread ident, which a later request's
    worker thread can reuse; such a request then waited for itself forever."""
    fig = Figures(demo_store)
    warm = threading.Thread(target=web_app._warm, args=(fig,))
    warm.start()
    warm.join(timeout=300)
    assert fig.background is None
    done: list[object] = []

    def request():
        with fig.serving():  # as the middleware does
            done.append(fig.get("complaint_rate", "2013", ["administration"]))

    t = threading.Thread(target=request)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive() and len(done) == 1


def test_the_app_says_it_is_ready_after_the_first_pages_are_read(demo_store, computed,
                                                                  monkeypatch):
    """`serve` prints "kører på" only when requests are answered: the app calls ``ready``
    after its warm-up (which may compute for minutes on a lake or after an upgrade)."""
    from fastapi.testclient import TestClient

    events: list[str] = []
    real = web_app._warm

    def warm(fig, public=None):
        real(fig, public)
        events.append("warm")

    monkeypatch.setattr(web_app, "_warm", warm)
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))
    app = web_app.create_app(demo_store, ready=lambda: events.append("ready"))
    with TestClient(app) as client:
        assert events == ["warm", "ready"]
        assert client.get("/login").status_code == 200
