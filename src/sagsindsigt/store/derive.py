"""Derived columns and tables, recomputed when the records they come from change (from every
row, whoever triggered the import: the scope is for readers).

* cases: ``benefit_area`` from the case type, and ``due`` — the deadline date from the case's
  own deadline, else its case type's published deadline (calendar.Deadline.due).
* timeliness_items: one row per (rule, case) with anchor, due and done dates, from the events
  log and the timeliness rules.
* process_cases and process_edges: each case's path through its analysed events (its variant,
  first and last event) and each directly-follows step with the hours it took, from the events
  log and the cases (:func:`refresh_process`). The process analysis (``kpis.process``) groups
  them instead of ordering every case's events again at every question (issue 15).
"""

from __future__ import annotations

import json
from datetime import date

from .. import lazy
from ..calendar import Deadline

pl = lazy.module("polars")
pa = lazy.module("pyarrow")
ibis = lazy.module("ibis")


def case_type_info(store) -> pl.DataFrame:
    df = store.rows("case_types", ["code", "administration", "benefit_area", "deadline"],
                    scoped=False)
    return df.unique(subset=["code", "administration"], keep="first")


def with_case_derived(cases: pl.DataFrame, types: pl.DataFrame,
                      closed_days: frozenset[str] = frozenset(),
                      roll_forward: bool = True, memo: dict | None = None) -> pl.DataFrame:
    """Add benefit_area and due to case rows (needs case_type, administration, received,
    deadline). ``memo``: one dict for the parts of one file, so that each (received,
    deadline) pair is computed once per file."""
    types = types.rename({"code": "case_type", "deadline": "_type_deadline"})
    df = cases.join(types, on=["case_type", "administration"], how="left")
    df = df.with_columns(_deadline=pl.coalesce("deadline", "_type_deadline"))
    combos = df.select("received", "_deadline").drop_nulls().unique()
    cache: dict[str, Deadline] = {}
    dues, seen = [], {} if memo is None else memo
    if len(seen) > 100_000:
        seen.clear()
    for received, text in combos.iter_rows():
        due = seen.get((received, text))
        if due is None:
            d = cache.get(text) or cache.setdefault(text, Deadline.parse(text))
            due = seen[(received, text)] = d.due(received, extra=closed_days,
                                                 roll_forward=roll_forward)
        dues.append(due)
    combos = combos.with_columns(due=pl.Series("due", dues, dtype=pl.Date))
    df = df.join(combos, on=["received", "_deadline"], how="left", nulls_equal=False)
    return df.drop("_type_deadline", "_deadline")


def refresh_cases(store, closed_days=frozenset(), roll_forward: bool = True) -> None:
    """Recompute derived case columns for every current case (after case types change)."""
    cases = pl.from_arrow(store._raw("cases").select(
        "_source", "_key", "case_type", "administration", "received", "deadline").to_pyarrow())
    if cases.is_empty():
        return
    df = with_case_derived(cases, case_type_info(store), closed_days, roll_forward)
    store.update_derived(store_kind("cases"), df.select("_source", "_key", "benefit_area", "due")
                         .to_arrow())


def store_kind(name):
    from ..contract import KINDS

    return KINDS[name]


def refresh_timeliness_cases(store, source: str) -> None:
    """After a cases import: carry the cases' administration, unit and case type onto the
    timeliness items of the same source (the events and rules did not change). Rebuilt by
    delete and insert, which both engines do far faster than a joined UPDATE."""
    e = store._engine
    cols = ["rule", "case_id", "_source", "administration", "unit", "case_type",
            "benefit_area", "anchor", "due", "done"]
    pick = {c: f"t.{c}" for c in cols}
    pick.update({c: f"coalesce(c.{c}, t.{c})" for c in
                 ("administration", "unit", "case_type", "benefit_area")})
    e.execute("DROP TABLE IF EXISTS _timeliness_refresh")
    e.execute(
        "CREATE TEMP TABLE _timeliness_refresh AS SELECT "
        + ", ".join(f"{v} AS {c}" for c, v in pick.items())
        + " FROM timeliness_items t LEFT JOIN cases c ON c._source = t._source "
        "AND c.case_id = t.case_id WHERE t._source = ?", [source])
    e.execute("DELETE FROM timeliness_items WHERE _source = ?", [source])
    e.execute(f"INSERT INTO timeliness_items ({', '.join(cols)}) SELECT {', '.join(cols)} "
              "FROM _timeliness_refresh")
    e.execute("DROP TABLE _timeliness_refresh")
    store.touch("timeliness_items")


