"""A demo municipality at Copenhagen scale, built from the seeds' own figures.

Everything is generated with one seeded random generator, written as the files case systems
really deliver (Parquet, semicolon CSV in Windows-1252 with Danish dates and a mapping YAML,
tab-separated UTF-8 with BOM, JSON Lines, XLSX) and loaded through the real importer, so the
demo exercises the same path as a municipality's own extracts.

Scale (yearly, 2014 as the index year, from seeds 000 and 004): BIF 154.440 cases, SOF 48.774
(the five critical case types of seed 004 on SCK/HCK/RCK plus two more), TMF 96.473 of which
most only as monthly volumes, SUF 16.249, BUF a small area, KFF complaints but no cases, ØKF
nothing. About 7.700 complaints a year. The last year of SOF is delivered as the first
half-year only (``--covers YYYY-H1``), like the seed-000 table.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from .ingest import import_file
from .store import Store

CONCEPTS_DIR = Path(__file__).parent / "concepts"
FIRST_YEAR = 2012

ORGANISATION = [
    ("KK", "Københavns Kommune", None, "kommune"),
    ("BIF", "Beskæftigelses- og Integrationsforvaltningen", "KK", "forvaltning"),
    ("SOF", "Socialforvaltningen", "KK", "forvaltning"),
    ("TMF", "Teknik- og Miljøforvaltningen", "KK", "forvaltning"),
    ("SUF", "Sundheds- og Omsorgsforvaltningen", "KK", "forvaltning"),
    ("KFF", "Kultur- og Fritidsforvaltningen", "KK", "forvaltning"),
    ("BUF", "Børne- og Ungdomsforvaltningen", "KK", "forvaltning"),
    ("OEKF", "Økonomiforvaltningen", "KK", "forvaltning"),
    ("JCA", "Jobcenter Amager", "BIF", "center"),
    ("JCN", "Jobcenter Nørrebro", "BIF", "center"),
    ("JCV", "Jobcenter Valby", "BIF", "center"),
    ("JCNV", "Jobcenter Nordvest", "BIF", "center"),
    ("YCK", "Ydelsescenter København", "BIF", "center"),
    ("SCK", "Socialcenter København", "SOF", "center"),
    ("HCK", "Handicapcenter København", "SOF", "center"),
    ("RCK", "Rådgivningscenter København", "SOF", "center"),
    ("BYG", "Center for Byggeri", "TMF", "center"),
    ("PARK", "Center for Parkering", "TMF", "center"),
    ("MILJ", "Center for Miljøbeskyttelse", "TMF", "center"),
    ("VISI", "Visitationen", "SUF", "center"),
    ("BFC", "Børnefamiliecenter København", "BUF", "center"),
    ("BIB", "Københavns Biblioteker", "KFF", "center"),
    ("IDR", "Idræt og Fritid", "KFF", "center"),
]

JOBCENTRES = {"JCA": 0.24, "JCN": 0.28, "JCV": 0.2, "JCNV": 0.28}


@dataclass(frozen=True)
class CaseType:
    code: str
    name: str
    administration: str
    benefit_area: str
    legal_basis: str
    deadline: str
    deadline_days: int  # the deadline in calendar days, to draw believable processing times
    per_year: int  # cases received in 2014
    units: dict[str, float]
    compliance: float  # share decided within the deadline in 2014
    refusal: float  # share of decisions that are refusals
    volumes_only: bool = False  # the source delivers only aggregate monthly volumes


CASE_TYPES = [
    # BIF: the ten benefit types of the audit basic package (seed 002); 154.440 in total
    CaseType("KH", "Kontanthjælp", "BIF", "Kontanthjælp", "Aktivloven § 11", "4 uger", 28,
             40000, JOBCENTRES, 0.86, 0.22),
    CaseType("REV", "Revalidering", "BIF", "Revalidering", "Aktivloven kap. 6", "8 uger", 56,
             3000, JOBCENTRES, 0.82, 0.3),
    CaseType("SDP", "Sygedagpenge", "BIF", "Sygedagpenge", "Sygedagpengeloven", "4 uger", 28,
             45000, {"YCK": 0.6, "JCA": 0.1, "JCN": 0.1, "JCV": 0.1, "JCNV": 0.1}, 0.9, 0.08),
    CaseType("FL", "Forsikrede ledige", "BIF", "Forsikrede ledige", "Beskæftigelsesloven",
             "4 uger", 28, 30000, JOBCENTRES, 0.92, 0.05),
    CaseType("LT", "Løntilskud", "BIF", "Løntilskud", "Beskæftigelsesloven kap. 12", "4 uger",
             28, 12500, JOBCENTRES, 0.88, 0.1),
    CaseType("INT", "Integrationsydelse og repatriering", "BIF", "Integration og repatriering",
             "Integrationsloven og repatrieringsloven", "8 uger", 56, 6000, JOBCENTRES, 0.8,
             0.2),
    CaseType("FJ", "Fleksjob og ledighedsydelse", "BIF", "Fleksjob og ledighedsydelse",
             "Beskæftigelsesloven kap. 13", "8 uger", 56, 9500, JOBCENTRES, 0.78, 0.3),
    CaseType("FP", "Førtidspension", "BIF", "Førtidspension", "Pensionsloven", "3 måneder", 91,
             6000, {"YCK": 1.0}, 0.7, 0.45),
    CaseType("FY", "Fleksydelse", "BIF", "Fleksydelse", "Fleksydelsesloven", "8 uger", 56, 1800,
             {"YCK": 1.0}, 0.9, 0.1),
    CaseType("DP", "Delpension", "BIF", "Delpension", "Delpensionsloven", "8 uger", 56, 640,
             {"YCK": 1.0}, 0.93, 0.1),
    # SOF: seed 004's five critical case types, plus two; 48.774 in total
    CaseType("ENK", "Hjælp til enkeltudgifter", "SOF", "Enkeltydelser",
             "Aktivloven §§ 81, 82, 83 og 85", "4 uger", 28, 25000,
             {"SCK": 0.45, "HCK": 0.2, "RCK": 0.35}, 0.62, 0.55),
    CaseType("MER", "Merudgifter til voksne med handicap", "SOF", "Handicap",
             "Serviceloven § 100", "3 måneder", 91, 650, {"SCK": 0.5, "HCK": 0.5}, 0.55, 0.5),
    CaseType("TAB", "Tabt arbejdsfortjeneste og merudgifter, børn med handicap", "SOF",
             "Handicap", "Serviceloven §§ 41 og 42", "3 måneder", 91, 2000, {"HCK": 1.0}, 0.6,
             0.35),
    CaseType("BIL", "Handicapbiler", "SOF", "Handicap", "Serviceloven § 114", "6 måneder", 182,
             250, {"HCK": 1.0}, 0.45, 0.6),
    CaseType("HJM", "Hjælpemidler, forbrugsgoder og boligindretning", "SOF", "Hjælpemidler",
             "Serviceloven §§ 112, 113 og 116", "8 uger", 56, 12500, {"HCK": 1.0}, 0.7, 0.3),
    CaseType("SPS", "Socialpædagogisk støtte", "SOF", "Voksenstøtte", "Serviceloven § 85",
             "3 måneder", 91, 4600, {"SCK": 0.5, "RCK": 0.5}, 0.8, 0.2),
    CaseType("BOT", "Botilbud", "SOF", "Voksenstøtte", "Serviceloven §§ 107 og 108",
             "3 måneder", 91, 3774, {"SCK": 0.4, "RCK": 0.6}, 0.75, 0.3),
    # TMF: building permits case by case; parking and environment only as monthly volumes
    CaseType("BYG", "Byggetilladelse", "TMF", "Byggeri", "Byggeloven", "8 uger", 56, 12000,
             {"BYG": 1.0}, 0.6, 0.08),
    CaseType("LIC", "Beboerlicens til parkering", "TMF", "Parkering", "Færdselsloven",
             "14 dage", 14, 70000, {"PARK": 1.0}, 0.95, 0.05, volumes_only=True),
    CaseType("MIL", "Miljøsager", "TMF", "Miljø", "Miljøbeskyttelsesloven", "3 måneder", 91,
             14473, {"MILJ": 1.0}, 0.8, 0.1, volumes_only=True),
    # SUF: visitation; 16.249 in total
    CaseType("PP", "Personlig pleje og praktisk hjælp", "SUF", "Hjemmepleje",
             "Serviceloven § 83", "14 dage", 14, 9500, {"VISI": 1.0}, 0.88, 0.12),
    CaseType("PLB", "Plejebolig", "SUF", "Plejebolig", "Almenboligloven § 54", "2 måneder", 61,
             2000, {"VISI": 1.0}, 0.85, 0.15),
    CaseType("SHJ", "Hjælpemidler til ældre", "SUF", "Hjælpemidler", "Serviceloven § 112",
             "8 uger", 56, 4749, {"VISI": 1.0}, 0.8, 0.25),
    # BUF: a small area with case-level data
    CaseType("FAM", "Særlig støtte til børn og unge", "BUF", "Børn og unge", "Serviceloven § 52",
             "4 måneder", 122, 3200, {"BFC": 1.0}, 0.72, 0.2),
]

# Complaints received in 2014 per administration (seed 000), ≈ 7.700 in all
COMPLAINTS = {"BIF": 4000, "SOF": 2596, "TMF": 595, "SUF": 250, "KFF": 220, "BUF": 45}
# Yearly factors from 2012: volumes grow a little, complaints fall where the work is done
VOLUME_TREND = 0.015
COMPLAINT_TREND = {"BIF": -0.07, "SOF": -0.04, "TMF": 0.0, "SUF": 0.02, "KFF": 0.0, "BUF": 0.0}
COMPLIANCE_GAIN = 0.03  # deadline compliance improves this much per year (seed 004's plan)
UNIT_SKILL = {"JCNV": -0.08, "HCK": -0.07, "RCK": 0.04, "JCV": 0.03}  # "where it goes less well"

POINTS = ["sagsbehandlingstid", "manglende_svar", "partshoering", "begrundelse", "vejledning",
          "klagevejledning", "notatpligt", "aktindsigt", "journalisering", "inddragelse",
          "oplysning_af_sagen", "tavshedspligt", "god_forvaltningsskik", "optraeden", "andet"]
POINT_WEIGHTS = [30, 10, 8, 9, 10, 4, 5, 3, 2, 4, 6, 1, 5, 6, 3]
SUMMARIES = [
    "Borgeren klager over lang ventetid på afgørelse. Læring: giv besked, når fristen ikke kan "
    "holdes.",
    "Klage over manglende partshøring før afgørelse. Læring: tjek partshøring i sagsgangen.",
    "Borgeren var uenig i afgørelsen; afgørelsen fastholdt og sendt til Ankestyrelsen.",
    "Borgeren havde ikke fået svar på sin henvendelse. Læring: kvittér for modtagelse.",
    "Klage over sagsbehandlerens optræden i telefonen. Drøftet på teammøde.",
    "Begrundelsen i afgørelsen var for kort. Læring: skabelon for begrundelse revideret.",
    "Manglende vejledning om mulighed for at søge enkeltydelse. Vejledning givet ved opkald.",
    "Borgeren fik ikke aktindsigt inden for 7 dage. Læring: fast ansvarlig for aktindsigt.",
    "Klagen løst ved telefonsamtale med borgeren (Styrket borgerkontakt).",
    "Dokumenter var ikke journaliseret, så afgørelsen byggede på et ufuldstændigt grundlag.",
]
TIMELINESS_RULES = [{
    "id": "jobsamtale_4_uger", "name": "Første jobsamtale inden for 4 uger efter visitation",
    "administration": "BIF", "anchor": "visiteret", "required": "jobsamtale",
    "limit": "4 uger",
}]


def targets(last: int) -> list[dict]:
    year = str(last)
    return [
        {"id": "klager_bif", "name": "Færre klager i BIF", "kpi": "complaint_rate",
         "administration": "BIF", "period": year, "direction": "max", "value": 2.5},
        {"id": "procedurale_klager_sof", "name": "Færre formalitetsklager i SOF",
         "kpi": "procedural_complaint_rate", "administration": "SOF", "period": year,
         "direction": "max", "value": 2.0},
        {"id": "frister_sof", "name": "Frister overholdt i SOF", "kpi": "deadline_compliance",
         "administration": "SOF", "period": year, "direction": "min", "value": 80},
        {"id": "frister_suf", "name": "Frister overholdt i SUF", "kpi": "deadline_compliance",
         "administration": "SUF", "period": year, "direction": "min", "value": 90},
        {"id": "korrekte_sager_bif", "name": "Korrekte sager i BIF",
         "kpi": "audit_correct_rate", "administration": "BIF", "period": year,
         "direction": "min", "value": 95},
        {"id": "fejl_halveret_bif", "name": "Fejlene halveret i BIF",
         "kpi": "audit_check_error_rate", "administration": "BIF", "period": year,
         "direction": "max", "relative_to": {"period": str(FIRST_YEAR), "factor": 0.5}},
        {"id": "jobsamtaler_bif", "name": "Jobsamtaler til tiden i BIF", "kpi": "timeliness",
         "administration": "BIF", "period": year, "direction": "min", "value": 85},
    ]


class Demo:
    """The generator: one instance per run, one random generator for everything."""

    def __init__(self, years: int, seed: int, workdir: Path):
        self.rng = np.random.default_rng(seed)
        self.years = list(range(FIRST_YEAR, FIRST_YEAR + years))
        self.dir = workdir
        self.extract_day = date(self.years[-1] + 1, 1, 15)
        self.cases: dict[str, pl.DataFrame] = {}  # per administration, all years

    # -- helpers --------------------------------------------------------------------------------
    def _days(self, year: int, n: int) -> np.ndarray:
        """n receipt days in the year as numpy datetime64[D], weekdays far likelier."""
        start = np.datetime64(f"{year}-01-01")
        days = start + np.arange((np.datetime64(f"{year + 1}-01-01") - start).astype(int))
        weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
        w = np.where(weekday < 5, 1.0, 0.08)
        return np.sort(self.rng.choice(days, size=n, p=w / w.sum()))

    def _pick(self, options: dict[str, float] | list, n: int, weights=None) -> np.ndarray:
        if isinstance(options, dict):
            keys, w = list(options), np.array(list(options.values()), dtype=float)
        else:
            keys, w = list(options), np.array(weights if weights is not None else
                                              [1.0] * len(options), dtype=float)
        return np.array(keys, dtype=object)[self.rng.choice(len(keys), size=n, p=w / w.sum())]

    def _cpr(self, n: int, pool: int) -> list[str]:
        """CPR-shaped citizen numbers (fictitious); the importer pseudonymises them."""
        ids = self.rng.integers(0, pool, size=n)
        day = 1 + ids % 28
        month = 1 + (ids // 28) % 12
        yy = (ids // 336) % 100
        seq = 1000 + (ids * 7919) % 9000
        return [f"{d:02d}{m:02d}{y:02d}-{s:04d}"
                for d, m, y, s in zip(day, month, yy, seq, strict=True)]

    # -- cases ----------------------------------------------------------------------------------
    def case_rows(self, ct: CaseType, year: int, cutoff: date) -> pl.DataFrame:
        k = year - 2014
        n = int(round(ct.per_year * (1 + VOLUME_TREND) ** k))
        received = self._days(year, n)
        units = self._pick(ct.units, n)
        skill = np.array([UNIT_SKILL.get(u, 0.0) for u in units])
        compliance = np.clip(ct.compliance + COMPLIANCE_GAIN * k + skill, 0.2, 0.98)
        # log-normal processing time whose quantile at the deadline equals the compliance
        from scipy.stats import norm

        sigma = 0.55
        mu = np.log(ct.deadline_days) - norm.ppf(compliance) * sigma
        days = np.maximum(0, np.round(np.exp(mu + sigma * self.rng.standard_normal(n))))
        decided = received + days.astype("timedelta64[D]")
        open_ = decided > np.datetime64(cutoff)
        outcome = self._pick({"bevilget": 1 - ct.refusal - 0.08, "delvist_bevilget": 0.03,
                              "afslag": ct.refusal, "afvist": 0.03, "henlagt": 0.02}, n)
        complete = self.rng.random(n) < (0.6 if ct.administration == "SOF" else 0.85)
        seq = np.arange(1, n + 1)
        return pl.DataFrame({
            "case_id": [f"{ct.code}-{year}-{i:06d}" for i in seq],
            "administration": ct.administration,
            "unit": units.astype(str),
            "case_type": ct.code,
            "received": pl.Series(received.astype("datetime64[D]")),
            "decided": pl.Series(decided.astype("datetime64[D]")),
            "outcome": outcome.astype(str),
            "complete_on_receipt": complete,
            "citizen": self._cpr(n, ct.per_year * 3),
            "_open": open_,
        }).with_columns(
            pl.when(pl.col("_open")).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("decided", "outcome")
        ).drop("_open")

    def cases_for(self, admin: str, year: int, cutoff: date, months: int = 12) -> pl.DataFrame:
        frames = [self.case_rows(ct, year, cutoff) for ct in CASE_TYPES
                  if ct.administration == admin and not ct.volumes_only]
        df = pl.concat(frames)
        if months < 12:
            df = df.filter(pl.col("received") < date(year, months + 1, 1))
        return df.sort("received")

    def volumes_for(self, admin: str, year: int) -> pl.DataFrame:
        rows = []
        for ct in CASE_TYPES:
            if ct.administration != admin or not ct.volumes_only:
                continue
            total = ct.per_year * (1 + VOLUME_TREND) ** (year - 2014)
            season = 1 + 0.15 * np.cos((np.arange(12) - 1) / 12 * 2 * np.pi)
            counts = self.rng.multinomial(int(round(total)), season / season.sum())
            for m in range(12):
                end = date(year + (m == 11), 1 if m == 11 else m + 2, 1) - timedelta(days=1)
                rows.append({"administration": admin, "unit": next(iter(ct.units)),
                             "case_type": ct.code, "period_start": date(year, m + 1, 1),
                             "period_end": end, "cases_received": int(counts[m])})
        return pl.DataFrame(rows)

    # -- events ---------------------------------------------------------------------------------
    def events_for(self, cases: pl.DataFrame) -> pl.DataFrame:
        c = cases.filter(pl.col("case_type").is_in(["KH", "FL"]))
        n = c.height
        minute = 60_000  # in ms, the finest unit polars takes from numpy
        rec = c["received"].to_numpy().astype("datetime64[ms]")
        visit = rec + ((self.rng.integers(0, 3, n) * 1440 + self.rng.integers(480, 900, n))
                       * minute).astype("timedelta64[ms]")
        late = np.array([UNIT_SKILL.get(u, 0.0) for u in c["unit"]])
        wait = self.rng.gamma(4.0, 4.4 * (1 - 2 * late), n)  # days; ~85 % within 4 weeks
        interview = visit + (np.round(wait * 1440) * minute).astype("timedelta64[ms]")
        held = (self.rng.random(n) > 0.04) & (interview < np.datetime64(self.extract_day))
        ids, units = c["case_id"], c["unit"]
        a = pl.DataFrame({"case_id": ids, "activity": "visiteret", "at": visit, "unit": units})
        b = pl.DataFrame({"case_id": ids, "activity": "jobsamtale", "at": interview,
                          "unit": units}).filter(pl.Series(held))
        return pl.concat([a, b]).with_columns(pl.col("at").dt.strftime("%Y-%m-%d %H:%M"))

    # -- complaints -----------------------------------------------------------------------------
    def complaints_for(self, admin: str, year: int, months: int = 12) -> pl.DataFrame:
        n = int(round(COMPLAINTS[admin] * (1 + COMPLAINT_TREND[admin]) ** (year - 2014)))
        if months < 12:
            n = int(round(n * months / 12))
        rec = self._days(year, n)
        if months < 12:
            rec = np.sort(self.rng.choice(rec[rec < np.datetime64(date(year, months + 1, 1))],
                                          size=n))
        case_id = np.full(n, None, dtype=object)
        case_type = np.full(n, None, dtype=object)
        units = self._pick([u for u, _, p, lvl in ORGANISATION if p == admin], n)
        cases = self.cases.get(admin)
        if cases is not None and cases.height:
            decided = cases.filter(pl.col("decided").is_not_null()).sort("decided")
            d = decided["decided"].to_numpy().astype("datetime64[D]")
            lo = np.searchsorted(d, rec - np.timedelta64(60, "D"))
            hi = np.searchsorted(d, rec - np.timedelta64(3, "D"))
            linked = (hi > lo) & (self.rng.random(n) < 0.75)
            idx = lo + np.floor(self.rng.random(n) * (hi - lo)).astype(int)
            idx = np.where(linked, np.minimum(idx, len(d) - 1), 0)
            case_id = np.where(linked, decided["case_id"].to_numpy()[idx], None)
            case_type = np.where(linked, decided["case_type"].to_numpy()[idx], None)
            units = np.where(linked, decided["unit"].to_numpy()[idx], units)
        area = {ct.code: ct.benefit_area for ct in CASE_TYPES}
        benefit = np.array([area.get(x) for x in case_type], dtype=object)
        kind = self._pick({"formalitet": 0.36, "realitet": 0.52, "begge": 0.12}, n)
        points = [
            "|".join(sorted(set(self._pick(POINTS, 1 + int(self.rng.random() < 0.3),
                                           POINT_WEIGHTS))))
            if k != "realitet" and self.rng.random() < 0.9 else None
            for k in kind
        ]
        sb_share = {2012: 0.0, 2013: 0.05, 2014: 0.35, 2015: 0.5}.get(year, 0.5)
        recorded = admin in ("BIF", "SOF") and year >= 2013
        sb = (self.rng.random(n) < sb_share) if recorded else np.zeros(n, bool)
        resolved = sb & (self.rng.random(n) < 0.45)
        response = np.round(np.exp(np.log(np.where(sb, 9.0, 17.0))
                                   + 0.6 * self.rng.standard_normal(n))).astype(int) + 1
        closed = rec + response.astype("timedelta64[D]")
        pending = closed >= np.datetime64(self.extract_day if months == 12
                                          else date(year, months + 1, 1))
        outcome = self._pick({"medhold": 0.14, "delvis_medhold": 0.1, "ikke_medhold": 0.56,
                              "afvist": 0.12, "trukket": 0.08}, n)
        outcome = np.where(resolved, self._pick({"medhold": 0.5, "delvis_medhold": 0.3,
                                                 "trukket": 0.2}, n), outcome)
        outcome = np.where(pending, "verserer", outcome)
        appealed = (kind != "formalitet") & (outcome == "ikke_medhold") & \
            (self.rng.random(n) < 0.35)
        appeal = np.where(appealed, self._pick(
            {"stadfaestet": 0.66, "aendret": 0.13, "ophaevet": 0.05, "hjemvist": 0.12,
             "afvist": 0.02, "verserer": 0.02}, n), None)
        # the board decides some 3-9 months after the municipality's answer; an appeal not
        # decided by the extract day is pending
        board = closed + (90 + self.rng.integers(0, 180, n)).astype("timedelta64[D]")
        board_pending = board >= np.datetime64(self.extract_day)
        appeal = np.where(appealed & board_pending, "verserer", appeal)
        appeal_decided = np.where(appealed & ~board_pending & (appeal != "verserer"), board,
                                  np.datetime64("NaT")).astype("datetime64[D]")
        summary = self._pick(SUMMARIES, n)
        cpr_in_text = self.rng.random(n) < 0.01  # registrars do paste CPR numbers; masked
        fake_cpr = "-".join(("010170", "1234"))  # made up; the importer must mask it
        summary = np.where(cpr_in_text, np.char.add(f"Vedr. cpr {fake_cpr}: ",
                                                    summary.astype(str)), summary)
        ids = [f"K-{admin}-{year}-{i:05d}" for i in range(1, n + 1)]
        return pl.DataFrame({k: _listed(v) for k, v in {
            "complaint_id": ids, "administration": admin, "unit": units.astype(str),
            "benefit_area": benefit, "case_type": case_type, "case_id": case_id,
            "received": pl.Series(rec.astype("datetime64[D]")),
            "closed": pl.Series(np.where(pending, np.datetime64("NaT"), closed)
                                .astype("datetime64[D]")),
            "kind": kind, "points": points,
            "channel": self._pick({"digital_post": 0.34, "email": 0.3, "brev": 0.1,
                                   "telefon": 0.14, "personligt": 0.05, "selvbetjening": 0.07},
                                  n),
            "via": self._pick({"forvaltning": 0.85, "borgerraadgiver": 0.13,
                               "ankestyrelsen": 0.02}, n),
            "strengthened_contact": np.where(recorded, sb, None),
            "resolved_at_contact": np.where(sb, resolved, None),
            "outcome": outcome, "appeal_outcome": appeal, "summary": summary.astype(str),
            "appeal_decided": pl.Series(appeal_decided),
        }.items()}, schema_overrides={"benefit_area": pl.Utf8, "case_type": pl.Utf8,
                             "case_id": pl.Utf8, "points": pl.Utf8, "appeal_outcome": pl.Utf8,
                             "strengthened_contact": pl.Boolean,
                             "resolved_at_contact": pl.Boolean})

    # -- audits ---------------------------------------------------------------------------------
    def reviews(self, concepts: list[dict]) -> pl.DataFrame:
        bif = self.cases["BIF"]
        area_type = {ct.benefit_area: ct.code for ct in CASE_TYPES if ct.administration == "BIF"}
        base = {c["id"]: p for c, p in zip(concepts, self.rng.uniform(0.025, 0.07, len(concepts)),
                                              strict=True)}
        rows: list[tuple] = []
        for c in concepts:
            pool = bif.filter(pl.col("case_type") == area_type[c["benefit_area"]])
            for year in self.years:
                rounds = {"kvartal": [f"{year}-Q{q}" for q in range(1, 5)],
                          "halvaar": [f"{year}-H1", f"{year}-H2"], "aar": [str(year)]}
                for rnd in rounds[c["frequency"]]:
                    start, end = _round_span(rnd)
                    cand = pool.filter(pl.col("received").is_between(start, end))
                    size = min(c["sample_size"], cand.height)
                    pick = cand[np.sort(self.rng.choice(cand.height, size, replace=False))]
                    # the error share halves from the first year to the fourth (seed 002)
                    p = base[c["id"]] * (1 - 0.17 * (year - FIRST_YEAR))
                    for cid, unit in zip(pick["case_id"], pick["unit"], strict=True):
                        pu = p * (1 + 3 * max(0.0, -UNIT_SKILL.get(unit, 0.0)) * 2)
                        results = []
                        for chk in c["checks"]:
                            f = 1.6 if chk["category"] == "formalia" else 1.0
                            r = self.rng.random()
                            res = ("ikke_relevant" if r < 0.06 else
                                   "fejl" if r < 0.06 + pu * f else "ok")
                            results.append((chk["id"], res))
                            rows.append((rnd, c["id"], cid, unit, "kvalitetskoordinator",
                                         "intern", chk["id"], res))
                        # calibration: the auditor re-reviews part of the Q2/H1 rounds
                        if rnd.endswith(("Q2", "H1")) and year in (2013, 2014) \
                                and self.rng.random() < 0.5:
                            for chk_id, res in results:
                                if self.rng.random() < 0.06:
                                    res = "ok" if res == "fejl" else "fejl"
                                rows.append((rnd, c["id"], cid, unit, "Deloitte", "ekstern",
                                             chk_id, res))
        return pl.DataFrame(rows, orient="row", schema=[
            "round", "concept", "case_id", "unit", "reviewer", "reviewer_role", "check",
            "result"])


def _with_typos(df: pl.DataFrame, rng: np.random.Generator, typos: dict) -> pl.DataFrame:
    """A few rows with the errors real extracts carry, so the demo's quarantine is not empty."""
    rows = rng.choice(df.height, size=2 * len(typos), replace=False)
    df = df.with_row_index("_i")
    for (col, bad), idx in zip(typos.items(), rows.reshape(-1, 2), strict=True):
        df = df.with_columns(pl.when(pl.col("_i").is_in(idx.tolist())).then(pl.lit(bad))
                             .otherwise(pl.col(col)).alias(col))
    return df.drop("_i")


