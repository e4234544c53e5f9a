"""Process analysis of the events log (issue 15): where the time goes in a case.

Every figure is one Ibis expression over the caller's scope, so it runs the same on DuckDB,
PostgreSQL and a lake. The window passes over (case, time) are made once by the store when the
events or cases change (``store.derive.refresh_process``: each case's path in
``process_cases``, each directly-follows step in ``process_edges``), and the figures filter and
group those; where they cannot answer (a lake, a store not yet rebuilt, a case cut by unit) the
same window expressions run over the events (:func:`sagsindsigt.store.reads.process_events`):

* :func:`dfg`: the directly-follows graph: per pair of activities that follow each other
  directly in a case, how often, and the median and 90th percentile of the hours between them.
  ``▶`` is the start of a case and ``■`` its end; the time on ``▶ → A`` is from the case's
  receipt to its first event and on ``Z → ■`` from the day of its last event to the day of the
  decision (whole days: the decision has a date, not a time), where the case is in the store
  with those dates (null otherwise).
* :func:`variants`: the distinct sequences of activities, with their number of cases, share
  (0–100) and median throughput in days (first to last event), most frequent first.
* :func:`case_times`: per case the throughput against its deadline (the drill-down behind an
  edge or a variant).
* :func:`bottlenecks`: in the cases decided after their due date, per transition and per
  activity (the time up to it), the total and median days, ranked by total.
* :func:`rework`: activities repeated within a case.
* :func:`service_times`: where a log records ``start`` and ``complete``, the time between
  them per activity.

A case is identified by (source, case id). Events are ordered by time, then activity name
(ties in time get a fixed order on every engine). Where a log records lifecycle transitions,
only ``complete`` events (and those without a transition) are analysed. A case belongs to a
period by its start: its receipt where the case is in the store, else its first event; without
a period the whole log is analysed. Filters (``--where``) on administration, unit, case type
and benefit area come from the case (a log on its own has the event's unit only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import lazy, worklist
from ..calendar import Period, PeriodError
from ..store import derive, reads
from ..store.derive import DAY, END, SEP, START
from .base import KpiUsageError, parse_where

ibis = lazy.module("ibis")

DIMS = ("administration", "unit", "case_type", "benefit_area")


@dataclass(frozen=True)
class ProcessQuery:
    period: Period | None = None
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def make(cls, period: str | Period | None = None, where=None) -> ProcessQuery:
        p = period
        if isinstance(period, str) and period.strip():
            try:
                p = Period.parse(period)
            except PeriodError as exc:
                raise KpiUsageError(str(exc)) from exc
        elif not isinstance(period, Period):
            p = None
        w: dict[str, tuple[str, ...]] = {}
        for dim, vals in parse_where(where).items():
            if dim not in DIMS:
                raise KpiUsageError(f"Ukendt dimension '{dim}' for procesanalysen: brug en af "
                                    f"{', '.join(DIMS)}.")
            w[dim] = tuple(v for v in vals if v)
            if not w[dim]:
                raise KpiUsageError(f"Filteret '{dim}' mangler en værdi.")
        return cls(p, dict(sorted(w.items())))

    def key(self) -> tuple:
        p = self.period
        return ((p.start, p.end) if p else None, tuple(self.where.items()))


def _events(store, q: ProcessQuery, complete: bool = True, facts: bool = True) -> ibis.Table:
    """The analysed events of the query (``complete``: only complete events and those without
    a transition; else every transition), each with its case's start (``case_start``).
    ``facts=False``: the case facts are not needed by the caller, so where no filter, period
    or scope needs them either the events come alone, without the join to their cases (then
    the table has no ``received``: :func:`_with_facts` joins them to the rows that need
    them)."""
    e = None
    if not facts and not q.where and q.period is None:
        e = reads.process_events_lean(store)
    if e is None:
        e = reads.process_events(store)
    if complete:
        e = derive.analysed(e)
    for dim, values in q.where.items():
        e = e.filter(e[dim].isin(list(values)))
    if q.period is not None:
        w = ibis.window(group_by=[e["_source"], e.case_id])
        e = e.mutate(case_start=ibis.coalesce(e.received, e.at.min().over(w).date()))
        e = e.filter((e.case_start >= q.period.start) & (e.case_start <= q.period.end))
    return e


def _derived(store, q: ProcessQuery, name: str) -> ibis.Table | None:
    """The query's rows of a derived process table (``process_cases``, ``process_edges``:
    the paths and steps the store keeps), or ``None`` where those cannot answer it
    (:func:`reads.process_table`) and the caller computes from the events."""
    t = reads.process_table(store, name, by_unit="unit" in q.where)
    if t is None:
        return None
    for dim, values in q.where.items():
        t = t.filter(t[dim].isin(list(values)))
    if q.period is not None:
        t = t.filter((t.case_start >= q.period.start) & (t.case_start <= q.period.end))
    return t


def _with_facts(store, t: ibis.Table, how: str = "left") -> ibis.Table:
    """``t`` (rows of lean events) with its case's ``received``, ``decided`` and ``due``
    (null where the case is not in the store); ``t`` as it is where it has them already."""
    if "received" in t.columns:
        return t
    f = reads.process_case_facts(store)
    j = t.join(f, (t["_source"] == f.f_source) & (t.case_id == f.f_case), how=how)
    return j.drop("f_source", "f_case")


def _edges(store, q: ProcessQuery, late: bool = False) -> ibis.Table:
    """Every directly-follows step of every case, with ``▶``/``■`` at its ends: columns
    ``_source``, ``case_id``, ``src``, ``dst``, ``hours`` (null where unknown). ``late``: only
    the cases decided after their due date. Read from the steps the store keeps where they
    answer the query; else one window pass over the events (``derive.edges``), the case facts
    joined to a case's first and last event only."""
    d = _derived(store, q, "process_edges")
    if d is not None:
        if late:
            d = d.filter(d.late)
        return d.select("_source", "case_id", "src", "dst", "hours")
    e = _events(store, q, facts=False)
    if late:
        e = _with_facts(store, e, how="inner")
        e = e.filter(e.decided.notnull() & e.due.notnull() & (e.decided > e.due))
    return derive.edges(e, lambda t: _with_facts(store, t))