ITEM_COLUMNS = {"rule": pl.Utf8, "case_id": pl.Utf8, "_source": pl.Utf8,
                "administration": pl.Utf8, "unit": pl.Utf8, "case_type": pl.Utf8,
                "benefit_area": pl.Utf8, "anchor": pl.Date, "due": pl.Date, "done": pl.Date}


def timeliness_items(store, closed_days=frozenset(), roll_forward: bool = True) -> pa.Table:
    """(rule, case) rows: the first anchor event, its due date and the first required event on
    or after the anchor."""
    rules = pl.from_arrow(store._raw("timeliness_rules").to_pyarrow())
    empty = pl.DataFrame(schema=ITEM_COLUMNS)
    if rules.is_empty():
        return empty.to_arrow()
    ev = store._raw("events")
    wanted = set(rules["anchor"].to_list()) | set(rules["required"].to_list())
    events = pl.from_arrow(ev.filter(ev.activity.isin(list(wanted)))
                           .select("_source", "case_id", "activity", "at", "unit").to_pyarrow())
    cs = store._raw("cases")
    cases = pl.from_arrow(cs.select("_source", "case_id", "administration", "unit", "case_type",
                                    "benefit_area").to_pyarrow())
    out = [rule_items(events, cases, rule, {}, closed_days, roll_forward)
           for rule in rules.iter_rows(named=True)]
    return pl.concat([empty, *out], how="vertical_relaxed").to_arrow()


def rule_items(events: pl.DataFrame, cases: pl.DataFrame, rule: dict,
               dues: dict[date, date], closed_days=frozenset(),
               roll_forward: bool = True) -> pl.DataFrame:
    """One timeliness rule's (rule, case) rows (:data:`ITEM_COLUMNS`) from events
    (``_source``, ``case_id``, ``activity``, ``at``, ``unit``) and the cases they join.
    ``dues``: anchor day → due day, filled as needed (one dict may serve many calls)."""
    limit = Deadline.parse(rule["limit"])
    anchors = (events.filter(pl.col("activity") == rule["anchor"])
               .group_by("_source", "case_id")
               .agg(pl.col("at").min().dt.date().alias("anchor"),
                    pl.col("unit").first().alias("event_unit")))
    req = events.filter(pl.col("activity") == rule["required"]).select(
        "_source", "case_id", pl.col("at").dt.date().alias("req"))
    done = (anchors.join(req, on=["_source", "case_id"], how="inner")
            .filter(pl.col("req") >= pl.col("anchor"))
            .group_by("_source", "case_id").agg(pl.col("req").min().alias("done")))
    items = anchors.join(done, on=["_source", "case_id"], how="left")
    for a in items["anchor"].unique().to_list():
        if isinstance(a, date) and a not in dues:
            dues[a] = limit.due(a, extra=closed_days, roll_forward=roll_forward)
    items = items.with_columns(
        due=pl.col("anchor").replace_strict(dues, default=None, return_dtype=pl.Date),
        rule=pl.lit(rule["id"]))
    items = items.join(cases.select("_source", "case_id", "administration", "unit",
                                    "case_type", "benefit_area"),
                       on=["_source", "case_id"], how="left")
    items = items.with_columns(unit=pl.coalesce("unit", "event_unit"))
    if rule.get("administration"):
        items = items.with_columns(administration=pl.coalesce(
            "administration", pl.lit(rule["administration"])))
    return items.select(list(ITEM_COLUMNS))


# -- process analysis: each case's path and each directly-follows step ----------------------
# The window passes over (case, time) that every process figure needs are made once, when the
# events or the cases change, into two derived tables; ``kpis.process`` filters and groups them.
# The same expressions answer a lake (no derived tables there) per question.
START, END = "▶", "■"
SEP = "\x1f"  # joins a variant's activities inside the database
HOUR, DAY = 3600.0, 86400.0
PROCESS_TABLES = ("process_cases", "process_edges")
PROCESS_SOURCES = ("events", "cases")
# meta key: the data versions of the events and the cases the process tables were rebuilt from
# (JSON, with "split": whether some case's events lie in more than one unit). They are used
# only while those versions hold: a write to the events or the cases that is not followed by a
# rebuild leaves them unused, never wrong.
PROCESS_FRESH = "process_tables"


