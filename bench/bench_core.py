"""Core benchmark: demo build, import throughput and KPI latency at N Copenhagen demo years.

    uv run python bench/bench_core.py --years 4 [--db PATH] [--rows 1000000] [--runs 15]

1. builds the demo municipality (``build_demo``) into a DuckDB store;
2. imports a clean UTF-8 comma-separated cases CSV of ``--rows`` rows into a fresh store, then
   the same file again (recognised, a no-op) and a newer extract with 10 % of the rows
   changed, with a phase breakdown of the first load;
3. times every KPI in the registry through our layer for a typical dashboard query (the last
   demo year, by administration);
4. times three KPIs side by side: our layer, hand-written DuckDB SQL on the same tables and
   pandas on DataFrames already in memory, and asserts that all three give the same figures.

Aims from the foundation issue: ≥ 1,000,000 rows/s for a clean CSV; every KPI ≤ 100 ms on
DuckDB at 4 Copenhagen years; our layer ≤ 1.3 × the hand-written SQL. The figures are printed
as measured, with the aim beside them; missing an aim does not fail the run (exit code 0).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

IMPORT_AIM = 1_000_000  # rows/s, clean CSV
KPI_AIM_MS = 100.0  # every KPI at 4 Copenhagen years on DuckDB
RATIO_AIM = 1.3  # our layer / hand-written SQL
BY = ["administration"]


# -- timing helpers -------------------------------------------------------------------------
def sample(fn: Callable[[], object], runs: int) -> tuple[list[float], object]:
    """One warm-up call, then ``runs`` timed calls; times in ms and the last result."""
    out = fn()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        ms.append((time.perf_counter() - t) * 1000)
    return ms, out


def p95(ms: list[float]) -> float:
    if len(ms) < 2:
        return ms[0]
    return statistics.quantiles(ms, n=20, method="inclusive")[18]


def once(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


class Phases:
    """Wall time spent inside named functions during one call, each counted once: a wrapped
    call inside another is subtracted from the outer one (self time), and SQL statements are
    labelled with the step that ran them. The functions are restored afterwards."""

    def __init__(self):
        self.secs: dict[str, float] = defaultdict(float)
        self._stack: list[list] = []  # [label, time spent in wrapped children]

    def _wrap(self, fn, label: str | Callable):
        def wrapper(*a, **kw):
            name = label(*a, **kw) if callable(label) else label
            if name.startswith("SQL") and self._stack:
                name = f"{self._stack[-1][0]} › {name}"
            self._stack.append([name, 0.0])
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent = time.perf_counter() - t
                _, children = self._stack.pop()
                self.secs[name] += spent - children
                if self._stack:
                    self._stack[-1][1] += spent
        return wrapper

    @contextmanager
    def watching(self, targets: list[tuple[object, str, str | Callable]]):
        """targets: (object, attribute, label or fn(args) -> label). Missing ones are skipped,
        so the benchmark survives a refactor of the importer (the step then falls in 'other')."""
        saved = []
        for obj, attr, label in targets:
            fn = getattr(obj, attr, None)
            if fn is None:
                continue
            saved.append((obj, attr, vars(obj).get(attr, _MISSING)))
            setattr(obj, attr, self._wrap(fn, label))
        try:
            yield self
        finally:
            for obj, attr, own in reversed(saved):
                if own is _MISSING:
                    delattr(obj, attr)  # it was an instance attribute shadowing a method
                else:
                    setattr(obj, attr, own)


_MISSING = object()
_SQL = re.compile(r'^\s*(CREATE TEMP TABLE|CREATE TABLE|INSERT INTO|DELETE FROM|UPDATE|'
                  r'DROP TABLE IF EXISTS|DROP TABLE|SELECT)\s+"?([\w.]*)', re.I)


def sql_label(sql: str, *_a, **_kw) -> str:
    m = _SQL.match(sql)
    if not m:
        return "SQL " + " ".join(sql.split()[:3])
    verb, name = m.group(1).upper(), m.group(2)
    if verb == "SELECT":
        return "SQL SELECT (small queries)"
    if verb.startswith("DROP"):
        return "SQL DROP (temp tables)"
    if "stage" in name or "changed" in name:  # write_records' staging steps
        return f"SQL {verb} {name}" + (" (+ md5 content hash)" if verb.startswith("CREATE")
                                       and "changed" in name else "")
    return f"SQL {verb} {name}"


# -- the data sets --------------------------------------------------------------------------
def clean_cases(rows: int, workdir: Path) -> pl.DataFrame:
    """``rows`` demo case rows (every case-level administration, year after year from 2012),
    with unique case ids, ISO dates and CPR-shaped citizen numbers."""
    from sagsindsigt.demo import FIRST_YEAR, Demo

    d = Demo(years=1, seed=2014, workdir=workdir)
    frames, n, year = [], 0, FIRST_YEAR
    while n < rows:
        for admin in ("BIF", "SOF", "TMF", "SUF", "BUF"):
            f = d.cases_for(admin, year, date(year + 1, 1, 15))
            frames.append(f)
            n += f.height
        year += 1
    return pl.concat(frames).head(rows)


def reference_files(workdir: Path) -> tuple[Path, Path]:
    """The demo's organisation and case types, so that a fresh store derives deadlines."""
    from sagsindsigt.demo import CASE_TYPES, ORGANISATION

    org = workdir / "organisation.csv"
    pl.DataFrame([dict(zip(("code", "name", "parent", "level"), o, strict=True))
                  for o in ORGANISATION]).write_csv(org)
    types = workdir / "sagstyper.csv"
    pl.DataFrame([{"code": c.code, "name": c.name, "administration": c.administration,
                   "benefit_area": c.benefit_area, "deadline": c.deadline}
                  for c in CASE_TYPES]).write_csv(types)
    return org, types


