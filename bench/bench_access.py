"""Benchmark of signed-in users at once: requests per second, p50/p95 latency and errors over
pages, API calls and downloads, for a named data size.

    python bench/bench_access.py --years 1 --clients 20 --seconds 30 \
        --db postgresql://postgres@127.0.0.1:5432/sagsindsigt_bench

    # a busy morning: 2 worker processes, a complaint registration every 10 s
    python bench/bench_access.py --years 4 --clients 20 --seconds 60 --workers 2 \
        --write-every 10 --db postgresql://postgres@127.0.0.1:5432/sagsindsigt_bench

The database is filled with the demo municipality of ``--years`` years when it is empty. With
``--workers N`` the server is ``sagsindsigt serve --workers N`` in processes of its own (on
PostgreSQL); ``--write-every S`` registers a complaint every S seconds from another process's
connection while the clients read, as a registrator in another worker would.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.conftest import serving  # noqa: E402
from tests.web.load_scenario import add_load_users, mix, run, scope_of, sign_in  # noqa: E402

from sagsindsigt.access import SYSTEM, acting_as  # noqa: E402
from sagsindsigt.complaints import register  # noqa: E402
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
    ap.add_argument("--workers", type=int, default=1,
                    help="serverprocesser (sagsindsigt serve --workers N; kræver PostgreSQL)")
    ap.add_argument("--write-every", type=float, default=0, metavar="S",
                    help="registrér en klage hvert S sekund, mens klienterne læser")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_access_"))
    if "SAGSINDSIGT_SECRET_FILE" not in os.environ:  # one key per database, kept for reruns
        name = hashlib.sha256((a.db or str(tmp)).encode()).hexdigest()[:12]
        secret = Path(tempfile.gettempdir()) / f"bench_access-{name}.secret"
        if not secret.exists():
            create_secret(secret)
        os.environ["SAGSINDSIGT_SECRET_FILE"] = str(secret)
    store = Store(a.db or str(tmp / "bench.duckdb"))
    store.init()
    if not store._engine.query("SELECT count(*) FROM batches")[0][0]:
        t = time.perf_counter()
        build_demo(store, years=a.years, seed=a.seed, echo=lambda _: None)
        print(f"demo {a.years} år bygget på {time.perf_counter() - t:.1f} s")
    names = add_load_users(store, a.clients)
    period = default_period(store)
    writes: list[float] = []
    if a.workers > 1:
        server = workers(store.url, a.workers)
    else:
        server = one_process(store, warm=not a.cold)
    with server as base:
        if a.workers > 1 and not a.cold:  # each client's pages once: every worker warms up
            t = time.perf_counter()
            for name in names:
                c = sign_in(base, name)
                for url in mix(period, scope_of(name) if scope_of(name) != "kommune" else "BIF"):
                    c.get(url)
                c.close()
            print(f"opvarmning (hver klients sider én gang): {time.perf_counter() - t:.1f} s")
        with writer(store.url, period, a.write_every, writes):
            res = run(base, names, period, a.seconds)
    if a.write_every:
        print(f"{len(writes)} klager registreret undervejs, hver på "
              f"{sum(writes) / max(len(writes), 1) * 1000:.0f} ms i snit")
    print(f"{store._engine.name}, {a.years} år, {a.clients} klienter, {a.workers} "
          f"{'processer' if a.workers > 1 else 'proces'}, "
          f"{'kold' if a.cold else 'opvarmet'}, {res.seconds:.1f} s: "
          f"{res.requests} forespørgsler, {res.rate:.1f} pr. s, "
          f"p50 {res.percentile(0.5) * 1000:.0f} ms, p95 {res.percentile(0.95) * 1000:.0f} ms, "
          f"{len(res.errors)} fejl")
    for url, xs in sorted(res.by_url.items(), key=lambda kv: -max(kv[1])):
        xs = sorted(xs)
        print(f"  {url}: {len(xs)}, p50 {xs[len(xs) // 2] * 1000:.0f} ms, "
              f"p95 {xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000:.0f} ms, "
              f"max {xs[-1] * 1000:.0f} ms")
    for url, status in res.errors[:10]:
        print(f"  fejl: {status} {url}")
    store.close()
    return 1 if res.errors else 0


@contextmanager
def one_process(store: Store, warm: bool):
    """The app in this process, warmed up before the users arrive (as in production)."""
    app = create_app(store, warm=warm, auth=True, secure_cookies=False)
    with serving(app) as base:
        if warm:
            t = time.perf_counter()
            app.state.figures.warmed.wait(600)
            print(f"opvarmning (alle områder med brugere): {time.perf_counter() - t:.1f} s")
        yield base


@contextmanager
def workers(url: str, n: int):
    """``sagsindsigt serve --workers n`` on a free loopback port, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).parent / "sagsindsigt"
    proc = subprocess.Popen([str(cli), "--db", url, "serve",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(n)],
                            cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            if proc.poll() is not None:
                raise SystemExit("serverprocesserne stoppede")
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def writer(url: str, period: str, every: float, took: list[float]):
    """A complaint registration every ``every`` seconds on a connection of its own."""
    if not every:
        yield
        return
    stop = threading.Event()
    store = Store(url)

    def loop() -> None:
        with acting_as(SYSTEM):
            while not stop.wait(every):
                t = time.perf_counter()
                register(store, {
                    "administration": "BIF", "unit": "JCA", "received": f"{period}-03-03",
                    "kind": "formalitet", "points": ["sagsbehandlingstid"],
                    "channel": "email", "outcome": "verserer", "summary": "Belastningsprøve."},
                    "Bench Bente", today=date(int(period) + 1, 1, 1), channel="bench")
                took.append(time.perf_counter() - t)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        store.close()


if __name__ == "__main__":
    raise SystemExit(main())