def _cached(store, name: str, q: ProcessQuery, build, *extra):
    store.check_version()
    key = ("process", name, q.key(), *extra)

    def compute():  # the compiled query differs by whether the kept paths answer
        kept = _derived(store, q, "process_cases") is not None
        return store.run_keyed((*key, kept), build)

    return store.cached(key, compute)


def _round(v, digits: int = 2):
    return None if v is None else round(float(v), digits)


def dfg(store, q: ProcessQuery) -> list[dict[str, Any]]:
    """The directly-follows graph: rows ``from``, ``to``, ``count``, ``median_hours``,
    ``p90_hours``, most frequent first."""
    def build():
        d = _edges(store, q)
        return d.group_by(["src", "dst"]).aggregate(
            count=d.count(), median_hours=d.hours.median(), p90_hours=d.hours.quantile(0.9))

    df = _cached(store, "dfg", q, build)
    rows = [{"from": r["src"], "to": r["dst"], "count": int(r["count"]),
             "median_hours": _round(r["median_hours"]), "p90_hours": _round(r["p90_hours"])}
            for r in df.to_dicts()]
    return sorted(rows, key=lambda r: (-r["count"], r["from"], r["to"]))


PER_CASE = ("_source", "case_id", "variant", "events", "first_at", "last_at",
            "administration", "unit", "case_type", "received", "decided", "due")


def _per_case(store, q: ProcessQuery) -> ibis.Table:
    """One row per case: its variant (activities joined by :data:`SEP`), number of events,
    first and last event and its case facts (:data:`PER_CASE`). Read from the paths the store
    keeps where they answer the query; else grouped from the events."""
    c = _derived(store, q, "process_cases")
    if c is None:
        c = derive.case_paths(store.figures_engine, _events(store, q))
    return c.select(*PER_CASE)


def variants(store, q: ProcessQuery, top: int | None = None) -> list[dict[str, Any]]:
    """The variants, most frequent first (then by the sequence): rows ``variant`` (the list of
    activities), ``cases``, ``share`` (0–100, of the query's cases) and ``median_days``
    (throughput from first to last event)."""
    def build():
        c = _derived(store, q, "process_cases")
        if c is None:  # one pass over the events: the sequence, first and last time
            e = _events(store, q, facts=False)
            c = e.group_by(["_source", "case_id"]).aggregate(
                variant=derive.sequence(store.figures_engine, e),
                first_at=e.at.min(), last_at=e.at.max())
        c = c.mutate(days=(c.last_at.epoch_seconds() - c.first_at.epoch_seconds()) / DAY)
        return c.group_by("variant").aggregate(cases=c.count(), median_days=c.days.median())

    df = _cached(store, "variants", q, build)
    total = int(df["cases"].sum()) if df.height else 0
    rows = [{"variant": r["variant"].split(SEP), "cases": int(r["cases"]),
             "share": round(100.0 * r["cases"] / total, 2),
             "median_days": _round(r["median_days"])} for r in df.to_dicts()]
    rows.sort(key=lambda r: (-r["cases"], r["variant"]))
    return rows[:top] if top else rows