# -- sections -------------------------------------------------------------------------------
def build(store, years: int, reuse: bool) -> None:
    from sagsindsigt.demo import FIRST_YEAR, build_demo

    print(f"\n1. Demo build ({years} years, {FIRST_YEAR}–{FIRST_YEAR + years - 1}, seed 2014)")
    if reuse:
        span = store._engine.query("SELECT min(year(received)), max(year(received)) FROM cases")
        lo, hi = span[0]
        if (lo, hi) != (FIRST_YEAR, FIRST_YEAR + years - 1):
            sys.exit(f"--db holds demo years {lo}–{hi}, not {years} years: use another path.")
        print("   reused the existing store given by --db (not rebuilt, no build time)")
    else:
        secs, msg = once(lambda: build_demo(store, years=years, seed=2014,
                                            echo=lambda s: print(f"   {s.strip()}")))
        loaded = store._engine.query("SELECT sum(rows_loaded) FROM batches")[0][0]
        print(f"   built in {secs:.1f} s: {loaded:,} rows loaded through the importer "
              f"({loaded / secs:,.0f} rows/s over all formats, incl. generating the files)")
        print(f"   ({msg})")
    counts = []
    for t in ("cases", "volumes", "events", "timeliness_items", "complaints", "reviews"):
        counts.append(f"{t} {store._engine.query(f'SELECT count(*) FROM {t}')[0][0]:,}")
    print("   current rows: " + ", ".join(counts))


