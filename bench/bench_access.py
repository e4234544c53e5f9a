"""Benchmark of signed-in users at once: requests per second, p50/p95 latency and errors over
pages, API calls and downloads, for a named data size.

    python bench/bench_access.py --years 1 --clients 20 --seconds 30 \
        --db postgresql://postgres@127.0.0.1:5432/sagsindsigt_bench

The database is filled with the demo municipality of ``--years`` years when it is empty.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.conftest import serving  # noqa: E402
from tests.web.load_scenario import add_load_users, run  # noqa: E402

from sagsindsigt.demo import build_demo  # noqa: E402
from sagsindsigt.privacy import create_secret  # noqa: E402
from sagsindsigt.store import Store  # noqa: E402
from sagsindsigt.store.reads import latest_year as default_period  # noqa: E402
from sagsindsigt.web import create_app  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--db", default=None, help="PostgreSQL-URL eller DuckDB-fil (standard: en "
                    "midlertidig DuckDB-fil)")
    ap.add_argument("--seed", type=int, default=2014)
    ap.add_argument("--cold", action="store_true",
                    help="ingen opvarmning: klienterne møder tomme caches")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_access_"))
    if "SAGSINDSIGT_SECRET_FILE" not in os.environ:
        create_secret(tmp / "bench.secret")
        os.environ["SAGSINDSIGT_SECRET_FILE"] = str(tmp / "bench.secret")
    store = Store(a.db or str(tmp / "bench.duckdb"))
    store.init()
    if not store._engine.query("SELECT count(*) FROM batches")[0][0]:
        t = time.perf_counter()
        build_demo(store, years=a.years, seed=a.seed, echo=lambda _: None)
        print(f"demo {a.years} år bygget på {time.perf_counter() - t:.1f} s")
    names = add_load_users(store, a.clients)
    period = default_period(store)
    app = create_app(store, warm=not a.cold, auth=True, secure_cookies=False)
    with serving(app) as base:
        if not a.cold:  # as in production: the server warms up before the users arrive
            t = time.perf_counter()
            app.state.figures.warmed.wait(600)
            print(f"opvarmning (alle områder med brugere): {time.perf_counter() - t:.1f} s")
        res = run(base, names, period, a.seconds)
    print(f"{store._engine.name}, {a.years} år, {a.clients} klienter, "
          f"{'kold' if a.cold else 'opvarmet'}, {res.seconds:.1f} s: "
          f"{res.requests} forespørgsler, {res.rate:.1f} pr. s, "
          f"p50 {res.percentile(0.5) * 1000:.0f} ms, p95 {res.percentile(0.95) * 1000:.0f} ms, "
          f"{len(res.errors)} fejl")
    for url, status in res.errors[:10]:
        print(f"  fejl: {status} {url}")
    store.close()
    return 1 if res.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
