"""Scope on content (issue 13, point 7): what a scoped role is shown, read as text.

The access matrix checks status codes; these tests read what comes back. A copy of the demo
gets two planted centres with data no real unit has (``_access_helpers.PLANTED``); then, for
users scoped to an administration (BIF) and to a centre of it (JCA, Jobcenter Amager), the
surfaces of each scoped role (``SURFACES``: everything for leder, the case-level, audit and
complaint routes for the others) are fetched through the real sign-in and read as text: pages,
table downloads (CSV, XLSX), the KPI API, the committee reports (HTML, XLSX, and PDF through
``pdftotext``), the quality-audit pages and workbooks, the complaint form and the search of
learning from complaints. No *marker* of foreign data may appear in any of them:

* foreign unit and administration codes as whole words (``JCN``, ``HCK``, ``SOF``, ``ZQX`` ...)
  and their names ("Jobcenter Nørrebro", "Socialforvaltningen", "Zulu-centret" ...);
* foreign case and complaint ids (every id of the store whose unit or administration is
  foreign, and the planted ones);
* foreign figures: counts >= 1000 of foreign units, of the foreign administration, of the
  parent administration (for a centre) and of the whole municipality, as the system
  computes them, in Danish (154.440); raw numbers of downloads and JSON are read the same way;
* for a centre: the parent administration's name used as the label of a figure.

The markers are computed from the store (nothing is hard-coded but the planted centres), and
a positive control shows the same detector finds them in what the whole municipality sees.
The weekly digest (e-mail) is read the same way: its plain text and its HTML, as each scope's
leader gets it.

Besides: reports and pages name the scope ("Jobcenter Amager (JCA)"), a request outside the
scope answers "Ingen adgang" (403) with the menu, forms offer only the own administrations and
units, and download file names carry the scope's code.
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlencode

import pytest

from sagsindsigt import access
from sagsindsigt.access import SYSTEM, acting_as
from sagsindsigt.kpis import Query, all_kpis, compute
from sagsindsigt.reports import KINDS as REPORT_KINDS
from sagsindsigt.store.reads import administrations
from sagsindsigt.store.reads import organisation as tree
from sagsindsigt.web import create_app
from sagsindsigt.web.access import PAGE_PERMISSIONS, POLICY, PUBLIC
from sagsindsigt.web.views import VIEWS

from ._access_helpers import (
    PLANTED,
    add_users,
    copy_of_demo,
    demo_secret,
    plant_units,
    register_planted_complaints,
    sign_in,
    user_name,
)
from .test_access_matrix import api_routes

pytestmark = pytest.mark.xdist_group("demo")

ADMINISTRATION, CENTRE = "BIF", "JCA"  # the scopes: an administration, a centre of it
SCOPED = (ADMINISTRATION, CENTRE)
FOREIGN_ADMINISTRATION, FOREIGN_UNIT = "SOF", "HCK"  # foreign to both scopes
SIBLING = "JCN"  # foreign to the centre: every other unit of its administration is
SCOPED_ROLES = [r for r, role in access.ROLES.items() if not role.everywhere]
PERIOD = "2013"  # the planted centres have data in 2013 only; pages are also read at their
# default period (None: the latest year, SOF's half year)
CONCEPT = "kontanthjaelp"  # a BIF concept reviewed in every jobcentre
REVIEWED_ROUNDS = ("2014-Q1", "2014-Q2")  # reviewed; 2014-Q2 also by a second reviewer
DRAWN_ROUND = "2014-Q4"  # the sample is drawn, not yet reviewed
REPORT_FORMATS = ("html", "xlsx", "pdf")
FIGURE_KPIS = ("cases_received", "complaints_received", "cases_decided", "open_cases")
FIGURE_PERIODS = ("2012", "2013", "2014")
DISTINCTIVE = 1000  # smaller figures turn up by chance
DOWNLOAD_ROUTE = "/download/{slug}/{table_id}.{fmt}"

# GET routes that carry no data of any scope (the rest must be scanned, see the route test)
NO_DATA = {"/login": "the sign-in form", "/docs": "Swagger UI; the API itself is scanned",
           "/login/sso": "redirect to the identity provider",
           "/login/sso/svar": "the identity provider's answer"}

# what each scoped role's scan covers (each visit only where the role's permissions open
# it): a broad scan for leder, which has the most case-level access, and for the others the
# surfaces their own permissions add, plus the reader's pages and reports (issue 13's case)
SURFACES = {
    "leder": {"pages", "downloads", "api", "reports", "pdf", "quality", "audit_cases",
              "complaints", "learning", "targets_form", "worklist"},
    "laeser": {"pages", "reports"},
    "kvalitet": {"quality", "audit_cases"},
    "registrator": {"complaints"},
}
PLANS = [(role, scope) for role in SURFACES for scope in SCOPED]


# -- what comes back, as text ----------------------------------------------------------------
def dk(n: int) -> str:
    """A whole number as Danish users read it: 154.440."""
    return f"{n:,}".replace(",", ".")


def _cell(v) -> str:
    """A value of a download or JSON body as a page would show it (whole numbers Danish)."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int | float) and float(v).is_integer():
        return dk(int(v))
    if isinstance(v, str) and re.fullmatch(r"-?\d{4,}", v.strip()):
        return dk(int(v))
    if isinstance(v, float):  # a decimal, as a page writes it: 3,092 (%), never 3.092
        return repr(v).replace(".", ",")
    return str(v)