def import_throughput(work: Path, rows: int) -> dict:
    import sagsindsigt.ingest as ingest
    from sagsindsigt.ingest import import_file
    from sagsindsigt.store import Store, derive

    print(f"\n2. Import of a clean cases CSV into a fresh store ({rows:,} rows)")
    gen, cases = once(lambda: clean_cases(rows, work))
    csv1 = work / "cases-clean.csv"
    cases.write_csv(csv1)
    n_changed = (cases.height + 9) // 10
    changed = cases.with_columns(  # every 10th row: completeness flipped, a new version
        pl.when(pl.int_range(pl.len()) % 10 == 0).then(~pl.col("complete_on_receipt"))
        .otherwise(pl.col("complete_on_receipt")).alias("complete_on_receipt"))
    csv2 = work / "cases-clean-2.csv"
    changed.write_csv(csv2)
    mb = csv1.stat().st_size / 1e6
    print(f"   file: {cases.height:,} rows, {len(cases.columns)} columns "
          f"({', '.join(cases.columns)}), {mb:.0f} MB UTF-8, comma-separated, ISO dates; "
          f"generated in {gen:.1f} s (not timed below)")

    store = Store(str(work / "import.duckdb"))
    store.init()
    org, types = reference_files(work)
    import_file(store, "organisation", org, source="bench")
    import_file(store, "case_types", types, source="bench")  # so that deadlines are derived

    phases = Phases()
    targets = [
        (ingest, "_sha256", "SHA-256 of the file"),
        (ingest, "secret_for", "load secret"),
        (ingest, "read_table", "read CSV (read_table)"),
        (ingest, "_prepare", "map columns (_prepare)"),
        (ingest, "validate", "validate + pseudonymise (validate)"),
        (ingest, "_covers", "coverage (_covers)"),
        (ingest, "_reject_table", "reject table"),
        (ingest, "_stage", "record keys (_stage)"),
        (derive, "with_case_derived", "derive benefit area, due date"),
        (ingest, "_refresh", "refresh derived tables (_refresh)"),
        (store, "write_records", "store.write_records"),
        (store, "record_batch", "record batch"),
        (store._engine, "execute", sql_label),
        (store._engine, "query", sql_label),
        (store._engine, "load_arrow", lambda table, *_a: f"SQL load Arrow into {table}"),
    ]
    with phases.watching(targets):
        first, r1 = once(lambda: import_file(store, "cases", csv1, source="bench"))
    assert r1.status == "indlæst" and r1.rows_loaded == rows, r1.message
    again, r_again = once(lambda: import_file(store, "cases", csv1, source="bench"))
    assert r_again.status == "allerede indlæst", r_again.status
    second, r2 = once(lambda: import_file(store, "cases", csv2, source="bench"))
    assert r2.rows_loaded == n_changed and r2.rows_unchanged == rows - n_changed, r2
    versions = store._engine.query("SELECT count(*) FROM cases_history")[0][0]
    store.close()

    rate = rows / first
    mark = "meets the aim" if rate >= IMPORT_AIM else f"{IMPORT_AIM / rate:.1f}× short of the aim"
    print(f"   first load          {first:7.2f} s  {rate:>11,.0f} rows/s   "
          f"(aim ≥ {IMPORT_AIM:,} rows/s: {mark})")
    print(f"   same file again     {again:7.2f} s  recognised by SHA-256, nothing written")
    print(f"   newer extract       {second:7.2f} s  {rows / second:>11,.0f} rows/s   "
          f"{r2.rows_loaded:,} new versions, {r2.rows_unchanged:,} unchanged "
          f"(history now {versions:,} versions)")

    print("   where the first load's time goes (self time of each step; 'A › SQL ...' is a "
          "statement step A ran):")
    steps = sorted(phases.secs.items(), key=lambda kv: -kv[1])
    steps.append(("other (Python glue, to_arrow, small queries)",
                  max(0.0, first - sum(phases.secs.values()))))
    for label, s in steps:
        if s >= 0.005 * first:
            print(f"     {label:64} {s:6.2f} s {100 * s / first:5.1f} %")
    return {"rate": rate}


