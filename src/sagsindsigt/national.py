"""National synthetic data: N Danish municipalities, each Copenhagen's shape scaled by its
population (issue 19; ``sagsindsigt demo --municipalities N``).

What a municipality is made of: the demo municipality's administrations (the fixed code list),
case types, units, rates and trends (:mod:`sagsindsigt.demo`), with every size multiplied by
its population relative to Copenhagen's (``data/kommuner.csv``, Danmarks Statistik FOLK1A)
and by ``scale``. Unlike the one-municipality demo, every case type has an event log of about
five events a case (modtaget, visiteret or fordelt, oplysninger indhentet, partshøring before a
refusal, afgjort, afgørelse sendt; jobsamtale for kontanthjælp and forsikrede ledige as in the
demo), which is what a national process benchmark needs.

How a municipality shows up (docs/decisions.md): the data contract has no municipality field,
so a municipality is its own source (``_source`` = ``kommune-0751``) for all of its records;
its unit codes, case ids and complaint ids start with its kommunekode (``0751-JCA``,
``0751-KH-2014-000001``), and its units are named after it ("Aarhus: Jobcenter Amager"), under
the administrations shared by all (the code list is fixed) and one root, "Danmark".

Everything is drawn per municipality and year from its own seeded generator
(``[seed, kommunekode, year]``), so a municipality's data do not depend on N. Three ways to
write the same rows:

* :func:`build_lake`: the fast path. Rows get the store's columns directly
  (:mod:`sagsindsigt.store.direct`) and are appended to a lake's Parquet folders, one
  municipality-year at a time; reference data (organisation, case types, rules, concepts,
  targets) go through the real importer into a temporary store first.
* :func:`build_store` with ``via_import=False``: the same rows loaded straight into a store's
  tables (for N in the tens: minutes instead of hours).
* :func:`build_store` with ``via_import=True``: every delivery written as a Parquet file and
  loaded through the importer (validated; slow, for small N). tests/test_national.py checks
  that it gives the same rows as the fast path.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from . import demo
from .calendar import Period
from .contract import KINDS
from .settings import Settings

DATA = Path(__file__).parent / "data" / "kommuner.csv"
COPENHAGEN = "0101"
ADMINS = ("BIF", "SOF", "TMF", "SUF", "BUF")  # administrations with case-level data
ROOT = ("DK", "Danmark (syntetiske kommuner)")
# sources of the reference data every municipality shares
SHARED = {"organisation": "faelles-organisation", "case_types": "faelles-sagstyper",
          "timeliness_rules": "faelles-rettidighed", "concepts": "faelles-kvalitet",
          "targets": "faelles-maaltal"}
EVENT_SLICE = 200_000  # cases whose events make one delivery (bounds the memory)
MESSAGE = "Syntetiske data skrevet direkte af 'sagsindsigt demo --municipalities'."


@dataclass(frozen=True)
class Municipality:
    code: str  # kommunekode, four digits: "0751"
    name: str
    population: int

    @property
    def source(self) -> str:
        return f"kommune-{self.code}"

    def unit(self, code: str) -> str:
        return f"{self.code}-{code}"

    def unit_name(self, name: str) -> str:
        own = name.replace("Københavns", self.name).replace("København", self.name)
        return f"{self.name}: {own}"


def all_municipalities() -> list[Municipality]:
    """The 98 municipalities, Copenhagen first, then by population (largest first)."""
    with DATA.open(encoding="utf-8") as f:
        rows = [Municipality(r["kommunekode"], r["kommune"], int(r["folketal"]))
                for r in csv.DictReader((line for line in f if not line.startswith("#")),
                                        delimiter=";")]
    return sorted(rows, key=lambda m: (m.code != COPENHAGEN, -m.population, m.code))


def municipalities(n: int) -> list[Municipality]:
    every = all_municipalities()
    if not 1 <= n <= len(every):
        raise ValueError(f"Der er {len(every)} kommuner; vælg 1 til {len(every)}.")
    return every[:n]


@dataclass
class Delivery:
    """What one file of a case system would hold: one kind, of one source, covering a period."""
    kind: str
    source: str
    covers: str  # a period: "2014" or "2014-H1"
    file: str
    rows: pl.DataFrame  # the contract's fields (citizen as a CPR-shaped id, not yet hashed)
    administration: str | None = None


@dataclass
class _Carry:
    """What a municipality's next year needs from the earlier ones: the decided cases a
    complaint can be about, per administration."""
    decided: dict[str, pl.DataFrame] = field(default_factory=dict)


class Generator:
    """The rows of N municipalities, a municipality-year at a time."""

    def __init__(self, munis: list[Municipality], years: int = 4, seed: int = 2014,
                 scale: float = 1.0):
        if not 1 <= years <= 10:
            raise ValueError("Demoen kan bygges for 1 til 10 år.")
        if scale <= 0:
            raise ValueError("Skalaen skal være større end 0.")
        self.munis, self.seed, self.scale = munis, seed, scale
        self.years = list(range(demo.FIRST_YEAR, demo.FIRST_YEAR + years))
        self.extract_day = date(self.years[-1] + 1, 1, 15)
        cph = next(m for m in all_municipalities() if m.code == COPENHAGEN)
        self.cph_population = cph.population
        self.case_types = list(demo.CASE_TYPES)
        self.concepts = [yaml.safe_load(p.read_text(encoding="utf-8"))
                         for p in sorted(demo.CONCEPTS_DIR.glob("*.yaml"))]

    def factor(self, m: Municipality) -> float:
        return m.population / self.cph_population * self.scale

    # -- reference data ---------------------------------------------------------------------
    def organisation(self) -> pl.DataFrame:
        rows = [(ROOT[0], ROOT[1], None, "kommune")]
        rows += [(c, n, ROOT[0], lvl) for c, n, p, lvl in demo.ORGANISATION
                 if lvl == "forvaltning"]
        for m in self.munis:
            rows += [(m.unit(c), m.unit_name(n), p, lvl) for c, n, p, lvl in demo.ORGANISATION
                     if lvl == "center"]
        return pl.DataFrame(rows, schema=["code", "name", "parent", "level"], orient="row")

    def case_type_rows(self) -> pl.DataFrame:
        return pl.DataFrame([{"code": c.code, "name": c.name, "administration": c.administration,
                              "benefit_area": c.benefit_area, "legal_basis": c.legal_basis,
                              "deadline": c.deadline} for c in self.case_types])

    # -- a municipality-year ------------------------------------------------------------------
    def deliveries(self) -> Iterator[Delivery]:
        """Every delivery of every municipality, municipality by municipality, year by year."""
        for m in self.munis:
            carry = _Carry()
            for year in self.years:
                yield from self.year(m, year, carry)

    def year(self, m: Municipality, year: int, carry: _Carry) -> Iterator[Delivery]:
        rng = np.random.default_rng([self.seed, int(m.code), year])
        last = self.years[-1]
        partial = year == last and len(self.years) > 1  # SOF delivers the first half only
        f = self.factor(m)
        cases = {}
        for admin in ADMINS:
            months = 6 if (admin == "SOF" and partial) else 12
            cutoff = date(year, 7, 1) if months == 6 else self.extract_day
            frames = [self._cases(rng, m, ct, year, f, cutoff) for ct in self.case_types
                      if ct.administration == admin and not ct.volumes_only]
            df = pl.concat(frames)
            if months < 12:
                df = df.filter(pl.col("received") < date(year, months + 1, 1))
            cases[admin] = df.sort("received", "case_id")
            covers = f"{year}-H1" if months == 6 else str(year)
            yield Delivery("cases", m.source, covers,
                           f"{m.code}-{admin.lower()}-sager-{year}.parquet", cases[admin], admin)
            if admin == "TMF":
                yield Delivery("volumes", m.source, str(year),
                               f"{m.code}-tmf-sagsmaengder-{year}.parquet",
                               self._volumes(rng, m, year, f), admin)
        every = pl.concat(list(cases.values()))
        slices = max(1, -(-every.height // EVENT_SLICE))  # a big year's log in parts
        for i in range(slices):
            part = every.slice(i * EVENT_SLICE, EVENT_SLICE)
            name = f"{m.code}-haendelser-{year}" + (f"-{i + 1}" if slices > 1 else "")
            yield Delivery("events", m.source, str(year), f"{name}.parquet",
                           self._events(rng, part, year, partial))
        for admin in demo.COMPLAINTS:
            months = 6 if (admin == "SOF" and partial) else 12
            yield Delivery("complaints", m.source, f"{year}-H1" if months == 6 else str(year),
                           f"{m.code}-{admin.lower()}-klager-{year}.parquet",
                           self._complaints(rng, m, admin, year, f, months, cases.get(admin),
                                            carry), admin)
        reviews = self._reviews(m, year, cases["BIF"])
        if reviews.height:
            yield Delivery("reviews", m.source, str(year),
                           f"{m.code}-gennemgange-{year}.parquet", reviews, "BIF")

    # -- cases ----------------------------------------------------------------------------------
    @staticmethod
    def _days(rng, year: int, n: int, months: int = 12) -> np.ndarray:
        """n receipt days in the year's first ``months`` months, weekdays far likelier."""
        start = np.datetime64(f"{year}-01-01")
        end = np.datetime64(date(year + (months == 12), 1 if months == 12 else months + 1, 1))
        days = start + np.arange((end - start).astype(int))
        weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7
        w = np.where(weekday < 5, 1.0, 0.08)
        return np.sort(rng.choice(days, size=n, p=w / w.sum()))

    @staticmethod
    def _pick(rng, options: dict[str, float], n: int) -> np.ndarray:
        keys, w = list(options), np.array(list(options.values()), dtype=float)
        return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=w / w.sum())]

    def _cases(self, rng, m: Municipality, ct: demo.CaseType, year: int, f: float,
               cutoff: date) -> pl.DataFrame:
        from scipy.stats import norm

        k = year - 2014
        n = int(round(ct.per_year * (1 + demo.VOLUME_TREND) ** k * f))
        received = self._days(rng, year, n)
        keys, w = list(ct.units), np.array(list(ct.units.values()), dtype=float)
        which = rng.choice(len(keys), size=n, p=w / w.sum())
        units = np.array(keys, dtype=object)[which]
        skill = np.array([demo.UNIT_SKILL.get(u, 0.0) for u in keys])[which]
        compliance = np.clip(ct.compliance + demo.COMPLIANCE_GAIN * k + skill, 0.2, 0.98)
        sigma = 0.55
        mu = np.log(ct.deadline_days) - norm.ppf(compliance) * sigma
        days = np.maximum(0, np.round(np.exp(mu + sigma * rng.standard_normal(n))))
        decided = received + days.astype("timedelta64[D]")
        open_ = decided > np.datetime64(cutoff)
        outcome = self._pick(rng, {"bevilget": 1 - ct.refusal - 0.08, "delvist_bevilget": 0.03,
                                   "afslag": ct.refusal, "afvist": 0.03, "henlagt": 0.02}, n)
        complete = rng.random(n) < (0.6 if ct.administration == "SOF" else 0.85)
        # CPR-shaped ids (fictitious) of the municipality's citizens; pseudonymised on writing
        pid = int(m.code) * 1_000_003 + rng.integers(0, max(100, m.population), n)
        cpr = ((1 + pid % 28) * 100_000_000 + (1 + (pid // 28) % 12) * 1_000_000
               + ((pid // 336) % 100) * 10_000 + 1000 + (pid * 7919) % 9000)
        return pl.DataFrame({
            "case_id": pl.int_range(1, n + 1, eager=True).cast(pl.Utf8).str.zfill(6),
            "administration": pl.Series([ct.administration] * n, dtype=pl.Utf8),
            "unit": pl.Series(units.astype(str), dtype=pl.Utf8),
            "case_type": pl.Series([ct.code] * n, dtype=pl.Utf8),
            "received": pl.Series(received.astype("datetime64[D]")).cast(pl.Date),
            "decided": pl.Series(decided.astype("datetime64[D]")).cast(pl.Date),
            "outcome": pl.Series(outcome.astype(str), dtype=pl.Utf8),
            "complete_on_receipt": pl.Series(complete, dtype=pl.Boolean),
            "citizen": pl.Series(cpr, dtype=pl.Int64).cast(pl.Utf8).str.zfill(10),
            "_open": pl.Series(open_, dtype=pl.Boolean),
        }).with_columns(
            pl.format("{}-{}-{}-{}", pl.lit(m.code), pl.lit(ct.code), pl.lit(str(year)),
                      "case_id").alias("case_id"),
            pl.format("{}-{}", pl.lit(m.code), "unit").alias("unit"),
            *[pl.when(pl.col("_open")).then(None).otherwise(pl.col(c)).alias(c)
              for c in ("decided", "outcome")],
        ).drop("_open")

    def _volumes(self, rng, m: Municipality, year: int, f: float) -> pl.DataFrame:
        rows = []
        for ct in self.case_types:
            if ct.administration != "TMF" or not ct.volumes_only:
                continue
            total = ct.per_year * (1 + demo.VOLUME_TREND) ** (year - 2014) * f
            season = 1 + 0.15 * np.cos((np.arange(12) - 1) / 12 * 2 * np.pi)
            counts = rng.multinomial(int(round(total)), season / season.sum())
            for i in range(12):
                p = Period.month(year, i + 1)
                rows.append({"administration": "TMF", "unit": m.unit(next(iter(ct.units))),
                             "case_type": ct.code, "period_start": p.start,
                             "period_end": p.end, "cases_received": int(counts[i])})
        return pl.DataFrame(rows)

    # -- events ---------------------------------------------------------------------------------
    def _events(self, rng, cases: pl.DataFrame, year: int, partial: bool) -> pl.DataFrame:
        """About five events a case, in the demo's vocabulary, at office hours; nothing after
        the day of the extract (SOF's last year: after its half-year)."""
        n = cases.height
        minute = np.timedelta64(1, "m")
        day = np.timedelta64(1, "D")
        rec = cases["received"].to_numpy().astype("datetime64[D]")
        dec = cases["decided"].to_numpy().astype("datetime64[D]")
        decided = ~np.isnat(dec)
        admin = cases["administration"].to_numpy()
        ctype = cases["case_type"].to_numpy()
        outcome = cases["outcome"].fill_null("").to_numpy()
        cut = np.where((admin == "SOF") & partial, np.datetime64(date(year, 7, 1)),
                       np.datetime64(self.extract_day)).astype("datetime64[m]")
        span = np.where(decided, (dec - rec).astype("timedelta64[D]").astype(np.int64), 10**6)

        def at(d: np.ndarray, lo: int = 480, hi: int = 960) -> np.ndarray:
            return d.astype("datetime64[m]") + rng.integers(lo, hi, n) * minute

        got = at(rec)
        first = at(rec + np.minimum(rng.integers(0, 3, n), span) * day)
        first = np.maximum(first, got + 5 * minute)
        # visitation and the first interview after it (the timeliness rule; demo: about 85 %
        # within 4 weeks) for kontanthjælp and forsikrede ledige; the others are assigned
        jobs = np.isin(ctype, ["KH", "FL"])
        out = [("modtaget", got, np.ones(n, bool)),
               ("visiteret", first, jobs), ("fordelt", first, ~jobs)]
        late = cases["unit"].str.slice(5).replace_strict(
            demo.UNIT_SKILL, default=0.0, return_dtype=pl.Float64).to_numpy()
        wait = rng.gamma(4.0, 4.4 * (1 - 2 * late), n)
        interview = first + np.round(wait * 1440).astype(np.int64) * minute
        out.append(("jobsamtale", interview, jobs & (rng.random(n) > 0.04)))
        # information gathered part of the way to the decision (open cases: a few weeks in)
        frac = rng.uniform(0.2, 0.7, n)
        gap = np.where(decided, span * frac, rng.gamma(2.0, 7.0, n))
        info = np.maximum(at(rec + np.floor(gap).astype(np.int64) * day), first + 30 * minute)
        out.append(("oplysninger_indhentet", info, rng.random(n) < 0.95))
        # hearing of the parties before a refusal
        hear = np.maximum(at(rec + np.floor(span * np.maximum(frac, 0.75)).astype(np.int64)
                             * day), info + 30 * minute)
        refusal = np.isin(outcome, ["afslag", "delvist_bevilget"])
        out.append(("partshoering", hear, decided & refusal))
        done = np.maximum(at(dec, 540, 900), hear + 30 * minute)
        done = np.where(decided & refusal, done, np.maximum(at(dec, 540, 900),
                                                            info + 30 * minute))
        out.append(("afgjort", done, decided))
        sent = done + (rng.integers(0, 2, n) * 1440 + rng.integers(30, 240, n)) * minute
        out.append(("afgoerelse_sendt", sent, decided))
        ids, units = cases["case_id"], cases["unit"]
        frames = []
        for activity, when, keep in out:
            keep = keep & (when <= cut)
            frames.append(pl.DataFrame({
                "case_id": ids.filter(pl.Series(keep)),
                "activity": pl.Series([activity] * int(keep.sum()), dtype=pl.Utf8),
                "at": pl.Series(when[keep].astype("datetime64[us]")),
                "unit": units.filter(pl.Series(keep))}))
        return pl.concat(frames).sort("at", "case_id", "activity")

    # -- complaints -----------------------------------------------------------------------------
    def _complaints(self, rng, m: Municipality, admin: str, year: int, f: float, months: int,
                    cases: pl.DataFrame | None, carry: _Carry) -> pl.DataFrame:
        n = int(round(demo.COMPLAINTS[admin] * (1 + demo.COMPLAINT_TREND[admin])
                      ** (year - 2014) * f * months / 12))
        rec = self._days(rng, year, n, months)
        units = [m.unit(u) for u, _, p, _ in demo.ORGANISATION if p == admin]
        unit = np.array(units, dtype=object)[rng.integers(0, len(units), n)]
        case_id = np.full(n, None, dtype=object)
        case_type = np.full(n, None, dtype=object)
        # the decided cases a complaint can be about: this year's and the end of last year's
        pool = carry.decided.get(admin)
        if cases is not None:
            now = cases.filter(pl.col("decided").is_not_null()).select(
                "case_id", "case_type", "unit", "decided")
            pool = (now if pool is None else pl.concat([pool, now])).sort("decided", "case_id")
            carry.decided[admin] = pool.filter(
                pl.col("decided") >= date(year + 1, 1, 1) - timedelta(days=70))
        if pool is not None and pool.height:
            d = pool["decided"].to_numpy().astype("datetime64[D]")
            lo = np.searchsorted(d, rec - np.timedelta64(60, "D"))
            hi = np.searchsorted(d, rec - np.timedelta64(3, "D"))
            linked = (hi > lo) & (rng.random(n) < 0.75)
            idx = lo + np.floor(rng.random(n) * (hi - lo)).astype(int)
            idx = np.where(linked, np.minimum(idx, len(d) - 1), 0)
            case_id = np.where(linked, pool["case_id"].to_numpy()[idx], None)
            case_type = np.where(linked, pool["case_type"].to_numpy()[idx], None)
            unit = np.where(linked, pool["unit"].to_numpy()[idx], unit)
        area = {ct.code: ct.benefit_area for ct in self.case_types}
        benefit = np.array([area.get(x) for x in case_type], dtype=object)
        kind = self._pick(rng, {"formalitet": 0.36, "realitet": 0.52, "begge": 0.12}, n)
        w = np.array(demo.POINT_WEIGHTS, dtype=float)
        p1 = rng.choice(len(demo.POINTS), n, p=w / w.sum())
        p2 = np.where(rng.random(n) < 0.3, rng.choice(len(demo.POINTS), n, p=w / w.sum()), p1)
        names = np.array(demo.POINTS, dtype=object)
        a, b = names[np.minimum(p1, p2)], names[np.maximum(p1, p2)]
        lo_, hi_ = np.where(a < b, a, b), np.where(a < b, b, a)
        both = np.where(lo_ == hi_, lo_, lo_ + "|" + hi_)
        points = np.where((kind != "realitet") & (rng.random(n) < 0.9), both, None)
        sb_share = {2012: 0.0, 2013: 0.05, 2014: 0.35, 2015: 0.5}.get(year, 0.5)
        recorded = admin in ("BIF", "SOF") and year >= 2013
        sb = (rng.random(n) < sb_share) if recorded else np.zeros(n, bool)
        resolved = sb & (rng.random(n) < 0.45)
        response = np.round(np.exp(np.log(np.where(sb, 9.0, 17.0))
                                   + 0.6 * rng.standard_normal(n))).astype(int) + 1
        closed = rec + response.astype("timedelta64[D]")
        pending = closed >= np.datetime64(self.extract_day if months == 12
                                          else date(year, months + 1, 1))
        outcome = self._pick(rng, {"medhold": 0.14, "delvis_medhold": 0.1, "ikke_medhold": 0.56,
                                   "afvist": 0.12, "trukket": 0.08}, n)
        outcome = np.where(resolved, self._pick(rng, {"medhold": 0.5, "delvis_medhold": 0.3,
                                                      "trukket": 0.2}, n), outcome)
        outcome = np.where(pending, "verserer", outcome)
        appealed = (kind != "formalitet") & (outcome == "ikke_medhold") & (rng.random(n) < 0.35)
        appeal = np.where(appealed, self._pick(
            rng, {"stadfaestet": 0.66, "aendret": 0.13, "ophaevet": 0.05, "hjemvist": 0.12,
                  "afvist": 0.02, "verserer": 0.02}, n), None)
        board = closed + (90 + rng.integers(0, 180, n)).astype("timedelta64[D]")
        board_pending = board >= np.datetime64(self.extract_day)
        appeal = np.where(appealed & board_pending, "verserer", appeal)
        appeal_decided = np.where(appealed & ~board_pending & (appeal != "verserer"), board,
                                  np.datetime64("NaT")).astype("datetime64[D]")
        summary = self._pick(rng, dict.fromkeys(demo.SUMMARIES, 1.0), n)
        channel = self._pick(rng, {"digital_post": 0.34, "email": 0.3, "brev": 0.1,
                                   "telefon": 0.14, "personligt": 0.05, "selvbetjening": 0.07}, n)
        via = self._pick(rng, {"forvaltning": 0.85, "borgerraadgiver": 0.13,
                               "ankestyrelsen": 0.02}, n)

        def s(v, dtype=pl.Utf8):
            return pl.Series(v.tolist() if isinstance(v, np.ndarray) else v, dtype=dtype)

        return pl.DataFrame({
            "complaint_id": pl.int_range(1, n + 1, eager=True).cast(pl.Utf8).str.zfill(5),
            "administration": s([admin] * n), "unit": s(unit), "benefit_area": s(benefit),
            "case_type": s(case_type), "case_id": s(case_id),
            "received": pl.Series(rec.astype("datetime64[D]")).cast(pl.Date),
            "closed": pl.Series(np.where(pending, np.datetime64("NaT"), closed)
                                .astype("datetime64[D]")).cast(pl.Date),
            "kind": s(kind), "points": s(points), "channel": s(channel), "via": s(via),
            "strengthened_contact": s(np.where(recorded, sb, None), pl.Boolean),
            "resolved_at_contact": s(np.where(sb, resolved, None), pl.Boolean),
            "outcome": s(outcome), "appeal_outcome": s(appeal), "summary": s(summary),
            "appeal_decided": pl.Series(appeal_decided).cast(pl.Date),
        }).with_columns(pl.format("{}-K-{}-{}-{}", pl.lit(m.code), pl.lit(admin),
                                  pl.lit(str(year)), "complaint_id").alias("complaint_id"))

    # -- audits ---------------------------------------------------------------------------------
    def _reviews(self, m: Municipality, year: int, bif: pl.DataFrame) -> pl.DataFrame:
        """The internal reviews of the year's rounds (the last rounds of the last year are not
        reviewed yet), a concept's sample size each round as the concept says, and the
        auditor's re-review of part of the Q2/H1 rounds in 2013 and 2014."""
        rng = np.random.default_rng([self.seed, int(m.code), year, 2])
        base_rng = np.random.default_rng([self.seed, int(m.code)])
        base = dict(zip([c["id"] for c in self.concepts],
                        base_rng.uniform(0.025, 0.07, len(self.concepts)), strict=True))
        area_type = {ct.benefit_area: ct.code for ct in self.case_types
                     if ct.administration == "BIF"}
        last = self.years[-1]
        skip = {f"{last}-Q4", f"{last}-H2", str(last)}
        out = []
        for c in self.concepts:
            pool = bif.filter(pl.col("case_type") == area_type[c["benefit_area"]])
            rounds = {"kvartal": [f"{year}-Q{q}" for q in range(1, 5)],
                      "halvaar": [f"{year}-H1", f"{year}-H2"], "aar": [str(year)]}
            checks = pl.DataFrame({"check": [k["id"] for k in c["checks"]],
                                   "_f": [1.6 if k["category"] == "formalia" else 1.0
                                          for k in c["checks"]]})
            for rnd in rounds[c["frequency"]]:
                if rnd in skip:
                    continue
                p = Period.parse(rnd)
                cand = pool.filter(pl.col("received").is_between(p.start, p.end))
                size = min(c["sample_size"], cand.height)
                if not size:
                    continue
                pick = cand[np.sort(rng.choice(cand.height, size, replace=False))] \
                    .select("case_id", "unit")
                rows = pick.join(checks, how="cross")
                err = base[c["id"]] * (1 - 0.17 * (year - demo.FIRST_YEAR))
                skill = rows["unit"].str.slice(5).replace_strict(
                    demo.UNIT_SKILL, default=0.0, return_dtype=pl.Float64).to_numpy()
                pu = err * (1 + 3 * np.maximum(0.0, -skill) * 2) * rows["_f"].to_numpy()
                r = rng.random(rows.height)
                res = np.where(r < 0.06, "ikke_relevant", np.where(r < 0.06 + pu, "fejl", "ok"))
                own = rows.select("case_id", "unit", "check").with_columns(
                    result=pl.Series(res.astype(str)), round=pl.lit(rnd),
                    concept=pl.lit(c["id"]),
                    reviewer=pl.lit("kvalitetskoordinator"), reviewer_role=pl.lit("intern"))
                out.append(own)
                if rnd.endswith(("Q2", "H1")) and year in (2013, 2014):
                    again = pick.filter(pl.Series(rng.random(pick.height) < 0.5))["case_id"]
                    ext = own.filter(pl.col("case_id").is_in(again.implode()))
                    flip = rng.random(ext.height) < 0.06
                    ext = ext.with_columns(
                        result=pl.when(pl.Series(flip)).then(
                            pl.when(pl.col("result") == "fejl").then(pl.lit("ok"))
                            .otherwise(pl.lit("fejl"))).otherwise(pl.col("result")),
                        reviewer=pl.lit("Deloitte"), reviewer_role=pl.lit("ekstern"))
                    out.append(ext)
        cols = ["round", "concept", "case_id", "unit", "reviewer", "reviewer_role", "check",
                "result"]
        if not out:
            return pl.DataFrame(schema=dict.fromkeys(cols, pl.Utf8))
        return pl.concat([o.select(cols) for o in out])


# -- writing ------------------------------------------------------------------------------------
def _reference_files(gen: Generator, workdir: Path) -> list[tuple[str, Path, str]]:
    """(kind, file, source) of the shared reference data, as files for the importer."""
    workdir.mkdir(parents=True, exist_ok=True)
    gen.organisation().write_csv(workdir / "organisation.csv", separator=";")
    gen.case_type_rows().write_csv(workdir / "sagstyper.csv", separator=";")
    (workdir / "regler.yaml").write_text(
        yaml.safe_dump(demo.TIMELINESS_RULES, allow_unicode=True), encoding="utf-8")
    (workdir / "maaltal.yaml").write_text(
        yaml.safe_dump(demo.targets(gen.years[-1]), allow_unicode=True, sort_keys=False),
        encoding="utf-8")
    return [("organisation", workdir / "organisation.csv", SHARED["organisation"]),
            ("case_types", workdir / "sagstyper.csv", SHARED["case_types"]),
            ("timeliness_rules", workdir / "regler.yaml", SHARED["timeliness_rules"]),
            ("concepts", demo.CONCEPTS_DIR, SHARED["concepts"]),
            ("targets", workdir / "maaltal.yaml", SHARED["targets"])]


def _import_reference(store, gen: Generator, workdir: Path) -> None:
    from .ingest import import_file

    for kind, path, source in _reference_files(gen, workdir):
        r = import_file(store, kind, path, source=source)
        if r.status not in ("indlæst", "allerede indlæst"):
            raise RuntimeError(f"{path.name} blev ikke indlæst: {r.message}")


class _Direct:
    """Rows with the store's columns, the way the importer would have written them (key,
    derived columns, pseudonym, content hash), for a lake or a store."""

    def __init__(self, gen: Generator, pseudo, next_batch: Callable[[], int],
                 threads: int = 2):
        from .store.direct import Versioner

        s = Settings()
        self.closed, self.roll = frozenset(s.closed_days), s.deadline_roll_forward
        self.gen, self.pseudo, self.next_batch = gen, pseudo, next_batch
        self.versioner = Versioner(threads)
        self.types = gen.case_type_rows().select("code", "administration", "benefit_area",
                                                 "deadline")
        self.due_memo: dict = {}
        self.memo: dict[str, str] = {}  # citizen pseudonyms of the current municipality
        self.memo_source: str | None = None
        self.rule = demo.TIMELINESS_RULES[0]
        self.rule_due: dict[date, date] = {}

    def tables(self, d: Delivery) -> tuple[dict, dict[str, object]]:
        """The delivery's batch row and its rows per lake table."""
        from .ingest import _stage
        from .store import derive

        batch = self.next_batch()
        kind = KINDS[d.kind]
        df = d.rows.with_columns(pl.lit(None, dtype=pl.Utf8).alias(f) for f in kind.names
                                 if f not in d.rows.columns)
        if "citizen" in df.columns:
            if self.memo_source != d.source:
                self.memo, self.memo_source = {}, d.source
            df = df.with_columns(self.pseudo.series(df["citizen"], self.memo))
        staged = _stage(kind, df, d.source)
        if d.kind == "cases":
            staged = derive.with_case_derived(staged, self.types, self.closed, self.roll,
                                              self.due_memo)
        out = {d.kind: self.versioner.rows(d.kind, staged, batch)}
        if d.kind == "events":
            out["timeliness_items"] = self.versioner.rows(
                "timeliness_items", self._timeliness(d, staged))
        p = Period.parse(d.covers)
        row = {"id": batch, "kind": d.kind, "source": d.source, "file": d.file,
               "sha256": None, "covers_start": p.start, "covers_end": p.end,
               "covers_declared": True, "rows_read": d.rows.height,
               "rows_loaded": d.rows.height, "rows_unchanged": 0, "rows_rejected": 0,
               "status": "indlæst", "strict": False, "loaded_at": datetime.now(),
               "message": MESSAGE}
        return row, out

    def _timeliness(self, d: Delivery, events: pl.DataFrame) -> pl.DataFrame:
        """The timeliness rule's items of these events (derive.rule_items, for the cases of
        one municipality-year: their events are all in this delivery)."""
        from .store import derive

        return derive.rule_items(events, self._cases_of_year, self.rule, self.rule_due,
                                 self.closed, self.roll)

    _cases_of_year: pl.DataFrame
    cases_key: tuple | None = None

    def remember_cases(self, rows) -> None:
        self._cases_of_year = rows


def _direct_stream(gen: Generator, direct: _Direct,
                   echo: Callable[[str], None]) -> Iterator[tuple[dict, dict]]:
    """Batch rows and table rows of every delivery; the cases of a municipality-year are
    kept until its events are written (the timeliness items need them)."""
    t0 = time.perf_counter()
    cases: list = []
    current = None
    for d in gen.deliveries():
        key = (d.source, d.covers[:4])
        if key != current:
            current, cases = key, []
        if d.kind == "events" and direct.cases_key != key:
            direct.cases_key = key
            direct.remember_cases(pl.from_arrow(_concat(cases)) if cases else pl.DataFrame(
                schema={c: pl.Utf8 for c in ("_source", "case_id", "administration", "unit",
                                             "case_type", "benefit_area")}))
        row, out = direct.tables(d)
        if d.kind == "cases":
            cases.append(out["cases"].select(["_source", "case_id", "administration", "unit",
                                              "case_type", "benefit_area"]))
        yield row, out
        if d.kind == "complaints" and d.administration == list(demo.COMPLAINTS)[-1]:
            echo(f"  {d.source} {d.covers[:4]} ({time.perf_counter() - t0:.0f} s)")


def _concat(tables):
    import pyarrow as pa

    return pa.concat_tables(tables)


def build_lake(root: str | Path, n: int, years: int = 4, seed: int = 2014, scale: float = 1.0,
               echo: Callable[[str], None] = print, workers: int = 1) -> dict:
    """Write N municipalities as a lake in ``root`` (the fast path); returns the manifest.
    ``workers`` > 1: the municipalities shared among that many processes (each writes files
    of its own), the largest first to the least loaded."""
    from .access import SYSTEM, acting_as
    from .store import Store
    from .store.lake import LakeAppender

    munis = municipalities(n)
    gen = Generator(munis, years, seed, scale)
    appender = LakeAppender(root)
    with tempfile.TemporaryDirectory(prefix="sagsindsigt-national-") as tmp, acting_as(SYSTEM):
        from .ingest import secret_for
        from .privacy import create_secret

        url = str(Path(tmp) / "reference.duckdb")
        ref = Store(url)
        ref.init()
        create_secret(Settings().secret_path(url))
        try:
            _import_reference(ref, gen, Path(tmp) / "files")
            for table in ("organisation", "case_types", "timeliness_rules", "concepts",
                          "concept_checks", "targets", "batches"):
                for b in ref.record_batches(table):
                    appender.append(table, b)
            key = secret_for(ref).key
            first = ref.next_batch_id()
            workers = max(1, min(workers, n))
            shares: list[list[str]] = [[] for _ in range(workers)]
            load = [0] * workers
            for m in sorted(munis, key=lambda m: -m.population):
                i = load.index(min(load))
                shares[i].append(m.code)
                load[i] += m.population
            jobs = [(str(root), str(appender.tmp), f"w{i}" if workers > 1 else "", share,
                     years, seed, scale, key, first + i, workers)
                    for i, share in enumerate(shares)]
            if workers == 1:
                rows = [_lake_worker(*jobs[0], echo=echo, appender=appender)]
            else:
                rows = _in_processes(jobs, echo)
        except BaseException:
            appender.abort()
            raise
        finally:
            ref.close()
    return appender.finish(workers=[r for r in rows if r is not appender.rows],
                           source="sagsindsigt demo --municipalities", municipalities=n,
                           years=years, seed=seed, scale=scale)


def _in_processes(jobs: list[tuple], echo: Callable[[str], None]) -> list[dict[str, int]]:
    """Run the workers in processes of their own (spawned: polars and DuckDB keep threads),
    one thread of polars and DuckDB each."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    old = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")
                                 ) as pool:
            futures = [pool.submit(_lake_worker, *job) for job in jobs]
            return [f.result() for f in futures]
    finally:
        if old is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = old


def _lake_worker(root: str, tmp: str, name: str, codes: list[str], years: int, seed: int,
                 scale: float, key: bytes, first_id: int, step: int,
                 echo: Callable[[str], None] | None = None, appender=None) -> dict[str, int]:
    """One worker of :func:`build_lake`: its municipalities' rows appended to the lake's
    temporary folder; batch ids ``first_id``, ``first_id + step`` ... (unique among the
    workers). Returns its rows per table."""
    import itertools

    from .privacy import Pseudonymiser
    from .store.lake import LakeAppender

    by_code = {m.code: m for m in all_municipalities()}
    gen = Generator([by_code[c] for c in codes], years, seed, scale)
    if appender is None:
        appender = LakeAppender(root, Path(tmp), f"part-{name}-")
    ids = itertools.count(first_id, step)
    direct = _Direct(gen, Pseudonymiser(key), lambda: next(ids),
                     threads=1 if name else 2)
    say = echo or (lambda text: print(text, flush=True))
    for row, out in _direct_stream(gen, direct, say):
        for table, rows in out.items():
            appender.append(table, rows)
        appender.append("batches", _batch_table([row]))
    direct.versioner.close()
    if appender.prefix == "part-":  # the caller's own appender: it closes in finish()
        return appender.rows
    return appender.close()


def _batch_table(rows: list[dict]):
    import pyarrow as pa

    from .store.lake import arrow_schema

    return pa.Table.from_pylist(rows, schema=arrow_schema("batches"))


def build_store(store, n: int, years: int = 4, seed: int = 2014, scale: float = 1.0,
                via_import: bool = False, echo: Callable[[str], None] = print,
                workdir: Path | None = None) -> str:
    """N municipalities into a store: straight into its tables, or through the importer
    (``via_import``). Returns a Danish summary."""
    from .danish import number
    from .ingest import secret_for

    t0 = time.perf_counter()
    gen = Generator(municipalities(n), years, seed, scale)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="sagsindsigt-national-")
        workdir = Path(tmp.name)
    loaded = 0
    try:
        with store.bulk():
            _import_reference(store, gen, workdir)
            if via_import:
                loaded = _via_import(store, gen, workdir, echo)
            else:
                from .store.direct import load

                direct = _Direct(gen, secret_for(store), store.next_batch_id)
                for row, out in _direct_stream(gen, direct, echo):
                    with store.transaction():
                        for table, rows in out.items():
                            load(store, table, rows)
                        store.record_batch(row, None)
                    loaded += row["rows_loaded"]
                from .store.derive import ensure_process

                ensure_process(store)  # the rows above were written without an import
            demo.plan_audits(store, gen.concepts, gen.years[-1], seed)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return (f"{number(n)} kommuner er bygget: {number(loaded)} rækker for "
            f"{gen.years[0]}–{gen.years[-1]} på {time.perf_counter() - t0:.0f} sekunder.")


def _via_import(store, gen: Generator, workdir: Path, echo: Callable[[str], None]) -> int:
    from .ingest import import_file

    t0 = time.perf_counter()
    loaded = 0
    for d in gen.deliveries():
        path = workdir / d.file
        d.rows.write_parquet(path)
        r = import_file(store, d.kind, path, source=d.source, covers=d.covers)
        if r.status not in ("indlæst", "allerede indlæst"):
            raise RuntimeError(f"{d.file} blev ikke indlæst: {r.message}")
        loaded += r.rows_loaded
        path.unlink()
        if d.kind == "events":
            echo(f"  {d.source} {d.covers[:4]} indlæst ({time.perf_counter() - t0:.0f} s)")
    return loaded
