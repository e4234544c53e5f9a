"""Twenty users signed in at once on PostgreSQL, for 30 seconds (SAGSINDSIGT_LOAD_SECONDS),
over pages, API calls and downloads: no request may fail. Speed is measured in bench/."""

from __future__ import annotations

import os

import pytest

from sagsindsigt.store.reads import latest_year as default_period
from sagsindsigt.web import create_app

from ..conftest import PG_ADMIN, make_store, pg_available
from .conftest import serving
from .load_scenario import add_load_users, run

CLIENTS = 20


def test_twenty_signed_in_users_on_postgresql(tmp_path):
    if not pg_available():
        pytest.skip(f"PostgreSQL svarer ikke på {PG_ADMIN}: belastningstesten springes over.")
    from sagsindsigt.demo import build_demo

    store, close = make_store("postgres", tmp_path)
    try:
        build_demo(store, years=1, seed=2014, echo=lambda _: None)
        names = add_load_users(store, CLIENTS)
        period = default_period(store)
        app = create_app(store, warm=False, auth=True, secure_cookies=False)
        seconds = float(os.environ.get("SAGSINDSIGT_LOAD_SECONDS", "30"))
        with serving(app) as base:
            res = run(base, names, period, seconds)
        print(f"\n{res.requests} forespørgsler på {res.seconds:.1f} s: {res.rate:.1f} pr. s, "
              f"p50 {res.percentile(0.5) * 1000:.0f} ms, p95 {res.percentile(0.95) * 1000:.0f} "
              f"ms, {len(res.errors)} fejl")
        assert res.requests > CLIENTS
        assert not res.errors, res.errors[:10]
    finally:
        close()