def kpi_latency(store, period: str, runs: int) -> dict[str, float]:
    from sagsindsigt.kpis import REGISTRY, Query, all_kpis, compute

    all_kpis()  # the definitions register themselves on first use
    print(f"\n3. KPI latency through our layer: period {period}, by administration, no "
          f"annualisation; 1 warm-up + {runs} runs, ms")
    print(f"   {'KPI':32} {'median':>8} {'p95':>8} {'rows':>5}")
    medians = {}
    for kpi_id in REGISTRY:
        ms, res = sample(lambda k=kpi_id: compute(store, Query.make(k, period, BY, [], False)),
                         runs)
        med = statistics.median(ms)
        medians[kpi_id] = med
        flag = f"  > {KPI_AIM_MS:.0f} ms" if med > KPI_AIM_MS else ""
        print(f"   {kpi_id:32} {med:8.1f} {p95(ms):8.1f} {len(res.rows):5}{flag}")
    slow = [k for k, v in medians.items() if v > KPI_AIM_MS]
    print(f"   {len(slow)} of {len(medians)} KPIs above {KPI_AIM_MS:.0f} ms (median)"
          + (f": {', '.join(slow)}" if slow else "")
          + f"; all {len(medians)} one after another: {sum(medians.values()):.0f} ms")
    return medians


# Hand-written DuckDB SQL for the same definitions (kpis/flow.py, complaints.py, measures.py).
# cases_received: case rows received in the period, plus the volumes lying inside the period of
# every (administration, case type) without case rows in the period; a volume row without a
# case type counts only for an administration with no case rows at all in the period.
CASES_RECEIVED_CTE = """
c AS (SELECT administration, case_type, count(*) AS n FROM cases
      WHERE received BETWEEN $lo AND $hi GROUP BY ALL),
v AS (SELECT administration, case_type, sum(cases_received) AS n FROM volumes
      WHERE period_start >= $lo AND period_end <= $hi GROUP BY ALL),
received AS (
  SELECT administration, sum(n) AS n FROM (
    SELECT administration, n FROM c
    UNION ALL
    SELECT administration, n FROM v
    WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.administration = v.administration
                                        AND c.case_type = v.case_type)
      AND (v.case_type IS NOT NULL OR v.administration NOT IN (SELECT administration FROM c))
  ) GROUP BY ALL)"""
HAND_SQL = {
    "cases_received": f"WITH {CASES_RECEIVED_CTE} "
                      "SELECT administration, n, NULL, n FROM received",
    "deadline_compliance": """
        SELECT administration, count(*) FILTER (WHERE decided <= due) AS num, count(*) AS den,
               round(100.0 * num / den, 2)
        FROM cases WHERE decided BETWEEN $lo AND $hi AND due IS NOT NULL GROUP BY ALL""",
    "complaint_rate": f"""
        WITH {CASES_RECEIVED_CTE},
        k AS (SELECT administration, count(*) AS num FROM complaints
              WHERE received BETWEEN $lo AND $hi GROUP BY ALL)
        SELECT k.administration, k.num, r.n, round(100.0 * k.num / nullif(r.n, 0), 2)
        FROM k LEFT JOIN received r USING (administration)""",
}


def pandas_kpis(frames: dict, lo, hi) -> dict[str, Callable[[], dict]]:
    """The same three figures with pandas, as (numerator, denominator, value) per
    administration (denominator None for counts)."""
    cases, vol, compl = frames["cases"], frames["volumes"], frames["complaints"]

    def received() -> dict:
        c = cases[(cases.received >= lo) & (cases.received <= hi)]
        cc = c.groupby(["administration", "case_type"]).size()
        v = vol[(vol.period_start >= lo) & (vol.period_end <= hi)]
        vv = v.groupby(["administration", "case_type"], dropna=False).cases_received.sum()
        admins = set(cc.index.get_level_values(0))
        keep = [(a, t) not in cc.index and (t == t and t is not None or a not in admins)
                for a, t in vv.index]
        total = cc.groupby(level=0).sum().add(vv[keep].groupby(level=0).sum(), fill_value=0)
        return {a: int(n) for a, n in total.items()}

    def cases_received() -> dict:
        return {a: (n, None, n) for a, n in received().items()}

    def deadline_compliance() -> dict:
        s = cases[(cases.decided >= lo) & (cases.decided <= hi) & cases.due.notna()]
        g = (s.decided <= s.due).groupby(s.administration).agg(["sum", "size"])
        return {a: (int(r["sum"]), int(r["size"]), round(100.0 * r["sum"] / r["size"], 2))
                for a, r in g.iterrows()}

    def complaint_rate() -> dict:
        k = compl[(compl.received >= lo) & (compl.received <= hi)]
        num = k.groupby("administration").size()
        den = received()
        return {a: (int(n), den.get(a), round(100.0 * n / den[a], 2) if den.get(a) else None)
                for a, n in num.items()}

    return {"cases_received": cases_received, "deadline_compliance": deadline_compliance,
            "complaint_rate": complaint_rate}