def json_text(data) -> str:
    out: list[str] = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                out.append(str(k))
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        else:
            out.append(_cell(x))

    walk(data)
    return " | ".join(out)


def html_text(page: str) -> str:
    """The page as written (codes in links and options count), its visible text with cell
    borders as ``|``, and its chart data with numbers in Danish."""
    # the chart specs count once, with their numbers in Danish: read raw, a JSON decimal such
    # as a control limit of 3.092 (%) would pass for the Danish count 3.092
    raw = re.sub(r'(<script type="application/json"[^>]*>).*?(</script>)', r"\1\2", page,
                 flags=re.S)
    plain = html_lib.unescape(re.sub(r"<[^>]+>", " | ", raw))
    charts = []
    for spec in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S):
        try:
            charts.append(json_text(json.loads(spec)))
        except ValueError:
            charts.append(spec)
    return "\n".join([html_lib.unescape(raw), plain, *charts])


def visible_text(page: str) -> str:
    """What a person reads on an HTML page (no tags, no scripts, no head)."""
    page = re.sub(r"<(script|style|title)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def csv_text(body: bytes) -> str:
    rows = csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";")
    return "\n".join(" | ".join(_cell(c) for c in row) for row in rows)


def xlsx_text(body: bytes, rows: int | None = None, sheets: int | None = None) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    out = []
    for ws in wb.worksheets[:sheets]:
        out.append(ws.title)
        for row in ws.iter_rows(values_only=True, max_row=rows):
            out.append(" | ".join(_cell(c) for c in row if c is not None))
    wb.close()
    return "\n".join(out)


def pdf_pages(body: bytes) -> list[str]:
    """The text of each page, in reading order and then as laid out (a table's wrapped cell
    keeps its name whole in the one, its row's figures on one line in the other)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rapport.pdf"
        path.write_bytes(body)
        texts = [subprocess.run(["pdftotext", *mode, "-enc", "UTF-8", str(path), "-"],
                                capture_output=True, check=True).stdout.decode("utf-8")
                 .split("\f") for mode in ([], ["-layout"])]
    return [f"{raw}\n{laid}" for raw, laid in zip(*texts, strict=True)]


@dataclass(repr=False)
class Fetched:
    shown: str  # the URL with its query, for messages
    status: int
    headers: dict[str, str]
    content: bytes

    def __repr__(self) -> str:
        return f"Fetched({self.shown}: {self.status}, {self.kind}, {len(self.content)} bytes)"

    @property
    def kind(self) -> str:
        t = self.headers.get("content-type", "")
        for k, marker in (("html", "text/html"), ("json", "json"), ("csv", "text/csv"),
                          ("xlsx", "spreadsheetml"), ("pdf", "application/pdf")):
            if marker in t:
                return k
        return "text"

    @cached_property
    def text(self) -> str:
        body = self.content
        if self.kind == "html":
            return html_text(body.decode("utf-8"))
        if self.kind == "json":
            return json_text(json.loads(body))
        if self.kind == "csv":
            return csv_text(body)
        if self.kind == "xlsx":
            return xlsx_text(body)
        if self.kind == "pdf":
            return "\n".join(pdf_pages(body))
        return body.decode("utf-8", "replace")

    @cached_property
    def head(self) -> str:
        """A report's header: the HTML before its first table, the workbook's first rows,
        the PDF's first page."""
        if self.kind == "html":
            return visible_text(self.content.decode("utf-8").split("<table", 1)[0])
        if self.kind == "xlsx":
            return xlsx_text(self.content, rows=8, sheets=1)
        if self.kind == "pdf":
            return pdf_pages(self.content)[0]
        return self.text[:2000]

    @property
    def start(self) -> str:
        return " ".join(self.content[:150].decode("utf-8", "replace").split())

    @property
    def visible(self) -> str:
        return visible_text(self.content.decode("utf-8"))

    @property
    def filename(self) -> str | None:
        m = re.search(r'filename="?([^";]+)', self.headers.get("content-disposition", ""))
        return m.group(1) if m else None


# -- the markers -----------------------------------------------------------------------------
ID = re.compile(r"\b[A-Z]{1,8}(?:-[A-Z]{1,8})*-\d{4}-\d{3,6}\b")  # KH-2013-000123, K-SOF-...


def words(text: str) -> str:
    """A name as a pattern that survives line breaks (PDF) and runs of spaces."""
    return r"\s+".join(re.escape(w) for w in text.split())


def number_pattern(texts) -> re.Pattern:
    """Whole figures only: 154.440 matches, 2154.440 and 154.4401 do not."""
    alts = "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))
    return re.compile(rf"(?<![\d.,])(?:{alts})(?![\d]|[.,]\d)")


def context(text: str, m: re.Match, width: int = 40) -> str:
    return " ".join(text[max(0, m.start() - width): m.end() + width].split())[:100]


