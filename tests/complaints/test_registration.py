"""Complaint registration on DuckDB and PostgreSQL: the importer's validation, versions with
who/when/what, CPR masking, and concurrent writers stored exactly once."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from sagsindsigt.complaints import (
    NotFound,
    RegistrationError,
    current,
    edit,
    history,
    register,
)
from sagsindsigt.kpis import Query, compute
from sagsindsigt.store import Store

TODAY = date(2016, 1, 1)
GOOD = {"administration": "SOF", "unit": "HCK", "received": "2014-03-03", "closed": "2014-03-20",
        "kind": "formalitet", "points": ["sagsbehandlingstid", "partshoering"],
        "channel": "email", "strengthened_contact": True, "resolved_at_contact": True,
        "outcome": "medhold",
        "summary": "Borgeren (cpr 010170-1234) fik ikke svar; ringede og løste sagen."}


def test_register_validates_masks_and_counts(store):
    r = register(store, GOOD, "Hanne Hansen", today=TODAY)
    assert r.complaint_id == "KL-SOF-2014-0001" and r.version == 1 and r.action == "oprettet"
    row = current(store, r.complaint_id)
    assert row["points"] == "sagsbehandlingstid|partshoering"
    assert row["strengthened_contact"] is True and row["via"] == "forvaltning"
    assert "010170-1234" not in row["summary"] and "cpr" in row["summary"]
    # the registration counts like any imported complaint
    res = compute(store, Query.make("complaints_received", "2014", [], ["administration=SOF"]))
    assert res.rows[0].value == 1
    r2 = register(store, {**GOOD, "received": "2014-05-01", "closed": None}, "Hanne Hansen",
                  today=TODAY)
    assert r2.complaint_id == "KL-SOF-2014-0002"


def test_the_importers_rules_give_plain_danish_reasons(store):
    bad = {**GOOD, "kind": "formel", "closed": "2014-02-01", "points": ["sagsbehandlingstid",
                                                                           "trylleri"]}
    del bad["administration"]
    with pytest.raises(RegistrationError) as info:
        register(store, bad, "Hanne", today=TODAY)
    fields = {e["field"]: e["reason"] for e in info.value.errors}
    assert set(fields) >= {"administration", "kind", "points", "closed"}
    assert fields["administration"] == "Udfyld forvaltning."  # no field ids on a form
    for reason in fields.values():  # no field ids or mapping files on a form
        assert not any(f"({f})" in reason for f in fields) and "mapping" not in reason, reason
    assert "ligger før" in fields["closed"]
    with pytest.raises(RegistrationError, match="Registreret af"):
        register(store, GOOD, "  ", today=TODAY)
    with pytest.raises(RegistrationError, match="findes ikke for klager"):
        register(store, {**GOOD, "colour": "red"}, "Hanne", today=TODAY)
    with pytest.raises(RegistrationError, match="efter dags dato"):
        register(store, {**GOOD, "received": "2016-02-01", "closed": None}, "Hanne",
                 today=TODAY)
    assert store._engine.query("SELECT count(*) FROM complaints")[0][0] == 0


def test_edit_makes_a_new_version_with_who_when_what(store):
    r = register(store, {**GOOD, "closed": None, "outcome": "verserer"}, "Hanne", today=TODAY)
    e = edit(store, r.complaint_id, {"closed": "2014-04-01", "outcome": "ikke_medhold"},
             "Bo Berg", today=TODAY)
    assert e.version == 2 and e.action == "rettet"
    assert {c["field"] for c in e.changes} == {"closed", "outcome"}
    same = edit(store, r.complaint_id, {"outcome": "ikke_medhold"}, "Bo Berg", today=TODAY)
    assert same.action == "uændret" and same.version == 2
    with pytest.raises(RegistrationError, match="ligger før"):
        edit(store, r.complaint_id, {"closed": "2014-01-01"}, "Bo Berg", today=TODAY)
    h = history(store, r.complaint_id)
    assert [v["version"] for v in h] == [1, 2]
    assert (h[0]["by"], h[0]["action"], h[0]["changes"]) == ("Hanne", "oprettet", [])
    assert h[1]["by"] == "Bo Berg" and h[1]["action"] == "rettet" and h[1]["at"] is not None
    change = {c["field"]: c for c in h[1]["changes"]}
    assert change["outcome"]["old"] == "Verserer" and change["outcome"]["new"] == "Ikke medhold"
    assert change["closed"] == {"field": "closed", "label": "besvaret", "old": None,
                                "new": "01-04-2014"}
    # the first version is still there, unchanged
    assert store._engine.query("SELECT count(*) FROM complaints_history")[0][0] == 2
    with pytest.raises(NotFound):
        edit(store, "KL-XXX", {"outcome": "medhold"}, "Bo", today=TODAY)


def test_a_given_id_is_registered_once(store):
    register(store, {**GOOD, "complaint_id": "K-77"}, "Hanne", today=TODAY)
    with pytest.raises(RegistrationError) as info:
        register(store, {**GOOD, "complaint_id": "K-77"}, "Hanne", today=TODAY)
    assert info.value.status == 409


def test_concurrent_writers_on_separate_connections(store):
    """Two connections (as two app processes would have) and ten threads each: every
    complaint stored exactly once, and a contested id won by exactly one writer."""
    other = Store(store.url) if store._engine.name == "postgres" else store
    try:
        results, errors = [], []

        def work(s, i):
            try:
                results.append(register(s, GOOD, f"tråd {i}", today=TODAY).complaint_id)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
            try:
                register(s, {**GOOD, "complaint_id": "STRID"}, f"tråd {i}", today=TODAY)
                results.append("STRID")
            except RegistrationError as exc:
                assert exc.status == 409

        threads = [threading.Thread(target=work, args=(store if i % 2 else other, i))
                   for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert results.count("STRID") == 1
        ids = [r for r in results if r != "STRID"]
        assert len(ids) == len(set(ids)) == 20
        n, distinct = store._engine.query(
            "SELECT count(*), count(DISTINCT _key) FROM complaints_history")[0]
        assert n == distinct == 21
        batches = store._engine.query("SELECT count(DISTINCT id), count(*) FROM batches")[0]
        assert batches[0] == batches[1] == 21
    finally:
        if other is not store:
            other.close()


def test_a_rebuilt_store_does_not_mix_in_old_log_rows(store):
    import time

    register(store, GOOD, "Gammel", today=TODAY)
    store.drop_all()  # as 'demo --fresh' does; the registration log is not a store table
    store.init()
    time.sleep(1.1)
    r = register(store, GOOD, "Ny", today=TODAY)
    assert [(v["by"], v["action"]) for v in history(store, r.complaint_id)] == [
        ("Ny", "oprettet")]
    from sagsindsigt.complaints import recent

    assert [x["by"] for x in recent(store)] == ["Ny"]
