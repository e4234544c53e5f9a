"""Quality-audit benchmark: drawing samples, the årshjul and the audit pages on the demo.

    uv run python bench/bench_audits.py --db /tmp/demo.duckdb [--years 3] [--repeat 5]

Builds the demo when the store does not exist. Draws each open demo round that has no answers
again (simple and stratified by unit, the same seed, so the store ends as it began) and times
it, then the årshjul, and the audit pages in-process (first and median of the repeats).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path


def timed(fn, repeat: int) -> tuple[float, float]:
    """(first, median of the rest) in milliseconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t))
    return times[0], statistics.median(times[1:] or times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="a demo store (built when missing)")
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    os.environ.setdefault("SAGSINDSIGT_SECRET_FILE", str(Path(a.db).with_suffix(".secret")))
    from fastapi.testclient import TestClient

    from sagsindsigt import audits
    from sagsindsigt.demo import build_demo
    from sagsindsigt.privacy import create_secret
    from sagsindsigt.store import Store
    from sagsindsigt.web import create_app

    fresh = not Path(a.db).exists()
    if fresh:
        create_secret(Path(os.environ["SAGSINDSIGT_SECRET_FILE"]))
    store = Store(a.db)
    store.init()
    if fresh:
        print(build_demo(store, years=a.years, echo=lambda _: None))
    year = int(store._engine.query("SELECT max(round) FROM audit_rounds")[0][0][:4])
    print(f"{'step':52} {'first ms':>9} {'median ms':>10}")
    for s in audits.round_states(store, year):
        if not s.drawn or s.answered:
            continue
        old = audits.load_sample(store, s.concept.id, s.round)
        for strat in (None, "unit"):
            first, med = timed(lambda s=s, strat=strat, old=old: audits.draw(
                store, s.concept.id, s.round, size=old.size, seed=old.seed, stratify=strat),
                a.repeat)
            label = f"draw {s.concept.id} {s.round} (N={old.population}, {strat or 'simpel'})"
            print(f"{label:52} {first:9.1f} {med:10.1f}")
        audits.draw(store, s.concept.id, s.round, size=old.size, seed=old.seed,
                    stratify=old.stratify)
    first, med = timed(lambda: audits.round_states(store, year), a.repeat)
    print(f"{'round_states (årshjul, ' + str(year) + ')':52} {first:9.1f} {med:10.1f}")
    client = TestClient(create_app(store, warm=False, auth=False, secure_cookies=False))
    for url in (f"/kvalitet/aarshjul?year={year}", f"/kvalitet/runde/sygedagpenge/{year}-Q4",
                f"/kvalitet/resultater?period={year - 1}",
                f"/kvalitet/resultater?period={year - 1}&area=Kontanthjælp",
                f"/kvalitet/kalibrering?concept=kontanthjaelp&round={year - 1}-Q2",
                f"/kvalitet/resultater.xlsx?period={year - 1}"):
        first, med = timed(lambda url=url: client.get(url).raise_for_status(), a.repeat)
        print(f"{'GET ' + url:52} {first:9.1f} {med:10.1f}")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
