"""What a cached value depends on: the tables read while it was computed.

Every read of stored data goes through the store's one door (``Store.table``), which notes the
table's name here; a cache computes a value inside :func:`tracking` and keeps the names with
it. Every write bumps the data version of the tables it changed (``data_versions``, one row a
table, bumped in the writer's transaction), so a cache in any process can drop exactly the
values that read a changed table: a complaint registration leaves the case figures cached.

A computation that noted nothing depends on everything (:data:`EVERYTHING`): a value whose
reads escaped the tracking is dropped on any change, never kept stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

EVERYTHING = frozenset({"*"})

# the sets of the computations in progress in this thread of work, innermost last
_READING: ContextVar[tuple[set[str], ...]] = ContextVar("reading", default=())


@contextmanager
def tracking() -> Iterator[set[str]]:
    """Collect the names of the tables read inside the block (nested blocks report to every
    enclosing one)."""
    seen: set[str] = set()
    token = _READING.set((*_READING.get(), seen))
    try:
        yield seen
    finally:
        _READING.reset(token)


def note(names: Iterable[str]) -> None:
    """Tell the computations in progress that they read these tables (a cache hit passes on
    the names its value was computed from)."""
    for seen in _READING.get():
        seen.update(names)


def frozen(seen: set[str]) -> frozenset[str]:
    """The dependencies to keep with a value: what it read, or everything."""
    return frozenset(seen) if seen else EVERYTHING


def stale(deps: frozenset[str], changed: set[str] | None) -> bool:
    """Whether a value with these dependencies must go (``changed`` None: everything did)."""
    return changed is None or "*" in deps or not deps.isdisjoint(changed)


def drop_stale(cache: dict, changed: set[str] | None) -> None:
    """Drop from ``cache`` (key → (deps, value)) the values that read a changed table."""
    for key in [k for k, (deps, _) in cache.items() if stale(deps, changed)]:
        del cache[key]


def changed_names(old: dict[str, int] | None, new: dict[str, int]) -> set[str] | None:
    """The tables whose data version differs (None when nothing was known before)."""
    if old is None:
        return None
    return {n for n in old.keys() | new.keys() if old.get(n) != new.get(n)}


__all__ = ["EVERYTHING", "changed_names", "drop_stale", "frozen", "note", "stale", "tracking"]
