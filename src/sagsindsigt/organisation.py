"""The organisation tree (kommune → forvaltning → center/enhed): the loaded ``organisation``
records, completed by the codes seen in the data (data contract: "optional; otherwise derived
from the codes seen in cases"). Scopes (one node of the tree) and drill-downs use it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .contract.codes import ADMINISTRATIONS

# record kinds whose rows name an administration and a unit
_SEEN_IN = ("cases", "volumes", "complaints")


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    level: str  # kommune | forvaltning | center | enhed
    parent: str | None
    derived: bool  # True: not in the organisation file, derived from codes seen in the data


def tree(store) -> list[Node]:
    """Every node: the loaded ones as loaded, then one ``forvaltning`` per administration code
    and one ``center`` per (administration, unit) seen in cases, volumes or complaints that
    the organisation file does not name. Ordered root first, then by code."""
    e = store.engine
    nodes: dict[str, Node] = {}
    for code, name, parent, level in e.query(
            "SELECT code, name, parent, level FROM organisation ORDER BY code"):
        nodes[code] = Node(code, name or code, level, parent, False)
    root = next((n.code for n in nodes.values() if n.level == "kommune"), None)
    seen: set[tuple[str, str | None]] = set()
    for table in _SEEN_IN:
        seen |= set(e.query(f'SELECT DISTINCT administration, unit FROM "{table}" '
                            "WHERE administration IS NOT NULL"))
    for admin in sorted({a for a, _ in seen}):
        if admin not in nodes:
            nodes[admin] = Node(admin, ADMINISTRATIONS.get(admin, admin), "forvaltning", root,
                                True)
    for admin, unit in sorted(seen, key=lambda p: (p[0], p[1] or "")):
        if unit and unit not in nodes:
            nodes[unit] = Node(unit, unit, "center", admin, True)
    order = {"kommune": 0, "forvaltning": 1, "center": 2, "enhed": 3}
    return sorted(nodes.values(), key=lambda n: (order.get(n.level, 9), n.code))


def administration_of(store, code: str) -> str | None:
    """The forvaltning a node belongs to (itself for a forvaltning; None for the kommune)."""
    return administrations((n.code, n.parent, n.level) for n in tree(store)).get(code)


def administrations(nodes: Iterable[tuple[str, str | None, str]]) -> dict[str, str]:
    """The forvaltning of each node given as (code, parent, level): itself for a forvaltning,
    the first forvaltning up its parents for the others. Nodes under none (the kommune, a
    parent missing from the nodes, a cycle) are left out."""
    by_code = {code: (parent, level) for code, parent, level in nodes}
    out: dict[str, str] = {}
    for code in by_code:
        node, seen = code, set()
        while node in by_code and node not in seen:
            seen.add(node)
            parent, level = by_code[node]
            if level == "forvaltning":
                out[code] = node
                break
            if level == "kommune":
                break
            node = parent
    return out
