"""What each dashboard page shows, as plain data: tables of KPI values and chart specs.

Every figure comes from the KPI registry through ``Figures.get`` (one cached ``compute`` per
query); the templates only format. The same builders feed the downloads (CSV/XLSX), so a
download always holds the numbers on the page.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..access import scope_key, view_key
from ..calendar import MONTHS_DA, Period
from ..kpis import Query, Result, compute, keep
from ..present import tables as present_tables
from ..present.labels import Labels, scope_label
from ..present.tables import Table
from ..store import deps, reads

LEVELS = ["administration", "unit", "case_type"]  # kommune → forvaltning → center → sagstype
PAGES = [("overblik", "Overblik"), ("sager", "Sager"), ("/arbejdsliste", "Arbejdsliste"),
         ("klager", "Klager"),
         ("borgerkontakt", "Styrket borgerkontakt"),
         ("/klager/registrering", "Registrér klage"),
         ("maaltal", "Måltal"),
         ("sammenligning", "Sammenligning"),
         ("registreringspraksis", "Registreringspraksis"), ("/proces", "Proces"),
         ("kvalitet", "Kvalitet"), ("/kvalitet/aarshjul", "Årshjul"),
         ("/kvalitet/resultater", "Kvalitetsrapport"), ("data", "Data"),
         ("/rapporter", "Rapporter"), ("/admin/adgangslog", "Adgangslog")]
# The menu: the pages above in groups, so it fits a laptop in one line and a phone behind a
# button; a group shows the pages of it the user may open (web.access.visible).
MENU: list[tuple[str, list[str]]] = [
    ("Overblik", ["overblik"]), ("Sager", ["sager", "/arbejdsliste"]),
    ("Klager", ["klager", "borgerkontakt", "/klager/registrering"]),
    ("Kvalitet", ["kvalitet", "/kvalitet/aarshjul", "/kvalitet/resultater"]),
    ("Analyse", ["maaltal", "sammenligning", "registreringspraksis", "/proces"]),
    ("Rapporter", ["/rapporter"]), ("Data", ["data", "/admin/adgangslog"]),
]
assert sorted(s for _, group in MENU for s in group) == sorted(s for s, _ in PAGES)


def href(slug: str) -> str:
    """A menu entry's address: a dashboard slug or a path of its own."""
    return slug if slug.startswith("/") else ("/" if slug == "overblik" else f"/side/{slug}")


@dataclass(frozen=True)
class Filters:
    """Everything that decides a view; all of it lives in the URL."""

    period: str
    administration: str | None = None
    unit: str | None = None
    case_type: str | None = None
    # the Sammenligning page's choices (kpis.funnel): the overdispersion adjustment, and
    # whether units are compared with what their own mix of case types would give
    overdispersion: str = "auto"
    casemix: bool = False

    @property
    def level(self) -> str | None:
        """The dimension the page breaks down by (the next level of the drill-down)."""
        for dim in LEVELS:
            if getattr(self, dim) is None:
                return dim
        return None

    def where(self) -> list[str]:
        return [f"{d}={getattr(self, d)}" for d in LEVELS if getattr(self, d)]

    def params(self, **change: Any) -> dict[str, str]:
        values = {"period": self.period, **{d: getattr(self, d) for d in LEVELS},
                  "overdispersion": None if self.overdispersion == "auto" else
                  self.overdispersion, "casemix": "1" if self.casemix else None, **change}
        return {k: v for k, v in values.items() if v}

    def drill(self, value: str) -> dict[str, str] | None:
        level = self.level
        return self.params(**{level: value}) if level else None

    def crumbs(self, labels: Labels) -> list[tuple[str, dict[str, str]]]:
        """The drill-down path, from the caller's whole scope (named as it is) down."""
        out = [(scope_label(labels.scope), {"period": self.period})]
        for i, d in enumerate(LEVELS):
            v = getattr(self, d)
            if v is None:
                break
            keep = {x: getattr(self, x) for x in LEVELS[: i + 1]}
            text = labels.name(d, v)
            # the reader's own scope is the first crumb already (a centre's reader: its
            # administration is itself; an administration's reader: its own administration)
            if out[-1][0] != text and v != labels.scope.code:
                out.append((text, {"period": self.period, **keep}))
        return out


