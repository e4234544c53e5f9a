"""Derived columns and tables, recomputed when the records they come from change (from every
row, whoever triggered the import: the scope is for readers).

* cases: ``benefit_area`` from the case type, and ``due`` — the deadline date from the case's
  own deadline, else its case type's published deadline (calendar.Deadline.due).
* timeliness_items: one row per (rule, case) with anchor, due and done dates, from the events
  log and the timeliness rules.
"""

from __future__ import annotations

from datetime import date

from .. import lazy
from ..calendar import Deadline

pl = lazy.module("polars")
pa = lazy.module("pyarrow")


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
