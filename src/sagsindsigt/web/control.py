"""Control charts on the pages and in the API (``view=spc``): a KPI's months for a scope
(:mod:`sagsindsigt.kpis.spc`) over the page's figure cache, held against the scope's target."""

from __future__ import annotations

from .. import targets as core
from ..kpis import get as get_kpi
from ..kpis import spc
from ..present.control import control_chart, control_table
from ..present.tables import Table
from ..store import reads
from .pages import Figures, Filters


def target(fig: Figures, kpi: str, period: str, where: list[str]) -> spc.Target | None:
    """The target (måltal) of exactly this scope whose period holds the period's last month
    (targets inside the caller's scope only: ``reads.targets``)."""
    rows = fig.memo_db(("target_rows",), lambda: reads.targets(fig.store))
    return spc.target_for(rows, kpi, where, period, lambda t: core.evaluate(
        fig.store, t, lambda k, p, w: fig.get(k, p, [], w)))


def coverage(fig: Figures, table: str) -> dict:
    """The data coverage of a table per administration, as the KPIs see it."""
    return fig.read(reads.coverage, table)


def series(fig: Figures, kpi: str, months: list[str], where: list[str]):
    """Every month's row in one query where the KPI's kind allows (``spc.month_rows``)."""
    return fig.memo_db(("spc_months", kpi, tuple(months), tuple(where)),
                       lambda: spc.month_rows(fig.store, kpi, months, where), kept=True)


def chart(fig: Figures, kpi: str, period: str, where: list[str]) -> spc.Chart:
    """The control chart of one KPI for one scope, ending with the period's last month."""
    def make() -> spc.Chart:
        return spc.spc(fig.get, kpi, period, where, target(fig, kpi, period, where),
                       lambda table: coverage(fig, table), lambda months: series(
                           fig, kpi, months, where))

    return fig.memo(("spc", kpi, period, tuple(where)), make)


def section(fig: Figures, f: Filters, kpi: str) -> tuple[dict, Table]:
    """A page's control chart of a KPI for the page's scope: the chart spec and its table."""
    ch = chart(fig, kpi, f.period, f.where())
    label = get_kpi(kpi).label
    title = f"{label} pr. måned"
    return control_chart(ch, title), control_table(ch, f"kontrolkort_{kpi}",
                                                   f"{title} (kontrolkort)")


__all__ = ["chart", "section", "target"]
