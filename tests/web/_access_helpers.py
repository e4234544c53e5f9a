"""Shared helpers of the access tests: a copy of the demo store the tests may write to, users
of every role and scope, and clients signed in through the real sign-in form."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
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
    demo_store._engine.execute("CHECKPOINT")
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


@contextmanager
def secured_copy(demo_store, directory: Path):
    """``(app, store)``: the app with sign-in over a writable copy of the demo that has a
    user for every role and scope; the demo's key is in effect until the block ends."""
    from sagsindsigt.web import create_app

    with demo_secret(demo_store):
        store = copy_of_demo(demo_store, directory / "demo.duckdb")
        add_users(store)
        app = create_app(store, warm=False, auth=True, secure_cookies=False)
        try:
            yield app, store
        finally:
            store.close()


def signed_in_as(app, demo_store, role: str, scope: str) -> TestClient:
    """A client of the user for ``role`` and ``scope`` (``add_users``), signed in."""
    with demo_secret(demo_store):
        return sign_in(app, user_name(role, scope))


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


# -- planted foreign units -------------------------------------------------------------------
@dataclass(frozen=True)
class PlantedUnit:
    """A centre added to a copy of the demo, with data no real unit has: its name, its code
    and its case and complaint ids cannot turn up on a page by chance."""

    code: str
    name: str
    administration: str
    case_type: str  # an existing case type of the administration
    cases: int  # cases received in 2013 (>= 1000: a figure that stands out)
    complaints: int  # complaints received in 2013
    prefix: str  # of its case ids (PREFIX-S-2013-0001) and complaint ids (PREFIX-K-2013-001)

    def case_id(self, i: int) -> str:
        return f"{self.prefix}-S-2013-{i:04d}"

    def complaint_id(self, i: int) -> str:
        return f"{self.prefix}-K-2013-{i:03d}"

    @property
    def registered_id(self) -> str:
        """The complaint registered through the form (see register_planted_complaints)."""
        return f"{self.prefix}-K-2014-901"


PLANTED = (PlantedUnit("ZQX", "Zulu-centret", "SOF", "ENK", 1237, 41, "ZULU"),
           PlantedUnit("ZQY", "Yankee-centret", "BIF", "KH", 1163, 37, "YANKEE"))


def plant_units(store, workdir: Path, units=PLANTED) -> None:
    """Import the planted centres into ``store`` (a copy of the demo), as the importer takes
    them: the organisation rows first, then 2013's cases and complaints of existing case
    types, each kind as a source of its own (the demo's sources are left as they are)."""
    import csv
    from datetime import date, timedelta

    from sagsindsigt.ingest import import_file

    def write(name: str, rows: list[dict]) -> Path:
        path = workdir / name
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";")
            w.writeheader()
            w.writerows(rows)
        return path

    def load(kind: str, path: Path, **kw) -> None:
        r = import_file(store, kind, path, **kw)
        assert r.status == "indlæst" and not r.rows_rejected, (kind, r.as_dict())

    workdir.mkdir(parents=True, exist_ok=True)
    load("organisation", write("plantet-organisation.csv", [
        {"code": u.code, "name": u.name, "parent": u.administration, "level": "center"}
        for u in units]), source="plantet-organisation")
    start = date(2013, 1, 1)
    cases, complaints = [], []
    for u in units:
        for i in range(1, u.cases + 1):
            received = start + timedelta(days=(i * 7) % 360)
            cases.append({"case_id": u.case_id(i), "administration": u.administration,
                          "unit": u.code, "case_type": u.case_type,
                          "received": received.isoformat(),
                          "decided": (received + timedelta(days=3 + i % 20)).isoformat(),
                          "outcome": ("bevilget", "afslag", "delvist_bevilget")[i % 3],
                          "complete_on_receipt": "ja" if i % 4 else "nej"})
        for i in range(1, u.complaints + 1):
            received = start + timedelta(days=(i * 9) % 350)
            complaints.append({
                "complaint_id": u.complaint_id(i), "administration": u.administration,
                "unit": u.code, "case_type": u.case_type, "case_id": u.case_id(i),
                "received": received.isoformat(),
                "closed": (received + timedelta(days=5 + i % 9)).isoformat(),
                "kind": ("realitet", "formalitet", "begge")[i % 3],
                "points": "begrundelse|partshoering" if i % 2 else "",
                "channel": "email", "via": "forvaltning",
                "strengthened_contact": "ja" if i % 3 == 0 else "nej",
                "resolved_at_contact": "ja" if i % 6 == 0 else "nej",
                "outcome": ("medhold", "ikke_medhold", "delvis_medhold")[i % 3],
                "summary": f"Borgeren klager over afslag og begrundelse i {u.name}"})
    load("cases", write("plantet-sager.csv", cases), source="plantet-sager", covers="2013")
    load("complaints", write("plantet-klager.csv", complaints), source="plantet-klager",
         covers="2013")


def register_planted_complaints(store, units=PLANTED) -> None:
    """One complaint per planted centre registered as the complaint form does (it shows in
    the form's list of recent registrations), as the system."""
    from sagsindsigt import complaints
    from sagsindsigt.access import SYSTEM, acting_as

    with acting_as(SYSTEM):
        for u in units:
            complaints.register(store, {
                "complaint_id": u.registered_id,
                "administration": u.administration, "unit": u.code, "case_type": u.case_type,
                "received": "2014-06-02", "closed": "2014-06-20", "kind": "begge",
                "points": ["begrundelse"], "channel": "telefon", "outcome": "delvis_medhold",
                "summary": f"Registreret i {u.name}"}, "plantet")
