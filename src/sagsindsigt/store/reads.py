"""Every read of stored data that the rooms above the store need, in one place.

Each reader starts from :meth:`Store.table` (the acting principal's scope applied, see
:func:`sagsindsigt.access.restrict`) or applies the same rule to a join with
:meth:`Store.scoped`, so a row outside the caller's scope never leaves this module: a new
page or report that reads through here cannot forget the scope. Rows that carry no
administration or unit of their own get one by a join first (audit samples, answers and rounds
by their concept; batches by the rows they loaded). The web layer, the reports and the CLI read
only through these functions and the KPI registry; ``make lint`` keeps them off the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .. import lazy
from ..access import current
from ..contract import KINDS
from ..contract.codes import ADMINISTRATIONS
from .deps import note

ibis = lazy.module("ibis")

# record kinds whose rows name an administration and a unit (the organisation's codes seen)
SEEN_IN = ("cases", "volumes", "complaints")


def _rows(store, expr: ibis.Table) -> list[dict[str, Any]]:
    return store.run(expr).to_dicts()


def _scope_columns(kind: str) -> bool:
    names = {f.name for f in KINDS[kind].fields}
    return bool(names & {"administration", "unit"})


# -- the organisation ---------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    code: str
    name: str
    level: str  # kommune | forvaltning | center | enhed
    parent: str | None
    derived: bool  # True: not in the organisation file, derived from codes seen in the data


def organisation(store, seen_in: Iterable[str] = SEEN_IN) -> list[Node]:
    """The organisation tree (kommune → forvaltning → center/enhed): the loaded records as
    loaded, then one ``forvaltning`` per administration code and one ``center`` per
    (administration, unit) seen in cases, volumes or complaints that the organisation file
    does not name (data contract: "otherwise derived from the codes seen in cases"; a KPI asks
    for the codes seen in its own tables, ``seen_in``). A scoped caller gets the nodes inside
    its scope and the path up to the root. Root first, then by code."""
    org = store.table("organisation")
    nodes: dict[str, Node] = {}
    for r in _rows(store, org.select("code", "name", "parent", "level").order_by("code")):
        nodes[r["code"]] = Node(r["code"], r["name"] or r["code"], r["level"], r["parent"],
                                False)
    root = next((n.code for n in nodes.values() if n.level == "kommune"), None)

    seen = sorted({pair for t in seen_in for pair in _seen(store, t)},
                  key=lambda p: (p[0], p[1] or ""))
    for admin in sorted({a for a, _ in seen}):
        if admin not in nodes:
            nodes[admin] = Node(admin, ADMINISTRATIONS.get(admin, admin), "forvaltning", root,
                                True)
    for admin, unit in seen:
        if unit and unit not in nodes:
            nodes[unit] = Node(unit, unit, "center", admin, True)
    scope = current().data_scope
    if not scope.everything:  # the scope's own nodes and the path up to the root
        keep = {c for c in nodes if scope.covers(c)}
        for c in list(keep):
            up = nodes[c].parent
            while up and up not in keep:
                keep.add(up)
                up = nodes[up].parent if up in nodes else None
        nodes = {c: n for c, n in nodes.items() if c in keep}
    order = {"kommune": 0, "forvaltning": 1, "center": 2, "enhed": 3}
    return sorted(nodes.values(), key=lambda n: (order.get(n.level, 9), n.code))


def _seen(store, table: str) -> list[tuple[str, str | None]]:
    """The (administration, unit) pairs of one table, kept until that table changes: a new
    complaint does not make the case figures read the cases again."""

    def pairs() -> list[tuple[str, str | None]]:
        t = store.table(table)
        t = t.filter(t.administration.notnull()).select("administration", "unit").distinct()
        return [(r["administration"], r["unit"]) for r in _rows(store, t)]

    return store.cached(("organisation_seen", table), pairs)


def administrations(nodes: Iterable[tuple[str, str | None, str]]) -> dict[str, str]:
    """The forvaltning of each node given as (code, parent, level): itself for a forvaltning,
    the first forvaltning up its parents for the others. Nodes under none (the kommune, a
    parent missing from the nodes, a cycle) are left out."""
    by_code = {code: (parent, level) for code, parent, level in nodes}
    out: dict[str, str] = {}
    for code in by_code:
        node, seen = code, set()
        while node in by_code and node not in seen:
            seen.add(node)
            parent, level = by_code[node]
            if level == "forvaltning":
                out[code] = node
                break
            if level == "kommune":
                break
            node = parent
    return out


def outside_scope(store, table: str, **where: Any) -> bool:
    """Whether rows matching ``where`` exist only outside the caller's scope: the question
    behind answering "Ingen adgang" (403) rather than "findes ikke" (404) or "ingen data". It
    tells no more than that such rows exist."""
    def count(t: ibis.Table) -> int:
        for c, v in where.items():
            t = t.filter(t[c] == v)
        return int(store.run(t.aggregate(n=t.count())).to_dicts()[0]["n"])

    return count(store.table(table)) == 0 and count(store._raw(table)) > 0


def require_visible(store, administration: str | list[str] | None = None,
                    unit: str | list[str] | None = None,
                    case_type: str | list[str] | None = None) -> None:
    """A view's filters (one value or a list each) must lie inside the caller's scope: a
    filter on another administration, a unit outside the scope or another administration's
    case type is refused (``access.Denied``: "Ingen adgang", never an empty "ingen data"). A
    filter on the own administration by a centre's reader is its own part, not a refusal."""
    from ..access import Denied

    s = current().data_scope
    if s.everything:
        return
    mine = s.name or s.code

    def each(v) -> list[str]:
        return [v] if isinstance(v, str) else list(v or [])

    for a in each(administration):
        if a not in (s.administrations or ()):
            raise Denied(f"{ADMINISTRATIONS.get(a, a)} ligger uden for dit område ({mine}).")
    for u in each(unit):
        if not s.covers(u) and any(n.code == u for n in store.organisation_tree()):
            raise Denied(f"Enheden {u} ligger uden for dit område ({mine}).")
    for c in each(case_type):
        if outside_scope(store, "case_types", code=c):
            raise Denied(f"Sagstypen {c} hører til en anden forvaltning end dit område "
                         f"({mine}).")


