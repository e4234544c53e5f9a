"""Data versions and batch ids (issue 20, points 7 and 10), on DuckDB and PostgreSQL.

A write bumps the version of the tables it changed, so a figure cache, in this process or in
another worker, drops just what read them: a complaint registration leaves the case figures
cached and the complaint figures right. Batch ids come from a sequence, and a primary key
refuses a second batch with an id already taken."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from sagsindsigt.access import SYSTEM, acting_as
from sagsindsigt.complaints import register
from sagsindsigt.ingest import import_file
from sagsindsigt.store import Store
from sagsindsigt.web.pages import Figures

from .test_migrations import CASE_TYPES, ORGANISATION

TODAY = date(2016, 1, 1)
CASES = ("case_id;administration;unit;case_type;received;decided;outcome\n"
         "1;SOF;HCK;A;03-02-2014;28-02-2014;afslag\n2;SOF;HCK;A;05-02-2014;;\n")
MORE_CASES = CASES + "3;SOF;HCK;A;07-03-2014;;\n"
COMPLAINT = {"administration": "SOF", "unit": "HCK", "received": "2014-03-03",
             "closed": "2014-03-20", "kind": "formalitet", "points": ["sagsbehandlingstid"],
             "channel": "email", "outcome": "medhold", "summary": "Ingen svar."}


def load(store: Store, tmp_path, cases: str = CASES) -> None:
    for kind, text in (("organisation", ORGANISATION), ("case_types", CASE_TYPES),
                       ("cases", cases)):
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        import_file(store, kind, tmp_path / f"{kind}.csv", covers="2014")


def value(fig: Figures, kpi: str) -> float:
    """The figure for 2014 (0 where the KPI says "ingen data")."""
    return fig.get(kpi, "2014").rows[0].value or 0


def test_a_registration_keeps_the_case_figures_and_renews_the_complaint_figures(store,
                                                                                 tmp_path):
    load(store, tmp_path)
    with acting_as(SYSTEM):
        fig = Figures(store)
        fig.refresh()
        cases, complaints = fig.get("cases_received", "2014"), fig.get("complaints_received",
                                                                         "2014")
        assert cases.rows[0].value == 2 and not complaints.rows[0].value
        before = store.data_version()
        register(store, COMPLAINT, "Hanne Hansen", today=TODAY)
        after = store.data_version()
        assert {n for n in after if after[n] != before[n]} == {
            "batches", "complaints", "complaints_history", "complaint_registrations"}
        fig.refresh()
        assert fig.get("cases_received", "2014") is cases  # still cached: not recomputed
        assert value(fig, "complaints_received") == 1  # recomputed, right
        assert value(fig, "complaint_rate") == 50.0
        load(store, tmp_path, MORE_CASES)  # an import of cases renews the case figures
        fig.refresh()
        assert fig.get("cases_received", "2014") is not cases
        assert value(fig, "cases_received") == 3
        assert value(fig, "complaint_rate") == pytest.approx(33.33, abs=0.01)


def test_a_write_by_another_worker_reaches_this_workers_cache(store, tmp_path):
    if store.backend != "postgres":
        pytest.skip("DuckDB has one writing process; workers share a PostgreSQL store")
    load(store, tmp_path)
    other = Store(store.url)  # a second worker's connection
    try:
        with acting_as(SYSTEM):
            fig = Figures(store)
            fig.refresh()
            cases = fig.get("cases_received", "2014")
            assert value(fig, "complaints_received") == 0
            register(other, COMPLAINT, "Hanne Hansen", today=TODAY)
            fig.refresh()
            assert fig.get("cases_received", "2014") is cases
            assert value(fig, "complaints_received") == 1
    finally:
        other.close()


def test_a_failed_write_bumps_nothing(store, tmp_path):
    load(store, tmp_path)
    before = store.data_version()
    with pytest.raises(RuntimeError), store.transaction():
        store.append("audit_events", [{"id": 1, "concept": "x", "round": "2014-Q1"}])
        raise RuntimeError("afbrudt")
    assert store.data_version() == before
    assert not store.has_rows("audit_events")


def test_batch_ids_come_from_a_sequence_and_are_a_key(store, tmp_path):
    load(store, tmp_path)
    top = store._engine.query("SELECT max(id) FROM batches")[0][0]
    assert store.next_batch_id() == top + 1
    with pytest.raises(Exception, match="(?i)duplicate|unique|constraint"), store.transaction():
        store.record_batch({"id": top, "kind": "cases", "source": "igen"}, None)
    assert store._engine.query("SELECT count(*) FROM batches")[0][0] == 3


def test_concurrent_writers_never_draw_the_same_batch_id(store):
    if store.backend != "postgres":
        pytest.skip("DuckDB has one writing process")
    stores = [Store(store.url) for _ in range(4)]
    drawn: list[int] = []
    lock = threading.Lock()

    def draw(s: Store) -> None:
        mine = [s.next_batch_id() for _ in range(50)]
        with lock:
            drawn.extend(mine)

    try:
        threads = [threading.Thread(target=draw, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in stores:
            s.close()
    assert len(drawn) == len(set(drawn)) == 200


def test_a_value_computed_across_a_write_is_used_once_not_kept(store, tmp_path):
    """Versions are read on a side connection, so a refresh can see a write while another
    request computes: what that request computed from the older data is not kept."""
    from sagsindsigt.web.pages import _MISSING

    load(store, tmp_path)
    with acting_as(SYSTEM):
        fig = Figures(store)
        fig.refresh()
        since = fig._version
        fig.refresh()  # nothing changed: the same versions, a value computed now is kept
        fig._keep(("kept",), "value", {"complaints"}, since)
        assert fig._cached(("kept",)) == "value"
        register(store, COMPLAINT, "Hanne Hansen", today=TODAY)
        fig.refresh()  # another request saw the registration meanwhile
        fig._keep(("old",), "value", {"complaints"}, since)
        assert fig._cached(("old",)) is _MISSING
