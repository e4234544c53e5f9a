"""Who may see and do what: roles, scopes and the acting principal.

Every read of a table goes through :meth:`sagsindsigt.store.Store.table`, which calls
:func:`restrict`: rows outside the acting principal's scope are filtered away there, below
every KPI, page, download, report and API call, so no route can forget it. The principal is
set per request by the web layer (a context variable); the CLI acts as the operator of the
database (``SYSTEM``, the whole municipality).

Roles (the issue's words): ``admin`` everything; ``analytiker`` aggregates of every
administration, no case-level rows; ``leder`` own scope, case level; ``registrator`` registers
complaints in own scope; ``kvalitet`` audits in own scope; ``laeser`` aggregates of own scope.
A scope is a node of the organisation tree: ``kommune``, a forvaltning or a center/enhed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from .. import lazy

ibis = lazy.module("ibis")


# permissions: view = aggregates (pages, KPIs, downloads of them, reports); cases = case-level
# rows (search, complaint records, audit cases); complaints = register and correct complaints;
# audits = draw samples, review, close rounds; targets = set target figures; admin = users,
# tokens and the access log; data = the Data page (import batches and rejected rows of every
# administration).
PERMISSIONS = ("view", "cases", "complaints", "audits", "targets", "data", "admin")


@dataclass(frozen=True)
class Role:
    name: str
    label: str  # Danish
    permissions: frozenset[str]
    everywhere: bool  # aggregates of every administration, whatever the scope


ROLES: dict[str, Role] = {r.name: r for r in [
    Role("admin", "Administrator", frozenset(PERMISSIONS), True),
    Role("analytiker", "Analytiker", frozenset({"view", "data"}), True),
    Role("leder", "Leder", frozenset({"view", "cases", "targets"}), False),
    Role("registrator", "Klageregistrator", frozenset({"view", "complaints"}), False),
    Role("kvalitet", "Kvalitetskoordinator", frozenset({"view", "audits"}), False),
    Role("laeser", "Læser", frozenset({"view"}), False),
]}
KOMMUNE = "kommune"


class AccessError(ValueError):
    """A bad role, scope or credential (Danish message; CLI exit code 2)."""


class Denied(PermissionError):
    """The acting principal may not do this (Danish message; HTTP 403). ``field``: the field
    of a refused write that leaves the scope (a form shows the message there)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Scope:
    """A node of the organisation tree and what it covers. ``administrations`` None: all;
    ``units`` None: every unit of the administrations; ``member_units``: the units under
    the node (for tables that name a unit but no administration)."""

    code: str
    level: str
    administrations: frozenset[str] | None = None
    units: frozenset[str] | None = None
    member_units: frozenset[str] | None = None
    name: str = ""

    @property
    def everything(self) -> bool:
        return self.administrations is None

    def contains(self, administration: str | None, unit: str | None = None) -> bool:
        if self.everything:
            return True
        if administration not in self.administrations:
            return False
        return self.units is None or unit in self.units

    def covers(self, code: str | None) -> bool:
        """Whether a node of the organisation (an administration or a unit code) lies inside
        the scope: the rule forms and filters offer and accept nodes by."""
        if self.everything:
            return True
        if code in self.administrations:
            return self.units is None or code in self.units
        return code in (self.units if self.units is not None else self.member_units or ())

    def key(self) -> str:
        return self.code


ALL = Scope(KOMMUNE, "kommune", name="Hele kommunen")
NOTHING = Scope("-", "ingen", frozenset(), frozenset(), frozenset(), "Intet")


def resolve(store, code: str | None) -> Scope:
    """The scope of a node code (``kommune`` or empty: the whole municipality). An unknown
    code raises :class:`AccessError`."""
    from ..contract.codes import ADMINISTRATIONS

    if not code or code.lower() == KOMMUNE:
        return ALL
    nodes = {n.code: n for n in store.organisation_tree()}
    node = nodes.get(code)
    if node is None and code in ADMINISTRATIONS:  # a forvaltning of the code list, before
        # its first data: users can be set up before the first import
        return Scope(code, "forvaltning", frozenset({code}), None, frozenset(),
                     ADMINISTRATIONS[code])
    if node is None:
        raise AccessError(f"Området '{code}' findes ikke i organisationen: brug 'kommune', en "
                          "forvaltning (fx BIF) eller et center.")
    if node.level == "kommune":
        return ALL
    children: dict[str, list[str]] = {}
    for n in nodes.values():
        if n.parent:
            children.setdefault(n.parent, []).append(n.code)

    def below(c: str) -> set[str]:
        out = {c}
        for k in children.get(c, []):
            out |= below(k)
        return out

    if node.level == "forvaltning":
        units = frozenset(below(code) - {code})
        return Scope(code, node.level, frozenset({code}), None, units, node.name)
    admin = node
    while admin is not None and admin.level != "forvaltning":
        admin = nodes.get(admin.parent) if admin.parent else None
    if admin is None:
        return NOTHING
    units = frozenset(below(code))
    return Scope(code, node.level, frozenset({admin.code}), units, units, node.name)


