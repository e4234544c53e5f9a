"""Code lists of the common data model, each value with its Danish label.

Values are the municipality's own words in ASCII (æ→ae, ø→oe, å→aa); the labels are what users
read. A code list is the one place a value is defined: validation, mapping, KPI breakdowns and
pages all look here.
"""

from __future__ import annotations

ADMINISTRATIONS: dict[str, str] = {
    "BIF": "Beskæftigelses- og Integrationsforvaltningen",
    "SOF": "Socialforvaltningen",
    "TMF": "Teknik- og Miljøforvaltningen",
    "SUF": "Sundheds- og Omsorgsforvaltningen",
    "KFF": "Kultur- og Fritidsforvaltningen",
    "BUF": "Børne- og Ungdomsforvaltningen",
    "OEKF": "Økonomiforvaltningen",
}

LEVELS = {"kommune": "Kommune", "forvaltning": "Forvaltning", "center": "Center", "enhed": "Enhed"}

CASE_OUTCOMES = {
    "bevilget": "Bevilget",
    "delvist_bevilget": "Delvist bevilget",
    "afslag": "Afslag",
    "afvist": "Afvist",
    "henlagt": "Henlagt",
}

COMPLAINT_KINDS = {"formalitet": "Formalitetsklage", "realitet": "Realitetsklage", "begge": "Begge"}

COMPLAINT_POINTS = {
    "sagsbehandlingstid": "Sagsbehandlingstid",
    "manglende_svar": "Manglende svar",
    "partshoering": "Partshøring",
    "begrundelse": "Begrundelse",
    "vejledning": "Vejledning",
    "klagevejledning": "Klagevejledning",
    "notatpligt": "Notatpligt",
    "aktindsigt": "Aktindsigt",
    "journalisering": "Journalisering",
    "inddragelse": "Inddragelse",
    "oplysning_af_sagen": "Oplysning af sagen",
    "tavshedspligt": "Tavshedspligt",
    "god_forvaltningsskik": "God forvaltningsskik",
    "optraeden": "Optræden",
    "andet": "Andet",
}

CHANNELS = {
    "brev": "Brev",
    "email": "E-mail",
    "digital_post": "Digital Post",
    "telefon": "Telefon",
    "personligt": "Personligt",
    "selvbetjening": "Selvbetjening",
}

VIA = {"forvaltning": "Forvaltningen", "borgerraadgiver": "Borgerrådgiveren",
       "ankestyrelsen": "Ankestyrelsen"}

COMPLAINT_OUTCOMES = {
    "medhold": "Medhold",
    "delvis_medhold": "Delvis medhold",
    "ikke_medhold": "Ikke medhold",
    "afvist": "Afvist",
    "trukket": "Trukket tilbage",
    "verserer": "Verserer",
}

APPEAL_OUTCOMES = {
    "stadfaestet": "Stadfæstet",
    "aendret": "Ændret",
    "ophaevet": "Ophævet",
    "hjemvist": "Hjemvist",
    "afvist": "Afvist",
    "verserer": "Verserer",
}

FREQUENCIES = {"kvartal": "Kvartalsvis", "halvaar": "Halvårlig", "aar": "Årlig"}

CHECK_CATEGORIES = {"noeglekontrol": "Nøglekontrol", "kvalitetsmaal": "Kvalitetsmål",
                    "formalia": "Formalia"}

REVIEWER_ROLES = {"intern": "Intern", "ekstern": "Ekstern"}

REVIEW_RESULTS = {"ok": "OK", "fejl": "Fejl", "ikke_relevant": "Ikke relevant"}

DIRECTIONS = {"max": "Højst", "min": "Mindst"}

BOOLEAN = {"true": "Ja", "false": "Nej"}

CODE_LISTS: dict[str, dict[str, str]] = {
    "administration": ADMINISTRATIONS,
    "level": LEVELS,
    "case_outcome": CASE_OUTCOMES,
    "complaint_kind": COMPLAINT_KINDS,
    "complaint_point": COMPLAINT_POINTS,
    "channel": CHANNELS,
    "via": VIA,
    "complaint_outcome": COMPLAINT_OUTCOMES,
    "appeal_outcome": APPEAL_OUTCOMES,
    "frequency": FREQUENCIES,
    "check_category": CHECK_CATEGORIES,
    "reviewer_role": REVIEWER_ROLES,
    "review_result": REVIEW_RESULTS,
    "direction": DIRECTIONS,
}


def label(code_list: str, value: str | None) -> str:
    """The Danish label of a value, or the value itself when the list does not know it."""
    if value is None:
        return "-"
    return CODE_LISTS.get(code_list, {}).get(value, value)
