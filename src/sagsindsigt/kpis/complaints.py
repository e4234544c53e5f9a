"""Complaint KPIs (kpis.md, "Complaints")."""

from __future__ import annotations

from dataclasses import dataclass

from .. import lazy
from ..calendar import Deadline
from ..stats import mann_whitney_p
from .base import KPI, PCT, Context, Row, keyed, register
from .measures import (
    NO_DATA,
    CasesReceived,
    Count,
    CountKPI,
    QuantileKPI,
    RatioKPI,
    Snapshot,
    SnapshotKPI,
    days_between,
)

pl = lazy.module("polars")

UPHELD = ["medhold", "delvis_medhold"]
CHANGED = ["aendret", "ophaevet", "hjemvist"]

register(CountKPI(
    "complaints_received", "Modtagne klager", description="Klager modtaget i perioden.",
    theme="complaints", table="complaints", count=Count("complaints", "received")))
register(RatioKPI(
    "complaint_rate", "Klager i forhold til sagsmængde", description="Modtagne klager i "
    "procent af modtagne sager, samme afgrænsning og periode.", better="lower", theme="complaints",
    table="complaints", numerator=Count("complaints", "received"), denominator=CasesReceived(),
    missing_denominator_note="ingen sagsmængde for perioden",
    empty_note="ingen sager modtaget i perioden"))
register(RatioKPI(
    "procedural_complaint_rate", "Formalitetsklager i forhold til sagsmængde",
    description="Formalitetsklager (også klager, der er både formalitets- og realitetsklager) "
    "i procent af modtagne sager.", better="lower", theme="complaints", table="complaints",
    numerator=Count("complaints", "received",
                    where=lambda t: t.kind.isin(["formalitet", "begge"])),
    denominator=CasesReceived(), missing_denominator_note="ingen sagsmængde for perioden",
    empty_note="ingen sager modtaget i perioden"))
register(RatioKPI(
    "upheld_rate", "Medholdsprocent", description="Medhold og delvis medhold blandt klager "
    "afsluttet i perioden med medhold, delvis medhold eller ikke medhold.",
    better="lower", theme="complaints",
    table="complaints",
    numerator=Count("complaints", "closed", where=lambda t: t.outcome.isin(UPHELD)),
    denominator=Count("complaints", "closed",
                      where=lambda t: t.outcome.isin([*UPHELD, "ikke_medhold"])),
    empty_note="ingen afgjorte klager i perioden"))
register(RatioKPI(
    "appeal_change_rate", "Omgørelsesprocent", description="Ankestyrelsens ændrede, ophævede "
    "og hjemviste afgørelser blandt stadfæstede, ændrede, ophævede og hjemviste, truffet i "
    "perioden (efter Ankestyrelsens afgørelsesdato, som Ankestyrelsen selv tæller; afviste og "
    "verserende tælles ikke med).",
    better="lower", theme="complaints",
    table="complaints",
    numerator=Count("complaints", "appeal_decided",
                    where=lambda t: t.appeal_outcome.isin(CHANGED)),
    denominator=Count("complaints", "appeal_decided",
                      where=lambda t: t.appeal_outcome.isin(["stadfaestet", *CHANGED])),
    empty_note="ingen afgørelser fra Ankestyrelsen i perioden"))
register(SnapshotKPI(
    "appeals_pending", "Verserende sager i Ankestyrelsen", description="Klager, der ved "
    "periodens slutning var påklaget til Ankestyrelsen uden afgørelse (verserende), vist ved "
    "siden af omgørelsesprocenten.", theme="complaints", table="complaints",
    count=Snapshot("complaints", lambda t, end: (t.received <= end) & (
        (t.appeal_outcome == "verserer") | (t.appeal_decided > end)))))
register(QuantileKPI(
    "complaint_response_days_median", "Svartid på klager, median", description="Kalenderdage "
    "fra modtagelse til svar for klager besvaret i perioden (median).",
    better="lower", theme="complaints",
    table="complaints", date="closed", expr=lambda t: days_between(t.received, t.closed)))
register(RatioKPI(
    "sb_share", "Andel med Styrket borgerkontakt", description="Klager modtaget i perioden, "
    "der er håndteret med Styrket borgerkontakt, blandt dem hvor det er oplyst.",
    better="higher", theme="complaints", table="complaints",
    numerator=Count("complaints", "received", where=lambda t: t.strengthened_contact),
    denominator=Count("complaints", "received",
                      where=lambda t: t.strengthened_contact.notnull()),
    empty_note="Styrket borgerkontakt er ikke oplyst for klager i perioden"))
