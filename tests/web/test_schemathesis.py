"""Property-based requests from the app's own OpenAPI description (schemathesis): whatever the
API is sent, signed in with an admin API token, it never answers with a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from sagsindsigt.access import tokens
from sagsindsigt.web import create_app

from ._access_helpers import copy_of_demo, demo_secret

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="session")
def _fuzz_app(demo_store, tmp_path_factory):
    """The app with auth on over a writable copy of the demo (the API registers complaints),
    and an admin token."""
    with demo_secret(demo_store):
        store = copy_of_demo(demo_store, tmp_path_factory.mktemp("fuzz") / "demo.duckdb")
        token = tokens.create(store, "schemathesis", "admin", "kommune")
        app = create_app(store, warm=False, auth=True, secure_cookies=False)
    yield app, token
    store.close()


@pytest.fixture(autouse=True)
def _demo_key(demo_store, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))


def test_no_server_errors(_fuzz_app):
    """Every operation of /openapi.json, 25 generated requests each (schemathesis'
    strategies driven by hypothesis)."""
    from hypothesis import given

    app, token = _fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) >= 5
    for op in ops:
        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.path, case.query,
                                                case.body, response.text[:500])
            assert response.status_code not in (401, 403), response.text[:200]

        check()


def test_without_a_token_the_api_answers_401(_fuzz_app):
    from fastapi.testclient import TestClient

    app, _ = _fuzz_app
    with TestClient(app) as c:
        assert c.get("/api/kpi").status_code == 401
        assert c.get("/api/kpi", headers={"Authorization": "Bearer ssi_forkert_x"}
                     ).status_code == 401
