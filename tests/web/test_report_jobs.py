"""Reports made in the background (issue 16): the Rapporter page starts a job, follows its
progress and fetches the file, through the real app with sign-in over a copy of the demo.
The job is its owner's: nobody else learns that it exists."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest

from sagsindsigt.access import SYSTEM, access_log
from sagsindsigt.web.report_jobs import Busy, ReportJobs

from ._access_helpers import secured_copy, sign_in, user_name

pytestmark = pytest.mark.xdist_group("demo")
JSON = {"Accept": "application/json"}
ASK = {"kind": "kvartal", "period": "2014-Q2", "administration": "BIF", "format": "pdf"}


@pytest.fixture(scope="module")
def secured(demo_store, tmp_path_factory):
    with secured_copy(demo_store, tmp_path_factory.mktemp("jobs")) as (app, store):
        yield app, store


@pytest.fixture(scope="module")
def users(secured, demo_store):
    """Signed-in clients: two people of the same role and scope (the second one added
    here), one of another administration, and one of the whole municipality."""
    from sagsindsigt.access import users as user_store

    from ._access_helpers import PASSWORD, demo_secret

    app, store = secured
    with demo_secret(demo_store):
        user_store.add(store, "leder_bif_2", "leder", "BIF", PASSWORD)
        out = {"bif": sign_in(app, user_name("leder", "BIF")),
               "bif2": sign_in(app, "leder_bif_2"),
               "sof": sign_in(app, user_name("leder", "SOF")),
               "kommune": sign_in(app, user_name("leder", "kommune"))}
    yield out
    for c in out.values():
        c.close()


def follow(c, started: dict, timeout: float = 120) -> tuple[dict, list[dict]]:
    """Ask about the job until it is done or failed: (last status, every status seen)."""
    seen = [started]
    end = time.monotonic() + timeout
    while seen[-1]["state"] == "running":
        assert time.monotonic() < end, seen[-1]
        time.sleep(0.05)
        r = c.get(f"/rapporter/job/{started['id']}", headers=JSON)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
        seen.append(r.json())
    return seen[-1], seen


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, check=True,
                          capture_output=True).stdout.decode()


def test_a_report_is_made_with_progress_and_fetched_by_its_owner(secured, users):
    c = users["bif"]
    r = c.get("/rapporter/start", params=ASK, headers=JSON)
    assert r.status_code == 202, r.text
    started = r.json()
    assert r.headers["location"] == f"/rapporter/job/{started['id']}"
    assert started["state"] == "running" and len(started["id"]) >= 24
    assert started["text"] in ("Venter på tur …", "Beregner tal …")
    last, seen = follow(c, started)
    assert last["state"] == "done", last
    assert last["percent"] == 100 and last["text"] == "Rapporten er klar."
    assert last["filename"] == "kvartal-2014-Q2-BIF.pdf"
    assert last["file"] == f"/rapporter/job/{started['id']}/fil"
    percents = [s["percent"] for s in seen]
    assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents)
    texts = {s["text"] for s in seen}
    assert texts <= {"Venter på tur …", "Beregner tal …", "Tegner diagrammer …",
                     "Sætter siderne …", "Rapporten er klar."}
    f = c.get(last["file"])
    assert f.status_code == 200 and f.content.startswith(b"%PDF")
    assert f.headers["content-type"] == "application/pdf"
    assert f.headers["content-disposition"] == 'attachment; filename="kvartal-2014-Q2-BIF.pdf"'
    # the same report as the direct download (the page without JavaScript), figure for figure
    direct = c.get("/rapporter/hent", params=ASK)
    assert direct.status_code == 200
    if shutil.which("pdftotext"):
        assert pdf_text(f.content) == pdf_text(direct.content)
        assert "Forvaltning: Beskæftigelses- og Integrationsforvaltningen" in " ".join(
            pdf_text(f.content).split())
    # fetched again within its time: the same file
    assert c.get(last["file"]).content == f.content


def test_nobody_else_sees_the_job_or_its_file(secured, users):
    owner = users["bif"]
    started = owner.get("/rapporter/start", params=ASK, headers=JSON).json()
    last, _ = follow(owner, started)
    assert last["state"] == "done"
    for who in ("bif2", "sof", "kommune"):  # same role and scope, another area, everything
        c = users[who]
        for url in (f"/rapporter/job/{started['id']}", last["file"]):
            r = c.get(url, headers=JSON)
            assert r.status_code == 404, (who, url, r.status_code)
            assert "findes ikke" in r.json()["error"] and "%PDF" not in r.text
            assert "kvartal-2014-Q2-BIF" not in r.text
    assert owner.get(last["file"]).status_code == 200  # still there for its owner


def test_a_job_outside_the_scope_or_with_a_bad_parameter_is_refused_in_danish(secured,
                                                                               users):
    app, _ = secured
    before = len(app.state.report_jobs)
    sof = users["sof"]
    r = sof.get("/rapporter/start", params=ASK, headers=JSON)  # BIF's report, from SOF
    assert r.status_code == 403 and r.json()["error"].startswith("Ingen adgang")
    bad = users["bif"].get("/rapporter/start", params={**ASK, "period": "2014-Q9"},
                           headers=JSON)
    assert bad.status_code == 400 and "Ukendt periode '2014-Q9'" in bad.json()["error"]
    fmt = users["bif"].get("/rapporter/start", params={**ASK, "format": "doc"}, headers=JSON)
    assert fmt.status_code == 400 and "pdf, xlsx eller html" in fmt.json()["error"]
    low = users["bif"].get("/rapporter/start", params={**ASK, "threshold": "0"}, headers=JSON)
    assert low.status_code == 400 and "mindst 1" in low.json()["error"]
    kind = users["bif"].get("/rapporter/start", params={**ASK, "kind": "x<b>"}, headers=JSON)
    assert kind.status_code == 404 and "findes ikke" in kind.json()["error"]
    page = users["bif"].get("/rapporter/start", params={**ASK, "kind": "<b>x</b>"},
                            headers={"Accept": "text/html"})
    assert page.status_code == 404 and "<b>x</b>" not in page.text  # escaped on the page
    assert "&lt;b&gt;x&lt;/b&gt;" in page.text
    assert len(app.state.report_jobs) == before  # no job was started


def test_starting_a_job_is_in_the_access_log(secured, users):
    _, store = secured
    c = users["kommune"]
    started = c.get("/rapporter/start", params={**ASK, "format": "xlsx"}, headers=JSON).json()
    last, _ = follow(c, started)
    assert last["state"] == "done" and last["filename"].endswith(".xlsx")
    assert c.get(last["file"]).status_code == 200
    mine = [e for e in access_log.entries(store, limit=100000)
            if e.actor == user_name("leder", "kommune")]
    start = [e for e in mine if e.object == "GET /rapporter/start"]
    assert start and json.loads(start[-1].filters)["kind"] == "kvartal"
    assert start[-1].action == "rapport" and start[-1].outcome == "202"
    assert any(e.action == "download" and e.object == f"GET {last['file']}" for e in mine)


def test_the_page_without_javascript_still_downloads_directly(users):
    html = users["bif"].get("/rapporter").text
    assert '<form class="report" method="get" action="/rapporter/hent"' in html
    assert 'data-start="/rapporter/start"' in html and "/static/reports.js" in html
    assert '<progress id="report-progress" max="100" value="0"' in html


# -- the jobs themselves: bounded, expiring, private ----------------------------------------

def _slow(gate: threading.Event):
    def make(progress):
        progress("figures", 0.5)
        gate.wait(10)
        return b"%PDF-fake"
    return make


def _wait(job, timeout=10):
    end = time.monotonic() + timeout
    while job.finished is None:
        assert time.monotonic() < end
        time.sleep(0.01)


def test_jobs_are_bounded_per_person_and_in_all():
    from dataclasses import replace

    jobs = ReportJobs(workers=2, max_kept=3, per_person=2)
    gate = threading.Event()
    a1 = jobs.start(SYSTEM, "pdf", "a.pdf", _slow(gate))
    a2 = jobs.start(SYSTEM, "pdf", "b.pdf", _slow(gate))
    with pytest.raises(Busy, match="allerede 2 rapporter i gang"):
        jobs.start(SYSTEM, "pdf", "c.pdf", _slow(gate))
    other = replace(SYSTEM, name="en-anden")
    o1 = jobs.start(other, "xlsx", "o.xlsx", _slow(gate))
    with pytest.raises(Busy, match="mange rapporter lige nu"):  # three held, none finished
        jobs.start(replace(SYSTEM, name="en-tredje"), "pdf", "t.pdf", _slow(gate))
    assert jobs.find(a1.id, SYSTEM).status()["stage"] in ("queued", "figures")
    gate.set()
    for j in (a1, a2, o1):
        _wait(j)
    assert jobs.find(a1.id, SYSTEM).status()["state"] == "done"
    assert jobs.find(o1.id, SYSTEM) is None and jobs.find(a1.id, other) is None
    # at the limit the oldest finished job makes room for a new one
    n = jobs.start(SYSTEM, "pdf", "n.pdf", lambda progress: b"%PDF")
    _wait(n)
    assert len(jobs) == 3 and jobs.find(a1.id, SYSTEM) is None
    assert jobs.find(n.id, SYSTEM).data == b"%PDF"


def test_finished_jobs_expire_and_failures_say_so_in_danish():
    from sagsindsigt.kpis import KpiUsageError

    jobs = ReportJobs(workers=1, keep=0.05)

    def fails(progress):
        raise KpiUsageError("Der er ingen tal for perioden.")

    def breaks(progress):
        raise RuntimeError("intern detalje")

    f, b = jobs.start(SYSTEM, "pdf", "f.pdf", fails), jobs.start(SYSTEM, "pdf", "b.pdf", breaks)
    _wait(f)
    _wait(b)
    assert jobs.find(f.id, SYSTEM).status()["error"] == "Der er ingen tal for perioden."
    broken = jobs.find(b.id, SYSTEM).status()
    assert broken["state"] == "error" and "intern detalje" not in json.dumps(broken)
    assert "fejl på serveren" in broken["error"]
    time.sleep(0.1)
    assert jobs.find(f.id, SYSTEM) is None and len(jobs) == 0
