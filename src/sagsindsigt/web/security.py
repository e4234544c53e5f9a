"""What every request and response passes, whatever the route: request size and parameter
sanity checked before anything reaches a route (let alone a query), and security headers on
every answer.

* A request whose path or query carries a control character (a NUL byte, a line break) is
  refused with a Danish 400: such a value never has a meaning here, and must never reach SQL.
* A body larger than ``max_body`` bytes is refused with 413 (``Content-Length``, or counted
  while it streams). File uploads (the import API, a reviewer's answer file) have their own,
  larger limit where they are read.
* Every answer carries a Content-Security-Policy (scripts only from this site, no inline
  script, no eval: the charts use Vega's expression interpreter), ``frame-ancestors 'none'``
  and ``X-Frame-Options``, ``nosniff``, a ``Referrer-Policy``, and over HTTPS
  ``Strict-Transport-Security``. The API documentation (/docs) is Swagger UI, whose start-up
  script is inline: that one page allows it. The citizens' page may be shown in a frame by the
  sites ``Settings.embed_origins`` names (``frame-ancestors``; no ``X-Frame-Options``).
"""

from __future__ import annotations

import json
import re
from html import escape
from urllib.parse import unquote

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
CSP_DOCS = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
HSTS = (b"strict-transport-security", b"max-age=31536000")
# pages another site may show in a frame (the citizens' page, ?embed=1): their CSP names the
# sites allowed (Settings.embed_origins) and they carry no X-Frame-Options
EMBEDDABLE = frozenset({"/borger/sagsbehandlingstider"})
ORIGINS = re.compile(r"^(\*|'none'|'self'|[A-Za-z0-9*.:/\-]+)( ('self'|[A-Za-z0-9*.:/\-]+))*$")
UPLOADS = re.compile(r"^/(api/import/[^/]+|kvalitet/runde/[^/]+/[^/]+/import)$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Hardened:
    """ASGI middleware, outermost: it answers a bad request before sessions, sign-in or a
    route see it."""

    def __init__(self, app, max_body: int, embed_origins: str = "'none'"):
        self.app, self.max_body = app, max_body
        if not ORIGINS.match(embed_origins.strip()):
            raise ValueError("SAGSINDSIGT_EMBED_ORIGINS skal være '*' eller adresser adskilt af "
                             "mellemrum, fx 'https://www.kk.dk'.")
        self.embed_csp = CSP.replace("frame-ancestors 'none'",
                                     f"frame-ancestors {embed_origins.strip()}").encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        query = scope.get("query_string", b"").decode("latin-1")
        if CONTROL.search(path) or CONTROL.search(unquote(query)):
            return await _refuse(scope, send, 400, "Ugyldig forespørgsel",
                                 "Adressen indeholder et tegn, der ikke hører hjemme i en "
                                 "adresse (fx et nul-tegn eller et linjeskift).")
        if not UPLOADS.match(path):
            length = dict(scope.get("headers", [])).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body:
                return await _refuse(scope, send, 413, "For stor forespørgsel",
                                     _too_big(self.max_body))
            receive = await _buffered(receive, self.max_body)
            if receive is None:
                return await _refuse(scope, send, 413, "For stor forespørgsel",
                                     _too_big(self.max_body))
        secure = scope.get("scheme") == "https"
        embeddable = path in EMBEDDABLE
        csp = self.embed_csp if embeddable else (CSP_DOCS if path == "/docs" else CSP).encode()
        extra = [h for h in HEADERS if h[0] != b"x-frame-options"] if embeddable else HEADERS

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", csp), *extra]
                if secure:
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _too_big(limit: int) -> str:
    return f"Forespørgslen er større end de tilladte {limit // 1024} kB."


async def _buffered(receive, limit: int):
    """The whole body read up front (at most ``limit`` bytes: a form or a JSON document),
    replayed to the app; None when it is larger."""
    chunks, seen, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        seen += len(chunks[-1])
        if seen > limit:
            return None
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(scope, send, status: int, title: str, text: str) -> None:
    """A Danish answer: JSON for the API (and clients that do not ask for HTML), else a small
    page."""
    headers = dict(scope.get("headers", []))
    api = scope.get("path", "").startswith(("/api/", "/kvalitet/api/")) or \
        b"text/html" not in headers.get(b"accept", b"text/html")
    if api:
        body = json.dumps({"error": f"{title}: {text}"}, ensure_ascii=False).encode()
        kind = b"application/json"
    else:
        body = ("<!doctype html><html lang=\"da\"><head><meta charset=\"utf-8\"><title>"
                f"{escape(title)}</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
                f"</head><body><main><h1>{escape(title)}</h1><p>{escape(text)}</p>"
                "<p><a href=\"/\">Til forsiden</a></p></main></body></html>").encode()
        kind = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            (b"content-security-policy", CSP.encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["CSP", "Hardened"]