def case_times(store, q: ProcessQuery, edge: tuple[str, str] | None = None,
               variant: list[str] | None = None, limit: int | None = None
               ) -> list[dict[str, Any]]:
    """Per case (optionally only the cases behind a directly-follows ``edge`` or a
    ``variant``): ``case_id``, its facts, ``events``, ``first_at``, ``last_at``, ``days``
    (receipt to decision where the case has both, else first to last event), ``due`` and
    ``over_days`` (days decided after the due date; null when on time or unknown), the
    longest first."""
    def build():
        c = _per_case(store, q)
        if variant is not None:
            c = c.filter(c.variant == SEP.join(variant))
        if edge is not None:
            d = _edges(store, q)
            d = d.filter((d.src == edge[0]) & (d.dst == edge[1]))
            d = d.select(k_source="_source", k_case="case_id").distinct()
            c = c.join(d, (c["_source"] == d.k_source) & (c.case_id == d.k_case)).drop(
                "k_source", "k_case")
        days = ibis.cases(
            (c.received.notnull() & c.decided.notnull(),
             c.decided.delta(c.received, unit="day").cast("float64")),
            else_=(c.last_at.epoch_seconds() - c.first_at.epoch_seconds()) / DAY)
        over = ibis.cases((c.decided.notnull() & c.due.notnull() & (c.decided > c.due),
                           c.decided.delta(c.due, unit="day")), else_=ibis.null("int64"))
        c = c.mutate(days=days, over_days=over)
        c = c.order_by([ibis.desc(c.days), c.case_id])
        return c.limit(limit) if limit else c

    key = (tuple(edge) if edge else None, tuple(variant) if variant else None, limit)
    df = _cached(store, "case_times", q, build, key)
    rows = df.drop("variant").to_dicts()
    for r in rows:
        r["days"] = _round(r["days"])
    return rows


def bottlenecks(store, q: ProcessQuery) -> list[dict[str, Any]]:
    """Where the time goes in the cases decided after their due date: per transition (the
    time from one activity to the next, ``▶`` being the receipt and ``■`` the decision) and
    per activity (the time up to it from the event before, or from the receipt), the number of
    such cases, the total and the median days; ranked by total days. Rows ``kind``
    (``transition`` | ``activity``), ``from`` (null for an activity), ``to``, ``cases``,
    ``occurrences``, ``total_days``, ``median_days``, ``rank``."""
    def build():
        d = _edges(store, q, late=True)
        d = d.filter(d.hours.notnull()).mutate(days=d.hours / 24.0)
        trans = d.group_by(["src", "dst"]).aggregate(
            cases=d.case_id.nunique(), occurrences=d.count(), total_days=d.days.sum(),
            median_days=d.days.median()).mutate(kind=ibis.literal("transition"))
        acts = d.filter(d.dst != END)
        acts = acts.group_by(acts.dst).aggregate(
            cases=acts.case_id.nunique(), occurrences=acts.count(),
            total_days=acts.days.sum(), median_days=acts.days.median()).mutate(
            kind=ibis.literal("activity"), src=ibis.null("string"))
        return ibis.union(trans, acts.select(*trans.columns))

    df = _cached(store, "bottlenecks", q, build)
    rows = [{"kind": r["kind"], "from": r["src"], "to": r["dst"], "cases": int(r["cases"]),
             "occurrences": int(r["occurrences"]), "total_days": _round(r["total_days"]),
             "median_days": _round(r["median_days"])} for r in df.to_dicts()]
    out = []
    for kind in ("transition", "activity"):
        part = sorted((r for r in rows if r["kind"] == kind),
                      key=lambda r: (-(r["total_days"] or 0), r["from"] or "", r["to"]))
        for i, r in enumerate(part, 1):
            r["rank"] = i
        out += part
    return out


def rework(store, q: ProcessQuery) -> list[dict[str, Any]]:
    """Activities repeated within a case: per activity the cases where it happens more than
    once, the repeats (occurrences beyond the first) and the share (0–100) of the cases with
    the activity that repeat it; most cases first."""
    def build():
        e = _events(store, q)
        per = e.group_by(["_source", "case_id", "activity"]).aggregate(n=e.count())
        return per.group_by("activity").aggregate(
            with_activity=per.count(), cases=(per.n > 1).ifelse(1, 0).sum().cast("int64"),
            repeats=(per.n - 1).sum().cast("int64"))

    df = _cached(store, "rework", q, build)
    rows = [{"activity": r["activity"], "cases": int(r["cases"]), "repeats": int(r["repeats"]),
             "share": round(100.0 * int(r["cases"]) / int(r["with_activity"]), 2)}
            for r in df.to_dicts() if r["cases"]]
    return sorted(rows, key=lambda r: (-r["cases"], r["activity"]))


