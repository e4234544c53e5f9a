"""A report as HTML and as PDF: one Jinja2 template (``templates/report.html``) with CSS paged
media, printed by WeasyPrint. Charts are the dashboard's Vega-Lite specs, drawn as SVG by
vl-convert (no browser, no network), each once per report (``draw_charts``) and kept for the
next report with the same chart.

What a first PDF of a process waits for besides the work itself (loading WeasyPrint with
Pango and fontconfig, starting vl-convert's JavaScript engine: about 0,8 s) is done ahead by
``prepare``, which the web app runs in the background and the CLI beside the figures."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Callable
from functools import lru_cache
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
    return _drawn(json.dumps(paper(spec), sort_keys=True, ensure_ascii=False))


_vl_lock = threading.Lock()  # one drawing at a time (vl-convert's engine is one per process)


@lru_cache(maxsize=128)  # a chart is a function of its spec: the same chart, the same SVG
def _drawn(spec_json: str) -> str:
    import vl_convert as vlc

    with _vl_lock:
        data = vlc.vegalite_to_svg(json.loads(spec_json), format_locale="da-DK")
    return "data:image/svg+xml;base64," + base64.b64encode(data.encode("utf-8")).decode()


def charted(t: Table) -> bool:
    """Whether a table is printed with its chart (one with at least one bar or point)."""
    return bool(t.rows and t.chart and t.chart.spec and t.chart.spec["data"]["values"])


def draw_charts(report: Report, progress: Callable[[float], None] | None = None,
                store=None) -> dict[int, str]:
    """Every chart of the report drawn once, by the ``id`` of its table (the template asks
    for each by its table); ``progress`` hears the share drawn after each. With ``store``
    each drawing is kept there like a figure (keyed by its spec, which holds its data; gone
    when a table the report's figures read changes), so a new process does not start the
    chart engine to draw it again."""
    tables = [t for t in report.tables() if charted(t)]
    out = {}
    for i, t in enumerate(tables, start=1):
        out[id(t)] = svg(t.chart.spec) if store is None else _kept(store, report, t.chart.spec)
        if progress:
            progress(i / len(tables))
    return out


def _kept(store, report: Report, spec: dict) -> str:
    from ..kpis import keep
    from ..store.deps import note

    def draw() -> str:
        note(report.reads)  # drawn from figures that read these tables
        return svg(spec)

    return keep.cached(store, ("chart", json.dumps(spec, sort_keys=True, default=str)), draw)


_prepared = threading.Lock()
_ready = threading.Event()
SAMPLE = ("<html lang=da><style>html{font:9.5pt \"DejaVu Sans\"}</style><body><p>Æ ø å "
          "<b>1.234,5 %</b></p>{}</body></html>")


def prepare() -> None:
    """Load and start what a first PDF would otherwise wait for: WeasyPrint with Pango and
    the fonts (one tiny page in the report's font, regular and bold), and vl-convert's engine
    (one tiny chart). Once per process; safe from any thread."""
    with _prepared:
        if _ready.is_set():
            return
        from weasyprint import HTML

        chart = svg({"mark": "bar", "data": {"values": [{"a": 1}]},
                     "encoding": {"x": {"field": "a", "type": "quantitative"}}})
        HTML(string=SAMPLE.replace("{}", f'<img src="{chart}" alt="">')).write_pdf()
        _ready.set()


def prepare_pages() -> None:
    """WeasyPrint with Pango and the fonts loaded (the tiny page of :func:`prepare`, without
    a chart): what a one-shot report whose charts are kept in the store waits for."""
    from weasyprint import HTML

    HTML(string=SAMPLE.replace("{}", "")).write_pdf()


_started: list[threading.Thread] = []
_start_lock = threading.Lock()


def prepare_in_background(then: Callable[[], object] | None = None
                          ) -> threading.Thread | None:
    """``prepare`` (and ``then()`` after it) in a daemon thread, started once per process
    (None when already)."""
    def run() -> None:
        prepare()
        if then is not None:
            then()

    with _start_lock:
        if _started or _ready.is_set():
            return None
        th = threading.Thread(target=run, name="rapport-forberedelse", daemon=True)
        _started.append(th)
    th.start()
    return th


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
    env.tests["charted"] = charted
    env.filters["css"] = lambda s: s.replace("\\", "\\\\").replace('"', '\\"')
    env.globals.update(LIGHTS=LIGHTS, get_kpi=get_kpi, Cell=Cell, Table=Table,
                       numeric=numeric,
                       DIM_LABELS=DIM_LABELS, KIND_LABELS=KIND_LABELS,
                       UNIT_NAMES=UNIT_NAMES)
    return env


@lru_cache(maxsize=1)
def _template():
    return _env().get_template("report.html")


def render_html(report: Report, charts: dict[int, str] | None = None) -> str:
    """The report as one HTML page; ``charts`` as ``draw_charts`` gives them (else drawn
    here)."""
    tables = report.tables()
    charts = draw_charts(report) if charts is None else charts
    return _template().render(
        r=report, toc=len(tables) >= TOC_FROM, chart=lambda t: charts[id(t)],
        filters="; ".join(f"{k}: {v}" for k, v in report.filters) or "ingen")


def render_pdf(report: Report, progress: Callable[[str, float], None] | None = None,
               store=None) -> bytes:
    """The report printed on A4. ``progress(stage, share)`` hears the charts being drawn
    ("charts") and the pages being laid out and written ("pages"); ``store``: see
    :func:`draw_charts`."""
    from weasyprint import HTML

    say = progress or (lambda stage, share: None)
    say("charts", 0.0)
    charts = draw_charts(report, lambda share: say("charts", share), store)
    html = render_html(report, charts)
    say("pages", 0.0)
    doc = HTML(string=html, base_url=str(HERE)).render()
    say("pages", 0.7)  # laid out; painting and writing the file is the rest
    data = doc.write_pdf()
    say("pages", 1.0)
    return data
