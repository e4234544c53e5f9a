"""The same KPIs at national scale on three engines, side by side in one run (issue 19).

    uv run python bench/bench_scale.py --municipalities 1,10,98 [--years 4] [--scale 3.67]
                                       [--work DIR]
                                       [--engines duckdb,parquet,spark] [--json PATH]

For each number of municipalities N the national synthetic data (``sagsindsigt demo
--municipalities N --scale 3.67``: Copenhagen's shape scaled by population, 98 × 4 years
about 30 M cases and 160 M events) are written once as a lake
(``national.build_lake``) and loaded into a DuckDB store file; then the same set of KPIs is
computed through the one registry on

* ``duckdb``: the DuckDB store file (``--db FILE``),
* ``parquet``: an embedded DuckDB reading the lake's Parquet files (``--db lake:DIR``),
* ``spark``: Spark local (``local[*]``) reading the same files (``--db spark:DIR``).

Each KPI is computed twice per engine (the registry's own ``compute``, never a kept figure,
with the store's cached values dropped before each run): the first run includes building and
compiling the queries; the second reuses the compiled SQL and computes everything else again.
Printed per engine and N: the start (opening the engine: Spark's JVM), seconds per KPI (median
of the warm runs, and the first), and rows per second (the rows of the tables the KPIs read,
over the warm seconds). The figures of every engine are compared with DuckDB's; a difference
fails the run. At the end: which engine is the better choice at each N.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

KPIS = ["cases_received", "cases_decided", "deadline_compliance", "processing_days_median",
        "refusal_rate", "complaints_received", "complaint_rate", "timeliness"]
BY = ["administration"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(n: int, years: int, scale: float, work: Path) -> tuple[Path, Path, dict]:
    """The lake and the DuckDB file of N municipalities (made once, kept in ``work``)."""
    import duckdb

    from sagsindsigt import national
    from sagsindsigt.store import Store
    from sagsindsigt.store.lake import read_manifest, tables

    lake_dir, db = work / f"lake-{n}", work / f"store-{n}.duckdb"
    doc = read_manifest(lake_dir)
    if doc is None or (doc.get("municipalities"), doc.get("years"), doc.get("scale")) != (
            n, years, scale):
        t = time.perf_counter()
        log(f"[{n}] writing the lake ...")
        doc = national.build_lake(lake_dir, n, years=years, scale=scale, echo=lambda _: None,
                                  workers=min(2, os.cpu_count() or 1) if n > 4 else 1)
        log(f"[{n}] lake written in {time.perf_counter() - t:.0f} s")
        db.unlink(missing_ok=True)
    if not db.exists():
        t = time.perf_counter()
        s = Store(str(db))
        s.init()
        s.close()
        con = duckdb.connect(str(db))
        con.execute("SET preserve_insertion_order = false")
        for table in tables():
            folder = lake_dir / table
            if any(folder.rglob("*.parquet")):
                cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
                names = ", ".join(f'"{c}"' for c in cols)
                con.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM read_parquet('
                            f"'{folder}/**/*.parquet', hive_partitioning = true, "
                            "hive_types_autocast = false, union_by_name = true)")
        con.close()
        log(f"[{n}] DuckDB file loaded in {time.perf_counter() - t:.0f} s")
    return lake_dir, db, doc


def measure(url: str, kpis: list[str], period: str) -> dict:
    from sagsindsigt.access import SYSTEM, acting_as
    from sagsindsigt.kpis import Query, all_kpis
    from sagsindsigt.kpis.base import compute  # the registry itself: no kept figure
    from sagsindsigt.store import Store

    all_kpis()
    t = time.perf_counter()
    store = Store(url)
    store.require()
    out: dict = {"kpis": {}, "values": {}}
    with acting_as(SYSTEM):
        store.table("cases").count().execute()  # opens the engine (Spark: the JVM)
        out["start_s"] = time.perf_counter() - t
        for k in kpis:
            q = Query.make(k, period, BY)
            times = []
            for _ in range(2):
                store._forget()  # no value of the run before: the warm run only reuses the SQL
                t = time.perf_counter()
                rows = compute(store, q).as_json()["rows"]
                times.append(time.perf_counter() - t)
            out["kpis"][k] = {"first_s": times[0], "warm_s": times[1]}
            out["values"][k] = rows
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--municipalities", default="1,10,98")
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--scale", type=float, default=3.67,
                    help="sizes × this (3.67: 98 municipalities × 4 years ≈ 30 M cases)")
    ap.add_argument("--engines", default="duckdb,parquet,spark")
    ap.add_argument("--work", type=Path, default=Path("/tmp/sagsindsigt-bench-scale"))
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results"
                    / "bench_scale.json")
    args = ap.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    args.work.mkdir(parents=True, exist_ok=True)
    secret = args.work / "bench.secret"
    if not secret.exists():
        from sagsindsigt.privacy import create_secret

        create_secret(secret)
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(secret)
    engines = args.engines.split(",")
    period = str(2012 + args.years - 1)  # the last year of the data
    results, failed = [], False
    for n in (int(x) for x in args.municipalities.split(",")):
        lake_dir, db, doc = build(n, args.years, args.scale, args.work)
        rows = {t: v["rows"] for t, v in doc["tables"].items()}
        scanned = rows.get("cases", 0) + rows.get("complaints", 0) + rows.get(
            "timeliness_items", 0)
        urls = {"duckdb": str(db), "parquet": f"lake:{lake_dir}", "spark": f"spark:{lake_dir}"}
        by_engine = {}
        for e in engines:
            log(f"[{n}] {e} ...")
            by_engine[e] = measure(urls[e], KPIS, period)
        ref = by_engine[engines[0]]["values"]
        for e in engines[1:]:
            for k in KPIS:
                if by_engine[e]["values"][k] != ref[k]:
                    failed = True
                    log(f"[{n}] {k}: {e} differs from {engines[0]}")
        for e in engines:
            warm = [v["warm_s"] for v in by_engine[e]["kpis"].values()]
            first = [v["first_s"] for v in by_engine[e]["kpis"].values()]
            results.append({
                "municipalities": n, "engine": e, "cases": rows.get("cases", 0),
                "events": rows.get("events", 0), "start_s": by_engine[e]["start_s"],
                "median_warm_s": statistics.median(warm), "median_first_s":
                statistics.median(first), "total_warm_s": sum(warm),
                "rows_per_s": len(KPIS) * scanned / sum(warm) if sum(warm) else None,
                "kpis": by_engine[e]["kpis"]})
    print(f"{len(KPIS)} KPIs ({', '.join(KPIS)}), period {period}, by administration; "
          f"{os.cpu_count()} CPUs")
    head = ("N", "engine", "cases", "events", "start s", "s/KPI warm", "s/KPI first",
            "rows/s")
    print("{:>4} {:<8} {:>12} {:>13} {:>8} {:>11} {:>12} {:>14}".format(*head))
    for r in results:
        print(f"{r['municipalities']:>4} {r['engine']:<8} {r['cases']:>12,} {r['events']:>13,} "
              f"{r['start_s']:>8.1f} {r['median_warm_s']:>11.3f} {r['median_first_s']:>12.3f} "
              f"{r['rows_per_s'] or 0:>14,.0f}")
    for n in sorted({r["municipalities"] for r in results}):
        at = [r for r in results if r["municipalities"] == n]
        best = min(at, key=lambda r: r["total_warm_s"])
        print(f"{n} municipalities: fastest {best['engine']} "
              f"({best['total_warm_s']:.2f} s for all {len(KPIS)} KPIs, warm)")
    print("values: " + ("DIFFER (see above)" if failed else "the same on every engine"))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                     "period": period, "kpis": KPIS, "results": results},
                                    indent=2), encoding="utf-8")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