@dataclass(repr=False)
class Markers:
    """What must never reach a user of ``scope``, and the scope's own signs (a scan that
    finds none of them saw no data)."""

    scope: str
    label: str  # "Jobcenter Amager (JCA)"
    patterns: list[tuple[str, re.Pattern]]  # (what, pattern): codes, names, labels
    figures: dict[str, str]  # Danish figure -> whose it is
    ids: dict[str, str]  # foreign case or complaint id -> whose it is
    own: list[tuple[str, re.Pattern]]
    own_figure: str = ""

    def __repr__(self) -> str:  # the ids are hundreds of thousands
        return (f"Markers({self.scope}: {len(self.patterns)} mønstre, {len(self.figures)} tal, "
                f"{len(self.ids)} id'er)")

    @cached_property
    def _figures(self) -> re.Pattern:
        return number_pattern(self.figures)

    def hits(self, text: str) -> list[str]:
        """Each marker found, once, with its context."""
        out = [f"{what}: «{context(text, m)}»" for what, pat in self.patterns
               if (m := pat.search(text))]
        seen: set[str] = set()
        for m in self._figures.finditer(text):
            if m.group() not in seen:
                seen.add(m.group())
                out.append(f"tal {m.group()} ({self.figures[m.group()]}): «{context(text, m)}»")
        ids = [m for m in ID.finditer(text) if m.group() in self.ids]
        for m in {m.group(): m for m in ids}.values():
            out.append(f"id {m.group()} ({self.ids[m.group()]}): «{context(text, m)}»")
        return out

    def own_hits(self, text: str) -> set[str]:
        return {what for what, pat in self.own if pat.search(text)}


def node_label(nodes, code: str) -> str:
    return f"{nodes[code].name} ({code})"


def markers_for(store, code: str) -> Markers:
    """The markers of foreign data for a user scoped to ``code``, as the system sees the
    store: foreign are the foreign administration and, for a centre, the other units of its
    administration."""
    with acting_as(SYSTEM):
        scope = access.resolve(store, code)
        nodes = {n.code: n for n in tree(store)}
        (admin,) = scope.administrations

        def foreign(a: str | None, u: str | None) -> bool:
            return a == FOREIGN_ADMINISTRATION or (a == admin and not scope.contains(a, u))

        owner = administrations((n.code, n.parent, n.level) for n in nodes.values())
        unit_admin = {n.code: owner.get(n.code) for n in nodes.values()
                      if n.level in ("center", "enhed")}
        foreign_units = sorted(u for u, a in unit_admin.items() if foreign(a, u))
        patterns = []
        for c in [FOREIGN_ADMINISTRATION, *foreign_units]:
            patterns.append((f"kode {c}", re.compile(rf"\b{re.escape(c)}\b")))
            if nodes[c].name != c:
                patterns.append((f"navn {nodes[c].name}", re.compile(words(nodes[c].name))))
        if scope.units is not None:  # a centre: the parent's name is no label for its figures
            parent = words(nodes[admin].name)
            patterns.append((
                f"etiket «{nodes[admin].name}» på et tal",
                re.compile(rf"{parent}(?:\s*\({admin}\))?[\s|;:,\"]*(?:\"\w+\"\s*:\s*)?"
                           r"(?!(?:19|20)\d\d\b)\d")))
        figures = foreign_figures(store, scope, admin, foreign_units)
        ids = foreign_ids(store, foreign, unit_admin)
        own_name = nodes[code].name
        own_count = compute(store, Query.make("cases_received", PERIOD, [],
                                              own_where(scope, admin))).rows[0].value
    return Markers(code, node_label(nodes, code), patterns, figures, ids,
                   own=[(f"navn {own_name}", re.compile(words(own_name))),
                        (f"eget tal {dk(own_count)}", number_pattern([dk(own_count)]))],
                   own_figure=f"eget tal {dk(own_count)}")


def own_where(scope, admin: str) -> list[str]:
    w = [f"administration={admin}"]
    if scope.units is not None:
        w.append("unit=" + ",".join(sorted(scope.units)))
    return w


def foreign_figures(store, scope, admin: str, foreign_units: list[str]) -> dict[str, str]:
    """Counts of foreign units, of the foreign administration, of the parent (for a centre)
    and of the whole municipality, >= 1000, less any the scope's own pages may show too."""
    found: dict[str, str] = {}
    foreign_admins = {FOREIGN_ADMINISTRATION} | ({admin} if scope.units is not None else set())
    for kpi in FIGURE_KPIS:
        for period in FIGURE_PERIODS:
            def rows(by, q=(kpi, period)):
                return compute(store, Query.make(q[0], q[1], by)).rows

            whose = [("hele kommunen", r.value) for r in rows([])]
            whose += [(r.dims["administration"], r.value) for r in rows(["administration"])
                      if r.dims["administration"] in foreign_admins]
            whose += [(r.dims["unit"], r.value) for r in rows(["unit"])
                      if r.dims["unit"] in foreign_units]
            for who, value in whose:
                if value is not None and value >= DISTINCTIVE:
                    found.setdefault(dk(int(value)), f"{who}, {kpi} {period}")
    own = own_figures(store, own_where(scope, admin))
    return {k: v for k, v in found.items() if k not in own}


