"""Speed of the complaints module (issue 5): registrations per second (one writer, and 20
threads sharing the lock), and on a demo store the funnel view and the practice scorecard.

    uv run python bench/bench_complaints.py [--db DEMO.duckdb] [--n 200]

Without --db only the registration part runs (on a fresh DuckDB file in a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

GOOD = {"administration": "SOF", "unit": "HCK", "received": "2014-03-03",
        "closed": "2014-03-20", "kind": "formalitet", "points": ["sagsbehandlingstid"],
        "channel": "email", "strengthened_contact": True, "resolved_at_contact": True,
        "outcome": "medhold", "summary": "Ringede til borgeren; løst ved samtalen."}


def registrations(n: int) -> None:
    from sagsindsigt.complaints import edit, register
    from sagsindsigt.privacy import create_secret
    from sagsindsigt.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SAGSINDSIGT_SECRET_FILE"] = str(Path(tmp) / "bench.secret")
        create_secret(Path(tmp) / "bench.secret")
        store = Store(str(Path(tmp) / "bench.duckdb"))
        store.init()
        today = date(2016, 1, 1)
        t = time.perf_counter()
        ids = [register(store, GOOD, "bench", today=today).complaint_id for _ in range(n)]
        one = time.perf_counter() - t
        t = time.perf_counter()
        for cid in ids[: n // 2]:
            edit(store, cid, {"outcome": "ikke_medhold"}, "bench", today=today)
        edits = time.perf_counter() - t
        t = time.perf_counter()
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda _: register(store, GOOD, "bench", today=today), range(n)))
        many = time.perf_counter() - t
        store.close()
    print(f"registrations, one writer: {n / one:,.0f}/s ({1000 * one / n:.1f} ms each)")
    print(f"corrections, one writer:   {(n // 2) / edits:,.0f}/s")
    print(f"registrations, 20 threads: {n / many:,.0f}/s (one lock: they take turns)")


def demo(db: str) -> None:
    from sagsindsigt.kpis import Query
    from sagsindsigt.kpis.funnel import funnel
    from sagsindsigt.practice import scorecard
    from sagsindsigt.store import Store

    store = Store(db)
    for kpi in ("complaint_rate", "deadline_compliance"):
        t = time.perf_counter()
        f = funnel(store, Query.make(kpi, "2013", ["unit"]))
        print(f"funnel {kpi} 2013 by unit: {time.perf_counter() - t:.2f} s "
              f"({len(f.result.rows)} rows, {len(f.flagged())} flagged)")
    t = time.perf_counter()
    cards = scorecard(store, "2013")
    print(f"practice scorecard 2013: {time.perf_counter() - t:.2f} s ({len(cards)} units)")
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", help="a demo store (sagsindsigt demo) for the read side")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    registrations(args.n)
    if args.db:
        demo(args.db)


if __name__ == "__main__":
    main()