# -- names of codes ---------------------------------------------------------------------------
def case_types(store) -> list[dict[str, Any]]:
    """The case types inside the caller's scope (code, name, administration, legal basis,
    deadline)."""
    t = store.table("case_types")
    return _rows(store, t.select("code", "name", "administration", "benefit_area",
                                 "legal_basis", "deadline").order_by(["administration", "code"]))


def concepts(store) -> list[dict[str, Any]]:
    """The audit concepts of the administrations inside the caller's scope, each with its
    checks in order (``checks``: id, text, category)."""
    c = store.table("concepts")
    rows = _rows(store, c.select("id", "name", "administration", "benefit_area", "frequency",
                                 "sample_size").order_by("id"))
    k = store.table("concept_checks")
    checks: dict[str, list[dict]] = {}
    for r in _rows(store, k.select("concept", "id", "text", "category", "position")
                   .order_by(["concept", "position", "id"])):
        checks.setdefault(r["concept"], []).append(r)
    for r in rows:
        r["checks"] = checks.get(r["id"], [])
    return rows


def timeliness_rules(store) -> list[dict[str, Any]]:
    t = store.table("timeliness_rules")
    return _rows(store, t.select("id", "name", "administration", "anchor", "required",
                                 "limit").order_by("id"))


def targets(store) -> list[dict[str, Any]]:
    """The targets (måltal) inside the caller's scope: a target of the whole municipality is
    not one of a scoped reader's (its figure would be computed from part of the data)."""
    return _rows(store, store.table("targets").order_by("id"))


# -- periods ----------------------------------------------------------------------------------
def received_span(store) -> tuple[date, date] | None:
    """The first and last date a case was received, inside the caller's scope."""
    t = store.table("cases")
    r = store.run(t.aggregate(first=t.received.min(), last=t.received.max())).to_dicts()[0]
    return (r["first"], r["last"]) if r["first"] is not None else None


def latest_year(store) -> str:
    """The latest year with complaints or cases inside the caller's scope (2014 without any)."""
    years = []
    for name in ("complaints", "cases"):
        t = store.table(name)
        v = store.run(t.aggregate(last=t.received.max())).to_dicts()[0]["last"]
        if v is not None:
            years.append(v.year)
    return str(max(years)) if years else "2014"


