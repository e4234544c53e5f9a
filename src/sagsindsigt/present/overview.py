"""The Overblik tiles: one per headline KPI, with the total, each member of the next level of
the scope (administrations, units or case types) with its trend, its target status and its
signal. The web page and the weekly digest build them with the same function.

A **signal** on a tile is a member whose rate lies outside the 99,8 % control limits around the
average of the tile's members (the funnel of the Sammenligning page,
:mod:`sagsindsigt.kpis.funnel`, with its overdispersion adjustment): "bedre end forventet" or
"dårligere end forventet" in the KPI's own direction, a difference that chance and the usual
variation between units would hardly give. Only rates (percentages with a numerator and a
denominator) have signals; the limits use the actual counts, never annualised ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..calendar import Period
from ..danish import change as dk_change
from ..danish import value as dk_value
from ..kpis import KpiUsageError
from ..kpis import get as get_kpi
from ..kpis.funnel import FLAGS, funnel_of
from .tables import Cell, Get, by_member

TILE_KPIS = ["complaint_rate", "deadline_compliance", "processing_days_median", "timeliness",
             "audit_correct_rate"]
SIGNALS = {k: v.lower() for k, v in FLAGS.items()}


def previous(period: str) -> str | None:
    """The period before (2013 before 2014, 2014-Q1 before 2014-Q2); None for a range."""
    p = Period.parse(period)
    if p.kind not in ("year", "half", "quarter", "month"):
        return None
    return p.previous().label


def tiles(get: Get, labels, period: str, where: list[str], dim: str,
          targets: dict[tuple, Any], own_target: Callable[[str], Any] | None = None,
          link: Callable[[Any], dict | None] | None = None,
          over_time: Callable[[str], dict | None] | None = None) -> list[dict[str, Any]]:
    """The tiles for a scope: ``dim`` is the level members are listed by, ``targets`` every
    evaluated target inside the caller's scope keyed (kpi, administration, period),
    ``own_target(kpi)`` the status shown for the whole tile, ``link(member)`` a member's
    drill-down parameters, ``over_time(kpi)`` the whole tile's control-chart status
    (:func:`sagsindsigt.present.control.status`: variation and assurance over the months)."""
    prev = previous(period)
    out = []
    for k in TILE_KPIS:
        kd = get_kpi(k)
        total = get(k, period, [], where, True)
        by = [dim] if dim in kd.dims else []  # audits have no case types
        now = get(k, period, by, where, True) if by else None
        before = get(k, prev, by, where, True) if prev and by else None
        flags = _flags(get, kd, period, by, where)
        items = []
        for r in (now.rows if now else []):
            if r.value is None and not r.note:
                continue
            m = r.dims.get(dim)
            old = by_member(before, dim).get(m) if before else None
            target = targets.get((k, m if dim == "administration" else None, period))
            # one status per row: a target's status where the row has a target, else the
            # KPI's own light (never a yellow light beside "Ikke opfyldt")
            light = None if target is not None else r.extra.get("light")
            items.append({
                "member": m, "name": labels.name(dim, m),
                "cell": Cell(r.value, kd.unit, r.note, light, None, r.estimate),
                "trend": _trend(r.value, old.value if old else None, kd.unit, prev),
                "target": target,
                "signal": SIGNALS.get(flags.get(m)),
                "link": link(m) if link is not None and m is not None else None,
            })
        tot = total.rows[0] if total.rows else None
        out.append({"kpi": kd, "items": items, "dim": dim,
                    "total": Cell(tot.value if tot else None, kd.unit,
                                  tot.note if tot else "ingen data"),
                    "target": own_target(k) if own_target else None,
                    "spc": over_time(k) if over_time else None})
    return out


def signals(tiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every signal on the tiles: the KPI, the member by name, the signal and its value."""
    return [{"kpi": t["kpi"], "name": it["name"], "signal": it["signal"], "cell": it["cell"],
             "text": f"{it['name']}: {it['signal']} ({dk_value(it['cell'].value, t['kpi'].unit)})"}
            for t in tiles for it in t["items"] if it["signal"]]


def _flags(get: Get, kd, period: str, by: list[str], where: list[str]) -> dict[Any, str]:
    """member → funnel flag, for a rate broken down by a dimension."""
    if not by or not kd.ratio or kd.unit != "%":
        return {}
    try:
        fn = funnel_of(get(kd.id, period, by, where, False))
    except KpiUsageError:
        return {}
    return {r.dims.get(by[0]): r.extra["judgement"] or r.extra["flag"]
            for r in fn.result.rows if r.extra.get("flag")}


def _trend(now, before, unit: str, prev: str | None) -> str | None:
    if now is None or before is None:
        return None
    shown = 0 if unit not in ("%", "dage") else 1  # the decimals a change is shown with
    if round(abs(now - before), shown) == 0:  # never "↓ −0,0 procentpoint"
        return f"uændret fra {prev} ({dk_value(before, unit)})"
    arrow = "↑" if now > before else "↓"
    return f"{arrow} {dk_change(now - before, unit)} fra {prev} ({dk_value(before, unit)})"


__all__ = ["SIGNALS", "TILE_KPIS", "previous", "signals", "tiles"]
