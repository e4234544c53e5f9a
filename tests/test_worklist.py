"""The worklist's core (worklist.py, reads.open_cases) on every engine: which cases are over
their deadline or due within 7 days on "i dag" (today, or the day the data end), in order of
urgency, inside the caller's scope, and never with the citizen."""

from __future__ import annotations

from datetime import date

import pytest

from sagsindsigt.access import Principal, acting_as, resolve
from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import Query, compute
from sagsindsigt.worklist import OVERDUE, SOON, WorklistError, as_of, worklist

from .conftest import load_case_types

END = date(2014, 3, 31)  # the cases' coverage ends here: the lists' "i dag"
CASES = """case_id;administration;unit;case_type;received;decided;deadline;citizen
S1;SOF;U1;A;2014-01-06;;14 dage;0101701234
S2;SOF;U1;A;2014-03-20;;14 dage;0202702345
S3;SOF;U1;A;2014-01-10;2014-02-01;14 dage;0303703456
S4;SOF;U2;A;2014-02-03;2014-04-10;14 dage;0404704567
S5;SOF;U1;A;2014-03-25;;;0505705678
S7;SOF;U2;A;2014-03-17;;14 dage;0606706789
B1;BIF;J1;B;2014-01-06;;14 dage;0707707890
B2;BIF;J1;B;2014-03-26;;14 dage;0808708901
"""


@pytest.fixture
def town(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:A", "BIF:B")
    path = tmp_path / "sager.csv"
    path.write_text(CASES, encoding="utf-8")
    r = import_file(store, "cases", path, source="sager", covers="2014-Q1")
    assert r.rows_rejected == 0, r.rejects
    return store


def due(store) -> dict[str, date]:
    t = store.table("cases")
    return {r["case_id"]: r["due"] for r in store.run(t.select("case_id", "due")).to_dicts()}


def test_over_the_deadline_and_due_soon_on_the_day_the_data_end(town):
    days = as_of(town, today=date(2026, 1, 1))
    assert days == {"SOF": END, "BIF": END}
    d = due(town)
    over = worklist(town, OVERDUE, today=date(2026, 1, 1))
    # open on 31.3 (S4 was decided later: still open then), past its due date; S3 was
    # decided, S5 has no deadline, S7 is due on the day itself, S2 and B2 are not due yet
    assert set(over.case_ids()) == {"S1", "S4", "B1"}
    assert [r["days"] for r in over.rows] == sorted((r["days"] for r in over.rows),
                                                    reverse=True)
    assert {r["case_id"]: r["days"] for r in over.rows} == {
        c: (END - d[c]).days for c in ("S1", "S4", "B1")}
    assert all(r["as_of"] == END for r in over.rows) and over.before_today
    # the list is the KPI on that day
    n = compute(town, Query.make("overdue_open_cases", "2014-Q1", [], [])).rows[0].value
    assert len(over.rows) == n
    soon = worklist(town, SOON, today=date(2026, 1, 1))
    assert soon.case_ids()[0] == "S7" and soon.rows[0]["days"] == 0  # due today: "i dag"
    assert set(soon.case_ids()) == {c for c in ("S2", "S7", "B2") if (d[c] - END).days <= 7}
    assert [r["days"] for r in soon.rows] == sorted(r["days"] for r in soon.rows)
    for r in over.rows + soon.rows:
        assert "citizen" not in r and set(r) == {"case_id", "administration", "unit",
                                                 "case_type", "received", "due", "as_of",
                                                 "due_in", "days"}


def test_today_before_the_data_end_and_the_new_ones(town):
    d = due(town)
    day = date(2014, 2, 20)
    over = worklist(town, OVERDUE, today=day)
    assert not over.before_today and over.day == day
    assert set(over.case_ids()) == {c for c in ("S1", "S3", "S4", "B1")
                                    if d[c] < day and c != "S3"}
    new = worklist(town, OVERDUE, today=day, new_within=7)
    assert set(new.case_ids()) == {c for c in over.case_ids() if 1 <= (day - d[c]).days <= 7}
    with pytest.raises(WorklistError):
        worklist(town, SOON, new_within=7)
    with pytest.raises(WorklistError):
        worklist(town, "stille")


def test_the_scope_and_the_filters(town):
    with acting_as(Principal("leder", "leder", resolve(town, "BIF"), "lokal")):
        assert as_of(town, today=date(2026, 1, 1)) == {"BIF": END}
        assert worklist(town, OVERDUE).case_ids() == ["B1"]
        assert worklist(town, OVERDUE, administration="SOF").case_ids() == []
    assert worklist(town, OVERDUE, unit="U2").case_ids() == ["S4"]
    assert worklist(town, OVERDUE, case_type="B").case_ids() == ["B1"]
