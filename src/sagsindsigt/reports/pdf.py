"""A report as HTML and as PDF: one Jinja2 template (``templates/report.html``) with CSS paged
media, printed by WeasyPrint. Charts are the dashboard's Vega-Lite specs, drawn as SVG by
vl-convert (no browser, no network)."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import danish
from ..kpis import get as get_kpi
from ..present.labels import DIM_LABELS, KIND_LABELS
from .model import Cell, Report, Table

HERE = Path(__file__).parent
LIGHTS = {"green": "grøn", "yellow": "gul", "red": "rød"}
TOC_FROM = 5  # a table of contents when the report has at least this many tables
CHART_WIDTH = 470


def fmt(c) -> str:
    """A cell as the reader sees it: Danish numbers, the hidden mark, or "-"."""
    if not isinstance(c, Cell):
        return "-" if c is None else str(c)
    if c.hidden:
        return c.hidden
    if c.value is None:
        return "-"
    if isinstance(c.value, str):
        return c.value
    return danish.value(c.value, c.unit)


def svg(spec: dict) -> str:
    """The chart as an SVG data URL (the dashboard's spec with a fixed width for paper)."""
    import vl_convert as vlc

    spec = copy.deepcopy(spec)
    spec["width"] = CHART_WIDTH  # paper has no container to fill
    spec["encoding"]["x"].setdefault("axis", {"labelAngle": -30, "labelLimit": 170})
    spec.setdefault("padding", {"left": 60, "top": 5, "right": 5, "bottom": 5})
    data = vlc.vegalite_to_svg(spec, format_locale="da-DK")
    return "data:image/svg+xml;base64," + base64.b64encode(data.encode("utf-8")).decode()


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["fmt"] = fmt
    env.filters["num"] = danish.number
    env.filters["day"] = danish.day
    env.filters["long_date"] = danish.long_date
    env.filters["svg"] = svg
    env.filters["css"] = lambda s: s.replace("\\", "\\\\").replace('"', '\\"')
    env.globals.update(LIGHTS=LIGHTS, get_kpi=get_kpi, Cell=Cell, Table=Table,
                       DIM_LABELS=DIM_LABELS, KIND_LABELS=KIND_LABELS)
    return env


def render_html(report: Report) -> str:
    tables = report.tables()
    return _env().get_template("report.html").render(
        r=report, toc=len(tables) >= TOC_FROM,
        filters="; ".join(f"{k}: {v}" for k, v in report.filters) or "ingen")


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(report), base_url=str(HERE)).write_pdf()
