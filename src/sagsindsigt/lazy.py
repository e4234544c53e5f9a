"""Heavy libraries imported on first use, so a one-shot command pays only for what it runs.

``ibis = lazy.module("ibis")`` at the top of a module reads like an import; the library is
imported when an attribute of it is first used (a KPI answered from the store's kept figures
never needs Ibis, Polars, PyArrow or SciPy: issue 16). Annotations stay plain names: every
module here has ``from __future__ import annotations``.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

_lock = threading.Lock()


class _Module:
    """A stand-in for a module that imports it at the first attribute lookup."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def _load(self) -> ModuleType:
        mod = self._module
        if mod is None:
            with _lock:  # two threads' first use import once (importlib locks too)
                mod = importlib.import_module(self._name)
                object.__setattr__(self, "_module", mod)
        return mod

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name} ({state})>"


def module(name: str) -> ModuleType:
    """The module ``name``, imported when first used."""
    return _Module(name)  # type: ignore[return-value]
