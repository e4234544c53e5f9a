"""Core benchmark: import throughput and KPI latency at N Copenhagen demo years.

    uv run python bench/bench_core.py --years 4 [--db PATH] [--rows 1000000]

Prints import rows/s for a clean CSV, every KPI's latency through our layer, and three KPIs
side by side with hand-written DuckDB SQL and pandas (data already in memory). Aims from the
foundation issue: ≥ 1,000,000 rows/s for clean CSV; every KPI ≤ 100 ms on DuckDB at 4 years;
our layer ≤ 1.3 × the hand-written SQL.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl


def timed(fn, runs: int = 7) -> tuple[float, object]:
    fn()  # warm-up
    ts, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--db", help="an existing demo store to reuse (built when missing)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sagsindsigt-bench-"))
    db = Path(a.db) if a.db else work / "demo.duckdb"
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(db.with_suffix(".secret"))
    from sagsindsigt.demo import Demo, build_demo
    from sagsindsigt.ingest import import_file
    from sagsindsigt.ingest.privacy import create_secret
    from sagsindsigt.kpis import Query, all_kpis, compute
    from sagsindsigt.store import Store

    create_secret(db.with_suffix(".secret"))
    print(f"Sagsindsigt core benchmark — {a.years} Copenhagen demo years; {os.cpu_count()} "
          f"cores; {platform.platform()}; DuckDB {duckdb.__version__}")
    store = Store(str(db))
    if not store.is_initialised() or not store.engine.query("SELECT count(*) FROM batches")[0][0]:
        store.init()
        t = time.perf_counter()
        msg = build_demo(store, years=a.years, seed=2014, echo=lambda _: None)
        print(f"demo build: {time.perf_counter() - t:.1f} s — {msg}")

    # -- 1. import throughput on a clean CSV ------------------------------------------------
    d = Demo(4, 7, work)
    frames, n = [], 0
    for year in range(2012, 2030):
        for admin in ("BIF", "SOF"):
            f = d.cases_for(admin, year, date(year + 1, 1, 1))
            frames.append(f)
            n += f.height
        if n >= a.rows:
            break
    cases = pl.concat(frames).head(a.rows)
    cases = cases.with_columns(pl.col("received").clip(upper_bound=date(2025, 12, 31)),
                               pl.col("decided").clip(upper_bound=date(2025, 12, 31)))
    csv_path = work / "clean.csv"
    cases.write_csv(csv_path)
    fresh = Store(str(work / "import.duckdb"))
    fresh.init()
    t = time.perf_counter()
    r = import_file(fresh, "cases", csv_path, source="bench")
    first = time.perf_counter() - t
    t = time.perf_counter()
    import_file(fresh, "cases", csv_path, source="bench")
    again = time.perf_counter() - t
    changed = cases.with_columns(
        pl.when(pl.int_range(pl.len()) % 10 == 0).then(pl.lit("afslag"))
        .otherwise(pl.col("outcome")).alias("outcome"))
    changed.write_csv(work / "clean2.csv")
    t = time.perf_counter()
    r2 = import_file(fresh, "cases", work / "clean2.csv", source="bench")
    second = time.perf_counter() - t
    print(f"\n1. Import of a clean CSV, {r.rows_read:,} case rows "
          f"({csv_path.stat().st_size / 1e6:.0f} MB):")
    print(f"   first load      {first:6.1f} s  {r.rows_read / first:>10,.0f} rows/s "
          f"(aim ≥ 1,000,000)")
    print(f"   same file again {again:6.2f} s  (recognised by SHA-256, nothing written)")
    print(f"   newer extract   {second:6.1f} s  {r2.rows_loaded:,} new versions, "
          f"{r2.rows_unchanged:,} unchanged")

    # -- 2. every KPI through our layer -------------------------------------------------------
    last = store.engine.query("SELECT max(received) FROM cases")[0][0].year
    period = str(last - 1) if a.years > 1 else str(last)
    print(f"\n2. KPI latency, period {period}, by administration (median of 7, ms):")
    slow = []
    for k in all_kpis():
        ms, _ = timed(lambda k=k: compute(store, Query.make(k.id, period, ["administration"])))
        flag = "  > 100 ms" if ms > 100 else ""
        if flag:
            slow.append(k.id)
        print(f"   {k.id:32} {ms:7.1f}{flag}")
    print(f"   {len(slow)} of {len(all_kpis())} KPIs above 100 ms" +
          (f": {', '.join(slow)}" if slow else ""))

    # -- 3. three KPIs: our layer vs hand-written SQL vs pandas --------------------------------
    con = store.engine.raw
    y0, y1 = date(int(period), 1, 1), date(int(period), 12, 31)
    sql = {
        "cases_received": (
            "WITH c AS (SELECT administration, case_type, count(*) n FROM cases "
            "WHERE received BETWEEN $1 AND $2 GROUP BY 1, 2), v AS (SELECT administration, "
            "case_type, sum(cases_received) n FROM volumes WHERE period_start >= $1 AND "
            "period_end <= $2 GROUP BY 1, 2) SELECT administration, sum(n) FROM (SELECT * FROM c "
            "UNION ALL SELECT v.* FROM v WHERE NOT EXISTS (SELECT 1 FROM c WHERE "
            "c.administration = v.administration AND c.case_type = v.case_type)) GROUP BY 1"),
        "deadline_compliance": (
            "SELECT administration, round(100.0 * count(*) FILTER (WHERE decided <= due) / "
            "count(*), 2) FROM cases WHERE decided BETWEEN $1 AND $2 AND due IS NOT NULL "
            "GROUP BY 1"),
        "complaints_received": (
            "SELECT administration, count(*) FROM complaints WHERE received BETWEEN $1 AND $2 "
            "GROUP BY 1"),
    }
    pdf = {t: con.execute(f"SELECT * FROM {t}").df() for t in ("cases", "volumes", "complaints")}

    def pandas_kpi(kid):
        c, v, k = pdf["cases"], pdf["volumes"], pdf["complaints"]
        lo, hi = str(y0), str(y1)
        if kid == "cases_received":
            cc = c[(c.received >= lo) & (c.received <= hi)].groupby(
                ["administration", "case_type"]).size()
            vv = v[(v.period_start >= lo) & (v.period_end <= hi)].groupby(
                ["administration", "case_type"]).cases_received.sum()
            vv = vv[~vv.index.isin(cc.index)]
            return dict(cc.groupby(level=0).sum().add(vv.groupby(level=0).sum(), fill_value=0))
        if kid == "deadline_compliance":
            s = c[(c.decided >= lo) & (c.decided <= hi) & c.due.notna()]
            return dict((100 * (s.decided <= s.due)).groupby(s.administration).mean().round(2))
        s = k[(k.received >= lo) & (k.received <= hi)]
        return dict(s.groupby("administration").size())

    for col in ("received", "decided", "due"):
        pdf["cases"][col] = pdf["cases"][col].astype("datetime64[ns]").dt.strftime("%Y-%m-%d")
    pdf["volumes"]["period_start"] = pdf["volumes"]["period_start"].astype(str)
    pdf["volumes"]["period_end"] = pdf["volumes"]["period_end"].astype(str)
    pdf["complaints"]["received"] = pdf["complaints"]["received"].astype(str)
    print(f"\n3. Three KPIs, period {period}, by administration (median ms; pandas on data "
          "already in memory, load time excluded):")
    print(f"   {'KPI':24} {'our layer':>10} {'hand SQL':>10} {'pandas':>10} {'ours/SQL':>9}")
    for kid, q in sql.items():
        ours_ms, res = timed(lambda kid=kid: compute(store, Query.make(kid, period,
                                                                       ["administration"])))
        sql_ms, rows = timed(lambda q=q: con.execute(q, [y0, y1]).fetchall())
        pd_ms, pdres = timed(lambda kid=kid: pandas_kpi(kid))
        ours = {r.dims["administration"]: r.value for r in res.rows if r.value is not None}
        hand = {a: float(v) for a, v in rows}
        assert {a: round(float(v), 2) for a, v in ours.items()} == \
            {a: round(v, 2) for a, v in hand.items()}, (kid, ours, hand)
        assert {a: round(float(v), 2) for a, v in pdres.items()} == \
            {a: round(v, 2) for a, v in hand.items()}, (kid, pdres, hand)
        print(f"   {kid:24} {ours_ms:10.1f} {sql_ms:10.1f} {pd_ms:10.1f} "
              f"{ours_ms / sql_ms:8.1f}×")
    print("   (all three give identical figures; asserted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