_MISSING = object()


class Figures:
    """The KPI results one request needs, cached per store version (imports bump it).
    Queries on the store's one connection take turns (``lock``); the cache has a lock of its
    own, so a request whose figures are cached never waits behind a computation."""

    def __init__(self, store, capacity: int = 4096, pool: int = 1):
        self.store = store
        self.lock = store.lock  # one connection per store: queries take turns
        # PostgreSQL: up to ``pool`` connections compute figures at once (DuckDB: one)
        self._pool = pool if store.figures_engine == "postgres" else 1
        self._extra: list = []
        self._pool_lock = threading.Lock()
        self._cache_lock = threading.RLock()
        # key → (the tables the value read, the value)
        self._cache: OrderedDict[tuple, tuple[frozenset[str], Any]] = OrderedDict()
        self._capacity = capacity
        self._version: dict[str, int] | None = None
        self._busy = 0  # requests being served
        self._idle = threading.Condition()
        self._last_served = 0.0  # time.monotonic() when the last request ended
        self.background: threading.Thread | None = None  # the warm-up thread, while it runs
        self.warmed = threading.Event()  # set when a warm-up has finished

    @contextmanager
    def serving(self):
        """Mark a request in progress: the warm-up yields to it."""
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._last_served = time.monotonic()
                self._idle.notify_all()

    def _yield_to_requests(self, quiet: float = 0.2) -> None:
        """In the warm-up thread, before each computation: wait until no request has been
        served for ``quiet`` seconds (visitors come in bursts), so a visitor never queues
        behind the warm-up for the one connection. Never while holding the store's lock: a
        request waiting for it would never end."""
        # an RLock says whether this thread holds it only through its private _is_owned
        if self.background is not threading.current_thread() or \
                self.lock._is_owned():  # noqa: SLF001
            return
        with self._idle:
            while True:
                rest = self._last_served + quiet - time.monotonic()
                if self._busy == 0 and rest <= 0:
                    return
                self._idle.wait(max(rest, 0.01) if self._busy == 0 else None)

    def version(self) -> dict[str, int]:
        """The store's data versions (``Store.data_version``: a write bumps the tables it
        changed, seen by every worker when it commits)."""
        # the store's own derived values follow the same versions; read on the store's side
        # connection, so a request whose figures are cached never waits behind a computation
        return self.store.check_version()

    def refresh(self) -> None:
        """Drop the values that read a table changed since the last request (in any
        process): a complaint registration leaves the case figures cached."""
        v = self.version()
        with self._cache_lock:
            changed = deps.changed_names(self._version, v)
            if changed is None or changed:  # a new object only on a change (see _keep)
                deps.drop_stale(self._cache, changed)
                self._version = v

    def _cached(self, key: tuple):
        """The cached value, or ``_MISSING``; a hit tells an enclosing computation what the
        value read."""
        with self._cache_lock:
            hit = self._cache.get(key, _MISSING)
            if hit is _MISSING:
                return hit
            self._cache.move_to_end(key)
        deps.note(hit[0])
        return hit[1]

    def _keep(self, key: tuple, value, read: set[str], since: dict | None) -> None:
        """Keep a value computed from the data as of the versions ``since`` (a refresh
        meanwhile may have seen a newer write: then the value is used once, not kept)."""
        with self._cache_lock:
            if self._version is not since:
                return
            self._cache[key] = (deps.frozen(read), value)
            if len(self._cache) > self._capacity:
                self._cache.popitem(last=False)

    @contextmanager
    def _lease(self):
        """A store to compute on, its lock held: the app's own, or on PostgreSQL, when a
        request holds that, one of up to ``pool - 1`` more connections of this worker (a
        pool), so that requests that compute do not queue behind each other."""
        store = self._free_store()
        try:
            yield store
        finally:
            store.lock.release()

    def _free_store(self):
        if self._pool > 1 and not self.lock._is_owned():  # noqa: SLF001
            with self._pool_lock:
                if self.lock.acquire(blocking=False):
                    return self.store
                for s in self._extra:
                    if s.lock.acquire(blocking=False):
                        return s
                if len(self._extra) < self._pool - 1:
                    extra = type(self.store)(self.store.url, lake=self.store.lake_url)
                    extra.lock.acquire()
                    self._extra.append(extra)
                    return extra
        self.lock.acquire()
        return self.store

    def close(self) -> None:
        """Close the pool's extra connections (the app's store is its owner's to close)."""
        with self._pool_lock:
            extra, self._extra = self._extra, []
        for s in extra:
            s.close()

    def get(self, kpi: str, period: str | Period, by=(), where=(), annualise=False) -> Result:
        q = Query.make(kpi, period, list(by), list(where), annualise)
        key = (scope_key(), kpi, q.period.label, tuple(q.by),  # figures differ by scope only
               tuple(sorted((k, tuple(v)) for k, v in q.where.items())), annualise)
        hit = self._cached(key)
        if hit is not _MISSING:
            return hit
        self._yield_to_requests()
        with self._lease() as store:
            hit = self._cached(key)  # computed meanwhile by another thread
            if hit is not _MISSING:
                return hit
            since = self._version
            with deps.tracking() as read:
                res = compute(store, q)
            self._keep(key, res, read, since)
        return res

    def memo(self, key: tuple, make, data: bool = False):
        """Any other derived value (the seed table, warnings), cached like KPI results: per
        role and scope (a view), or per scope alone (``data``: rows read from the store,
        the same for every role that sees them)."""
        key = ((scope_key(),) if data else view_key(), "memo", *key)
        hit = self._cached(key)
        if hit is not _MISSING:
            return hit
        since = self._version
        with deps.tracking() as read:
            value = make()  # outside the lock: rendering needs no database
        self._keep(key, value, read, since)
        return value

    def memo_db(self, key: tuple, make, kept: bool = False):
        """Like ``memo``, for a value computed on the store directly (not through ``get``):
        under the store's lock, since the one connection cannot run two queries at once;
        cached per scope (data, the same for every role). ``kept``: also kept in the store
        for every process (:func:`sagsindsigt.kpis.keep.cached`; ``key`` then names all the
        value depends on besides the data and the scope)."""

        def locked():
            self._yield_to_requests()
            with self.lock:
                return keep.cached(self.store, key, make) if kept else make()

        return self.memo(key, locked, data=True)

    def read(self, fn, *args, **kw):
        """A reader of :mod:`sagsindsigt.store.reads` on the store's one connection."""
        with self.lock:
            return fn(self.store, *args, **kw)

    def labels(self) -> Labels:
        """The names the acting principal may read (cached per role, scope and data)."""
        return self.memo_db(("labels",), lambda: Labels.of(self.store))


