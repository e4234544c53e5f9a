"""Sign-in through OpenID Connect (SSO), e.g. the municipality's Entra ID.

The authorization code flow with PKCE (S256), run by Authlib's Starlette client: state,
nonce and the PKCE verifier are kept in the signed session between ``/login/sso`` and the
provider's answer at ``/login/sso/svar``. The ID token's signature (the provider's JWKS),
issuer, audience, expiry and nonce are checked by Authlib; its claims are then mapped to
name, role and scope by :func:`sagsindsigt.access.oidc.map_claims`. Every answer is a page
in Danish: an error never shows a traceback. Included only when ``oidc_issuer`` is set.
"""

from __future__ import annotations

import logging

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from .. import access
from ..access import Principal, oidc, users
from .access import csrf_token, safe_next, sign_in

log = logging.getLogger(__name__)
NEXT = "sso_next"  # the session key of the page to return to
SCOPES = "openid profile email"
UNREACHABLE = "Kommunens log ind svarer ikke lige nu; prøv igen om lidt, eller log ind med " \
              "brugernavn og adgangskode."
EXPIRED = "Log ind-forsøget er udløbet eller kom ikke fra Sagsindsigt; prøv igen."
REFUSED = "Kommunens log ind afviste forsøget; prøv igen, eller kontakt en administrator."
INVALID = "Svaret fra kommunens log ind kunne ikke godkendes; prøv igen, eller kontakt en " \
          "administrator."


def client_for(settings):
    """The Authlib client of the configured provider (discovery is read at first use)."""
    secret = settings.oidc_client_secret
    oauth = OAuth()
    return oauth.register(
        "sso", client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256"})


def router(trust, templates, settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    client = client_for(settings)
    store, fig = trust.fig.store, trust.fig

    def page(request: Request, error: str, status: int, nxt: str = "/") -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {
            "next": nxt, "error": error, "name": "", "csrf": csrf_token(request),
            "sso": True}, status_code=status)

    def address(request: Request) -> str | None:
        return request.client.host if request.client else None

    def refused(request: Request, name: str, why: str) -> None:
        who = Principal(name[:100] or "?", "laeser", access.NOTHING, "sso")
        trust.log("log ind", why, {}, "afvist", who, address(request))

    @r.get("/login/sso", name="sso_start")
    async def start(request: Request, next: str | None = None):
        request.session[NEXT] = safe_next(next)
        redirect_uri = str(request.url_for("sso_answer"))
        try:
            return await client.authorize_redirect(request, redirect_uri)
        except Exception:  # discovery failed: the provider is down or misconfigured
            log.exception("SSO: the provider's discovery document could not be read")
            return page(request, UNREACHABLE, 503, safe_next(next))

    @r.get("/login/sso/svar", name="sso_answer")
    async def answer(request: Request):
        nxt = safe_next(request.session.get(NEXT))
        try:
            token = await client.authorize_access_token(request)
        except MismatchingStateError:
            await run_in_threadpool(refused, request, "?", "ukendt eller udløbet state")
            return page(request, EXPIRED, 400, nxt)
        except OAuthError as exc:  # the provider refused (error=…) or its token endpoint did
            log.warning("SSO refused: %s", exc)
            await run_in_threadpool(refused, request, "?", f"udbyderen afviste: {exc.error}")
            return page(request, REFUSED, 401, nxt)
        except (AuthlibBaseError, JoseError, ValueError) as exc:  # a bad ID token
            log.warning("SSO: the ID token was refused: %r", exc)
            await run_in_threadpool(refused, request, "?", "ugyldigt ID-token")
            return page(request, INVALID, 401, nxt)
        except Exception:  # the provider could not be reached, or answered nonsense
            log.exception("SSO: the token request failed")
            return page(request, UNREACHABLE, 503, nxt)
        claims = token.get("userinfo")
        if not claims:  # no ID token (or no nonce to check it by): never sign in on that
            await run_in_threadpool(refused, request, "?", "intet ID-token")
            return page(request, INVALID, 401, nxt)

        def principal():
            with fig.lock:
                name, role, scope = oidc.map_claims(claims, settings, store)
                return users.principal(store, name, role, scope, "sso")

        try:
            p = await run_in_threadpool(principal)
        except access.AccessError as exc:
            name = next((str(claims[k]) for k in oidc.NAME_CLAIMS if claims.get(k)), "?")
            await run_in_threadpool(refused, request, name, "ingen rolle")
            return page(request, str(exc), 401, nxt)
        sign_in(request, p.name, "sso", p.role, p.scope.code)
        await run_in_threadpool(trust.log, "log ind", "", {}, "ok", p, address(request))
        return RedirectResponse(nxt, status_code=303)

    return r