def service_times(store, q: ProcessQuery) -> list[dict[str, Any]]:
    """Where a log records lifecycle transitions: per activity, the instances with both a
    ``start`` and a ``complete`` (the n-th start of an activity in a case paired with its n-th
    complete, in time order) and the median and P90 hours between them (the service time);
    most instances first."""
    def build():
        e = _events(store, q, complete=False)
        e = e.filter(e.lifecycle.notnull()).mutate(lc=e.lifecycle.lower())
        e = e.filter(e.lc.isin(["start", "complete"]))
        w = ibis.window(group_by=[e["_source"], e.case_id, e.activity, e.lc], order_by=[e.at])
        e = e.mutate(n=ibis.row_number().over(w))
        st = e.filter(e.lc == "start").select(s_source="_source", s_case="case_id",
                                               s_act="activity", s_n="n", s_at="at")
        co = e.filter(e.lc == "complete")
        j = co.join(st, (co["_source"] == st.s_source) & (co.case_id == st.s_case)
                    & (co.activity == st.s_act) & (co.n == st.s_n))
        j = j.mutate(hours=derive.hours(j.at, j.s_at))
        return j.group_by("activity").aggregate(
            instances=j.count(), median_hours=j.hours.median(),
            p90_hours=j.hours.quantile(0.9))

    df = _cached(store, "service_times", q, build)
    rows = [{"activity": r["activity"], "instances": int(r["instances"]),
             "median_hours": _round(r["median_hours"]), "p90_hours": _round(r["p90_hours"])}
            for r in df.to_dicts()]
    return sorted(rows, key=lambda r: (-r["instances"], r["activity"]))


def summary(store, q: ProcessQuery) -> dict[str, Any]:
    """Cases and events of the query, and the median days from receipt to first event (of
    the cases in the store) and of throughput against the deadline."""
    def build():
        c = _per_case(store, q)
        first = ibis.cases((c.received.notnull(),
                            (c.first_at.epoch_seconds()
                             - c.received.cast("timestamp").epoch_seconds()) / DAY),
                           else_=ibis.null("float64"))
        late = c.decided.notnull() & c.due.notnull() & (c.decided > c.due)
        judged = c.decided.notnull() & c.due.notnull()
        return c.aggregate(cases=c.count(), events=c.events.sum().cast("int64"),
                           receipt_to_first_days=first.median(),
                           judged=judged.ifelse(1, 0).sum(), late=late.ifelse(1, 0).sum())

    r = _cached(store, "summary", q, build).to_dicts()[0]
    return {"cases": int(r["cases"] or 0), "events": int(r["events"] or 0),
            "receipt_to_first_days": _round(r["receipt_to_first_days"]),
            "decided_with_deadline": int(r["judged"] or 0), "late": int(r["late"] or 0)}



STALLED_COLUMNS = ("case_id", "administration", "unit", "case_type", "received", "due",
                   "as_of", "last_event", "last_activity", "idle_days")


def stalled(store, q: ProcessQuery, idle: int = worklist.STALLED_DAYS) -> list[dict[str, Any]]:
    """"Sager der står stille": the worklist's open cases with no event for ``idle`` days, on
    the day each administration's data reach (or the period's last day), longest idle first,
    with :data:`STALLED_COLUMNS`. The filters name one administration, unit or case type (the
    worklist's); anything else is a usage error, as a bad ``idle`` is a ``WorklistError``."""
    scope = {k: v[0] for k, v in q.where.items()}
    if set(scope) - {"administration", "unit", "case_type"} or any(
            len(v) > 1 for v in q.where.values()):
        raise KpiUsageError("Afgrænsningen skal være administration=X, unit=Y eller "
                            "case_type=Z.")
    w = worklist.worklist(store, worklist.STALLED, idle=idle, **scope,
                          today=q.period.end if q.period else None)
    return [{c: r[c] for c in STALLED_COLUMNS} for r in w.rows]

__all__ = ["DIMS", "END", "STALLED_COLUMNS", "START", "ProcessQuery", "bottlenecks",
           "case_times", "dfg", "rework", "service_times", "stalled", "summary", "variants"]