def same(kpi_id: str, ours: dict, other: dict, who: str) -> None:
    """Every administration with a figure in our layer has the same numerator, denominator and
    value in ``other`` (the value to the printed 2 decimals), and vice versa; an administration
    that has data but zero rows is 0 in our layer and simply absent in a GROUP BY."""
    got = {a: t for a, t in other.items() if t[2] is not None}
    for a, (num, den, value) in ours.items():
        if a not in got:
            assert value == 0, (kpi_id, who, a, ours[a], "missing")
            continue
        n2, d2, v2 = got[a]
        assert int(num) == int(n2), (kpi_id, who, a, ours[a], got[a])
        assert den is None or int(den) == int(d2), (kpi_id, who, a, ours[a], got[a])
        assert abs(float(value) - float(v2)) < 0.0051, (kpi_id, who, a, ours[a], got[a])
    extra = set(got) - set(ours)
    assert not extra, (kpi_id, who, "only here:", extra)


def side_by_side(store, period: str, runs: int) -> dict[str, float]:
    from sagsindsigt.calendar import Period
    from sagsindsigt.kpis import Query, compute

    p = Period.parse(period)
    con = store._engine.raw
    params = {"lo": p.start, "hi": p.end}
    print(f"\n4. Three KPIs side by side: period {period}, by administration; median of {runs} "
          "runs after 1 warm-up, ms")
    try:
        import pandas as pd
    except ImportError:
        pd = None
        print("   (pandas is not installed: run 'make setup' for the dev group; column skipped)")
    frames, load_s = {}, 0.0
    if pd is not None:
        t = time.perf_counter()
        frames = {
            "cases": con.execute("SELECT administration, case_type, received, decided, due "
                                 "FROM cases").df(),
            "volumes": con.execute("SELECT administration, case_type, period_start, "
                                   "period_end, cases_received FROM volumes").df(),
            "complaints": con.execute("SELECT administration, received FROM complaints").df(),
        }
        load_s = time.perf_counter() - t
        pkpis = pandas_kpis(frames, pd.Timestamp(p.start), pd.Timestamp(p.end))
    print(f"   {'KPI':22} {'our layer':>10} {'hand SQL':>10} {'pandas':>10} {'ours/SQL':>9}")
    ratios = {}
    for kpi_id, sql in HAND_SQL.items():
        ours_ms, res = sample(lambda k=kpi_id: compute(store, Query.make(k, period, BY, [],
                                                                         False)), runs)
        hand_ms, hand = sample(lambda q=sql: con.execute(q, params).fetchall(), runs)
        ours = {r.dims["administration"]: (r.numerator if r.numerator is not None else r.n,
                                           r.denominator, r.value)
                for r in res.rows if r.value is not None}
        hand_d = {a: (n, d, v) for a, n, d, v in hand}
        same(kpi_id, ours, hand_d, "hand SQL")
        pd_txt = "-"
        if pd is not None:
            pd_ms, pres = sample(pkpis[kpi_id], runs)
            same(kpi_id, ours, pres, "pandas")
            pd_txt = f"{statistics.median(pd_ms):10.1f}"
        ratio = statistics.median(ours_ms) / statistics.median(hand_ms)
        ratios[kpi_id] = ratio
        flag = f"  > {RATIO_AIM}×" if ratio > RATIO_AIM else ""
        print(f"   {kpi_id:22} {statistics.median(ours_ms):10.1f} "
              f"{statistics.median(hand_ms):10.1f} {pd_txt:>10} {ratio:8.1f}×{flag}")
    print(f"   aim: our layer ≤ {RATIO_AIM}× the hand-written SQL. All three give the same "
          "numerators, denominators and values per administration (asserted).")
    if pd is not None:
        rows = sum(len(f) for f in frames.values())
        print(f"   pandas works on DataFrames already in memory ({rows:,} rows of the columns "
              f"needed); loading them from DuckDB took {load_s * 1000:.0f} ms, excluded above.")
    return ratios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=4,
                    help="demo years from 2012 (4 = Copenhagen scale 2012–2015)")
    ap.add_argument("--db", type=Path,
                    help="DuckDB file for the demo store (default: a temporary directory); "
                         "an existing demo store of the same size is reused")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the import CSV")
    ap.add_argument("--runs", type=int, default=15, help="timed runs per KPI (after 1 warm-up)")
    a = ap.parse_args()
    if not 1 <= a.years <= 10:
        ap.error("--years must be 1 to 10")

    work = Path(tempfile.mkdtemp(prefix="sagsindsigt-bench-"))
    db = a.db.resolve() if a.db else work / "demo.duckdb"
    secret = db.with_suffix(".secret")  # where `sagsindsigt --db` looks for it too
    from sagsindsigt.privacy import create_secret

    create_secret(secret)
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(secret)

    from sagsindsigt.demo import FIRST_YEAR
    from sagsindsigt.store import Store

    last = FIRST_YEAR + a.years - 1
    print("Sagsindsigt core benchmark")
    print(f"  data:    {a.years} demo years at Copenhagen scale ({FIRST_YEAR}–{last}; SOF's "
          f"last year as H1 only), import file {a.rows:,} rows")
    print(f"  machine: {os.cpu_count()} CPUs, {platform.platform()}, Python "
          f"{platform.python_version()}")
    print(f"  engines: DuckDB {duckdb.__version__}, Polars {pl.__version__}; "
          f"run {datetime.now():%Y-%m-%d %H:%M}")

    store = None
    try:
        store = Store(str(db))
        reuse = store.is_initialised() and bool(
            store._engine.query("SELECT count(*) FROM batches")[0][0])
        store.init()
        build(store, a.years, reuse)
        imp = import_throughput(work, a.rows)
        period = str(last)
        medians = kpi_latency(store, period, a.runs)
        ratios = side_by_side(store, period, a.runs)
    finally:
        if store is not None:
            store.close()
        shutil.rmtree(work, ignore_errors=True)

    slowest = max(medians, key=medians.get)
    print("\nSummary against the aims")
    print(f"   import, clean CSV      {imp['rate']:>11,.0f} rows/s  (aim ≥ {IMPORT_AIM:,}) "
          f"{'met' if imp['rate'] >= IMPORT_AIM else 'NOT met'}")
    print(f"   slowest KPI            {medians[slowest]:>11.1f} ms      "
          f"(aim ≤ {KPI_AIM_MS:.0f} ms at 4 years) "
          f"{'met' if medians[slowest] <= KPI_AIM_MS else 'NOT met'} ({slowest})")
    worst = max(ratios, key=ratios.get)
    print(f"   ours / hand SQL, worst {ratios[worst]:>11.1f} ×       (aim ≤ {RATIO_AIM}×) "
          f"{'met' if ratios[worst] <= RATIO_AIM else 'NOT met'} ({worst})")
    if a.years != 4:
        print(f"   (the aims are stated for 4 demo years; this run used {a.years})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