# -- import batches and the quarantine ------------------------------------------------------
def batches(store, kinds: set[str] | None = None, ids: list[int] | None = None,
            administrations: list[str] | None = None) -> list[dict[str, Any]]:
    """Import batches, oldest first. A scoped caller (or a filter on ``administrations``) sees
    a batch of a kind whose rows name an administration or unit only when it loaded rows
    inside the scope, and ``rows_loaded`` then counts those rows only; batches of reference
    data without a scope of their own (the organisation, events without a unit) are seen by
    all."""
    b = store.table("batches")
    if kinds is not None:
        b = b.filter(b.kind.isin(sorted(kinds) or ["-"]))
    if ids is not None:
        b = b.filter(b.id.isin([int(i) for i in ids] or [-1]))
    rows = _rows(store, b.order_by("id"))
    if current().data_scope.everything and not administrations:
        return rows
    own: dict[int, int] = {}
    for kind in {r["kind"] for r in rows} & set(KINDS):
        if not _scope_columns(kind):
            continue
        t = store.table(kind)
        if administrations and "administration" in t.columns:
            t = t.filter(t.administration.isin(list(administrations)))
        for r in _rows(store, t.group_by("_batch").aggregate(n=t.count())):
            own[int(r["_batch"])] = int(r["n"])
    out = []
    for r in rows:
        if r["kind"] in KINDS and _scope_columns(r["kind"]):
            if r["id"] not in own:
                continue
            r["rows_loaded"] = own[r["id"]]
        out.append(r)
    return out


def rejects(store, batch: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rejected rows with their reasons. They are rows of source files, so case-level data of
    every administration: only for a caller who sees case data of the whole municipality."""
    p = current()
    if not (p.data_scope.everything and p.can("cases")):
        return []
    t = store.table("rejects")
    if batch is not None:
        t = t.filter(t.batch == batch)
    t = t.order_by([ibis.desc("batch"), "row", "field"] if limit else ["batch", "row", "field"])
    return _rows(store, t.limit(limit) if limit else t)


def pending_rejects(store) -> list[tuple[str, int]]:
    """(file, rows) of rejected rows still waiting to be corrected: those of the latest
    delivery of a file (a later loaded batch of the same kind, source and file supersedes
    them)."""
    if not current().data_scope.everything:
        return []
    r, b = store.table("rejects"), store.table("batches")
    loaded = b.filter(b.status == "indlæst")
    last = loaded.group_by(l_kind=loaded.kind, l_source=loaded.source,
                           l_file=loaded.file).aggregate(l_id=loaded.id.max())
    k = b.left_join(last, (b.kind == last.l_kind) & (b.source == last.l_source)
                    & (b.file == last.l_file))
    latest = k.filter(k.l_id.isnull() | (k.l_id <= k.id)).select(b_id="id")
    j = r.join(latest, r.batch == latest.b_id)
    counts = j.group_by(j.file).aggregate(n=j.row.nunique()).order_by("file")
    return [(x["file"], int(x["n"])) for x in _rows(store, counts)]


def coverage_by_source(store) -> list[dict[str, Any]]:
    """Per source and kind: the first and last day its loaded batches cover, and how many."""
    rows = [r for r in batches(store) if r["status"] == "indlæst"]
    out: dict[tuple, dict] = {}
    for r in rows:
        k = (r["source"], r["kind"])
        o = out.setdefault(k, {"source": r["source"], "kind": r["kind"], "first": None,
                               "last": None, "batches": 0})
        o["batches"] += 1
        for key, col, pick in (("first", "covers_start", min), ("last", "covers_end", max)):
            if r[col] is not None:
                o[key] = r[col] if o[key] is None else pick(o[key], r[col])
    return [out[k] for k in sorted(out)]


def coverage(store, table: str) -> dict[str, list[tuple[date, date]]]:
    """administration → the date ranges its loaded data of ``table`` covers (from the import
    batches; volumes from their own periods; timeliness items from anchor to due), kept by
    the store until ``table`` changes (KPIs, the worklist and Registreringspraksis share
    it)."""
    return store.cached(("coverage", table), lambda: _coverage(store, table))


def _coverage(store, table: str) -> dict[str, list[tuple[date, date]]]:
    t = store.table(table)
    out: dict[str, list[tuple[date, date]]] = {}
    if table == "volumes":
        for r in _rows(store, t.select("administration", "period_start", "period_end")
                       .distinct()):
            out.setdefault(r["administration"], []).append((r["period_start"], r["period_end"]))
        return out
    if table == "timeliness_items":
        span = t.group_by("administration").aggregate(s=t.anchor.min(), e=t.due.max())
        for r in _rows(store, span):
            if r["s"] and r["e"]:
                out[r["administration"]] = [(r["s"], r["e"])]
        return out
    b = store.batch_facts()  # depends on the table's rows, not on every later batch
    used = t.select("_batch", "administration").distinct()
    j = used.join(b, used._batch == b.id).select("administration", "covers_start", "covers_end")
    for r in _rows(store, j.distinct()):
        if r["covers_start"] and r["covers_end"]:
            out.setdefault(r["administration"], []).append((r["covers_start"], r["covers_end"]))
    return out


def decided_cases(store, administration: str, benefit_area: str, start: date,
                  end: date) -> list[dict[str, Any]]:
    """Cases of an administration's benefit area decided in [start, end] (an audit round's
    population), inside the caller's scope."""
    t = store.table("cases")
    t = t.filter((t.administration == administration) & (t.benefit_area == benefit_area)
                 & (t.decided >= start) & (t.decided <= end))
    return _rows(store, t.select("case_id", "_source", "unit", "case_type", "decided"))


