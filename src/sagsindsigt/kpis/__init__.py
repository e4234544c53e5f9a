"""The KPI layer: a registry of definitions (kpis.md) and one engine for every backend.

Surfaces call ``compute(store, Query.make(...))`` (:func:`.keep.compute`: kept in the store,
else computed) and iterate ``all_kpis()``; they never compute a figure themselves.
"""

from __future__ import annotations

import threading

from .base import KPI, REGISTRY, KpiUsageError, Query, Result, Row, get
from .keep import compute  # the figure kept in the store, else computed and kept

_loaded = False
_loading = threading.Lock()


def load_definitions() -> None:
    """Import the definitions (they register themselves) once. Thread-safe: the web app's
    warm-up thread and the first request may ask at the same time, and neither may see a
    half-filled registry."""
    global _loaded
    if _loaded:
        return
    with _loading:
        if not _loaded:
            from . import audits, complaints, flow, timeliness  # noqa: F401  (they register)

            _loaded = True


def all_kpis() -> list[KPI]:
    load_definitions()
    return list(REGISTRY.values())


__all__ = ["KPI", "KpiUsageError", "Query", "Result", "Row", "all_kpis", "compute", "get"]
