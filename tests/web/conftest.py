"""The web app over the demo store: in-process client and a live server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi.testclient import TestClient

from sagsindsigt.web import create_app

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="session")
def app(demo_store):
    return create_app(demo_store, warm=False, auth=False, secure_cookies=False)


def with_csrf(c: TestClient) -> TestClient:
    """A client that sends the session's CSRF token with every request, as the pages do."""
    html = c.get("/login").text
    c.headers["X-CSRF-Token"] = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return c


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as c:
        yield with_csrf(c)


@contextmanager
def serving(app):
    """Serve ``app`` with uvicorn on a free loopback port; yields the base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(app):
    with serving(app) as url:
        yield url
