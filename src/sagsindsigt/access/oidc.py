"""OpenID Connect (SSO): from the claims of a validated ID token to name, role and scope.

The web layer (:mod:`sagsindsigt.web.sso`) runs the code flow and validates the ID token;
this module only maps its claims, so the rule can be tested without a provider.

The rule (also in docs/access.md):

* the name is the first of ``preferred_username``, ``upn``, ``email`` and ``sub`` present;
* the groups are the values of the claim named by ``oidc_group_claim`` (default
  ``groups``; a single string counts as one group);
* each group the settings' ``oidc_groups`` knows maps to ``"role:scope"`` (``"role"``
  alone means the whole municipality); unknown groups are ignored;
* if several groups map, the most powerful role wins, in the order of ``POWER``; among
  groups with that role, the one listed first in ``oidc_groups`` gives the scope;
* no mapped group: :class:`AccessError`, the user is not signed in.

A user signed in through SSO is not stored in the users table: role and scope come from the
claims at every sign-in, so a change of group in the directory applies at the next sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import KOMMUNE, AccessError, check_role, resolve

# most powerful first: the order a user's several mapped groups are ranked by
POWER = ("admin", "analytiker", "leder", "kvalitet", "registrator", "laeser")
NAME_CLAIMS = ("preferred_username", "upn", "email", "sub")
UNMAPPED = "Din konto er ikke tildelt en rolle i Sagsindsigt; kontakt en administrator."


def parse_mapping(value: str) -> tuple[str, str]:
    """``"leder:BIF"`` → ``("leder", "BIF")``; ``"analytiker"`` → ``("analytiker",
    "kommune")``. An unknown role raises :class:`AccessError`."""
    role, _, scope = (value or "").partition(":")
    role, scope = role.strip(), scope.strip() or KOMMUNE
    check_role(role)
    return role, scope


def name_of(claims: Mapping[str, Any]) -> str:
    for key in NAME_CLAIMS:
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    raise AccessError("Kontoen fra kommunens log ind mangler et brugernavn; kontakt en "
                      "administrator.")


def groups_of(claims: Mapping[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def map_claims(claims: Mapping[str, Any], settings, store=None) -> tuple[str, str, str]:
    """The name, role and scope of a validated ID token's claims (see the module's rule).
    With ``store`` the scope is checked against the organisation tree too (an unknown scope
    raises :class:`AccessError`)."""
    name = name_of(claims)
    mapping = settings.oidc_groups or {}
    member = set(groups_of(claims, settings.oidc_group_claim or "groups"))
    found = [parse_mapping(value) for group, value in mapping.items() if group in member]
    if not found:
        raise AccessError(UNMAPPED)
    rank = {r: i for i, r in enumerate(POWER)}
    # min() keeps the first of equals, i.e. the first in the configuration's order
    role, scope = min(found, key=lambda rs: rank.get(rs[0], len(POWER)))
    if store is not None:
        resolve(store, scope)
    return name, role, scope


__all__ = ["NAME_CLAIMS", "POWER", "UNMAPPED", "groups_of", "map_claims", "name_of",
           "parse_mapping"]