def _listed(v):
    """numpy object arrays (strings with None) as lists, which polars reads."""
    return v.tolist() if isinstance(v, np.ndarray) and v.dtype == object else v


def _round_span(rnd: str) -> tuple[date, date]:
    from .calendar import Period

    p = Period.parse(rnd)
    return p.start, p.end


def _danish_date(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%d-%m-%Y")


def build_demo(store: Store, years: int = 4, seed: int = 2014,
               echo: Callable[[str], None] = print, workdir: Path | None = None) -> str:
    """Generate the demo files and load them through the importer. Returns a Danish summary."""
    if years < 1 or years > 10:
        raise ValueError("Demoen kan bygges for 1 til 10 år.")
    t0 = time.perf_counter()
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="sagsindsigt-demo-")
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    d = Demo(years, seed, workdir)
    last = d.years[-1]
    loaded = 0
    with store.bulk():  # one checkpoint at the end, not one per import

        def load(kind, path, **kw):
            nonlocal loaded
            r = import_file(store, kind, path, **kw)
            loaded += r.rows_loaded
            if r.status not in ("indlæst", "allerede indlæst"):
                raise RuntimeError(f"Demoens fil {path.name} blev ikke indlæst: {r.message}")
            return r

        # reference data: YAML and CSV
        org = [dict(zip(("code", "name", "parent", "level"), o, strict=True)) for o in ORGANISATION]
        pl.DataFrame(org).write_csv(workdir / "organisation.csv", separator=";")
        load("organisation", workdir / "organisation.csv", source="kk-organisation")
        pl.DataFrame([{"code": c.code, "name": c.name, "administration": c.administration,
                       "benefit_area": c.benefit_area, "legal_basis": c.legal_basis,
                       "deadline": c.deadline} for c in CASE_TYPES]) \
            .write_csv(workdir / "sagstyper.csv", separator=";")
        load("case_types", workdir / "sagstyper.csv", source="kk-sagstyper")
        (workdir / "regler.yaml").write_text(yaml.safe_dump(TIMELINESS_RULES, allow_unicode=True),
                                             encoding="utf-8")
        load("timeliness_rules", workdir / "regler.yaml", source="bif-rettidighed")
        sof_map = workdir / "sof-mapping.yaml"
        sof_map.write_text(yaml.safe_dump({
            "source": "sof-sager",
            "columns": {"Sagsnummer": "case_id", "Forvaltning": "administration",
                        "Center": "unit", "Sagstype": "case_type", "Modtaget": "received",
                        "Afgjort": "decided", "Afgørelse": "outcome",
                        "Fuldstændig ansøgning": "complete_on_receipt", "CPR": "citizen"},
            "codes": {"outcome": {"Bevilget": "bevilget", "Delvis bevilling": "delvist_bevilget",
                                  "Afslag": "afslag", "Afvist": "afvist", "Henlagt": "henlagt"}},
        }, allow_unicode=True), encoding="utf-8")
        sof_outcome = {"bevilget": "Bevilget", "delvist_bevilget": "Delvis bevilling",
                       "afslag": "Afslag", "afvist": "Afvist", "henlagt": "Henlagt"}

        for year in d.years:
            # SOF delivers only the first half of the last year
            partial = year == last and years > 1
            for admin in ("BIF", "SOF", "TMF", "SUF", "BUF"):
                months = 6 if (admin == "SOF" and partial) else 12
                cutoff = date(year, 7, 1) if months == 6 else d.extract_day
                cases = d.cases_for(admin, year, cutoff, months)
                d.cases[admin] = (cases if admin not in d.cases
                                  else pl.concat([d.cases[admin], cases]))
                covers = f"{year}-H1" if months == 6 else str(year)
                name = f"{admin.lower()}-sager-{year}"
                if admin == "BIF":
                    path = workdir / f"{name}.parquet"
                    cases.write_parquet(path)
                elif admin == "SOF":  # KMD-style export: Danish headers, ; and cp1252, ja/nej
                    path = workdir / f"{name}.csv"
                    out = cases.select(
                        pl.col("case_id").alias("Sagsnummer"),
                        pl.col("administration").alias("Forvaltning"),
                        pl.col("unit").alias("Center"), pl.col("case_type").alias("Sagstype"),
                        _danish_date("received").alias("Modtaget"),
                        _danish_date("decided").alias("Afgjort"),
                        pl.col("outcome").replace_strict(sof_outcome, default=None)
                        .alias("Afgørelse"),
                        pl.when(pl.col("complete_on_receipt")).then(pl.lit("ja"))
                        .otherwise(pl.lit("nej")).alias("Fuldstændig ansøgning"),
                        pl.col("citizen").alias("CPR"))
                    out = _with_typos(out, d.rng, {"Afgjort": f"31-02-{year}",
                                                   "Afgørelse": "Bevilling?", "Sagstype": None})
                    path.write_bytes(out.write_csv(separator=";").encode("cp1252"))
                elif admin == "TMF":  # tab-separated UTF-8 with BOM
                    path = workdir / f"{name}.csv"
                    path.write_bytes(b"\xef\xbb\xbf" + cases.write_csv(separator="\t").encode())
                elif admin == "SUF":
                    path = workdir / f"{name}.jsonl"
                    cases.with_columns(pl.col("received", "decided").cast(pl.Utf8)) \
                        .write_ndjson(path)
                else:
                    path = workdir / f"{name}.xlsx"
                    _write_xlsx(cases, path)
                load("cases", path, source=f"{admin.lower()}-sager",
                     mapping=sof_map if admin == "SOF" else None, covers=covers)
                if admin == "TMF":
                    vol = workdir / f"tmf-sagsmaengder-{year}.xlsx"
                    _write_xlsx(d.volumes_for("TMF", year), vol)
                    load("volumes", vol, source="tmf-sagsmaengder", covers=str(year))
                if admin == "SOF" and year == FIRST_YEAR:  # an old yearly report, overlapping
                    old = workdir / f"sof-sagsmaengder-{year}.csv"
                    pl.DataFrame([{"administration": "SOF", "case_type": "ENK",
                                   "period_start": date(year, 1, 1),
                                   "period_end": date(year, 12, 31), "cases_received": 25300}]) \
                        .write_csv(old)
                    load("volumes", old, source="sof-aarsopgoerelse", covers=str(year))
                if admin == "BIF":
                    ev = workdir / f"bif-haendelser-{year}.csv"
                    d.events_for(cases).write_csv(ev)
                    load("events", ev, source="bif-sager", covers=str(year))
            for admin in COMPLAINTS:
                months = 6 if (admin == "SOF" and partial) else 12
                path = workdir / f"{admin.lower()}-klager-{year}.csv"
                d.complaints_for(admin, year, months).write_csv(path)
                load("complaints", path, source=f"{admin.lower()}-klager",
                     covers=f"{year}-H1" if months == 6 else str(year))
            echo(f"  {year} indlæst ({time.perf_counter() - t0:.0f} s)")

        load("concepts", CONCEPTS_DIR, source="bif-kvalitet")
        concepts = [yaml.safe_load(p.read_text(encoding="utf-8"))
                    for p in sorted(CONCEPTS_DIR.glob("*.yaml"))]
        reviews = workdir / "bif-gennemgange.csv"
        # the last round of the last year is not reviewed yet: its sample is drawn in the årshjul
        last_rounds = {f"{last}-Q4", f"{last}-H2", str(last)}
        d.reviews(concepts).filter(~pl.col("round").is_in(last_rounds)).write_csv(reviews)
        load("reviews", reviews, source="bif-kvalitet")
        plan_audits(store, concepts, last, seed)
        (workdir / "maaltal.yaml").write_text(
            yaml.safe_dump(targets(last), allow_unicode=True, sort_keys=False), encoding="utf-8")
        load("targets", workdir / "maaltal.yaml", source="kk-maaltal")
    if tmp is not None:
        tmp.cleanup()
    from .danish import number

    return (f"Demokommunen er bygget: {number(loaded)} rækker for {d.years[0]}–{last} "
            f"på {time.perf_counter() - t0:.0f} sekunder.")