# Case-level columns a worklist shows: the case as the case system knows it, never the citizen.
OPEN_CASE_COLUMNS = ("case_id", "administration", "unit", "case_type", "received", "due")


def open_cases(store, days: dict[str, date], due_from: int | None = None,
               due_to: int | None = None, administration: str | None = None,
               unit: str | None = None, case_type: str | None = None) -> list[dict[str, Any]]:
    """Cases open on their administration's day in ``days`` (received on or before it and not
    decided by it) with a known due date between ``due_from`` and ``due_to`` days from that
    day (both included; None: no bound; -1 is "the day before"), inside the caller's scope and
    the filters. Each row has :data:`OPEN_CASE_COLUMNS`, ``as_of`` (the day) and ``due_in``
    (days from the day to the due date, negative when it has passed), most urgent first
    (``due_in``, then received and case id). The citizen column is never read."""
    from datetime import timedelta

    t = store.table("cases")
    for col, value in (("administration", administration), ("unit", unit),
                       ("case_type", case_type)):
        if value is not None:
            t = t.filter(t[col] == value)
    by_day: dict[date, list[str]] = {}
    for admin, d in days.items():
        by_day.setdefault(d, []).append(admin)
    parts = []
    for d, admins in sorted(by_day.items()):  # one branch per day: compared with constants
        day = ibis.literal(d)
        x = t.filter(t.administration.isin(sorted(admins)) & (t.received <= day)
                     & (t.decided.isnull() | (t.decided > day)) & t.due.notnull())
        if due_from is not None:
            x = x.filter(x.due >= ibis.literal(d + timedelta(days=due_from)))
        if due_to is not None:
            x = x.filter(x.due <= ibis.literal(d + timedelta(days=due_to)))
        parts.append(x.select(*OPEN_CASE_COLUMNS, as_of=day,
                              due_in=x.due.delta(day, unit="day").cast("int64")))
    if not parts:
        return []
    u = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return _rows(store, u.order_by(["due_in", "received", "case_id"]))


# -- the events log, for process analysis ------------------------------------------------------
# What process analysis reads of a case: the events log joined to its case where the store has
# it (by source and case id); a log whose cases are not in the store is its own cases.
PROCESS_CASE_COLUMNS = ("administration", "unit", "case_type", "benefit_area", "received",
                        "decided", "due")


