"""Process analysis (issue 15) on DuckDB and PostgreSQL, against the same figures computed here
in plain Python over the rows written to the import files."""

from __future__ import annotations

import random
import statistics
from datetime import date, datetime, timedelta

import pytest

from sagsindsigt.calendar import Deadline, Period
from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import KpiUsageError
from sagsindsigt.kpis.process import (
    END,
    START,
    ProcessQuery,
    bottlenecks,
    case_times,
    dfg,
    rework,
    summary,
    variants,
)

TODAY = date(2016, 1, 1)
TEN_DAYS = Deadline.parse("10 dage")
ACTS = ["modtaget", "oplysning", "partshøring", "afgørelse", "journal"]


def _cont(values: list[float], q: float) -> float:
    """The continuous quantile (PostgreSQL's percentile_cont, DuckDB's quantile_cont)."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _make(seed: int = 15):
    """Cases of two units with a 10-day deadline, and their events (some tied in time, some
    activities repeated); plus a log of its own whose cases are not in the store."""
    rnd = random.Random(seed)
    cases, events = [], []
    for i in range(60):
        cid = f"s{i}"
        received = date(2014, 1, 1) + timedelta(days=rnd.randrange(0, 500))
        unit = "SCK" if i % 3 else "HCK"
        t = datetime.combine(received, datetime.min.time()) + timedelta(
            hours=rnd.randrange(1, 72), seconds=rnd.randrange(0, 3600))
        n = rnd.randrange(1, 6)
        for k in range(n):
            act = rnd.choice(ACTS[1:4]) if 0 < k < n - 1 else ACTS[0] if k == 0 else ACTS[3]
            events.append((cid, act, t))
            if i % 11 == 0 and k == 0:  # a tie: same time, ordered by activity name
                events.append((cid, "journal", t))
            t += timedelta(hours=rnd.randrange(1, 24 * 8), seconds=rnd.randrange(0, 60))
        decided = None if i % 7 == 0 else (t + timedelta(days=rnd.randrange(0, 3))).date()
        cases.append((cid, unit, received, decided))
    own = [("L1", "a", datetime(2015, 3, 1, 8, 0)), ("L1", "b", datetime(2015, 3, 2, 9, 30)),
           ("L2", "a", datetime(2015, 3, 5, 8, 0)), ("L2", "b", datetime(2015, 3, 5, 8, 45)),
           ("L2", "b", datetime(2015, 3, 9, 12, 0))]
    return cases, events, own


@pytest.fixture
def process(store, tmp_path):
    cases, events, own = _make()
    (tmp_path / "t.csv").write_text("code;name;administration;deadline\n"
                                    "A;Enkeltydelse;SOF;10 dage\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text(
        "case_id;administration;unit;case_type;received;decided\n" + "".join(
            f"{c};SOF;{u};A;{r.isoformat()};{d.isoformat() if d else ''}\n"
            for c, u, r, d in cases), encoding="utf-8")
    (tmp_path / "e.csv").write_text("case_id,activity,at\n" + "".join(
        f"{c},{a},{t:%Y-%m-%d %H:%M:%S}\n" for c, a, t in events), encoding="utf-8")
    (tmp_path / "own.csv").write_text("case_id,activity,at\n" + "".join(
        f"{c},{a},{t:%Y-%m-%d %H:%M:%S}\n" for c, a, t in own), encoding="utf-8")
    for kind, name, source in (("case_types", "t.csv", "sager"), ("cases", "c.csv", "sager"),
                               ("events", "e.csv", "sager"), ("events", "own.csv", "log")):
        r = import_file(store, kind, tmp_path / name, source=source, today=TODAY)
        assert r.rows_rejected == 0, r.rejects
    return store, cases, events, own


def _traces(events) -> dict[str, list[tuple[str, datetime]]]:
    out: dict[str, list] = {}
    for c, a, t in events:
        out.setdefault(c, []).append((t, a))
    return {c: [(a, t) for t, a in sorted(v)] for c, v in out.items()}


def _expected_dfg(cases, events, own):
    facts = {c: (r, d) for c, _, r, d in cases}
    edges: dict[tuple[str, str], list] = {}
    for traces, known in ((_traces(events), True), (_traces(own), False)):
        for c, tr in traces.items():
            r, d = facts[c] if known else (None, None)
            first = (tr[0][1] - datetime.combine(r, datetime.min.time())) if r else None
            edges.setdefault((START, tr[0][0]), []).append(first)
            for (a, ta), (b, tb) in zip(tr, tr[1:], strict=False):
                edges.setdefault((a, b), []).append(tb - ta)
            last = (d - tr[-1][1].date()) if d else None  # whole days: a decision's date
            edges.setdefault((tr[-1][0], END), []).append(last)
    return edges


def test_dfg_counts_and_times(process):
    store, cases, events, own = process
    got = dfg(store, ProcessQuery.make())
    want = _expected_dfg(cases, events, own)
    assert {(r["from"], r["to"]): r["count"] for r in got} == {k: len(v) for k, v in
                                                               want.items()}
    for r in got:
        hours = [x.total_seconds() / 3600 for x in want[(r["from"], r["to"])] if x is not None]
        if not hours:
            assert r["median_hours"] is None
            continue
        assert r["median_hours"] == pytest.approx(statistics.median(hours), abs=0.01)
        assert r["p90_hours"] == pytest.approx(_cont(hours, 0.9), abs=0.01)
    counts = [r["count"] for r in got]
    assert counts == sorted(counts, reverse=True)
    # every case starts and ends once
    assert sum(r["count"] for r in got if r["from"] == START) == len(cases) + 2
    assert sum(r["count"] for r in got if r["to"] == END) == len(cases) + 2


def test_variants(process):
    store, cases, events, own = process
    got = variants(store, ProcessQuery.make())
    by: dict[tuple, list[float]] = {}
    for tr in list(_traces(events).values()) + list(_traces(own).values()):
        by.setdefault(tuple(a for a, _ in tr), []).append(
            (tr[-1][1] - tr[0][1]).total_seconds() / 86400)
    assert {tuple(r["variant"]): r["cases"] for r in got} == {k: len(v) for k, v in by.items()}
    total = len(cases) + 2
    for r in got:
        days = by[tuple(r["variant"])]
        assert r["share"] == round(100 * len(days) / total, 2)
        assert r["median_days"] == pytest.approx(statistics.median(days), abs=0.01)
    assert [r["cases"] for r in got] == sorted((r["cases"] for r in got), reverse=True)
    assert len(variants(store, ProcessQuery.make(), top=3)) == 3
    # the log of its own is analysed as its own cases
    assert {"variant": ["a", "b", "b"], "cases": 1, "share": round(100 / total, 2),
            "median_days": pytest.approx(4.17, abs=0.01)} in got


def test_filters_and_period(process):
    store, cases, events, own = process
    hck = {c for c, u, _, _ in cases if u == "HCK"}
    got = dfg(store, ProcessQuery.make(where=["unit=HCK"]))
    assert sum(r["count"] for r in got if r["from"] == START) == len(hck)
    in_2014 = {c for c, _, r, _ in cases if r.year == 2014}
    got = variants(store, ProcessQuery.make("2014"))
    assert sum(r["cases"] for r in got) == len(in_2014)
    got = variants(store, ProcessQuery.make("2015-03"))  # the log on its own, by first event
    assert sum(r["cases"] for r in got) == 2 + sum(
        1 for _, _, r, _ in cases if (r.year, r.month) == (2015, 3))
    with pytest.raises(KpiUsageError, match="Ukendt dimension"):
        ProcessQuery.make(where=["farve=rød"])
    with pytest.raises(KpiUsageError):
        ProcessQuery.make("2014-13")


def test_bottlenecks_in_late_cases(process):
    store, cases, events, own = process
    late = {c for c, _, r, d in cases if d and d > TEN_DAYS.due(r)}
    assert late and len(late) < len(cases)
    want = {k: [x.total_seconds() / 86400 for x in v if x is not None]
            for k, v in _expected_dfg([x for x in cases if x[0] in late],
                                      [e for e in events if e[0] in late], []).items()}
    got = bottlenecks(store, ProcessQuery.make())
    trans = [r for r in got if r["kind"] == "transition"]
    assert {(r["from"], r["to"]): r["total_days"] for r in trans} == {
        k: pytest.approx(sum(v), abs=0.01) for k, v in want.items() if v}
    assert [r["rank"] for r in trans] == list(range(1, len(trans) + 1))
    assert [r["total_days"] for r in trans] == sorted((r["total_days"] for r in trans),
                                                      reverse=True)
    acts: dict[str, list[float]] = {}
    for (_, b), v in want.items():
        if b != END:
            acts.setdefault(b, []).extend(v)
    got_acts = {r["to"]: r for r in got if r["kind"] == "activity"}
    assert set(got_acts) == set(acts)
    for a, v in acts.items():
        assert got_acts[a]["total_days"] == pytest.approx(sum(v), abs=0.01)
        assert got_acts[a]["median_days"] == pytest.approx(statistics.median(v), abs=0.01)
    s = summary(store, ProcessQuery.make())
    assert s["late"] == len(late)
    assert s["cases"] == len(cases) + 2
    assert s["events"] == len(events) + len(own)


def test_rework_and_case_times(process):
    store, cases, events, own = process
    per: dict[str, dict[str, int]] = {}
    for c, a, _ in events + own:
        per.setdefault(a, {}).setdefault(c, 0)
        per[a][c] += 1
    want = {a: sum(1 for n in v.values() if n > 1) for a, v in per.items()}
    got = {r["activity"]: r for r in rework(store, ProcessQuery.make())}
    assert {a: r["cases"] for a, r in got.items()} == {a: n for a, n in want.items() if n}
    assert got["b"]["repeats"] == 1
    # the cases behind one edge
    edge = (START, "modtaget")
    rows = case_times(store, ProcessQuery.make(), edge=edge)
    assert {r["case_id"] for r in rows} == {c for c, tr in _traces(events).items()
                                           if tr[0][0] == "modtaget"}
    r = next(x for x in rows if x["case_id"] == cases[1][0])
    c, _, rec, dec = cases[1]
    assert r["days"] == (dec - rec).days
    due = TEN_DAYS.due(rec)  # moved to the next working day when it ends on a day off
    assert r["over_days"] == ((dec - due).days if dec > due else None)
    one = variants(store, ProcessQuery.make())[0]["variant"]
    rows = case_times(store, ProcessQuery.make(), variant=one)
    assert len(rows) == variants(store, ProcessQuery.make())[0]["cases"]


def test_stalled_cases_on_the_worklist(process):
    from sagsindsigt.worklist import STALLED, worklist

    store, cases, events, own = process
    # the cases' data cover whole calendar months: up to the end of the last receipt's month
    last_receipt = max(r for _, _, r, _ in cases)
    day = Period.month(last_receipt.year, last_receipt.month).end
    last: dict[str, datetime] = {}
    for c, a, t in events:
        if t.date() <= day and (c not in last or (t, a) > last[c]):
            last[c] = (t, a)
    want = {}
    for c, _, r, d in cases:
        if r <= day and (d is None or d > day):
            since = last[c][0].date() if c in last else r
            if (day - since).days >= 30:
                want[c] = ((day - since).days, last[c][1] if c in last else None)
    assert want
    wl = worklist(store, STALLED, idle=30, today=TODAY)
    assert {r["case_id"]: (r["days"], r["last_activity"]) for r in wl.rows} == want
    assert [r["days"] for r in wl.rows] == sorted((r["days"] for r in wl.rows), reverse=True)
    assert {r["case_id"] for r in worklist(store, STALLED, unit="HCK", today=TODAY).rows} == {
        c for c in want if next(u for x, u, _, _ in cases if x == c) == "HCK"}


# -- the paths and steps the store keeps (store.derive.refresh_process) -----------------------
QUERIES = [ProcessQuery.make(), ProcessQuery.make("2014"), ProcessQuery.make(where=["unit=HCK"]),
           ProcessQuery.make("2015-03"), ProcessQuery.make("2014-Q3", where=["case_type=A"])]


def _everything(store) -> list:
    """Every figure of every query in :data:`QUERIES`, computed now (the result cache
    emptied: only the data decide)."""
    store._cache.clear()
    out = []
    for q in QUERIES:
        one = variants(store, q)[0]["variant"] if variants(store, q) else None
        out.append((dfg(store, q), variants(store, q), bottlenecks(store, q), summary(store, q),
                    rework(store, q), case_times(store, q, edge=(START, "modtaget")),
                    case_times(store, q, variant=one) if one else None))
    return out


def _forget_stamp(store) -> None:
    """The store as one made before schema 9 (no stamp on its process tables)."""
    with store.transaction():
        store._engine.execute("DELETE FROM meta WHERE key = 'process_tables'")


def test_the_kept_paths_answer_as_the_events_do(process):
    """Every import of events or cases rebuilds the process tables; every figure read from
    them equals the figure computed from the events (both engines; the figures themselves are
    checked against plain Python above)."""
    from sagsindsigt.store import derive, reads

    store = process[0]
    assert derive.process_stamp(store) == {"cases": store.data_version()["cases"],
                                           "events": store.data_version()["events"],
                                           "split": False}
    assert reads.process_table(store, "process_edges") is not None
    kept = _everything(store)
    _forget_stamp(store)
    assert reads.process_table(store, "process_edges") is None
    assert _everything(store) == kept
    assert derive.ensure_process(store) is True  # prepare rebuilds them
    assert derive.ensure_process(store) is False
    assert reads.process_table(store, "process_edges") is not None
    assert _everything(store) == kept


def test_a_write_that_does_not_rebuild_leaves_them_unused(process, tmp_path):
    """The tables are used only at the data versions they were made from: events written by
    a writer that does not rebuild them (the national generator's direct load, a failed
    rebuild) are in the figures at once, computed from the events, until the next rebuild."""
    from sagsindsigt.store import derive, reads

    store = process[0]
    before = dfg(store, ProcessQuery.make())
    with store.transaction():
        store._engine.execute("INSERT INTO events (_source, _key, _version, _batch, _hash, "
                              "case_id, activity, \"at\") VALUES ('log', 'L9', 1, 0, '', 'L9', "
                              "'a', TIMESTAMP '2015-04-01 08:00:00')")
        store.touch("events")
    store.check_version()  # as every reader does first
    assert reads.process_table(store, "process_edges") is None
    store._cache.clear()
    after = {(r["from"], r["to"]): r["count"] for r in dfg(store, ProcessQuery.make())}
    assert after[(START, "a")] == 1 + next(r["count"] for r in before
                                           if (r["from"], r["to"]) == (START, "a"))
    assert derive.ensure_process(store) is True
    store._cache.clear()
    assert {(r["from"], r["to"]): r["count"] for r in dfg(store, ProcessQuery.make())} == after


def test_a_rebuild_in_parts_gives_the_same_rows(process, monkeypatch):
    """On DuckDB the rebuild goes a part of the cases at a time (memory bounded, as in an
    import); any number of parts gives the same tables."""
    from sagsindsigt.store import derive

    store = process[0]
    kept = _everything(store)
    monkeypatch.setattr(derive, "PART_ROWS", 7)
    derive.refresh_process(store, memory_mb=96)
    assert store._engine.query("SELECT count(*) FROM process_cases")[0][0] == len(process[1]) + 2
    assert _everything(store) == kept


def test_a_case_cut_by_unit_is_read_from_the_events(duck, tmp_path):
    """A log on its own whose case moves between units: a filter on the unit cuts the case
    (the analysis then sees the events in that unit only), which the kept paths cannot say,
    so that question is computed from the events; the others still read the kept paths."""
    from sagsindsigt.store import derive, reads

    (tmp_path / "log.csv").write_text(
        "case_id,activity,at,unit\n"
        "K1,a,2015-03-01 08:00:00,U1\nK1,b,2015-03-02 08:00:00,U2\n"
        "K1,c,2015-03-03 08:00:00,U1\nK2,a,2015-03-01 09:00:00,U1\n"
        "K2,c,2015-03-01 12:00:00,U1\n", encoding="utf-8")
    assert import_file(duck, "events", tmp_path / "log.csv", source="log").rows_rejected == 0
    assert derive.process_stamp(duck)["split"] is True
    assert reads.process_table(duck, "process_edges") is not None
    assert reads.process_table(duck, "process_edges", by_unit=True) is None
    got = {(r["from"], r["to"]): r["count"] for r in dfg(duck, ProcessQuery.make(
        where=["unit=U1"]))}
    assert got == {(START, "a"): 2, ("a", "c"): 2, ("c", END): 2}
    whole = {(r["from"], r["to"]): r["count"] for r in dfg(duck, ProcessQuery.make())}
    assert whole == {(START, "a"): 2, ("a", "b"): 1, ("b", "c"): 1, ("a", "c"): 1,
                     ("c", END): 2}
