"""Shared helpers of the access tests: a copy of the demo store the tests may write to, users
of every role and scope, and clients signed in through the real sign-in form."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from sagsindsigt import access
from sagsindsigt.access import users
from sagsindsigt.store import Store

PASSWORD = "rigtig-god-kode-2014"
ROLES = list(access.ROLES)
CENTER_OF_BIF = "JCA"  # Jobcenter Amager (checked against the tree in the fixture)
SCOPES = ["kommune", "BIF", "SOF", CENTER_OF_BIF]


@contextmanager
def demo_secret(demo_store):
    """The demo's pseudonymisation key as the process's key (the tests' own key differs)."""
    old = os.environ.get("SAGSINDSIGT_SECRET_FILE")
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(demo_store.secret_file)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SAGSINDSIGT_SECRET_FILE", None)
        else:
            os.environ["SAGSINDSIGT_SECRET_FILE"] = old


def copy_of_demo(demo_store, target: Path) -> Store:
    """A writable copy of the demo database: routes that change data (close a round, register
    a complaint) must not change the demo other tests read."""
    demo_store.engine.execute("CHECKPOINT")
    shutil.copy(demo_store.url, target)
    s = Store(str(target))
    s.secret_file = demo_store.secret_file
    return s


def user_name(role: str, scope: str) -> str:
    return f"{role}_{scope}".lower()


def add_users(store) -> None:
    for role in ROLES:
        for scope in SCOPES:
            if users.get(store, user_name(role, scope)) is None:
                users.add(store, user_name(role, scope), role, scope, PASSWORD)


def csrf_of(c: TestClient) -> str:
    html = c.get("/login").text
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def sign_in(app, name: str, password: str = PASSWORD) -> TestClient:
    """A client signed in through the /login form; it sends the session's CSRF token as a
    header afterwards, as the pages' script does."""
    c = TestClient(app, follow_redirects=False)
    token = csrf_of(c)
    r = c.post("/login", data={"name": name, "password": password, "next": "/",
                               "csrf_token": token})
    assert r.status_code == 303, (name, r.status_code, r.text[:300])
    c.headers["X-CSRF-Token"] = csrf_of(c)
    return c