@dataclass(frozen=True)
class Principal:
    """Who acts: a user signed in, an API token, or the CLI's operator."""

    name: str
    role: str
    scope: Scope
    via: str  # cli | adgangskode | sso | token | lokal

    @property
    def permissions(self) -> frozenset[str]:
        return ROLES[self.role].permissions

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def data_scope(self) -> Scope:
        """The rows this principal's figures are made of: everything for the roles that see
        aggregates of every administration, else the own scope."""
        return ALL if ROLES[self.role].everywhere else self.scope

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Denied(f"Din rolle ({ROLES[self.role].label}) giver ikke adgang til dette.")

    @property
    def write_scope(self) -> Scope:
        """Where this principal may write: its own scope, whatever its role (a role that sees
        aggregates of every administration still writes only in its own part; an
        administrator for the whole municipality writes everywhere)."""
        return self.scope

    def require_within(self, administration: str | None, unit: str | None = None) -> None:
        """The one write rule: a complaint, an audit answer, a target or an imported row must
        lie inside the write scope. Imports apply it to whole columns
        (``ingest.scope.outside``)."""
        s = self.write_scope
        if not s.contains(administration, unit):
            field = "administration" if administration not in (s.administrations or ()) \
                else "unit"
            raise Denied(f"Du kan kun arbejde med sager i dit eget område ({self.scope.code}).",
                         field)


SYSTEM = Principal("system", "admin", ALL, "cli")
_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal",
                                                                    default=SYSTEM)


def current() -> Principal:
    """The acting principal (``SYSTEM`` outside a request)."""
    return _current.get()


def set_current(p: Principal) -> contextvars.Token:
    return _current.set(p)


@contextmanager
def acting_as(p: Principal) -> Iterator[Principal]:
    token = _current.set(p)
    try:
        yield p
    finally:
        _current.reset(token)


def acting_name(given: str | None) -> str | None:
    """Who a change is recorded as: the signed-in user (or token) when there is one, so a
    form's free-text name cannot speak for somebody else; else what the form says (the CLI,
    and the single local user of --no-auth)."""
    p = _current.get()
    return p.name if p.via in ("adgangskode", "sso", "token") else given


def scope_key() -> str:
    """What cached figures and compiled queries must be keyed by besides their own inputs."""
    return _current.get().data_scope.key()


def view_key() -> tuple[str, str]:
    """What a cached page or figure differs by between principals: role and data scope."""
    p = _current.get()
    return (p.role, p.data_scope.key())


def scope_conditions(columns) -> list[tuple[str, frozenset[str]]]:
    """The scope rule for a table with ``columns``: the (column, values allowed) pairs a row
    must meet, none for the whole table. Tables that name an administration are filtered by
    it (and by unit under a center); tables that name only a unit (audit samples) by the
    units under the scope; others are not case data. One rule for Ibis (:func:`restrict`)
    and SQL (``Store.rows``)."""
    s = _current.get().data_scope
    if s.everything:
        return []
    if "administration" in columns:
        out = [("administration", s.administrations)]
        if s.units is not None and "unit" in columns:
            out.append(("unit", s.units))
        return out
    if "unit" in columns:
        return [("unit", s.member_units or frozenset())]
    return []


def restrict(t: ibis.Table) -> ibis.Table:
    """The rows of ``t`` inside the acting principal's data scope (:func:`scope_conditions`)."""
    for col, values in scope_conditions(t.columns):
        t = t.filter(_isin(t[col], values))
    return t


def _isin(col: ibis.Value, values: frozenset[str]) -> ibis.Value:
    return col.isin(sorted(values)) if values else ibis.literal(False)


def now() -> datetime:
    """The time access records are stamped with (local time, whole seconds)."""
    return datetime.now().replace(microsecond=0)


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise AccessError(f"Ukendt rolle '{role}': brug en af {', '.join(ROLES)}.")
    return ROLES[role]


__all__ = ["ALL", "AccessError", "Denied", "KOMMUNE", "NOTHING", "PERMISSIONS", "Principal",
           "ROLES", "Role", "SYSTEM", "Scope", "acting_as", "acting_name", "check_role",
           "current", "now", "resolve", "restrict", "scope_conditions", "scope_key",
           "set_current", "view_key"]
