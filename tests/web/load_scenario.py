"""The load scenario shared by ``tests/web/test_load.py`` and ``bench/bench_access.py``:
users signed in through /login, each on its own HTTP client, requesting a mix of pages, API
calls and downloads at the same time."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import httpx

PASSWORD = "belastning-kode-2014"
ROLES = ["leder", "laeser", "analytiker", "admin"]
SCOPES = ["kommune", "BIF", "SOF"]


def add_load_users(store, n: int) -> list[str]:
    from sagsindsigt.access import users

    names = []
    for i in range(n):
        name = f"last{i:02d}"
        if users.get(store, name) is None:
            users.add(store, name, ROLES[i % len(ROLES)], SCOPES[i % len(SCOPES)], PASSWORD)
        names.append(name)
    return names


def scope_of(name: str) -> str:
    """The scope a load user was given (``add_load_users``)."""
    return SCOPES[int(name[4:]) % len(SCOPES)]


def mix(period: str, administration: str = "BIF") -> list[str]:
    """The requests of one user: a page filtered to an administration inside its scope."""
    return [f"/?period={period}", f"/side/sager?period={period}",
            f"/side/klager?period={period}&administration={administration}",
            f"/api/kpi/cases_received?period={period}&by=administration",
            f"/api/kpi/complaint_rate?period={period}", "/api/kpi",
            f"/download/klager/klager.csv?period={period}",
            f"/download/sager/sager.xlsx?period={period}"]


def sign_in(base: str, name: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    html = c.get("/login").text
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = c.post("/login", data={"name": name, "password": PASSWORD, "next": "/",
                               "csrf_token": token})
    if r.status_code != 303:
        raise RuntimeError(f"{name} kunne ikke logge ind: {r.status_code}")
    return c


@dataclass
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    by_url: dict[str, list[float]] = field(default_factory=dict)
    errors: list[tuple[str, int | str]] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


def run(base: str, names: list[str], period: str, seconds: float) -> Result:
    clients = [sign_in(base, n) for n in names]
    own = [mix(period, scope_of(n) if scope_of(n) != "kommune" else "BIF") for n in names]
    res = Result(seconds)
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(i: int, c: httpx.Client) -> None:
        rng = random.Random(i)
        urls = own[i]
        while time.monotonic() < stop:
            url = rng.choice(urls)
            t = time.perf_counter()
            try:
                status: int | str = c.get(url).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            dt = time.perf_counter() - t
            with lock:
                res.latencies.append(dt)
                res.by_url.setdefault(url.split("?")[0], []).append(dt)
                if status not in (200, 303):
                    res.errors.append((url, status))

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res.seconds = time.monotonic() - start
    for c in clients:
        c.close()
    return res