def plan_audits(store: Store, concepts: list[dict], year: int, seed: int) -> None:
    """Draw the samples of the year's last rounds (audits/), with a few answers given."""
    from . import audits

    for i, c in enumerate(concepts):
        rnd = audits.rounds_of(c["frequency"], year)[-1]
        s = audits.draw(store, c["id"], rnd, seed=seed + i, actor="kvalitetskoordinator")
        if c["id"] == "kontanthjaelp":  # a round in progress
            for x in s.cases[:3]:
                for k in s.concept.checks:
                    audits.save_answer(store, c["id"], rnd, x.case_id, k.id, "ok",
                                       "kvalitetskoordinator")


def _write_xlsx(df: pl.DataFrame, path: Path) -> None:
    """One sheet "Data" with a header row, as a case system's export (XlsxWriter: fast)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Data")
    date_fmt = wb.add_format({"num_format": "dd-mm-yyyy"})
    ws.write_row(0, 0, df.columns)
    for i, row in enumerate(df.iter_rows(), start=1):
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, date):
                ws.write_datetime(i, j, datetime.combine(v, datetime.min.time()), date_fmt)
            else:
                ws.write(i, j, v)
    wb.close()


# The demo's users, one per role; their passwords derive from the store's key
# (access.users.demo_password), so `serve` prints them at every start.
DEMO_USERS = [("admin", "admin", "kommune"), ("analytiker", "analytiker", "kommune"),
              ("leder-bif", "leder", "BIF"), ("registrator-bif", "registrator", "BIF"),
              ("kvalitet-sof", "kvalitet", "SOF"), ("laeser-jca", "laeser", "JCA")]


def add_demo_users(store: Store) -> None:
    """Create the demo users that are missing (``serve`` prints their passwords)."""
    from .access import users
    from .ingest import secret_for

    key = secret_for(store).key
    codes = {n.code for n in store.organisation_tree()}
    for name, role, scope in DEMO_USERS:
        if scope not in codes and f"0101-{scope}" in codes:  # the national demo's København
            scope = f"0101-{scope}"
        if users.get(store, name) is None:
            users.add(store, name, role, scope, users.demo_password(key, name), origin="demo")
