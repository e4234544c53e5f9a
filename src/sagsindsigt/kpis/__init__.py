"""The KPI layer: a registry of definitions (kpis.md) and one engine for every backend.

Surfaces call ``compute(store, Query.make(...))`` and iterate ``all_kpis()``; they never
compute a figure themselves.
"""

from __future__ import annotations

from .base import KPI, REGISTRY, KpiUsageError, Query, Result, Row, compute, get

_loaded = False


def load_definitions() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import audits, complaints, flow, timeliness  # noqa: F401  (they register)


def all_kpis() -> list[KPI]:
    load_definitions()
    return list(REGISTRY.values())


__all__ = ["KPI", "KpiUsageError", "Query", "Result", "Row", "all_kpis", "compute", "get"]