def process_events(store) -> ibis.Table:
    """Every event with its case's administration, unit, case type, benefit area, received,
    decided and due date (null where the case is not in the store; the unit is then the
    event's own), inside the caller's scope: an event of a case in the store by the case's
    administration and unit, an event of a log on its own by the event's unit. Columns:
    ``_source``, ``case_id``, ``activity``, ``at``, ``actor``, ``lifecycle`` and
    :data:`PROCESS_CASE_COLUMNS`."""
    e = store._raw("events")
    c = store._raw("cases").select(
        c_source="_source", c_case="case_id", c_admin="administration", c_unit="unit",
        case_type="case_type", benefit_area="benefit_area", received="received",
        decided="decided", due="due")
    j = e.left_join(c, (e._source == c.c_source) & (e.case_id == c.c_case))
    j = j.select(
        "_source", "case_id", "activity", "at", "actor", "lifecycle",
        administration=j.c_admin, unit=ibis.coalesce(j.c_unit, j.unit),
        case_type=j.case_type, benefit_area=j.benefit_area, received=j.received,
        decided=j.decided, due=j.due)
    return store.scoped(j)


def process_table(store, name: str, by_unit: bool = False) -> ibis.Table | None:
    """A derived process table (``process_cases`` or ``process_edges``, see
    ``derive.refresh_process``) inside the caller's scope, or ``None`` where it cannot answer
    and the caller computes from the events (:func:`process_events`):

    * a lake holds no derived tables (the figures are read from it, ``--lake`` or on its own);
    * the tables are not fresh: the events or the cases changed since they were rebuilt
      (their stamp, ``derive.process_stamp``), or a store made before schema 9 (until its
      next import or ``prepare``);
    * some case's events lie in more than one unit (a log on its own, whose unit is the
      event's) and the caller's scope or a filter (``by_unit``) picks units: then a case is cut
      by unit, which only the events can answer.

    The table's rows depend on the events and the cases as well as on the table itself."""
    from .derive import PROCESS_SOURCES, process_stamp  # derive loads Polars

    stamp = process_stamp(store)
    if stamp is None or (stamp["split"] and (by_unit or not current().data_scope.everything)):
        return None
    note(PROCESS_SOURCES)
    return store.table(name)


def process_events_lean(store) -> ibis.Table | None:
    """The events alone (``_source``, ``case_id``, ``activity``, ``at``, ``actor``,
    ``lifecycle``), without the join to their cases, where the caller's scope holds every
    event (then the join decides nothing): ``None`` otherwise, and the caller reads
    :func:`process_events`. A process analysis with no filter on its cases joins the case
    facts to the few rows that need them (a case's first and last event) instead of to every
    event."""
    if not current().data_scope.everything:
        return None
    return store._raw("events").select("_source", "case_id", "activity", "at", "actor",
                                       "lifecycle")


def process_case_facts(store) -> ibis.Table:
    """Each case's receipt, decision and due date by (``f_source``, ``f_case``), unscoped:
    only for joining to events already inside the caller's scope
    (:func:`process_events_lean`)."""
    c = store._raw("cases")
    return c.select(f_source="_source", f_case="case_id", received="received",
                    decided="decided", due="due")


def stalled_cases(store, days: dict[str, date], idle: int, administration: str | None = None,
                  unit: str | None = None, case_type: str | None = None
                  ) -> list[dict[str, Any]]:
    """Cases open on their administration's day in ``days`` (received on or before it, not
    decided by it) whose latest event on or before that day (or, without one, their receipt)
    lies ``idle`` days or more before the day: "sager der står stille". Each row has
    :data:`OPEN_CASE_COLUMNS`, ``as_of``, ``last_event`` (date, null without events),
    ``last_activity`` and ``idle_days``; longest idle first. Inside the caller's scope."""
    t = store.table("cases")
    for col, value in (("administration", administration), ("unit", unit),
                       ("case_type", case_type)):
        if value is not None:
            t = t.filter(t[col] == value)
    e = store._raw("events")
    parts = []
    by_day: dict[date, list[str]] = {}
    for admin, d in days.items():
        by_day.setdefault(d, []).append(admin)
    for d, admins in sorted(by_day.items()):
        day = ibis.literal(d)
        x = t.filter(t.administration.isin(sorted(admins)) & (t.received <= day)
                     & (t.decided.isnull() | (t.decided > day)))
        ev = e.filter(e.at.date() <= day)
        w = ibis.window(group_by=[ev._source, ev.case_id],
                        order_by=[ibis.desc(ev.at), ibis.desc(ev.activity)])
        last = ev.mutate(rn=ibis.row_number().over(w))
        last = last.filter(last.rn == 0).select(
            l_source="_source", l_case="case_id", last_event=last.at.date(),
            last_activity="activity")
        j = x.left_join(last, (x._source == last.l_source) & (x.case_id == last.l_case))
        since = ibis.coalesce(j.last_event, j.received)
        j = j.select(*OPEN_CASE_COLUMNS, as_of=day, last_event=j.last_event,
                     last_activity=j.last_activity,
                     idle_days=day.delta(since, unit="day").cast("int64"))
        parts.append(j.filter(j.idle_days >= int(idle)))
    if not parts:
        return []
    u = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return _rows(store, u.order_by([ibis.desc("idle_days"), "received", "case_id"]))