def analysed(e: ibis.Table) -> ibis.Table:
    """The events the process analysis reads: ``complete`` events and those without a
    lifecycle transition."""
    return e.filter(e.lifecycle.isnull() | (e.lifecycle.lower() == "complete"))


def steps(e: ibis.Table) -> ibis.Table:
    """Each event with the one before and after it in its case (lag/lead over (case, time,
    activity): ties in time get a fixed order on every engine)."""
    w = ibis.window(group_by=[e["_source"], e.case_id], order_by=[e.at, e.activity])
    return e.mutate(prev=e.activity.lag().over(w), prev_at=e.at.lag().over(w),
                    nxt=e.activity.lead().over(w))


def hours(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    return (later.epoch_seconds() - earlier.epoch_seconds()) / HOUR


def _at_midnight(d: ibis.Value) -> ibis.Value:
    return d.cast("timestamp")


def start_hours(first_at: ibis.Value, received: ibis.Value) -> ibis.Value:
    """The hours on ``▶ → A``: from the receipt (its date at midnight) to the first event;
    null where the case is not in the store."""
    return ibis.cases((received.notnull(), hours(first_at, _at_midnight(received))),
                      else_=ibis.null("float64"))


def end_hours(last_at: ibis.Value, decided: ibis.Value) -> ibis.Value:
    """The hours on ``Z → ■``: whole days from the last event's day to the decision's day (a
    decision has a date, not a time); null where undecided or not in the store."""
    return ibis.cases((decided.notnull(),
                       hours(_at_midnight(decided), _at_midnight(last_at.date()))),
                      else_=ibis.null("float64"))


def sequence(engine: str, e: ibis.Table) -> ibis.Value:
    """A case's activities in time order (then by name), joined by SEP. PostgreSQL orders
    them in its string aggregate; DuckDB's ordered aggregates are slow at millions of cases
    (and Spark has none), so there the (time, activity) pairs are collected, sorted (which
    gives the same order) and joined."""
    if engine == "postgres":
        return e.activity.group_concat(SEP, order_by=[e.at, e.activity])
    pairs = ibis.struct({"at": e.at, "activity": e.activity}).collect().sort()
    return pairs.map(lambda p: p.activity).join(SEP)


def edges(e: ibis.Table, with_facts) -> ibis.Table:
    """Every directly-follows step of the cases of events ``e`` (``_source``, ``case_id``,
    ``activity``, ``at``, and ``received``/``decided`` where it has them), with ``▶``/``■`` at
    its ends: columns ``_source``, ``case_id``, ``src``, ``dst``, ``hours`` (null where
    unknown). One window pass (no join); ``with_facts`` gives rows the case's ``received`` and
    ``decided`` and is called on a case's first and last event only, the rows that need them
    (the identity where ``e`` has them already)."""
    s = steps(e.select("_source", "case_id", "activity", "at",
                       *(c for c in ("received", "decided") if c in e.columns)))
    inner = s.filter(s.prev.notnull())
    inner = inner.select("_source", "case_id", src=inner.prev, dst=inner.activity,
                         hours=hours(inner.at, inner.prev_at))
    b = with_facts(s.filter(s.prev.isnull() | s.nxt.isnull()))
    first = b.filter(b.prev.isnull())
    starts = first.select("_source", "case_id", src=ibis.literal(START), dst=first.activity,
                          hours=start_hours(first.at, first.received))
    last = b.filter(b.nxt.isnull())
    ends = last.select("_source", "case_id", src=last.activity, dst=ibis.literal(END),
                       hours=end_hours(last.at, last.decided))
    return ibis.union(inner, starts.cast(inner.schema()), ends.cast(inner.schema()))


def case_paths(engine: str, e: ibis.Table) -> ibis.Table:
    """One row per case of events ``e`` (with the case columns of
    ``reads.process_events``): its variant (activities joined by :data:`SEP`), number of
    events, first and last event and its case facts. Per question, where the store's
    ``process_cases`` cannot answer."""
    return e.group_by(["_source", "case_id"]).aggregate(
        variant=sequence(engine, e),
        events=e.count(), first_at=e.at.min(), last_at=e.at.max(),
        administration=e.administration.max(), unit=e.unit.max(),
        case_type=e.case_type.max(), benefit_area=e.benefit_area.max(),
        received=e.received.max(), decided=e.decided.max(), due=e.due.max())


def case_rows(events: ibis.Table, cases: ibis.Table) -> ibis.Table:
    """The rows of ``process_cases`` (:func:`case_paths`, with ``split``) from analysed
    ``events`` and the ``cases``, in bounded memory. The variant is the activities so far at
    each event (a running string aggregate over (case, time), which the engine sorts on disk
    when it must), taken at the case's last event; the rest are aggregates of fixed size over
    the events alone, joined to their case's facts once per case. (A list or ordered aggregate
    per case holds every case in memory, and so does a window over events joined to their
    cases: both ran out of 96 MB on the demo.) The unit is the case's, else its events'
    (``reads.process_events``); ``split``: a case without a unit of its own whose events lie in
    more than one unit, or some in none."""
    e = events.select("_source", "case_id", "activity", "at", "unit")
    order = dict(group_by=[e["_source"], e.case_id], order_by=[e.at, e.activity])
    running = ibis.window(**order, preceding=None, following=0)
    s = e.mutate(path=e.activity.group_concat(SEP).over(running),
                 first_activity=e.activity.first().over(running),
                 nxt=e.activity.lead().over(ibis.window(**order)))
    last = s.filter(s.nxt.isnull()).select(
        k_source="_source", k_case="case_id", variant="path",
        first_activity="first_activity", last_activity="activity")
    units = e.unit.count()
    g = e.group_by(["_source", "case_id"]).aggregate(
        events=e.count(), first_at=e.at.min(), last_at=e.at.max(), e_unit=e.unit.max(),
        e_split=ibis.coalesce(e.unit.min() != e.unit.max(), False)
        | ((units > 0) & (units < e.count())))
    g = g.join(last, (g["_source"] == last.k_source) & (g.case_id == last.k_case))
    c = cases.select(c_source="_source", c_case="case_id", administration="administration",
                     c_unit="unit", case_type="case_type", benefit_area="benefit_area",
                     received="received", decided="decided", due="due")
    j = g.left_join(c, (g["_source"] == c.c_source) & (g.case_id == c.c_case))
    return j.select(
        "_source", "case_id", "variant", "first_activity", "last_activity", "events",
        "first_at", "last_at", "administration",
        unit=ibis.coalesce(j.c_unit, j.e_unit), case_type=j.case_type,
        benefit_area=j.benefit_area, received=j.received, decided=j.decided, due=j.due,
        split=j.c_unit.isnull() & j.e_split)


# rows (events or cases, whichever are more) per part of a DuckDB rebuild: each part's cases
# (by a hash of the case id) are derived and committed on their own, so the engine's memory
# holds one part (the import's 96 MB; 500.000 ran out of it on the demo's cases)
PART_ROWS = 250_000


def refresh_process(store, memory_mb: int | None = None) -> None:
    """Rebuild ``process_cases`` and ``process_edges`` from every current event and case, by
    the engine from the same expressions the analysis of a lake runs (the rows never pass
    through Python), and stamp them with the data versions of the events and the cases they
    were made from (read first: rows newer than their stamp are merely unused until the next
    rebuild). Call after the write's transaction has committed, not inside one. On DuckDB the
    rebuild is made and committed in parts of :data:`PART_ROWS` events or cases (by a hash of
    the case id) with the engine's memory bounded to ``memory_mb``, so that memory does not grow
    with the log, under the store's lock (this process's readers wait; DuckDB has one writing
    process); PostgreSQL rebuilds in one transaction, one rebuild at a time across processes
    (an advisory lock). Until the stamp is written the tables are unused."""
    eng = store._engine
    duck = store.backend == "duckdb"
    with store.lock, store.memory_bounded(memory_mb):
        with store.serialised("process_tables"):
            versions = store.data_version()
            stamp = {t: versions.get(t, 0) for t in PROCESS_SOURCES}
            store.touch(*PROCESS_TABLES)
            eng.execute(f"DELETE FROM meta WHERE key = '{PROCESS_FRESH}'")
            for name in PROCESS_TABLES:
                eng.execute(f'DELETE FROM "{name}"')
            n, m = eng.query("SELECT (SELECT count(*) FROM events), "
                             "(SELECT count(*) FROM cases)")[0]
            parts = max(1, -(-max(n, m) // PART_ROWS)) if duck else 1
            if not duck:  # fresh statistics after the import: with those of an empty table
                # PostgreSQL plans nested loops over the whole log (minutes, not a second)
                eng.execute("ANALYZE events")
                eng.execute("ANALYZE cases")
            for i in range(parts if n else 0):
                _process_part(store, parts, i)
                if duck and i + 1 < parts:  # DuckDB holds a transaction's new rows in memory
                    eng.execute("COMMIT")
                    eng.execute("BEGIN TRANSACTION")
            stamp["split"] = bool(
                n and eng.query("SELECT count(*) FROM process_cases WHERE split")[0][0])
            # a literal (JSON of numbers made here): a parameter makes the DuckDB driver import
            # pandas, which the importing process does without (issue 16)
            eng.execute(f"INSERT INTO meta VALUES ('{PROCESS_FRESH}', "
                        f"'{json.dumps(stamp, sort_keys=True)}')")


def process_stamp(store, now: dict[str, int] | None = None) -> dict | None:
    """The stamp of the process tables (:func:`refresh_process`), if they hold the events and
    the cases at the data versions ``now`` (default: those of the caller's unit of work, as
    ``Store.check_version`` last read them, else read now); ``None`` otherwise, and always
    where the figures are read from a lake (on its own or beside the store), which holds no
    derived tables."""
    if store.read_only or store.lake_url:  # the figures are read from a lake: no tables
        return None
    text = store.meta(PROCESS_FRESH)
    if not text:
        return None
    stamp = json.loads(text)
    now = now or store._cache_version or store.data_version()
    if any(now.get(t, 0) != stamp.get(t) for t in PROCESS_SOURCES):
        return None
    return stamp


def _process_part(store, parts: int, i: int) -> None:
    """The process tables' rows of the cases whose case id hashes to part ``i`` of
    ``parts``."""
    from . import schema

    eng, backend = store._engine, store._engine.ibis

    def part(t: ibis.Table) -> ibis.Table:  # (the hash may come out negative: so mod twice)
        return t if parts == 1 else t.filter((t.case_id.hash() % parts + parts) % parts == i)

    events = analysed(part(store._raw("events", tracked=False)))
    c = case_rows(events, part(store._raw("cases", tracked=False)))
    c = c.mutate(case_start=ibis.coalesce(c.received, c.first_at.date()))
    _insert(eng, backend, "process_cases", c, schema.columns("process_cases"))
    if store.backend == "postgres":  # (as above: the steps join the cases just written)
        eng.execute("ANALYZE process_cases")
    # the steps inside each case: one window pass over the events alone
    pc = part(store._raw("process_cases", tracked=False))
    dims = {"administration": pc.administration, "unit": pc.unit, "case_type": pc.case_type,
            "benefit_area": pc.benefit_area, "case_start": pc.case_start,
            "late": pc.decided.notnull() & pc.due.notnull() & (pc.decided > pc.due)}
    s = steps(events.select("_source", "case_id", "activity", "at"))
    s = s.filter(s.prev.notnull())
    k = pc.select(k_source="_source", k_case="case_id", **dims)
    inner = s.join(k, (s["_source"] == k.k_source) & (s.case_id == k.k_case))
    inner = inner.select("_source", "case_id", src=inner.prev, dst=inner.activity,
                         hours=hours(inner.at, inner.prev_at),
                         **{c: inner[c] for c in dims})
    cols = schema.columns("process_edges")
    _insert(eng, backend, "process_edges", inner, cols)
    # the receipt before the first event and the decision after the last: per case
    starts = pc.select("_source", "case_id", src=ibis.literal(START), dst=pc.first_activity,
                       hours=start_hours(pc.first_at, pc.received), **dims)
    _insert(eng, backend, "process_edges", starts, cols)
    ends = pc.select("_source", "case_id", src=pc.last_activity, dst=ibis.literal(END),
                     hours=end_hours(pc.last_at, pc.decided), **dims)
    _insert(eng, backend, "process_edges", ends, cols)


def ensure_process(store, memory_mb: int | None = None) -> bool:
    """Rebuild the process tables where they do not hold the current events and cases (a
    store made before schema 9, an import whose rebuild failed, a writer that does not rebuild
    them); returns whether it did. ``prepare`` and every import of events, cases or case types
    call it."""
    if store.read_only or store.lake_url or process_stamp(store, store.data_version()):
        return False  # (a lake's figures never read these tables: nothing to rebuild)
    refresh_process(store, memory_mb)
    return True


def _insert(eng, backend, table: str, expr: ibis.Table, cols) -> None:
    names = [c for c, _ in cols]
    sql = str(backend.compile(expr.select(*names)))
    quoted = ", ".join(f'"{c}"' for c in names)
    eng.execute(f'INSERT INTO "{table}" ({quoted}) {sql}')
