"""The registration form as data: every contract field of a complaint with its Danish label,
a short help text and its choices. The web form is drawn from this list, so a field added to
the contract needs one entry here."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from ..contract.codes import (
    ADMINISTRATIONS,
    APPEAL_OUTCOMES,
    CHANNELS,
    COMPLAINT_KINDS,
    COMPLAINT_OUTCOMES,
    COMPLAINT_POINTS,
    VIA,
)
from . import KIND

KIND_HELP = {
    "formalitet": "Klagen handler om selve sagsbehandlingen: fx at borgeren ikke har fået "
                  "svar, at fristen er overskredet, eller at der mangler partshøring eller "
                  "begrundelse. Vælg de klagepunkter, det drejer sig om.",
    "realitet": "Klagen handler om indholdet af afgørelsen: borgeren er uenig i resultatet, "
                "fx et afslag eller størrelsen af en ydelse.",
    "begge": "Klagen handler både om sagsbehandlingen (formalitet) og om afgørelsens indhold "
             "(realitet).",
}

POINT_HELP = {
    "sagsbehandlingstid": "Sagen har taget for lang tid, eller den offentliggjorte frist er "
                          "overskredet.",
    "manglende_svar": "Borgeren har ikke fået svar på en henvendelse eller et brev.",
    "partshoering": "Borgeren er ikke blevet hørt over oplysninger, der taler imod "
                    "borgeren, før afgørelsen (forvaltningslovens § 19).",
    "begrundelse": "Afgørelsen mangler en begrundelse, eller begrundelsen er utilstrækkelig "
                   "(forvaltningslovens §§ 22-24).",
    "vejledning": "Borgeren har ikke fået den vejledning, forvaltningen skulle give "
                  "(forvaltningslovens § 7).",
    "klagevejledning": "Afgørelsen mangler oplysning om, hvordan og hvornår man kan klage.",
    "notatpligt": "Vigtige mundtlige oplysninger eller aftaler er ikke skrevet ned "
                  "(offentlighedslovens § 13).",
    "aktindsigt": "En anmodning om aktindsigt er ikke behandlet rigtigt eller til tiden.",
    "journalisering": "Dokumenter er ikke journaliseret, eller er journaliseret forkert.",
    "inddragelse": "Borgeren er ikke inddraget i sin sag, som loven kræver "
                   "(retssikkerhedslovens § 4).",
    "oplysning_af_sagen": "Sagen er ikke tilstrækkeligt oplyst, før der blev truffet "
                          "afgørelse (officialprincippet).",
    "tavshedspligt": "Oplysninger om borgeren er videregivet uden hjemmel.",
    "god_forvaltningsskik": "Andet i strid med god forvaltningsskik, fx en uklar eller "
                            "unødigt lang sagsgang.",
    "optraeden": "Medarbejderens optræden over for borgeren, fx tone eller adfærd.",
    "andet": "Et andet formelt forhold, der ikke passer ind ovenfor (forklar i resuméet).",
}

BOOL_CHOICES = [("", "Ikke oplyst"), ("ja", "Ja"), ("nej", "Nej")]


@dataclass
class FormField:
    name: str
    label: str
    input: str  # text | date | select | radio | checkboxes | textarea
    help: str = ""
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    choice_help: dict[str, str] = field(default_factory=dict)


def _codes(d: dict[str, str], blank: str | None = "Vælg ...") -> list[tuple[str, str]]:
    return ([("", blank)] if blank is not None else []) + list(d.items())


FIELDS: list[FormField] = [
    FormField("complaint_id", "Klage-id", "text", "Udfyldes automatisk (fx KL-SOF-2014-0001), "
              "hvis feltet er tomt. Brug sagssystemets nummer, hvis klagen har et."),
    FormField("administration", "Forvaltning", "select", "Forvaltningen, klagen vedrører.",
              True, _codes({k: f"{k} – {v}" for k, v in ADMINISTRATIONS.items()})),
    FormField("unit", "Center/enhed", "text", "Enhedens kode, fx HCK."),
    FormField("benefit_area", "Ydelsesområde", "text", "Fx Kontanthjælp eller Handicap."),
    FormField("case_type", "Sagstype", "text", "Sagstypens kode, hvis den kendes."),
    FormField("case_id", "Sags-id", "text", "Nummeret på den sag, klagen vedrører."),
    FormField("received", "Modtaget", "date", "Datoen, hvor klagen blev modtaget.", True),
    FormField("closed", "Besvaret", "date", "Datoen, hvor klagen blev besvaret. Tom, mens "
              "klagen er under behandling."),
    FormField("kind", "Klagetype", "radio", "Formalitet handler om sagsbehandlingen, "
              "realitet om afgørelsens indhold.", True, _codes(COMPLAINT_KINDS, None),
              KIND_HELP),
    FormField("points", "Klagepunkter (formalitet)", "checkboxes", "Hvilke regler for "
              "sagsbehandlingen klagen handler om. En klage kan have flere punkter.",
              choices=_codes(COMPLAINT_POINTS, None), choice_help=POINT_HELP),
    FormField("channel", "Kanal", "select", "Hvordan klagen kom ind.", False,
              _codes(CHANNELS, "Ikke oplyst")),
    FormField("via", "Modtaget via", "select", "Hvem modtog klagen. Som standard "
              "forvaltningen selv.", False, _codes(VIA, "Forvaltningen (standard)")),
    FormField("strengthened_contact", "Styrket borgerkontakt", "radio", "Blev klagen "
              "håndteret med Styrket borgerkontakt: en hurtig, personlig kontakt til borgeren "
              "(typisk telefon) i stedet for alene skriftlig sagsbehandling?", False,
              BOOL_CHOICES),
    FormField("resolved_at_contact", "Afsluttet ved kontakten", "radio", "Stoppede "
              "klageforløbet ved kontakten med borgeren, fordi sagen blev løst eller "
              "afklaret?", False, BOOL_CHOICES),
    FormField("outcome", "Udfald", "select", "Forvaltningens svar på klagen.", False,
              _codes(COMPLAINT_OUTCOMES, "Ikke oplyst")),
    FormField("appeal_outcome", "Ankestyrelsens afgørelse", "select", "Kun hvis klagen er "
              "sendt videre til Ankestyrelsen.", False, _codes(APPEAL_OUTCOMES, "Ikke relevant")),
    FormField("summary", "Resumé og læring", "textarea", "Hvad klagen handlede om, og hvad "
              "forvaltningen kan lære af den. Skriv ikke cpr-numre: de skjules automatisk."),
    FormField("appeal_decided", "Ankestyrelsens afgørelsesdato", "date", "Datoen for "
              "Ankestyrelsens afgørelse. Omgørelsesprocenten tælles efter denne dato, som "
              "Ankestyrelsen selv gør. Tom, mens sagen verserer."),
]
assert [f.name for f in FIELDS] == KIND.names, "the form must show every contract field"


def fields_for(scope, nodes, name) -> list[FormField]:
    """The form for a registrator with ``scope`` (an ``access.Scope``): the administrations
    and the units it may register for, and no others. ``nodes`` is the organisation
    (``store.reads.organisation``), ``name`` names a node ("Handicapcenter København (HCK)").
    Where the organisation names no unit inside the scope, the unit stays free text."""
    admins = [n.code for n in nodes if n.level == "forvaltning" and scope.covers(n.code)]
    admins += [a for a in ADMINISTRATIONS if scope.covers(a) and a not in admins]
    units = [n for n in nodes if n.level in ("center", "enhed") and scope.covers(n.code)]
    example = admins[0] if admins else "BIF"
    out = []
    for f in FIELDS:
        if f.name == "complaint_id":
            f = replace(f, help=f"Udfyldes automatisk (fx KL-{example}-2014-0001), hvis feltet "
                        "er tomt. Brug sagssystemets nummer, hvis klagen har et.")
        elif f.name == "unit" and not units:
            f = replace(f, help="Enhedens kode, som den står i organisationen.")
        if f.name == "administration":
            f = replace(f, choices=([] if len(admins) == 1 else [("", "Vælg ...")])
                        + [(a, name(a)) for a in sorted(admins, key=_admin_order)])
        elif f.name == "unit" and units:
            f = replace(f, input="select", help="Centret eller enheden, klagen vedrører.",
                        choices=([("", "Ikke oplyst")] if scope.units is None else [])
                        + [(n.code, name(n.code)) for n in units])
        out.append(f)
    return out


def _admin_order(code: str) -> tuple[int, str]:
    known = list(ADMINISTRATIONS)
    return (known.index(code) if code in known else 99, code)


def form_values(record: dict[str, Any] | None) -> dict[str, Any]:
    """A stored record as the form's values (dates as ISO, booleans ja/nej, points a list)."""
    out: dict[str, Any] = {}
    for f in FIELDS:
        v = (record or {}).get(f.name)
        if v is None:
            out[f.name] = [] if f.input == "checkboxes" else ""
        elif isinstance(v, bool):
            out[f.name] = "ja" if v else "nej"
        elif isinstance(v, (date, datetime)):
            out[f.name] = v.isoformat()[:10]
        elif f.input == "checkboxes":
            out[f.name] = [p for p in str(v).split("|") if p]
        else:
            out[f.name] = str(v)
    return out


__all__ = ["FIELDS", "FormField", "KIND_HELP", "POINT_HELP", "fields_for", "form_values"]
