"""The process map (issue 15) drawn on the server as SVG, and the words for it.

The map is a directly-follows graph (:func:`sagsindsigt.kpis.process.dfg`): activities as
boxes in layers (each activity's shortest number of steps from the start ``▶``), edges as
arrows whose width follows their weight, the number of cases or the median time. Only the
heaviest share of edges is drawn (``share``); the table beside the map carries every number,
so the picture is never the only way to read them. Every text is escaped.
"""

from __future__ import annotations

import math
from collections import deque
from html import escape

from ..danish import number
from ..kpis.process import END, START

WEIGHTS = {"antal": "antal sager", "tid": "mediantid"}
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 210, 44, 30, 70, 24


def hours_text(h: float | None) -> str:
    """Hours as people read them: under two days in hours, else in days (Danish numbers)."""
    if h is None:
        return "-"
    if h < 48:
        return f"{number(h, 1)} t"
    return f"{number(h / 24, 1)} d"


def shown_edges(edges: list[dict], weight: str, share: int) -> list[dict]:
    """The heaviest ``share`` per cent of the edges (at least one), by ``weight``."""
    if not edges:
        return []
    key = (lambda e: e["count"]) if weight == "antal" else (
        lambda e: e["median_hours"] if e["median_hours"] is not None else -1.0)
    ranked = sorted(edges, key=lambda e: (-key(e), e["from"], e["to"]))
    keep = max(1, math.ceil(len(ranked) * share / 100))
    return ranked[:keep]


def _layers(edges: list[dict]) -> dict[str, int]:
    out = {START: 0}
    nxt: dict[str, list[str]] = {}
    for e in edges:
        nxt.setdefault(e["from"], []).append(e["to"])
    todo = deque([START])
    while todo:
        n = todo.popleft()
        for m in sorted(nxt.get(n, [])):
            if m not in out:
                out[m] = out[n] + 1
                todo.append(m)
    for e in edges:  # nodes not reached from the start (edges cut away): after their source
        for n in (e["from"], e["to"]):
            out.setdefault(n, out.get(e["from"], 0) + 1)
    if END in out:
        out[END] = max(out.values()) + (0 if len(out) == 1 else 1)
    return out


def process_map(edges: list[dict], weight: str = "antal", share: int = 100,
                title: str = "Procesforløb") -> str:
    """The SVG of the edges shown (``shown_edges``), with a title and a description."""
    shown = shown_edges(edges, weight, share)
    if not shown:
        return ""
    layer = _layers(shown)
    volume: dict[str, int] = {}  # how often each activity happens: all its incoming edges
    for e in edges:
        volume[e["to"]] = volume.get(e["to"], 0) + e["count"]
    rows: dict[int, list[str]] = {}
    for n, i in layer.items():
        rows.setdefault(i, []).append(n)
    for i in rows:
        rows[i].sort(key=lambda n: (-volume.get(n, 0), n))
    widest = max(len(v) for v in rows.values())
    width = PAD * 2 + widest * BOX_W + (widest - 1) * GAP_X + 80
    height = PAD * 2 + (max(rows) + 1) * (BOX_H + GAP_Y)
    pos: dict[str, tuple[float, float]] = {}
    for i, names in rows.items():
        span = len(names) * BOX_W + (len(names) - 1) * GAP_X
        x0 = (width - 80 - span) / 2
        for j, n in enumerate(names):
            pos[n] = (x0 + j * (BOX_W + GAP_X), PAD + i * (BOX_H + GAP_Y))
    top = max((_w(e, weight) for e in shown), default=1.0) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}" class="process-map" role="img" '
             'aria-labelledby="pm-title pm-desc">',
             f'<title id="pm-title">{escape(title)}</title>',
             f'<desc id="pm-desc">{escape(_describe(shown, edges, weight))}</desc>',
             '<defs><marker id="pm-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
             'markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" '
             'orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z" class="pm-head"/></marker></defs>']
    for e in shown:
        (x1, y1), (x2, y2) = pos[e["from"]], pos[e["to"]]
        w = 1.5 + 10 * _w(e, weight) / top
        label = number(e["count"]) if weight == "antal" else hours_text(e["median_hours"])
        tip = (f'{e["from"]} → {e["to"]}: {number(e["count"])} gange, mediantid '
               f'{hours_text(e["median_hours"])}, 90 %-percentil {hours_text(e["p90_hours"])}')
        if layer[e["to"]] > layer[e["from"]]:
            sx, sy, tx, ty = x1 + BOX_W / 2, y1 + BOX_H, x2 + BOX_W / 2, y2
            mx, my = (sx + tx) / 2, (sy + ty) / 2
            d = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{my:.1f} {tx:.1f},{my:.1f} {tx:.1f},{ty:.1f}"
            lx, ly = mx + 4, my
        else:  # back or sideways: round the right-hand side
            sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H / 2, x2 + BOX_W, y2 + BOX_H / 2
            bend = max(sx, tx) + 40 + 10 * abs(layer[e["to"]] - layer[e["from"]])
            d = f"M{sx:.1f},{sy:.1f} C{bend:.1f},{sy:.1f} {bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}"
            lx, ly = bend - 8, (sy + ty) / 2
        parts.append(f'<g class="pm-edge"><title>{escape(tip)}</title>'
                     f'<path d="{d}" stroke-width="{w:.1f}" marker-end="url(#pm-arrow)"/>'
                     f'<text x="{lx:.1f}" y="{ly:.1f}">{escape(label)}</text></g>')
    for n, (x, y) in pos.items():
        end = n in (START, END)
        text = {START: "▶ Start", END: "■ Slut"}.get(n, n)
        short = text if len(text) <= 30 else text[:29] + "…"
        tip = text if end else f"{text}: {number(volume.get(n, 0))} gange"
        parts.append(f'<g class="pm-node{" pm-end" if end else ""}"><title>{escape(tip)}</title>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
                     f'<text x="{x + BOX_W / 2:.1f}" y="{y + 18:.1f}">{escape(short)}</text>'
                     + ("" if end else
                        f'<text x="{x + BOX_W / 2:.1f}" y="{y + 35:.1f}" class="pm-n">'
                        f'{escape(number(volume.get(n, 0)))}</text>')
                     + "</g>")
    parts.append("</svg>")
    return "".join(parts)


def _w(e: dict, weight: str) -> float:
    return float(e["count"] if weight == "antal" else (e["median_hours"] or 0.0))


def _describe(shown: list[dict], edges: list[dict], weight: str) -> str:
    busiest = max(shown, key=lambda e: e["count"])
    return (f"Viser {number(len(shown))} af {number(len(edges))} overgange, vægtet efter "
            f"{WEIGHTS[weight]}. Hyppigste overgang: {busiest['from']} → {busiest['to']} "
            f"({number(busiest['count'])} gange). Alle tal står i tabellen under kortet.")


__all__ = ["WEIGHTS", "hours_text", "process_map", "shown_edges"]