# -- quality audits ---------------------------------------------------------------------------
def _concept_of(store) -> ibis.Table:
    """Each concept's administration and benefit area, to give audit rows a scope."""
    c = store._raw("concepts")
    return c.select(c_id=c.id, administration=c.administration, benefit_area=c.benefit_area)


def _with_administration(store, name: str) -> ibis.Table:
    """An audit workflow table with its concept's administration, inside the scope."""
    t = store._raw(name)
    c = _concept_of(store)
    j = t.left_join(c, t.concept == c.c_id).drop("c_id", "benefit_area")
    return store.scoped(j)


def reviews(store) -> ibis.Table:
    """Every review with its concept's administration and benefit area and its check's
    category, inside the caller's scope (a review names a unit, its concept the
    administration)."""
    r = store._raw("reviews")
    c = _concept_of(store)
    k = store._raw("concept_checks").select(k_concept="concept", k_check="id",
                                           category="category")
    t = r.left_join(c, r.concept == c.c_id).drop("c_id")
    t = t.left_join(k, (t.concept == k.k_concept) & (t.check == k.k_check)).drop(
        "k_concept", "k_check")
    return store.scoped(t)


def review_rounds(store) -> list[str]:
    """The rounds that have reviews inside the caller's scope."""
    t = reviews(store)
    return sorted(r["round"] for r in _rows(store, t.select("round").distinct()))


def round_reviews(store, concept: str, round_label: str) -> list[dict[str, Any]]:
    """The published reviews of one round (case, check, role, result), inside the scope."""
    t = reviews(store)
    t = t.filter((t.concept == concept) & (t["round"] == round_label))
    return _rows(store, t.select("case_id", "check", "reviewer_role", "result", "_source"))


def audit_round(store, concept: str, round_label: str) -> dict[str, Any] | None:
    t = _with_administration(store, "audit_rounds")
    rows = _rows(store, t.filter((t.concept == concept) & (t["round"] == round_label)))
    return rows[0] if rows else None


def audit_sample(store, concept: str, round_label: str) -> list[dict[str, Any]]:
    """A round's drawn cases, in draw order: those inside the caller's scope."""
    t = _with_administration(store, "audit_samples")
    t = t.filter((t.concept == concept) & (t["round"] == round_label))
    return _rows(store, t.order_by("position"))


def audit_answers(store, concept: str, round_label: str,
                  case_id: str | None = None) -> list[dict[str, Any]]:
    """Every answer given in a round (oldest first), for the cases of the sample inside the
    caller's scope."""
    a = store._raw("audit_answers")
    a = a.filter((a.concept == concept) & (a["round"] == round_label))
    if case_id is not None:
        a = a.filter(a.case_id == case_id)
    s = _with_administration(store, "audit_samples").select(
        s_concept="concept", s_round="round", s_case="case_id", unit="unit",
        administration="administration")
    j = a.join(s, (a.concept == s.s_concept) & (a["round"] == s.s_round)
               & (a.case_id == s.s_case))
    return _rows(store, j.drop("s_concept", "s_round", "s_case").order_by("id"))


def audit_events(store, concept: str, round_label: str) -> list[dict[str, Any]]:
    t = _with_administration(store, "audit_events")
    return _rows(store, t.filter((t.concept == concept) & (t["round"] == round_label))
                 .order_by("id"))


