"""Citizens' page benchmark (issue 18): /borger/sagsbehandlingstider, its embed and the open
data files, asked by anonymous visitors at once, served on loopback by `sagsindsigt serve`
(sign-in on, as in production) in its own process, on N Copenhagen demo years.

    uv run python bench/bench_citizen.py --years 4 [--db PATH] [--clients 20] [--seconds 30]

Prints the first (cold) response time, requests per second, p50/p95 per address and the
errors. The issue's aim: ≥ 200 requests/s at 20 clients, no errors.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

# the mix a municipality's site sends: mostly the page (and its embed), some searches, the
# open data now and then
MIX = ["/borger/sagsbehandlingstider"] * 5 + [
    "/borger/sagsbehandlingstider?embed=1", "/borger/sagsbehandlingstider?embed=1",
    "/borger/sagsbehandlingstider?q=handicap", "/api/open/sagsbehandlingstider.json",
    "/api/open/sagsbehandlingstider.csv", "/api/open/sagsbehandlingstider.jsonld"]
AIM = 200


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--db", help="an existing demo store to reuse (built when missing)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sagsindsigt-bench-"))
    db = Path(a.db) if a.db else work / "bench.duckdb"
    env = {**os.environ, "SAGSINDSIGT_SECRET_FILE": str(db.with_suffix(".secret"))}
    run = [sys.executable, "-m", "sagsindsigt.cli", "--db", str(db)]
    if not db.exists():
        t = time.perf_counter()
        subprocess.run([*run, "demo", "--years", str(a.years)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"demo store built in {time.perf_counter() - t:.0f} s")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*run, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"Sagsindsigt citizens' page benchmark — {a.years} demo years, {a.clients} "
              f"clients, {a.seconds:.0f} s, {os.cpu_count()} cores, {platform.platform()}")
        cold = {}
        with httpx.Client(base_url=base, timeout=120) as c:
            for p in dict.fromkeys(MIX):  # the first visit computes (or finds warmed) figures
                t = time.perf_counter()
                c.get(p).raise_for_status()
                cold[p] = (time.perf_counter() - t) * 1000
        times: dict[str, list[float]] = {p: [] for p in MIX}
        errors: list[str] = []
        lock = threading.Lock()
        stop = time.perf_counter() + a.seconds

        def client(i: int) -> None:
            order = MIX[i % len(MIX):] + MIX[:i % len(MIX)]
            with httpx.Client(base_url=base, timeout=60) as c:
                k = 0
                while time.perf_counter() < stop:
                    p = order[k % len(order)]
                    k += 1
                    t = time.perf_counter()
                    try:
                        resp = c.get(p)
                        ok = resp.status_code == 200 and "set-cookie" not in resp.headers
                    except httpx.HTTPError as exc:
                        ok, resp = False, exc
                    d = (time.perf_counter() - t) * 1000
                    with lock:
                        times[p].append(d)
                        if not ok:
                            errors.append(f"{p}: {resp}")

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        every = sorted(d for v in times.values() for d in v)
        n = len(every)
        print(f"{'address':45} {'first ms':>9} {'n':>7} {'p50 ms':>8} {'p95 ms':>8}")
        for p in dict.fromkeys(MIX):
            v = sorted(times[p])
            print(f"{p:45} {cold[p]:9.0f} {len(v):7d} {statistics.median(v):8.1f} "
                  f"{v[int(0.95 * (len(v) - 1))]:8.1f}")
        rate = n / wall
        print(f"{n} requests in {wall:.1f} s: {rate:.0f} requests/s; p50 "
              f"{statistics.median(every):.1f} ms, p95 {every[int(0.95 * (n - 1))]:.1f} ms; "
              f"errors: {len(errors)} (aim ≥ {AIM} requests/s, no errors: "
              f"{'met' if rate >= AIM and not errors else 'NOT met'})")
        for e in errors[:10]:
            print("  error:", e)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
