"""A connection pool per worker on PostgreSQL (issue 16, point 3): a request that computes
a figure does not queue behind another holding the app's connection."""

from __future__ import annotations

import threading

import pytest

from sagsindsigt.access import SYSTEM, acting_as
from sagsindsigt.web.pages import Figures

from ..conftest import make_store
from ..store.test_data_versions import load


@pytest.fixture
def pg(tmp_path):
    s, close = make_store("postgres", tmp_path)
    yield s
    close()


def test_a_figure_is_computed_while_the_apps_connection_is_busy(pg, tmp_path):
    load(pg, tmp_path)
    fig = Figures(pg, pool=2)
    busy, done = threading.Event(), threading.Event()

    def long_request():
        with fig.lock:  # a request holding the app's one connection
            busy.set()
            done.wait(60)

    t = threading.Thread(target=long_request)
    t.start()
    busy.wait(10)
    try:
        with acting_as(SYSTEM):
            got = fig.get("cases_received", "2014")  # would wait 60 s without the pool
        assert got.rows[0].value == 2 and not done.is_set()
        assert len(fig._extra) == 1 and fig._extra[0] is not pg
    finally:
        done.set()
        t.join()
        fig.close()
    assert fig._extra == []


def test_duckdb_has_one_connection(duck):
    fig = Figures(duck, pool=4)
    assert fig._pool == 1