def own_figures(store, where: list[str]) -> set[str]:
    """Whole figures the scope's own data makes (a foreign figure equal to one of them is a
    coincidence): its counts per year by every dimension the pages break down by, per month,
    and the grid of its funnel plots."""
    from sagsindsigt.kpis import get as get_kpi
    from sagsindsigt.kpis.funnel import funnel_of
    from sagsindsigt.web.comparison import KPIS as FUNNEL_KPIS

    values: list[float | None] = []
    for kpi in FIGURE_KPIS:
        dims = [d for d in get_kpi(kpi).dims if d in ("unit", "case_type", "age_band")]
        for period in FIGURE_PERIODS:
            for by in ([], *([d] for d in dims)):
                values += [r.value for r in compute(store, Query.make(kpi, period, by, where))
                           .rows]
            if kpi in ("cases_received", "cases_decided"):
                for month in range(1, 13):
                    values += [r.value for r in compute(store, Query.make(
                        kpi, f"{period}-{month:02d}", [], where)).rows]
    for kpi in FUNNEL_KPIS:
        for period in FIGURE_PERIODS:
            fn = funnel_of(compute(store, Query.make(kpi, period, ["unit"], where)))
            values += [c["n"] for c in fn.curve]
    return {dk(int(v)) for v in values if v is not None and float(v).is_integer()}


def foreign_ids(store, foreign, unit_admin: dict[str, str | None]) -> dict[str, str]:
    """Every case and complaint id whose administration or unit is foreign."""
    out: dict[str, str] = {}
    for table, col in (("cases", "case_id"), ("complaints", "complaint_id"),
                       ("audit_samples", "case_id"), ("reviews", "case_id")):
        t = store.table(table)
        has_admin = "administration" in t.columns
        cols = [col, "unit"] + (["administration"] if has_admin else [])
        rows = t.select(*cols).distinct().to_pyarrow().to_pylist()
        for r in rows:
            a = r["administration"] if has_admin else unit_admin.get(r["unit"])
            if foreign(a, r["unit"]):
                out.setdefault(r[col], f"{table}, {r['unit'] or a}")
    return out


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def planted(demo_store, tmp_path_factory):
    """(app, store): auth on, over a writable copy of the demo with the planted centres and
    one user per role and scope."""
    with demo_secret(demo_store):
        tmp = tmp_path_factory.mktemp("scope_content")
        store = copy_of_demo(demo_store, tmp / "demo.duckdb")
        plant_units(store, tmp / "plantet")
        register_planted_complaints(store)
        add_users(store)
        app = create_app(store, warm=False, auth=True, secure_cookies=False)
    yield app, store
    store.close()


@pytest.fixture(scope="session")
def markers(planted, demo_store) -> dict[str, Markers]:
    _, store = planted
    with demo_secret(demo_store):
        return {code: markers_for(store, code) for code in SCOPED}


@dataclass(frozen=True)
class Own:
    """Records inside both scopes (they are the centre's) for the case-level routes."""

    complaint: str
    complaint_source: str
    audit_case: str


@pytest.fixture(scope="session")
def own(planted) -> Own:
    _, store = planted
    unit = CENTRE
    with acting_as(SYSTEM):
        c = store.table("complaints")
        row = c.filter((c.unit == unit) & (c.received.year() == int(PERIOD))).order_by(
            c.complaint_id).select("complaint_id", "_source").limit(1).to_pyarrow().to_pylist()
        s = store.table("audit_samples")
        case = s.filter((s.concept == CONCEPT) & (s.round == DRAWN_ROUND) & (s.unit == unit)
                        ).case_id.min().execute()
    return Own(row[0]["complaint_id"], row[0]["_source"], case)