def kpi_table(fig: Figures, tid: str, title: str, f: Filters, kpis: list[str], dim: str,
              where=(), annualise=False, drill: bool = False, caption: str = "",
              limit: int | None = None) -> Table:
    """Rows = members of ``dim`` in scope, columns = KPIs; plus a total row
    (:func:`sagsindsigt.present.tables.kpi_table` over the page's cache and filters)."""
    return present_tables.kpi_table(
        fig.get, fig.labels(), tid, title, f.period, kpis, dim, [*f.where(), *where],
        annualise, link=f.drill if drill else None, caption=caption, limit=limit)


# -- periods ---------------------------------------------------------------------------------

def months(period: str) -> list[str]:
    p = Period.parse(period)
    out, d = [], date(p.start.year, p.start.month, 1)
    while d <= p.end:
        out.append(f"{d.year}-{d.month:02d}")
        d = date(d.year + (d.month == 12), 1 if d.month == 12 else d.month + 1, 1)
    return out


def period_options(fig: Figures) -> list[tuple[str, str]]:
    span = fig.read(reads.received_span)
    first, last = span or (date(2014, 1, 1), date(2014, 12, 31))
    out = []
    for y in range(last.year, first.year - 1, -1):
        out.append((str(y), str(y)))
        out += [(f"{y}-H{h}", f"{h}. halvår {y}") for h in (2, 1)]
        out += [(f"{y}-Q{q}", f"{q}. kvartal {y}") for q in (4, 3, 2, 1)]
        out += [(f"{y}-{m:02d}", f"{MONTHS_DA[m - 1]} {y}") for m in range(12, 0, -1)]
    return out
