"""The citizens' processing times as open data (issue 18): the same figures as the page
``/borger/sagsbehandlingstider`` as JSON and CSV, and DCAT-AP-DK metadata (JSON-LD) that a
national portal harvests. The web app serves them at stable addresses under ``/api/open/``;
``sagsindsigt publish DIR`` writes the same bytes as files for a static web server.

The CSV is the one export writer's (:func:`sagsindsigt.present.exports.csv_bytes`: semicolons,
decimal comma, UTF-8 with BOM, text that a spreadsheet would run as a formula neutralised).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..citizen import MIN_CASES, TOO_FEW, WINDOW_MONTHS, CitizenFigures, Figure, summary
from .exports import csv_bytes
from .tables import COUNT, DAYS, PCT, TEXT, Column, Table

NAME = "sagsbehandlingstider"  # the files' and addresses' stem
FILES = {"json": f"{NAME}.json", "csv": f"{NAME}.csv", "jsonld": f"{NAME}.jsonld"}
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8",
         "jsonld": "application/ld+json"}
EU = "http://publications.europa.eu/resource/authority/"
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL")
DEFAULT_LICENCE = "https://creativecommons.org/licenses/by/4.0/"


@dataclass(frozen=True)
class Publication:
    """Where the files are published and on what terms."""

    base_url: str  # the address the files are served under, without a trailing slash
    page_url: str  # the citizens' page (the dataset's landing page)
    licence: str = DEFAULT_LICENCE
    frequency: str = "MONTHLY"  # the EU frequency vocabulary's code

    def url(self, kind: str) -> str:
        return f"{self.base_url}/{FILES[kind]}"


COLUMNS = [
    Column("label", "Sagstype"), Column("case_type", "Sagstypekode"),
    Column("administration", "Forvaltning"), Column("administration_code", "Forvaltningskode"),
    Column("unit", "Enhed"), Column("legal_basis", "Lovgrundlag"),
    Column("deadline", "Offentliggjort frist"), Column("deadline_days", "Frist i dage", DAYS),
    Column("start", "Fra"), Column("end", "Til"),
    Column("decided", "Afgjorte sager", COUNT),
    Column("p80_days", "8 ud af 10 afgjort inden for (dage)", DAYS),
    Column("p80_weeks", "8 ud af 10 afgjort inden for (uger)", COUNT),
    Column("median_days", "Median (dage)", DAYS),
    Column("compliance", "Fristen overholdt (%)", PCT),
    Column("text", "Tekst", TEXT),
]


def records(data: CitizenFigures) -> list[dict]:
    """One record per published case type, then per unit of it where the administration
    publishes units; a row with too few cases has no figures and no count."""
    out = []
    for _admin, admin_name, rows in data.administrations():
        for r in rows:
            out.append(_record(r, admin_name))
            out += [_record(u, admin_name) for u in r.units]
    return out


def _record(r: Figure, admin_name: str) -> dict:
    return {
        "case_type": r.case_type, "case_type_name": r.name, "administration": r.administration,
        "administration_name": admin_name, "unit": r.unit, "unit_name": r.unit_name,
        "legal_basis": r.legal_basis, "published_deadline": r.deadline,
        "published_deadline_days": r.deadline_days, "period_start": r.start.isoformat(),
        "period_end": r.end.isoformat(), "shown": r.shown, "decided_cases": r.decided,
        "p80_days": r.p80_days, "p80_weeks": r.p80_weeks if r.shown else None,
        "median_days": r.median_days if r.shown else None,
        "deadline_kept_percent": r.compliance,
        "note": None if r.shown else TOO_FEW, "text": summary(r)}


def json_bytes(data: CitizenFigures, pub: Publication) -> bytes:
    body = {
        "title": title(data), "publisher": data.municipality,
        "period_start": data.start.isoformat() if data.start else None,
        "period_end": data.as_of.isoformat() if data.as_of else None,
        "window_months": WINDOW_MONTHS, "min_cases": MIN_CASES, "licence": pub.licence,
        "metadata": pub.url("jsonld"), "landing_page": pub.page_url,
        "rows": records(data)}
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def table(data: CitizenFigures) -> Table:
    """The records as a table for the export writer (Danish headers)."""
    t = Table(NAME, title(data), COLUMNS)
    for rec in records(data):
        t.add({"label": rec["case_type_name"], "case_type": rec["case_type"],
               "administration": rec["administration_name"],
               "administration_code": rec["administration"],
               "unit": rec["unit_name"] or "", "legal_basis": rec["legal_basis"] or "",
               "deadline": rec["published_deadline"] or "",
               "deadline_days": rec["published_deadline_days"], "start": rec["period_start"],
               "end": rec["period_end"], "decided": rec["decided_cases"],
               "p80_days": rec["p80_days"], "p80_weeks": rec["p80_weeks"],
               "median_days": rec["median_days"], "compliance": rec["deadline_kept_percent"],
               "text": rec["text"]})
    return t


def csv_file(data: CitizenFigures) -> bytes:
    return csv_bytes(table(data), data.municipality)


def title(data: CitizenFigures) -> str:
    return f"Sagsbehandlingstider i {data.municipality}"


def dcat(data: CitizenFigures, pub: Publication) -> dict:
    """DCAT-AP-DK (the Danish profile of DCAT-AP 2) as JSON-LD: a catalogue holding the
    dataset, with its publisher, licence, period, update frequency and two distributions."""
    def lit(text: str) -> dict:
        return {"@value": text, "@language": "da"}

    def day(d) -> dict | None:
        return {"@value": d.isoformat(), "@type": "xsd:date"} if d else None

    licence = {"@id": pub.licence}
    dists = []
    for kind, fmt, media in (("json", "JSON", "application/json"),
                             ("csv", "CSV", "text/csv")):
        dists.append({
            "@id": f"{pub.url(kind)}#distribution", "@type": "dcat:Distribution",
            "dct:title": lit(f"{title(data)} ({fmt})"),
            "dcat:accessURL": {"@id": pub.url(kind)}, "dcat:downloadURL": {"@id": pub.url(kind)},
            "dct:format": {"@id": f"{EU}file-type/{fmt}"},
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{media}"},
            "dct:license": licence, "dct:modified": day(data.as_of)})
    dataset = {
        "@id": f"{pub.url('jsonld')}#dataset", "@type": "dcat:Dataset",
        "dct:identifier": f"{pub.base_url}/{NAME}",
        "dct:title": lit(title(data)),
        "dct:description": lit(
            "Hvor lang tid det tog at få svar på en ansøgning, pr. sagstype: den tid 8 ud af 10 "
            "sager var afgjort inden for, medianen, og hvor ofte den offentliggjorte frist blev "
            f"overholdt. Opgjort over de sager, der blev afgjort i de seneste {WINDOW_MONTHS} "
            "måneder, som der er data for. Sagstyper med færre end "
            f"{MIN_CASES} afgjorte sager vises uden tal. Ingen personoplysninger."),
        "dcat:keyword": [lit(k) for k in ("sagsbehandlingstid", "sagsbehandlingsfrister",
                                          "forventningsafstemning", "kommune")],
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": data.municipality},
        "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": data.municipality,
                              "vcard:hasURL": {"@id": pub.page_url}},
        "dct:license": licence, "dct:accessRights": {"@id": f"{EU}access-right/PUBLIC"},
        "dct:accrualPeriodicity": {"@id": f"{EU}frequency/{pub.frequency}"},
        "dct:temporal": {"@type": "dct:PeriodOfTime", "dcat:startDate": day(data.start),
                         "dcat:endDate": day(data.as_of)},
        "dct:modified": day(data.as_of),
        "dct:language": {"@id": f"{EU}language/DAN"},
        "dcat:theme": {"@id": f"{EU}data-theme/GOVE"},
        "dcat:landingPage": {"@id": pub.page_url},
        "dcat:distribution": dists}
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/", "vcard": "http://www.w3.org/2006/vcard/ns#",
                     "xsd": "http://www.w3.org/2001/XMLSchema#"},
        "@id": f"{pub.url('jsonld')}#catalog", "@type": "dcat:Catalog",
        "dct:title": lit(f"Åbne data fra {data.municipality}"),
        "dct:description": lit(f"Åbne data om sagsbehandling i {data.municipality}."),
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": data.municipality},
        "dct:license": licence, "dcat:dataset": [dataset]}


def dcat_bytes(data: CitizenFigures, pub: Publication) -> bytes:
    return json.dumps(dcat(data, pub), ensure_ascii=False, indent=1).encode("utf-8")


def files(data: CitizenFigures, pub: Publication) -> dict[str, bytes]:
    """file name → bytes: the JSON, the CSV and the metadata."""
    return {FILES["json"]: json_bytes(data, pub), FILES["csv"]: csv_file(data),
            FILES["jsonld"]: dcat_bytes(data, pub)}


def publish(data: CitizenFigures, pub: Publication, directory: Path) -> list[Path]:
    """Write :func:`files` into ``directory`` (created when missing); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, body in files(data, pub).items():
        path = directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(body)
        tmp.replace(path)  # a web server never serves half a file
        out.append(path)
    return out


__all__ = ["COLUMNS", "DEFAULT_LICENCE", "FILES", "FREQUENCIES", "MEDIA", "NAME", "Publication",
           "csv_file", "dcat", "dcat_bytes", "files", "json_bytes", "publish", "records", "table",
           "title"]