register(RatioKPI(
    "sb_resolved_share", "Afsluttet ved Styrket borgerkontakt", description="Andel af klager "
    "håndteret med Styrket borgerkontakt, hvor klageforløbet stoppede ved kontakten.",
    better="higher", theme="complaints", table="complaints",
    numerator=Count("complaints", "received",
                    where=lambda t: t.strengthened_contact & t.resolved_at_contact),
    denominator=Count("complaints", "received", where=lambda t: t.strengthened_contact),
    empty_note="ingen klager med Styrket borgerkontakt i perioden"))


@dataclass
class AnsweredWithinKPI(KPI):
    """Share of complaints closed in the period that were answered within N working days."""

    working_days: int = 20
    unit: str = PCT
    ratio: bool = True

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        t = ctx.table(self.table)
        t = t.filter(ctx.in_period(t.closed))
        by = ctx.q.by
        df = ctx.store.run(t.select(*by, "received", "closed"))
        limit = Deadline(self.working_days, "arbejdsdage")
        from ..settings import Settings

        closed = frozenset(Settings().closed_days)  # the same closed days as case deadlines
        dues = {d: limit.due(d, extra=closed) for d in df["received"].unique().to_list()}
        df = df.with_columns(ok=pl.col("closed") <= pl.col("received").replace_strict(
            dues, return_dtype=pl.Date))
        agg = (df.group_by(by).agg(num=pl.col("ok").sum(), den=pl.len()) if by
               else df.select(num=pl.col("ok").sum(), den=pl.len()))
        found = keyed(agg.to_dicts(), by)
        rows = []
        for m in ctx.members([self.table]):
            r = found.get(tuple(m.get(d) for d in by))
            if not r or not r["den"]:
                rows.append(Row(m, note=NO_DATA))
            else:
                rows.append(Row(m, value=round(100 * r["num"] / r["den"], 2),
                                numerator=int(r["num"]), denominator=int(r["den"])))
        return rows


register(AnsweredWithinKPI(
    "complaints_answered_within", "Klager besvaret inden for 20 arbejdsdage",
    description="Andel af klager besvaret i perioden, der blev besvaret inden for 20 "
    "arbejdsdage fra modtagelsen.", better="higher", theme="complaints", table="complaints"))


@dataclass
class SbVsWrittenKPI(KPI):
    """Median response days with and without Styrket borgerkontakt, the relative difference
    (value, in %) and a two-sided Mann–Whitney U p-value."""

    unit: str = PCT

    @property
    def dims(self) -> tuple[str, ...]:
        """It compares with and without Styrket borgerkontakt: not a dimension here."""
        return tuple(d for d in super().dims if d != "strengthened_contact")

    def evaluate(self, ctx: Context) -> list[Row]:
        ctx.check_dims(self.dims)
        t = ctx.table(self.table)
        t = t.filter(ctx.in_period(t.closed) & t.strengthened_contact.notnull())
        by = ctx.q.by
        df = ctx.store.run(t.select(*by, "strengthened_contact",
                             days=days_between(t.received, t.closed)))
        groups = {k if isinstance(k, tuple) else (k,): g
                  for k, g in (df.group_by(by) if by else [((), df)])}
        rows = []
        for m in ctx.members([self.table]):
            g = groups.get(tuple(m.get(d) for d in by))
            if g is None:
                rows.append(Row(m, note=NO_DATA))
                continue
            a = g.filter(pl.col("strengthened_contact"))["days"].to_list()
            b = g.filter(~pl.col("strengthened_contact"))["days"].to_list()
            extra = {"median_with": _median(a), "median_without": _median(b),
                     "n_with": len(a), "n_without": len(b),
                     "p_value": mann_whitney_p(a, b)}  # full precision: pages show "< 0,001"
            if not a or not b or not extra["median_without"]:
                rows.append(Row(m, note="der skal være klager både med og uden Styrket "
                                "borgerkontakt", extra=extra))
                continue
            diff = 100 * (extra["median_with"] - extra["median_without"]) / extra[
                "median_without"]
            rows.append(Row(m, value=round(diff, 1), n=len(a) + len(b), extra=extra))
        return rows


def _median(xs: list[float]) -> float | None:
    if not xs:
        return None
    return float(pl.Series(xs).median())


register(SbVsWrittenKPI(
    "sb_vs_written", "Svartid med og uden Styrket borgerkontakt", description="Forskel i "
    "procent på median svartid for klager med Styrket borgerkontakt i forhold til traditionel "
    "skriftlig behandling, med Mann–Whitney-test.", theme="complaints", table="complaints"))
