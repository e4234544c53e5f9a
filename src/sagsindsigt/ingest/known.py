"""Codes a row must share with what the store already holds: a case's case type among the
loaded case types of its administration, and a unit in the loaded organisation below the row's
administration.

The store is read once per import (``ingest._known``); the rows are checked with joins, never
row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .. import danish
from ..contract import Kind
from ..contract.codes import ADMINISTRATIONS
from ..store.reads import administrations
from .read import ROW

# Per record kind, the fields whose codes must be known for the row's administration.
MUST_BE_KNOWN: dict[str, tuple[str, ...]] = {
    "cases": ("case_type", "unit"), "volumes": ("unit",), "complaints": ("unit",)}
# The fields a mapping file may allow unknown codes for (``allow_unknown``).
MAY_BE_UNKNOWN = tuple(dict.fromkeys(f for fs in MUST_BE_KNOWN.values() for f in fs))
UNKNOWN_SCHEMA = {ROW: pl.Int64, "field": pl.Utf8, "administration": pl.Utf8, "value": pl.Utf8,
                  "reason": pl.Utf8}
_NOUN = {"case_type": "sagstype", "unit": "enhed"}
_WHERE = {"case_type": "blandt forvaltningens indlæste sagstyper",
          "unit": "under forvaltningen i den indlæste organisation"}
_SHOWN = 100  # warnings listed one by one; the rest summed up in one sentence


@dataclass(frozen=True)
class Known:
    """What the store knows when an import starts."""

    codes: dict[str, set[str]]  # code field → codes accepted beyond its code list
    names: dict[str, str]  # administration code → "Socialforvaltningen (SOF)", for reasons
    case_types: pl.DataFrame  # administration, case_type: the loaded case types
    units: pl.DataFrame  # unit, owner: loaded organisation nodes below a forvaltning

    @classmethod
    def of(cls, organisation: pl.DataFrame, case_types: pl.DataFrame) -> Known:
        """From the current ``organisation`` (code, name, parent, level) and ``case_types``
        (code, administration) records."""
        admins = organisation.filter(pl.col("level") == "forvaltning")
        names = {**ADMINISTRATIONS, **dict(admins.select("code", "name").iter_rows())}
        owners = administrations(organisation.select("code", "parent", "level").iter_rows())
        below = {unit: admin for unit, admin in owners.items() if unit != admin}
        return cls(
            codes={"administration": set(ADMINISTRATIONS) | set(admins["code"])},
            names={code: f"{name} ({code})" for code, name in names.items()},
            case_types=case_types.select("administration", pl.col("code").alias("case_type"))
            .unique(),
            units=pl.DataFrame({"unit": list(below), "owner": list(below.values())},
                               schema={"unit": pl.Utf8, "owner": pl.Utf8}),
        )

    def pairs(self, field: str) -> pl.DataFrame:
        """The known (administration, value) pairs of a field checked here."""
        if field == "case_type":
            return self.case_types.select("administration", value="case_type")
        return self.units.select(administration="owner", value="unit")

    def label(self, column: str) -> pl.Expr:
        """An administration column as people read it: "Socialforvaltningen (SOF)"."""
        return pl.col(column).replace(self.names)


def unknown(rows: pl.DataFrame, kind: Kind, known: Known) -> pl.DataFrame:
    """The rows (typed, with ``ROW``) naming a case type or unit the store does not know for
    the row's administration: one line per problem with ``ROW``, field, administration, value
    and the Danish reason. Rows without an administration are left to its own check.

    The rows with a known pair leave by one anti-join; each distinct pair left is judged
    once, and the rows join the bad pairs with their reasons."""
    checks = {"case_type": _case_types, "unit": _units}
    parts = []
    for f in MUST_BE_KNOWN.get(kind.name, ()):
        named = (rows.select(ROW, "administration", pl.col(f).alias("value")).drop_nulls()
                 .join(known.pairs(f), on=["administration", "value"], how="anti"))
        if not named.height:
            continue
        bad = checks[f](named.select("administration", "value").unique(), known)
        if bad.height:
            parts.append(named.join(bad.select("administration", "value", "reason"),
                                    on=["administration", "value"])
                         .with_columns(field=pl.lit(f)).select(list(UNKNOWN_SCHEMA)))
    return pl.concat(parts) if parts else pl.DataFrame(schema=UNKNOWN_SCHEMA)


def _case_types(pairs: pl.DataFrame, known: Known) -> pl.DataFrame:
    """(administration, value) pairs that are no loaded case type, each with its reason."""
    types = known.case_types
    elsewhere = types.group_by("case_type").agg(
        known.label("administration").sort().str.join(", ").alias("elsewhere"))
    bad = pairs.join(elsewhere, left_on="value", right_on="case_type", how="left")
    admin, how = known.label("administration"), (
        "; indlæs den med 'sagsindsigt import case_types' eller oversæt koden i mapping-filen "
        "under codes: case_type")
    return bad.with_columns(reason=(
        pl.when(~pl.col("administration").is_in(types["administration"].unique().implode()))
        .then(pl.format("sagstypen '{}' kan ikke kendes, da der endnu ikke er indlæst "
                        "sagstyper for {}; indlæs forvaltningens sagstyper med 'sagsindsigt "
                        "import case_types' først", "value", admin))
        .when(pl.col("elsewhere").is_not_null())
        .then(pl.format("sagstypen '{}' findes ikke blandt de indlæste sagstyper for {}, kun "
                        "for {}" + how, "value", admin, "elsewhere"))
        .otherwise(pl.format("sagstypen '{}' findes ikke blandt de indlæste sagstyper for {}"
                             + how, "value", admin))))


def _units(pairs: pl.DataFrame, known: Known) -> pl.DataFrame:
    """Of the (administration, value) pairs that are no unit below their administration, those
    to reject, each with its reason: a unit of another administration, and an unknown unit
    where the organisation names units below the administration."""
    units = known.units
    described = units["owner"].unique().implode()  # administrations with units in the tree
    bad = pairs.join(units, left_on="value", right_on="unit", how="left").filter(
        pl.col("owner").is_not_null() | pl.col("administration").is_in(described))
    return bad.with_columns(reason=(
        pl.when(pl.col("owner").is_null())
        .then(pl.format("enheden '{}' findes ikke under {} i den indlæste organisation; "
                        "tilføj den i organisationsfilen og indlæs den med 'sagsindsigt import "
                        "organisation', eller oversæt koden i mapping-filen under codes: unit",
                        "value", known.label("administration")))
        .otherwise(pl.format("enheden '{}' hører til {} i den indlæste organisation, ikke til "
                             "{}; ret forvaltningen eller enheden, eller oversæt koden i "
                             "mapping-filen under codes: unit",
                             "value", known.label("owner"), known.label("administration")))))


def warnings(kept: pl.DataFrame, known: Known) -> list[str]:
    """One Danish sentence per unknown code a mapping file allowed (``allow_unknown``), with
    the number of rows that name it; most rows first."""
    return warnings_from_counts(
        kept.group_by("field", "administration", "value").agg(pl.len().alias("n")), known)


def warnings_from_counts(counts: pl.DataFrame, known: Known) -> list[str]:
    """``warnings`` from the rows counted per (field, administration, value) in ``n``."""
    counts = (counts.with_columns(known.label("administration").alias("label"))
              .sort(["n", "field", "administration", "value"], descending=[True, False, False,
                                                                           False]))
    out = [f"Ukendt {_NOUN[f]} '{v}' for {a} i {_rows(n)}: den findes ikke {_WHERE[f]}, men "
           "mapping-filen tillader den under allow_unknown."
           for f, v, a, n in counts.select("field", "value", "label", "n").head(_SHOWN)
           .iter_rows()]
    if counts.height > _SHOWN:
        rest = counts.slice(_SHOWN)
        out.append(f"Og {rest.height} ukendte koder mere i {_rows(rest['n'].sum())}.")
    return out


def _rows(n: int) -> str:
    return "1 række" if n == 1 else f"{danish.number(n)} rækker"


__all__ = ["MAY_BE_UNKNOWN", "MUST_BE_KNOWN", "Known", "unknown", "warnings",
           "warnings_from_counts"]