@pytest.fixture(scope="session")
def fetch(planted, demo_store):
    """fetch(role, scope, visit) -> Fetched: one signed-in client per user, and every answer
    kept for the session (the scan and the tests after it read the same answers)."""
    app, _ = planted
    clients, answers = {}, {}

    def get(role: str, scope: str, v: Visit) -> Fetched:
        key = (role, scope, v.shown)
        if key not in answers:
            if (role, scope) not in clients:
                with demo_secret(demo_store):
                    clients[(role, scope)] = sign_in(app, user_name(role, scope))
            with demo_secret(demo_store):
                r = clients[(role, scope)].get(v.shown, headers={  # the query as it is
                    "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
            answers[key] = Fetched(v.shown, r.status_code, dict(r.headers), r.content)
        return answers[key]

    yield get
    for c in clients.values():
        c.close()


# -- what a scan visits ----------------------------------------------------------------------
@dataclass(frozen=True)
class Visit:
    route: str  # the route's path as the app declares it (the route test checks coverage)
    url: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def shown(self) -> str:
        return self.url + ("?" + urlencode(self.params) if self.params else "")


def may_open(role: str, v: Visit) -> bool:
    rule = POLICY[("GET", v.route)]
    perms = rule.perms
    if v.route == "/side/{slug}":
        perms = frozenset({PAGE_PERMISSIONS.get(v.url.rsplit("/", 1)[1], "view")})
    return perms == PUBLIC or any(p in access.ROLES[role].permissions for p in perms)


def own_filter(scope: str) -> dict[str, str]:
    """The drill-down to the own scope."""
    return {"administration": ADMINISTRATION} | ({"unit": scope} if scope == CENTRE else {})


def plan(role: str, scope: str, own: Own) -> list[Visit]:
    """The visits of one role's scan (downloads are found on the pages: see ``scan``)."""
    s = SURFACES[role]
    out: list[Visit] = []

    def add(route: str, url: str | None = None, **params: str) -> None:
        out.append(Visit(route, url or route, tuple(params.items())))

    if "pages" in s:
        for period in (PERIOD, None):
            at = {"period": period} if period else {}
            add("/", **at)
            for slug in VIEWS:
                add("/side/{slug}", f"/side/{slug}", **at)
        add("/", **own_filter(scope), period=PERIOD)  # the drill-down to the own scope
        for slug in ("sager", "klager"):
            add("/side/{slug}", f"/side/{slug}", **own_filter(scope), period=PERIOD)
        add("/proces")  # the process analysis of the events (issue 15)
        add("/proces", period=PERIOD, **own_filter(scope))
    if "api" in s:
        add("/api/kpi")
        for analysis in ("dfg", "variants", "bottlenecks", "rework"):
            add("/api/proces/{analysis}", f"/api/proces/{analysis}")
        for k in all_kpis():
            for by in ("administration", "unit"):
                add("/api/kpi/{kpi_id}", f"/api/kpi/{k.id}", period=PERIOD, by=by)
    if "reports" in s:
        add("/rapporter")
        formats = REPORT_FORMATS if "pdf" in s else tuple(f for f in REPORT_FORMATS
                                                            if f != "pdf")
        for kind in REPORT_KINDS:
            for fmt in formats:
                add("/rapporter/hent", kind=kind, period=PERIOD, format=fmt)
            # the same report made as a job (the page with JavaScript): its status and its
            # file are read too (``job_visits``)
            add(JOB_START, kind=kind, period=PERIOD, format=formats[-1])
    if "quality" in s:
        for year in ("2013", "2014"):
            add("/kvalitet/aarshjul", year=year)
        add("/kvalitet/resultater")
        add("/kvalitet/resultater", period=PERIOD)
        add("/kvalitet/resultater.xlsx")
        add("/kvalitet/resultater.xlsx", period=PERIOD)
    if "audit_cases" in s:
        base = "/kvalitet/runde/{concept}/{rnd}"
        for rnd in REVIEWED_ROUNDS:
            add("/kvalitet/kalibrering", concept=CONCEPT, round=rnd)
            add("/kvalitet/api/svar", concept=CONCEPT, round=rnd)
        for rnd in (*REVIEWED_ROUNDS, DRAWN_ROUND):
            add(base, f"/kvalitet/runde/{CONCEPT}/{rnd}")
        add(base + "/stikproeve.xlsx", f"/kvalitet/runde/{CONCEPT}/{DRAWN_ROUND}/stikproeve.xlsx")
        add(base + "/sag/{case_id}",
            f"/kvalitet/runde/{CONCEPT}/{DRAWN_ROUND}/sag/{own.audit_case}")
    if "complaints" in s:
        add("/klager/registrering")
        add("/klager/registrering/{complaint_id}", f"/klager/registrering/{own.complaint}",
            source=own.complaint_source)
        add("/api/complaints/{complaint_id}", f"/api/complaints/{own.complaint}",
            source=own.complaint_source)
        add("/api/complaints/{complaint_id}/history",
            f"/api/complaints/{own.complaint}/history", source=own.complaint_source)
    if "learning" in s:
        for q in ("afslag", ""):
            add("/borgerkontakt/laering", q=q, period=PERIOD)
    if "targets_form" in s:
        add("/maaltal/nyt")
    if "worklist" in s:
        for liste in ("over-frist", "forfalder"):
            add("/arbejdsliste", liste=liste)
            add("/arbejdsliste", liste=liste, **own_filter(scope))
            for fmt in ("csv", "xlsx"):
                add("/arbejdsliste.{fmt}", f"/arbejdsliste.{fmt}", liste=liste)
        add("/arbejdsliste", liste="over-frist", nye="7")
        add("/arbejdsliste", liste="staar-stille")
        add("/api/proces/stalled")
        add("/proces/sager", variant="1")
        add("/proces/sager", fra="▶", til="modtaget")
    return [v for v in out if may_open(role, v)]


def downloads_on(page: Fetched) -> list[Visit]:
    """The table downloads a page offers (CSV and XLSX of every table)."""
    links = re.findall(r'href="(/download/[^"]+)"', page.content.decode("utf-8"))
    return [Visit(DOWNLOAD_ROUTE, html_lib.unescape(link)) for link in dict.fromkeys(links)]


@dataclass
class Scan:
    answers: list[tuple[Visit, Fetched]] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    own_found: set[str] = field(default_factory=set)


JOB_START = "/rapporter/start"


def job_visits(app, started: Fetched) -> list[Visit]:
    """A report job a scan started: waited for, then its status and its file are read like
    any other answer (by the same user, the only one they are answered to)."""
    job_id = json.loads(started.content)["id"]
    assert app.state.report_jobs.wait(job_id, timeout=120), f"rapportjob {job_id} hang"
    return [Visit("/rapporter/job/{job_id}", f"/rapporter/job/{job_id}"),
            Visit("/rapporter/job/{job_id}/fil", f"/rapporter/job/{job_id}/fil")]


@pytest.fixture(scope="session")
def scan(fetch, markers, own, planted):
    """scan(role, scope) -> Scan: every visit of the role's plan (and the downloads its pages
    offer), with the foreign markers found in each answer; made once per session."""
    done: dict[tuple[str, str], Scan] = {}

    def run(role: str, scope: str) -> Scan:
        if (role, scope) in done:
            return done[(role, scope)]
        m, out = markers[scope], Scan()
        queue, seen = plan(role, scope, own), set()
        while queue:
            v = queue.pop(0)
            if v.shown in seen:
                continue
            seen.add(v.shown)
            got = fetch(role, scope, v)
            out.answers.append((v, got))
            if v.route == JOB_START and got.status == 202:  # a job: its status, then its file
                out.leaks += [f"{v.shown}: {hit}" for hit in m.hits(got.text)]
                queue += job_visits(planted[0], got)
                continue
            if got.status != 200:  # a surface the role may open, unread
                out.failures.append(f"{v.shown}: svarede {got.status} «{got.start}»")
                continue
            out.leaks += [f"{v.shown}: {hit}" for hit in m.hits(got.text)]
            out.own_found |= m.own_hits(got.text)
            if "downloads" in SURFACES[role] and got.kind == "html":
                queue += downloads_on(got)
        done[(role, scope)] = out
        return out

    return run


def report(title: str, lines: list[str], limit: int = 60) -> str:
    more = f"\n… og {len(lines) - limit} flere" if len(lines) > limit else ""
    return f"{title} ({len(lines)}):\n" + "\n".join(lines[:limit]) + more


# -- the detector itself ---------------------------------------------------------------------
def test_the_detector_reads_figures_names_and_ids_in_every_format():
    m = Markers("X", "X (X)", [("kode JCN", re.compile(r"\bJCN\b")),
                               ("navn Jobcenter Nørrebro", re.compile(words("Jobcenter Nørrebro")))],
                {"154.440": "BIF"}, {"KH-2013-000123": "cases, JCN"}, own=[])
    assert m.hits("BIF: 154.440 sager")[0].startswith("tal 154.440 (BIF)")
    assert not m.hits("2154.440 og 154.4401 og 154.440,5 og JCNV og xJCN")
    assert m.hits(csv_text("Enhed;Sager\r\nJCA;154440\r\n".encode("utf-8-sig")))
    assert m.hits(json_text({"rows": [{"unit": "JCA", "value": 154440.0}]}))
    assert m.hits(html_text('<script type="application/json" id="vega-specs">'
                            '[{"antal": 154440}]</script>'))
    assert [h.split(":")[0] for h in m.hits("Jobcenter\nNørrebro (JCN) har KH-2013-000123")] \
        == ["kode JCN", "navn Jobcenter Nørrebro", "id KH-2013-000123 (cases, JCN)"]


# -- the positive control --------------------------------------------------------------------
CONTROL = [Visit("/", "/", (("period", PERIOD),)),
           Visit("/side/{slug}", "/side/sager", (("period", PERIOD),)),
           Visit("/side/{slug}", "/side/sammenligning", (("period", PERIOD),)),
           Visit(DOWNLOAD_ROUTE, "/download/klager/klager.csv", (("period", PERIOD),)),
           Visit("/api/kpi/{kpi_id}", "/api/kpi/cases_received",
                 (("period", PERIOD), ("by", "unit"))),
           Visit("/kvalitet/kalibrering", "/kvalitet/kalibrering",
                 (("concept", CONCEPT), ("round", REVIEWED_ROUNDS[-1]))),
           Visit("/kvalitet/runde/{concept}/{rnd}", f"/kvalitet/runde/{CONCEPT}/{DRAWN_ROUND}"),
           Visit("/borgerkontakt/laering", "/borgerkontakt/laering",
                 (("q", "afslag"), ("period", PERIOD))),
           Visit("/klager/registrering", "/klager/registrering")]


def test_the_markers_are_found_in_what_the_whole_municipality_sees(fetch, markers):
    """The detector can fail: an administrator sees every kind of marker of both scopes, the
    planted centres and their registered complaints included."""
    answers = []
    for v in CONTROL:
        got = fetch("admin", "kommune", v)
        assert got.status == 200, (v.shown, got.status)
        answers.append(got.text)
    for code, m in markers.items():
        assert len(m.figures) >= 10 and len(m.ids) > 1000, m
        hits = [h for text in answers for h in m.hits(text)]
        found = {h.split(" ", 1)[0] for h in hits}
        planted = [u for u in PLANTED if u.administration != code]  # foreign to the scope
        found |= {f"kode {u.code}" for u in planted if any(h.startswith(f"kode {u.code}:")
                                                            for h in hits)}
        found |= {u.registered_id for u in planted if any(u.registered_id in h for h in hits)}
        want = {"kode", "navn", "tal", "id"} | ({"etiket"} if code == CENTRE else set())
        want |= {f"kode {u.code}" for u in planted} | {u.registered_id for u in planted}
        assert want <= found, f"{code}: markørerne {sorted(want - found)} blev ikke fundet"


# -- every route is read ---------------------------------------------------------------------
def test_every_get_route_is_scanned_or_carries_no_data(planted, own):
    app, _ = planted
    assert set(SURFACES) == set(SCOPED_ROLES)
    scanned = {v.route for role, scope in PLANS for v in plan(role, scope, own)}
    scanned |= {DOWNLOAD_ROUTE for role in SURFACES if "downloads" in SURFACES[role]}
    if JOB_START in scanned:  # each report job is followed to its status and file (job_visits)
        scanned |= {"/rapporter/job/{job_id}", "/rapporter/job/{job_id}/fil"}
    missing = []
    for route in api_routes(app):
        if "GET" not in route.methods or route.path in NO_DATA or route.path in scanned:
            continue
        rule = POLICY[("GET", route.path)]
        if not any(p in access.ROLES[r].permissions for r in SCOPED_ROLES for p in rule.perms):
            continue  # no scoped role opens it (the access matrix checks the 403)
        missing.append(route.path)
    assert not missing, f"GET-ruter, som ingen scanning læser: {missing} (tilføj dem i plan)"


# -- the weekly digest -----------------------------------------------------------------------
@pytest.mark.parametrize("scope", SCOPED)
def test_the_digest_holds_no_foreign_data(planted, markers, demo_store, scope):
    """The e-mail a leader of the scope gets (text and HTML): nothing of another unit or
    administration, and the scope's own name and cases."""
    from sagsindsigt import digest

    _, store = planted
    with demo_secret(demo_store), acting_as(SYSTEM):
        who = access.Principal(user_name("leder", scope), "leder",
                               access.resolve(store, scope), "e-mail")
    with demo_secret(demo_store):
        d = digest.compose(store, who, "leder@kk.test", "https://sagsindsigt.kk.test")
    m = markers[scope]
    text = f"{d.subject}\n{d.text}\n{html_text(d.html)}"
    assert not m.hits(text), report(f"fremmede data i ugebrevet til {scope}", m.hits(text))
    assert m.own_hits(text) and d.case_ids and m.label in d.subject


# -- no foreign data -------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "scope"), PLANS, ids=[f"{r}-{s}" for r, s in PLANS])
def test_no_foreign_data_reaches_a_scoped_role(scan, markers, role, scope):
    """Nothing of another unit or administration on any surface the role may open: no code,
    name, case or complaint id or figure of theirs, and no figure under the parent's name."""
    s, m = scan(role, scope), markers[scope]
    assert len(s.answers) > 3, s.answers
    problems = [f"fremmede data: {x}" for x in s.leaks]
    problems += [f"fejl: {x}" for x in s.failures]
    if "pages" in SURFACES[role] and m.own_figure not in s.own_found:
        problems.append(f"områdets eget tal ({m.own_figure}) findes ingen steder: så "
                        "scanningen ingen data?")
    if not s.own_found:
        problems.append(f"intet af områdets eget ({[w for w, _ in m.own]}) blev fundet")
    if "downloads" in SURFACES[role] and not any(v.route == DOWNLOAD_ROUTE
                                                 for v, _ in s.answers):
        problems.append("siderne tilbyder ingen downloads")
    assert not problems, report(f"{user_name(role, scope)} ({len(s.answers)} svar læst)",
                                problems)


# -- the scope is named ----------------------------------------------------------------------
NAMING = [(role, scope) for role in ("leder", "laeser") for scope in SCOPED]
NAMING_IDS = [f"{r}-{s}" for r, s in NAMING]


@pytest.mark.parametrize(("role", "scope"), NAMING, ids=NAMING_IDS)
def test_pages_name_the_scope(scan, markers, role, scope):
    """Every page says whose data it shows, by name with code: "Jobcenter Amager (JCA)"."""
    label = markers[scope].label
    pages = [got for _, got in scan(role, scope).answers
             if got.status == 200 and got.kind == "html"]
    assert pages
    pattern = re.compile(words(label))
    missing = [got.shown for got in pages if not pattern.search(got.visible)]
    assert not missing, report(f"sider uden «{label}» for {user_name(role, scope)}", missing)


@pytest.mark.parametrize(("role", "scope"), NAMING, ids=NAMING_IDS)
def test_reports_name_the_scope_in_their_header(scan, markers, role, scope):
    """A report made by a scoped user says in its header whose figures it holds, and never
    that they are the whole municipality's."""
    label = markers[scope].label
    pattern = re.compile(words(label))
    reports = [(v, got) for v, got in scan(role, scope).answers
               if v.route == "/rapporter/hent"]
    assert len(reports) >= len(REPORT_KINDS) * 2
    problems = []
    for v, got in reports:
        if got.status != 200:
            problems.append(f"{v.shown}: svarede {got.status}")
            continue
        if not pattern.search(got.head):
            head = " ".join(got.head.split())[:160]
            problems.append(f"{v.shown}: «{label}» står ikke i hovedet: «{head}»")
        text = got.visible if got.kind == "html" else got.text
        if m := re.search(r"hele kommunen", text, re.I):
            problems.append(f"{v.shown}: siger «{context(text, m)}»")
    assert not problems, report(f"rapporter for {user_name(role, scope)}", problems)


@pytest.mark.parametrize("scope", SCOPED)
def test_download_file_names_carry_the_scope(scan, scope):
    """A file saved from a scoped user's download says whose it is in its name."""
    files = [(v, got) for v, got in scan("leder", scope).answers
             if got.status == 200 and got.kind in ("csv", "xlsx", "pdf")]
    assert len(files) > 10
    wrong = [f"{v.shown}: {got.filename}" for v, got in files
             if scope not in (got.filename or "")]
    assert not wrong, report(f"filnavne uden {scope}", wrong)


# -- outside the scope -----------------------------------------------------------------------
def outside(scope: str) -> list[Visit]:
    """Requests for data outside the scope, by filter."""
    sof = {"administration": FOREIGN_ADMINISTRATION}
    asks = [("/side/{slug}", "/side/sager", sof | {"period": PERIOD}),
            ("/", "/", sof),
            ("/side/{slug}", "/side/klager", {"administration": ADMINISTRATION,
                                              "unit": FOREIGN_UNIT, "period": PERIOD}),
            (DOWNLOAD_ROUTE, "/download/sager/sager.csv", sof | {"period": PERIOD}),
            ("/api/kpi/{kpi_id}", "/api/kpi/cases_received",
             {"where": f"administration={FOREIGN_ADMINISTRATION}", "period": PERIOD}),
            ("/api/kpi/{kpi_id}", "/api/kpi/complaints_received",
             {"where": f"unit={FOREIGN_UNIT}", "period": PERIOD}),
            ("/rapporter/hent", "/rapporter/hent",
             {"kind": "oekonomiudvalg", "period": PERIOD, "format": "html"} | sof),
            ("/borgerkontakt/laering", "/borgerkontakt/laering", {"q": "afslag"} | sof),
            ("/arbejdsliste", "/arbejdsliste", {"liste": "over-frist"} | sof),
            ("/arbejdsliste.{fmt}", "/arbejdsliste.csv", {"liste": "forfalder"} | sof)]
    if scope == CENTRE:
        sibling = {"administration": ADMINISTRATION, "unit": SIBLING, "period": PERIOD}
        asks += [("/side/{slug}", "/side/sager", sibling),
                 ("/", "/", sibling),
                 (DOWNLOAD_ROUTE, "/download/klager/klager.xlsx", sibling),
                 ("/api/kpi/{kpi_id}", "/api/kpi/cases_received",
                  {"where": f"unit={SIBLING}", "period": PERIOD}),
                 ("/rapporter/hent", "/rapporter/hent",
                  {"kind": "kvartal", "format": "html"} | sibling),
                 ("/arbejdsliste", "/arbejdsliste", {"liste": "forfalder"} | sibling),
                 ("/arbejdsliste.{fmt}", "/arbejdsliste.xlsx", sibling)]
    return [Visit(r, u, tuple(p.items())) for r, u, p in asks]


@pytest.mark.parametrize(("role", "scope"), NAMING, ids=NAMING_IDS)
def test_a_request_outside_the_scope_answers_ingen_adgang(fetch, role, scope):
    """Never a page with "ingen data": a Danish "Ingen adgang" page with the menu (403), and
    a JSON 403 from the API."""
    wrong = []
    for v in outside(scope):
        if not may_open(role, v):
            continue
        got = fetch(role, scope, v)
        if got.status != 403:
            wrong.append(f"{v.shown}: svarede {got.status}, ikke 403")
        elif v.route.startswith("/api/"):
            if got.kind != "json" or "error" not in json.loads(got.content):
                wrong.append(f"{v.shown}: 403 uden JSON-fejl")
        elif v.route != DOWNLOAD_ROUTE:
            page = got.content.decode("utf-8")
            if "Ingen adgang" not in page or '<nav aria-label="Sider"' not in page:
                wrong.append(f"{v.shown}: 403-siden mangler «Ingen adgang» eller menuen")
    assert not wrong, report(f"uden for området, {user_name(role, scope)}", wrong)


# -- forms -----------------------------------------------------------------------------------
def options(page: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of the options of the select called ``name`` (none: not a select)."""
    m = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    if not m:
        return []
    return [(html_lib.unescape(v), " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", t))
                                            .split()))
            for v, t in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>(.*?)</option>',
                                   m.group(1), re.S)]


FORMS = [("registrator", "/klager/registrering"), ("leder", "/rapporter"),
         ("leder", "/maaltal/nyt"), ("leder", "/arbejdsliste")]


@pytest.mark.parametrize("scope", SCOPED)
def test_forms_offer_only_the_own_administrations_and_units(planted, fetch, scope):
    """The complaint form, the report form and the target form offer no administration or
    unit outside the scope, and no "Hele kommunen"."""
    _, store = planted
    with acting_as(SYSTEM):
        s = access.resolve(store, scope)
    admins, units = s.administrations, s.units if s.units is not None else s.member_units
    wrong = []
    for role, url in FORMS:
        got = fetch(role, scope, Visit(url, url))
        assert got.status == 200, (url, got.status)
        page = got.content.decode("utf-8")
        for name, allowed in (("administration", admins), ("unit", units)):
            for value, text in options(page, name):
                if (value and value not in allowed) or "hele kommunen" in text.lower():
                    wrong.append(f"{url} ({role}): {name} tilbyder «{text}» ({value or 'tom'})")
    assert not wrong, report(f"formularer for {scope}", wrong)
