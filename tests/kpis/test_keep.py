"""Figures kept in the store (issue 16, points 1 and 3), on DuckDB and PostgreSQL.

A figure computed once is kept with the data versions of the tables it read: another process
(another Store on the same database) answers from it without computing, a write to a table
it read makes it go, and what decides a figure (scope, settings) is part of its key."""

from __future__ import annotations

import pytest

from sagsindsigt.access import SYSTEM, Principal, acting_as, resolve
from sagsindsigt.complaints import register
from sagsindsigt.kpis import Query, compute, keep
from sagsindsigt.kpis.base import KPI
from sagsindsigt.store import Store

from ..store.test_data_versions import COMPLAINT, TODAY, load


def other_process(store: Store) -> Store:
    """A second Store on the same database, as a new process opens it."""
    return Store(store.url)


@pytest.fixture
def no_computing(monkeypatch):
    """Computing a figure fails: what is answered was kept."""
    def refuse(self, ctx):
        raise AssertionError(f"{self.id} was computed")

    monkeypatch.setattr(KPI, "evaluate", refuse)
    for kind in KPI.__subclasses__():
        monkeypatch.setattr(kind, "evaluate", refuse, raising=False)
        for sub in kind.__subclasses__():
            monkeypatch.setattr(sub, "evaluate", refuse, raising=False)


def rows(result) -> list[tuple]:
    return [(r.dims, r.value, r.numerator, r.denominator, r.n, r.note) for r in result.rows]


def test_another_process_answers_from_the_kept_figure(store, tmp_path, request):
    load(store, tmp_path)
    q = Query.make("deadline_compliance", "2014", ["administration"])
    with acting_as(SYSTEM):
        first = compute(store, q)
        second = other_process(store)
        try:
            request.getfixturevalue("no_computing")
            again = compute(second, q)
        finally:
            second.close()
    assert rows(again) == rows(first) and again.rows  # the same figures, not computed


def test_a_write_drops_the_figures_that_read_what_it_changed(store, tmp_path):
    load(store, tmp_path)
    cases = Query.make("cases_received", "2014")
    complaints = Query.make("complaints_received", "2014")
    with acting_as(SYSTEM):
        compute(store, cases), compute(store, complaints)
        assert keep.load(store, cases) and keep.load(store, complaints)
        register(store, COMPLAINT, "Hanne Hansen", today=TODAY)
        store.check_version()
        assert keep.load(store, complaints) is None  # it read complaints: gone
        assert keep.load(store, cases) is not None  # the case count stays kept
        assert compute(store, complaints).rows[0].value == 1  # and is right when computed


def test_a_kept_figure_is_used_only_while_its_versions_hold(duck, tmp_path):
    load(duck, tmp_path)
    q = Query.make("cases_received", "2014")
    with acting_as(SYSTEM):
        compute(duck, q)
        assert keep.load(duck, q) is not None
        # a writer that bumped the version without deleting (another process mid-way)
        duck._engine.execute("UPDATE data_versions SET version = version + 1 "
                             "WHERE name = 'cases'")
        duck.check_version()
        assert keep.load(duck, q) is None


def test_scopes_and_settings_are_part_of_the_key(duck, tmp_path, monkeypatch):
    load(duck, tmp_path)
    q = Query.make("cases_received", "2014")
    with acting_as(SYSTEM):
        whole = keep.key(q)
        compute(duck, q)
        monkeypatch.setenv("SAGSINDSIGT_CLOSED_DAYS", '["2014-12-24"]')
        assert keep.key(q) != whole and keep.load(duck, q) is None
        monkeypatch.delenv("SAGSINDSIGT_CLOSED_DAYS")
        scope = resolve(duck, "HCK")
    with acting_as(Principal("laeser-hck", "laeser", scope, "lokal")):
        assert keep.key(q) != whole and keep.load(duck, q) is None


def test_values_json_cannot_hold_are_computed_not_kept(duck, tmp_path):
    """A row with a tuple in it is not kept (JSON would give it back as a list); dates and
    times are kept tagged and come back as they were."""
    from datetime import UTC, date, datetime

    from sagsindsigt.kpis.base import Row

    load(duck, tmp_path)
    q = Query.make("cases_received", "2014")
    when = {"since": date(2014, 1, 1), "at": datetime(2014, 3, 1, 8, 30, tzinfo=UTC),
            "local": datetime(2014, 3, 1, 8, 30)}
    with acting_as(SYSTEM):
        versions = duck.check_version()
        keep.save(duck, q, [Row({}, 1, extra={"pair": (1, 2)})], {"cases"}, versions)
        assert keep.load(duck, q) is None
        keep.save(duck, q, [Row({}, 1, extra=when)], {"cases"}, versions)
        assert keep.load(duck, q)[0].extra == when
        made = []

        def make():  # a value read from the cases
            made.append(duck.table("cases"))
            return {"days": [date(2014, 2, 3), date(2014, 2, 4)], "n": 2}

        first = keep.cached(duck, ("dates",), make)
        again = keep.cached(other_process(duck), ("dates",), make)
        assert again == first and len(made) == 1  # the second came from the store
        assert type(again["days"][0]) is date


def test_any_text_is_kept_as_it_was(store, tmp_path):
    """Notes and names are stored as quoted SQL literals: quotes and the like come back."""
    from sagsindsigt.kpis.base import Row

    load(store, tmp_path)
    q = Query.make("cases_received", "2014")
    text = "Ikke 'afgjort'; DROP TABLE cases; -- \\ \"æøå\" \u2028"
    with acting_as(SYSTEM):
        versions = store.check_version()
        keep.save(store, q, [Row({"unit": text}, 1.5, note=text)], {"cases"}, versions)
        got = keep.load(store, q)[0]
    assert got.note == text and got.dims == {"unit": text} and got.value == 1.5
    assert store.has_rows("cases")


def test_an_old_store_answers_by_computing_until_upgraded(duck, tmp_path):
    load(duck, tmp_path)
    duck._engine.execute("DROP TABLE figures")
    old = other_process(duck)
    try:
        with acting_as(SYSTEM):
            q = Query.make("cases_received", "2014")
            assert compute(old, q).rows[0].value == 2 and keep.load(old, q) is None
    finally:
        old.close()
