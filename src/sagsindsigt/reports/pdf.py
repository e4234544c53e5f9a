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
from ..present.labels import DIM_LABELS, KIND_LABELS, UNIT_NAMES
from .model import Cell, Report, Table

HERE = Path(__file__).parent
LIGHTS = {"green": "grøn", "yellow": "gul", "red": "rød"}
TOC_FROM = 5  # a table of contents when the report has at least this many tables
CHART_WIDTH = 640  # px (1/96 in) of a chart with its names: 169 mm, inside the 180 mm column
PAPER_FONT = {"labelFontSize": 10, "titleFontSize": 10, "labelColor": "#222",
              "titleColor": "#222"}


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


def paper(spec: dict) -> dict:
    """The chart spec for paper: a fixed width (paper has no container to fill) that holds
    the names too, every category name and series name whole, no title (the figure's caption
    names the chart, and wraps where a drawn title would be cut)."""
    spec = copy.deepcopy(spec)
    spec.pop("title", None)
    spec["width"] = CHART_WIDTH
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    spec["padding"] = {"left": 2, "top": 4, "right": 12, "bottom": 2}
    for channel in spec.get("encoding", {}).values():
        if isinstance(channel, dict) and isinstance(channel.get("axis"), dict):
            channel["axis"]["labelLimit"] = 0
    config = spec.setdefault("config", {})
    config["axis"] = {**PAPER_FONT, **config.get("axis", {})}
    config["legend"] = {**PAPER_FONT, "labelLimit": 0, **config.get("legend", {})}
    config["font"] = "DejaVu Sans"
    return spec


def svg(spec: dict) -> str:
    """The chart as an SVG data URL, drawn by vl-convert with Danish numbers."""
    import vl_convert as vlc

    data = vlc.vegalite_to_svg(paper(spec), format_locale="da-DK")
    return "data:image/svg+xml;base64," + base64.b64encode(data.encode("utf-8")).decode()


def numeric(t: Table, key: str) -> bool:
    """Whether a column holds figures (its heading is then right-aligned over them)."""
    return any(isinstance(r.get(key), Cell) and not isinstance(r[key].value, str)
               for r in t.rows)


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
                       numeric=numeric,
                       DIM_LABELS=DIM_LABELS, KIND_LABELS=KIND_LABELS,
                       UNIT_NAMES=UNIT_NAMES)
    return env


def render_html(report: Report) -> str:
    tables = report.tables()
    return _env().get_template("report.html").render(
        r=report, toc=len(tables) >= TOC_FROM,
        filters="; ".join(f"{k}: {v}" for k, v in report.filters) or "ingen")


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(report), base_url=str(HERE)).write_pdf()
