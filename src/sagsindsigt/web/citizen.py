"""The citizens' page ``/borger/sagsbehandlingstider`` and its open data under ``/api/open/``
(issue 18): public (no sign-in), the same for everybody, computed as the public principal
(:data:`sagsindsigt.citizen.PUBLIC`) whoever asks, and cached: the figures until the cases or
case types change, the page without a search and its embed as rendered bytes.

The store's data versions are looked at most once a second here (a public page a second
behind an import is fine), so a request for a cached page does no database work at all.
"""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from .. import citizen as core
from ..access import acting_as
from ..danish import long_date, number
from ..present import open_data
from .pages import Figures

PATH = "/borger/sagsbehandlingstider"
OPEN = "/api/open/sagsbehandlingstider"
MAX_SEARCH = 100
CACHE = "public, max-age=300"
REFRESH_EVERY = 1.0  # seconds between looks at the store's data versions


class Public:
    """The public figures and files over the app's figure cache."""

    def __init__(self, fig: Figures, settings):
        self.fig, self.settings = fig, settings
        self._checked = 0.0
        self._lock = threading.Lock()
        freq = settings.open_data_frequency.upper()
        if freq not in open_data.FREQUENCIES:
            raise ValueError(f"SAGSINDSIGT_OPEN_DATA_FREQUENCY skal være en af "
                             f"{', '.join(open_data.FREQUENCIES)}, ikke '{freq}'.")
        base = settings.base_url.rstrip("/")
        self.publication = open_data.Publication(f"{base}/api/open", f"{base}{PATH}",
                                                 settings.open_data_licence, freq)

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < REFRESH_EVERY:
            return
        with self._lock:
            if now - self._checked >= REFRESH_EVERY:
                self.fig.refresh()
                self._checked = time.monotonic()

    def memo(self, key: tuple, make):
        """A value of the public figures, cached like every page's (keyed as PUBLIC)."""
        self.refresh()
        with acting_as(core.PUBLIC):
            return self.fig.memo(("citizen", *key), make)

    def figures(self) -> core.CitizenFigures:
        def make():
            with self.fig.lock:
                return core.figures(self.fig.store, self.fig.get,
                                    self.settings.citizen_withheld,
                                    self.settings.citizen_unit_figures)

        return self.memo(("figures",), make)

    def file(self, kind: str) -> bytes:
        def make():
            data = self.figures()
            return {"json": open_data.json_bytes, "csv": lambda d, _: open_data.csv_file(d),
                    "jsonld": open_data.dcat_bytes}[kind](data, self.publication)

        return self.memo(("file", kind), make)


def search_terms(q: str | None) -> str:
    """The search text, checked: at most 100 characters (a Danish 400 otherwise)."""
    q = (q or "").strip()
    if len(q) > MAX_SEARCH:
        raise HTTPException(400, f"Søgningen må højst være {MAX_SEARCH} tegn.")
    return q


def embedded(embed: str | None) -> bool:
    if embed in (None, "", "0"):
        return False
    if embed == "1":
        return True
    raise HTTPException(400, "Parameteren 'embed' kan kun være 1 (til indlejring) eller 0.")


def matches(r: core.Figure, q: str) -> bool:
    """Whether a row answers a search: every word in its name, legal basis or code."""
    text = f"{r.name} {r.legal_basis or ''} {r.case_type}".lower()
    return all(w in text for w in q.lower().split())


def router(fig: Figures, templates, settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    public = Public(fig, settings)
    r.public = public  # the app's warm-up computes the figures first

    def render(q: str, embed: bool) -> bytes:
        data = public.figures()
        groups = []
        for admin, name, rows in data.administrations():
            shown = [x for x in rows if matches(x, q)] if q else rows
            if shown:
                groups.append((admin, name, shown))
        return templates.get_template("citizen.html").render({
            "data": data, "groups": groups, "q": q, "embed": embed,
            "count": sum(len(g[2]) for g in groups), "total": len(data.rows),
            "min_cases": core.MIN_CASES, "window_months": core.WINDOW_MONTHS,
            "long_date": long_date, "number": number, "too_few": core.TOO_FEW,
            "files": open_data.FILES, "open": OPEN.rsplit("/", 1)[0], "path": PATH,
        }).encode("utf-8")

    @r.get(PATH, response_class=HTMLResponse)
    async def citizen_page(request: Request, q: str | None = None, embed: str | None = None):
        terms, inside = search_terms(q), embedded(embed)
        if terms:  # a search is rendered from the cached figures, never kept: any number of
            # different searches must not push the dashboard's figures out of the cache
            body = await run_in_threadpool(render, terms, inside)
        else:
            body = await run_in_threadpool(
                public.memo, ("page", inside), lambda: render("", inside))
        return HTMLResponse(body, headers={"Cache-Control": CACHE})

    def open_file(kind: str):
        async def serve() -> Response:
            body = await run_in_threadpool(public.file, kind)
            return Response(body, media_type=open_data.MEDIA[kind], headers={
                "Cache-Control": CACHE, "Access-Control-Allow-Origin": "*",
                "Content-Disposition": f'inline; filename="{open_data.FILES[kind]}"'})
        return serve

    for kind in ("json", "csv", "jsonld"):
        r.add_api_route(f"{OPEN}.{kind}", open_file(kind), methods=["GET"],
                        name=f"open_data_{kind}")
    return r


__all__ = ["OPEN", "PATH", "Public", "embedded", "matches", "router", "search_terms"]