def audit_round_facts(store, labels: list[str], workflow: str) -> dict[str, dict[tuple, Any]]:
    """For the annual plan: per (concept, round) of the given rounds, the closed status, the
    number of drawn cases, the (case, check) pairs answered by an internal reviewer, and
    whether reviews were imported from another source than ``workflow`` (the audit
    workflow's own source)."""
    labels = sorted(labels) or ["-"]
    out: dict[str, dict[tuple, Any]] = {}
    r = _with_administration(store, "audit_rounds")
    out["status"] = {(x["concept"], x["round"]): x["status"] for x in _rows(
        store, r.filter(r["round"].isin(labels)).select("concept", "round", "status"))}
    s = _with_administration(store, "audit_samples")
    s = s.filter(s["round"].isin(labels))
    out["drawn"] = {(x["concept"], x["round"]): int(x["n"]) for x in _rows(
        store, s.group_by(["concept", "round"]).aggregate(n=s.count()))}
    a = store._raw("audit_answers")
    a = a.filter(a["round"].isin(labels) & (a.reviewer_role == "intern"))
    c = _concept_of(store)
    a = store.scoped(a.left_join(c, a.concept == c.c_id).drop("c_id", "benefit_area"))
    pairs = a.select("concept", "round", "case_id", "check").distinct()
    out["answered"] = {(x["concept"], x["round"]): int(x["n"]) for x in _rows(
        store, pairs.group_by(["concept", "round"]).aggregate(n=pairs.count()))}
    v = reviews(store)
    v = v.filter(v["round"].isin(labels) & (v._source != workflow))
    out["imported"] = {(x["concept"], x["round"]): True for x in _rows(
        store, v.select("concept", "round").distinct())}
    return out


# -- complaint registration -------------------------------------------------------------------
def complaint(store, source: str, key: str) -> dict[str, Any] | None:
    """The current version of a complaint, when it lies inside the caller's scope."""
    t = store.table("complaints")
    rows = _rows(store, t.filter((t._source == source) & (t._key == key)))
    return rows[0] if rows else None


def complaint_versions(store, source: str, key: str) -> list[dict[str, Any]]:
    """Every version of a complaint, oldest first (versions inside the caller's scope)."""
    h = store.table("complaints_history")
    return _rows(store, h.filter((h._source == source) & (h._key == key)).order_by("_version"))


def registrations(store, source: str, key: str) -> list[dict[str, Any]]:
    """The registration log of one complaint: who registered or corrected which version."""
    if complaint_versions(store, source, key) == []:
        return []
    r = store._raw("complaint_registrations")
    return _rows(store, r.filter((r._source == source) & (r.complaint_id == key))
                 .order_by("batch"))


def recent_registrations(store, limit: int = 25) -> list[dict[str, Any]]:
    """The latest registrations and corrections made in the app, newest first, of complaints
    inside the caller's scope."""
    r = store._raw("complaint_registrations")
    b = store._raw("batches").select(b_id="id", loaded_at="loaded_at")
    h = store._raw("complaints_history").select(
        h_source="_source", h_key="_key", h_version="_version",
        administration="administration", unit="unit")
    j = r.join(b, (b.b_id == r.batch) & (b.loaded_at == r.registered_at))
    j = j.join(h, (h.h_source == j._source) & (h.h_key == j.complaint_id)
               & (h.h_version == j.version))
    j = store.scoped(j).order_by([ibis.desc("registered_at"), ibis.desc("batch")])
    rows = _rows(store, j.select(source="_source", complaint_id="complaint_id",
                                 version="version", action="action", by="registered_by",
                                 at="registered_at").limit(int(limit)))
    return rows


__all__ = [
    "OPEN_CASE_COLUMNS", "PROCESS_CASE_COLUMNS", "administrations", "audit_answers",
    "audit_events", "audit_round", "audit_round_facts", "audit_sample", "batches", "case_types",
    "complaint", "complaint_versions", "concepts", "coverage", "coverage_by_source",
    "decided_cases", "latest_year", "Node", "open_cases", "organisation", "outside_scope",
    "pending_rejects", "process_case_facts", "process_events", "process_events_lean",
    "received_span", "recent_registrations", "registrations",
    "rejects", "require_visible", "review_rounds", "reviews", "round_reviews", "stalled_cases",
    "targets", "timeliness_rules",
]
