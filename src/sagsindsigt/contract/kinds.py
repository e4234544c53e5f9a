"""Record kinds of the common data model (shared/spec/data-contract.md) as data.

Every reader, validator, store table and KPI works from these definitions: a new field is one
line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Field types. "code"/"codes" draw their values from a code list in codes.py.
TEXT, CODE, CODES, DATE, TIMESTAMP, BOOL, INT, NUMBER, DEADLINE, PERIOD, CITIZEN = (
    "text", "code", "codes", "date", "timestamp", "bool", "int", "number", "deadline", "period",
    "citizen",
)


@dataclass(frozen=True)
class Field:
    name: str
    type: str = TEXT
    required: bool = False
    codes: str | None = None
    label: str = ""  # Danish, for messages users read


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # Danish
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # identity of a record within its source
    # fields that join the identity only where filled (a start and a complete event of one
    # activity at one time are two events; a key without them stays what it was)
    key_optional: tuple[str, ...] = ()
    date_order: tuple[tuple[str, str], ...] = ()  # (earlier, later): later may not precede earlier
    coverage: tuple[str, ...] = ()  # date fields whose span is the batch's period when undeclared
    yaml: bool = False  # may be given as YAML
    extra: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


F = Field
ADMIN = F("administration", CODE, True, "administration", "forvaltning")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "organisation", "organisation",
            (F("code", TEXT, True, label="kode"), F("name", TEXT, True, label="navn"),
             F("parent", TEXT, label="overordnet enhed"),
             F("level", CODE, True, "level", "niveau")),
            key=("code",),
        ),
        Kind(
            "case_types", "sagstyper",
            (F("code", TEXT, True, label="kode"), F("name", TEXT, True, label="navn"), ADMIN,
             F("benefit_area", TEXT, label="ydelsesområde"),
             F("legal_basis", TEXT, label="lovgrundlag"),
             F("deadline", DEADLINE, label="sagsbehandlingsfrist")),
            key=("code",),
        ),
        Kind(
            "cases", "sager",
            (F("case_id", TEXT, True, label="sags-id"), ADMIN, F("unit", TEXT, label="enhed"),
             F("case_type", TEXT, True, label="sagstype"),
             F("received", DATE, True, label="modtaget"), F("decided", DATE, label="afgjort"),
             F("outcome", CODE, False, "case_outcome", "afgørelse"),
             F("deadline", DEADLINE, label="frist"),
             F("complete_on_receipt", BOOL, label="fuldstændig ved modtagelse"),
             F("citizen", CITIZEN, label="borger")),
            key=("case_id",), date_order=(("received", "decided"),),
            coverage=("received",),
        ),
        Kind(
            "volumes", "sagsmængder",
            (ADMIN, F("unit", TEXT, label="enhed"), F("case_type", TEXT, label="sagstype"),
             F("period_start", DATE, True, label="periodestart"),
             F("period_end", DATE, True, label="periodeslut"),
             F("cases_received", INT, True, label="modtagne sager")),
            key=("administration", "unit", "case_type", "period_start", "period_end"),
            date_order=(("period_start", "period_end"),),
            coverage=("period_start", "period_end"),
        ),
        Kind(
            "events", "hændelser",
            (F("case_id", TEXT, True, label="sags-id"),
             F("activity", TEXT, True, label="aktivitet"),
             F("at", TIMESTAMP, True, label="tidspunkt"), F("unit", TEXT, label="enhed"),
             F("actor", TEXT, label="medarbejder"),
             F("lifecycle", TEXT, label="livscyklus"),
             F("attributes", TEXT, label="øvrige attributter"),
             F("case_attributes", TEXT, label="sagens attributter")),
            key=("case_id", "activity", "at"), key_optional=("lifecycle",),
            coverage=("at",),
        ),
        Kind(
            "complaints", "klager",
            (F("complaint_id", TEXT, True, label="klage-id"), ADMIN,
             F("unit", TEXT, label="enhed"), F("benefit_area", TEXT, label="ydelsesområde"),
             F("case_type", TEXT, label="sagstype"), F("case_id", TEXT, label="sags-id"),
             F("received", DATE, True, label="modtaget"), F("closed", DATE, label="besvaret"),
             F("kind", CODE, True, "complaint_kind", "klagetype"),
             F("points", CODES, False, "complaint_point", "klagepunkter"),
             F("channel", CODE, False, "channel", "kanal"),
             F("via", CODE, False, "via", "modtaget via"),
             F("strengthened_contact", BOOL, label="styrket borgerkontakt"),
             F("resolved_at_contact", BOOL, label="afsluttet ved kontakten"),
             F("outcome", CODE, False, "complaint_outcome", "udfald"),
             F("appeal_outcome", CODE, False, "appeal_outcome", "Ankestyrelsens afgørelse"),
             F("summary", TEXT, label="resumé"),
             F("appeal_decided", DATE, label="Ankestyrelsens afgørelsesdato")),
            key=("complaint_id",), date_order=(("received", "closed"),
                                               ("received", "appeal_decided")),
            coverage=("received",),
        ),
        Kind(
            "concepts", "kvalitetskoncepter",
            (F("id", TEXT, True, label="id"), F("name", TEXT, True, label="navn"), ADMIN,
             F("benefit_area", TEXT, True, label="ydelsesområde"),
             F("frequency", CODE, True, "frequency", "frekvens"),
             F("sample_size", INT, label="stikprøvestørrelse")),
            key=("id",), yaml=True,
        ),
        Kind(
            "concept_checks", "kontrolpunkter",
            (F("concept", TEXT, True, label="koncept"), F("id", TEXT, True, label="id"),
             F("text", TEXT, True, label="tekst"),
             F("category", CODE, True, "check_category", "kategori"),
             F("position", INT, label="rækkefølge")),
            key=("concept", "id"),
        ),
        Kind(
            "reviews", "gennemgange",
            (F("round", PERIOD, True, label="runde"), F("concept", TEXT, True, label="koncept"),
             F("case_id", TEXT, True, label="sags-id"), F("unit", TEXT, label="enhed"),
             F("reviewer", TEXT, True, label="gennemgået af"),
             F("reviewer_role", CODE, True, "reviewer_role", "rolle"),
             F("check", TEXT, True, label="kontrolpunkt"),
             F("result", CODE, True, "review_result", "resultat")),
            key=("round", "concept", "case_id", "reviewer", "check"),
        ),
        Kind(
            "targets", "måltal",
            (F("id", TEXT, True, label="id"), F("kpi", TEXT, True, label="nøgletal"),
             F("administration", CODE, False, "administration", "forvaltning"),
             F("unit", TEXT, label="enhed"), F("case_type", TEXT, label="sagstype"),
             F("period", PERIOD, True, label="periode"),
             F("direction", CODE, True, "direction", "retning"),
             F("value", NUMBER, label="værdi"),
             F("relative_period", PERIOD, label="basisperiode"),
             F("relative_factor", NUMBER, label="faktor"),
             F("name", TEXT, label="navn")),
            key=("id",), yaml=True,
        ),
        Kind(
            "timeliness_rules", "rettidighedsregler",
            (F("id", TEXT, True, label="id"), F("name", TEXT, True, label="navn"),
             F("administration", CODE, False, "administration", "forvaltning"),
             F("anchor", TEXT, True, label="startaktivitet"),
             F("required", TEXT, True, label="krævet aktivitet"),
             F("limit", DEADLINE, True, label="frist")),
            key=("id",), yaml=True,
        ),
    ]
}

# Kinds a user names on the command line. concept_checks arrive inside concepts.
IMPORT_KINDS = [k for k in KINDS if k != "concept_checks"]


def unknown_import_kind(name: str) -> str | None:
    """The Danish error for a kind a user may not import by name (None when it may)."""
    if name in IMPORT_KINDS:
        return None
    return f"Ukendt datatype '{name}': brug en af {', '.join(IMPORT_KINDS)}."


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(unknown_import_kind(name)) from None
