"""The nightly import job: a file posted to /api/import/{kind} with an API token goes through
the real importer, on DuckDB and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sagsindsigt.access import access_log, tokens
from sagsindsigt.web import create_app

GOOD = ("case_id;administration;unit;case_type;received;decided\n"
        "1;SOF;SCK;A;2014-02-01;2014-02-10\n2;BIF;JCA;B;2014-02-03;\n")
CASE_TYPES = "code;name;administration\nA;Enkeltydelse;SOF\nB;Kontanthjælp;BIF\n"


@pytest.fixture
def app(store):
    return create_app(store, warm=False, auth=True, secure_cookies=False)


def post(c, token, kind="cases", text=GOOD, **form):
    return c.post(f"/api/import/{kind}", headers={"Authorization": f"Bearer {token}"},
                  files={"file": ("sager-2014.csv", text.encode("utf-8"), "text/csv")},
                  data={"covers": "2014", **form})


def test_a_token_imports_a_file_like_the_cli(app, store):
    admin = tokens.create(store, "natligt-import", "admin", "kommune")
    reader = tokens.create(store, "bi", "laeser", "BIF")
    with TestClient(app) as c:
        assert post(c, admin, kind="case_types", text=CASE_TYPES).status_code == 200
        r = post(c, admin)
        assert r.status_code == 200, r.text
        assert (r.json()["rows_loaded"], r.json()["status"]) == (2, "indlæst")
        assert r.json()["warnings"] == []
        assert post(c, admin).json()["status"] == "allerede indlæst"
        got = c.get("/api/kpi/cases_received", params={"period": "2014", "by": "administration"},
                    headers={"Authorization": f"Bearer {admin}"}).json()
        assert {r["administration"]: r["value"] for r in got["rows"] if r["value"]} == {
            "SOF": 1, "BIF": 1}
        api = c.get("/api/kpi", headers={"Authorization": f"Bearer {admin}"})
        assert "set-cookie" not in api.headers  # a machine gets no session
        # a BIF reader's token sees BIF only, and may not import
        mine = c.get("/api/kpi/cases_received", params={"period": "2014"},
                     headers={"Authorization": f"Bearer {reader}"}).json()
        assert mine["rows"][0]["value"] == 1
        assert post(c, reader).status_code == 403
        assert c.post("/api/import/cases", files={"file": ("x.csv", b"a", "text/csv")}
                      ).status_code == 401
        assert post(c, admin, kind="sagerne").status_code == 400
        cpr = "".join(["0101", "80", "-", "1234"])
        bad = post(c, admin, text=GOOD.replace("2014-02-03", cpr))
        assert bad.status_code == 422 and bad.json()["rows_rejected"] == 1
        assert cpr not in bad.text
    with store.lock:  # the app computes the new figures in the background on this connection
        log = {(e.actor, e.outcome) for e in access_log.entries(store)
               if e.action == "ændring"}
    assert {("token:natligt-import", "200"), ("token:natligt-import", "422"),
            ("token:bi", "nægtet")} <= log


def test_an_upload_over_the_size_limit_answers_413(app, store, monkeypatch):
    """The upload is copied in 1 MB pieces and refused past the limit, not read whole."""
    monkeypatch.setenv("SAGSINDSIGT_IMPORT_MAX_FILE_MB", "1")
    admin = tokens.create(store, "natligt-import", "admin", "kommune")
    big = GOOD + "3;SOF;SCK;A;2014-02-01;\n" * 60_000  # 1,4 MB
    with TestClient(app) as c:
        r = post(c, admin, text=big)
        assert r.status_code == 413
        assert r.json() == {"error": (
            "For stor fil: Filen sager-2014.csv er større end de 1 MB, som højst kan indlæses "
            "på én gang (SAGSINDSIGT_IMPORT_MAX_FILE_MB); del den op i flere filer.")}
        assert post(c, admin, kind="case_types", text=CASE_TYPES).status_code == 200
    with store.lock:
        assert store._engine.query(
            "SELECT count(*) FROM batches WHERE kind = 'cases'")[0][0] == 0


def test_a_token_for_one_administration_imports_only_its_own_rows(app, store):
    """The one write rule (``Principal.require_within``) holds for imports by token: a row
    outside the token's scope is rejected with its field and a reason, the rest is loaded."""
    whole = tokens.create(store, "natligt-import", "admin", "kommune")
    bif = tokens.create(store, "bif-import", "admin", "BIF")
    with TestClient(app) as c:
        assert post(c, whole, kind="case_types", text=CASE_TYPES).status_code == 200
        # case types are a whole administration's: SOF's row is outside BIF's scope
        r = post(c, bif, kind="case_types", text=CASE_TYPES + "C;Ny;SOF\n",
                 covers=None)
        assert r.status_code == 422, r.text
        r = post(c, bif)
        assert r.status_code == 422, r.text
        body = r.json()
        assert (body["rows_loaded"], body["rows_rejected"]) == (1, 1)
        assert [{k: r[k] for k in ("row", "field", "value", "reason")}
                for r in body["rejects"]] == [{
            "row": 2, "field": "administration", "value": "SOF",
            "reason": "forvaltning (administration) ligger uden for dit område (BIF); du kan "
                      "kun indlæse data for dit eget område"}]
        got = c.get("/api/kpi/cases_received", params={"period": "2014", "by": "administration"},
                    headers={"Authorization": f"Bearer {whole}"}).json()
        assert {r["administration"]: r["value"] for r in got["rows"] if r["value"]} == {"BIF": 1}
