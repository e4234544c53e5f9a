"""The write rule for imports: a row outside the acting principal's write scope
(``Principal.write_scope``, the rule every write path calls) is rejected like any other bad
row, naming the field that leaves the scope. The CLI's operator and an administrator for the
whole municipality write everywhere; an API token made for one administration or centre
imports only its own rows.

Checked on whole columns, never row by row:

* a record with an administration (cases, volumes, complaints, targets, case types, concepts,
  deadline rules) must name one of the scope's administrations and, in a centre's scope, one
  of its units; a record of a whole administration (case type, concept, deadline rule) is
  outside a centre's scope;
* a record with a unit only (events, reviews) must name a unit under the scope's node;
* an organisation node must hang under a node of the scope and must not be a node outside it.
"""

from __future__ import annotations

import polars as pl

from ..access import Scope
from ..contract import Kind
from .known import Known
from .read import ROW
from .validate import REJECT_SCHEMA


def outside(valid: pl.DataFrame, kind: Kind, scope: Scope, known: Known) -> pl.DataFrame:
    """One problem (ROW, field, value, reason) per valid row outside ``scope``."""
    if scope.everything or valid.height == 0:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    names = {f.name for f in kind.fields}
    admins = sorted(scope.administrations or ())
    where = f"dit område ({scope.code})"
    checks: list[tuple[str, pl.Expr]] = []  # (field, expression true where it leaves)
    if kind.name == "organisation":
        inside = sorted(_nodes(scope, known))
        outside_nodes = sorted((set(known.units["unit"]) | known.codes["administration"])
                               - set(inside))
        checks.append(("code", pl.col("code").is_in(outside_nodes)))
        checks.append(("parent", ~pl.col("parent").is_in(inside).fill_null(False)))
    elif "administration" in names:
        checks.append(("administration",
                       ~pl.col("administration").is_in(admins).fill_null(False)))
        if scope.units is not None:
            units = sorted(scope.units)
            if "unit" in names:
                checks.append(("unit", ~pl.col("unit").is_in(units).fill_null(False)))
            else:  # a record of a whole administration, outside a centre's scope
                checks.append(("administration", pl.lit(True)))
    elif "unit" in names:
        units = sorted(scope.units if scope.units is not None else scope.member_units or ())
        checks.append(("unit", ~pl.col("unit").is_in(units).fill_null(False)))
    else:
        return pl.DataFrame(schema=REJECT_SCHEMA)  # parts of a record (concept checks)
    label = {f.name: f"{f.label or f.name} ({f.name})" for f in kind.fields}
    problems, seen = [], pl.lit(False)
    for field, leaves in checks:
        hit = leaves & ~seen  # one reason per row: the first field that leaves the scope
        seen = seen | leaves
        problems.append(valid.filter(valid.select(hit.alias("h"))["h"]).select(
            ROW, field=pl.lit(field), value=pl.col(field).cast(pl.Utf8),
            reason=pl.lit(f"{label[field]} ligger uden for {where}; du kan kun indlæse data "
                          "for dit eget område")))
    return pl.concat(problems).select(list(REJECT_SCHEMA))


def _nodes(scope: Scope, known: Known) -> set[str]:
    """The organisation nodes inside ``scope`` (``Scope.covers``, the rule forms use)."""
    candidates = (set(known.units["unit"]) | known.codes["administration"]
                  | set(scope.administrations or ()) | set(scope.units or ())
                  | set(scope.member_units or ()))
    return {code for code in candidates if scope.covers(code)}
