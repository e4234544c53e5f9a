"""SSO through OpenID Connect: a small provider written here, served on loopback next to
the app, and the whole code flow (PKCE, state, nonce, RS256 ID token) driven by httpx
across both servers; plus the claim mapping rule on its own."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from contextlib import closing
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from sagsindsigt.access import AccessError, access_log, oidc
from sagsindsigt.web import create_app

from .conftest import serving

pytestmark = pytest.mark.xdist_group("demo")

CLIENT_ID = "sagsindsigt-test"
CLIENT_SECRET = "hemmelig-klient-noegle"
GROUPS = {"grp-leder-bif": "leder:BIF", "grp-analyse": "analytiker",
          "grp-laeser-jca": "laeser:JCA"}


class Provider:
    """An OpenID provider just big enough for the code flow: discovery, JWKS, an
    /authorize that approves ``self.user`` at once, and a /token that checks the code, the
    PKCE verifier and the client secret. ``self.mode`` spoils the ID token on purpose."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.issuer = ""
        self.user: dict = {}
        self.mode = "ok"
        self.codes: dict[str, dict] = {}
        self.app = self._app()

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return {"issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                    "token_endpoint": self.issuer + "/token",
                    "jwks_uri": self.issuer + "/jwks", "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"]}

        @app.get("/jwks")
        def jwks():
            return KeySet([self.key]).as_dict(private=False)

        @app.get("/authorize")
        def authorize(request: Request):
            q = request.query_params
            assert q["client_id"] == CLIENT_ID and q["response_type"] == "code"
            assert "openid" in q["scope"].split()
            assert q["code_challenge_method"] == "S256"
            if self.mode == "deny":
                return RedirectResponse(q["redirect_uri"] + "?" + urlencode(
                    {"error": "access_denied", "state": q["state"]}), status_code=302)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": q.get("nonce"), "challenge": q["code_challenge"],
                                "redirect_uri": q["redirect_uri"]}
            return RedirectResponse(q["redirect_uri"] + "?" + urlencode(
                {"code": code, "state": q["state"]}), status_code=302)

        @app.post("/token")
        def token(request: Request, grant_type: str = Form(), code: str = Form(),
                  redirect_uri: str = Form(), code_verifier: str = Form(""),
                  client_id: str = Form(""), client_secret: str = Form("")):
            auth = request.headers.get("authorization", "")
            if auth.startswith("Basic "):
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(code, None)
            if grant_type != "authorization_code" or grant is None or \
                    grant["redirect_uri"] != redirect_uri:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant",
                                     "error_description": "PKCE"}, status_code=400)
            now = int(time.time())
            claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], **self.user}
            key = self.key
            if self.mode == "nonce":
                claims["nonce"] = "en-anden-nonce"
            elif self.mode == "audience":
                claims["aud"] = "en-anden-app"
            elif self.mode == "signature":
                key = self.other
            elif self.mode == "expired":
                claims.update(iat=now - 7200, exp=now - 3600)
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
            return {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                    "expires_in": 300, "id_token": id_token}

        return app


@pytest.fixture(scope="module")
def provider():
    p = Provider()
    with serving(p.app) as url:
        p.issuer = url
        yield p


@pytest.fixture
def site(provider, demo_store, monkeypatch):
    """The app over the demo store with SSO against the provider, served on loopback."""
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))
    monkeypatch.setenv("SAGSINDSIGT_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("SAGSINDSIGT_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SAGSINDSIGT_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SAGSINDSIGT_OIDC_GROUPS", json.dumps(GROUPS))
    provider.mode, provider.user = "ok", {}
    app = create_app(demo_store, warm=False, auth=True, secure_cookies=False)
    with serving(app) as url:
        yield url


def browser() -> httpx.Client:
    return httpx.Client(follow_redirects=True, timeout=60,
                        headers={"accept": "text/html"})


def sign_in(provider, site, user: dict, mode: str = "ok", nxt: str = "/") -> tuple:
    provider.user, provider.mode = user, mode
    c = browser()
    r = c.get(f"{site}/login/sso", params={"next": nxt})
    return c, r


def signed_out(c: httpx.Client, site: str) -> bool:
    r = c.get(f"{site}/")
    return urlsplit(str(r.url)).path == "/login"


def test_login_page_offers_sso(site):
    r = httpx.get(f"{site}/login")
    assert r.status_code == 200 and "/login/sso?next=" in r.text


def test_a_leder_of_bif_signs_in_through_sso(provider, site, demo_store):
    user = {"sub": "s-1", "preferred_username": "lene@kommune.dk",
            "groups": ["grp-ukendt", "grp-leder-bif"]}
    c, r = sign_in(provider, site, user, nxt="/?period=2014")
    with closing(c):
        assert r.status_code == 200, r.text[:500]
        assert urlsplit(str(r.url)).path == "/" and r.url.params.get("period") == "2014"
        assert [h.status_code for h in r.history] == [302, 302, 303]
        assert "lene@kommune.dk · Leder" in r.text
        assert "Log ud" in r.text
        assert c.get(f"{site}/").status_code == 200
    entries = access_log.entries(demo_store, "lene@kommune.dk", "log ind")
    assert entries and entries[0].outcome == "ok" and entries[0].via == "sso"
    assert (entries[0].role, entries[0].scope) == ("leder", "BIF")


def test_the_most_powerful_group_wins(provider, site):
    user = {"sub": "s-2", "upn": "anna@kommune.dk", "groups": ["grp-laeser-jca", "grp-analyse"]}
    c, r = sign_in(provider, site, user)
    with closing(c):
        assert r.status_code == 200 and "anna@kommune.dk · Analytiker" in r.text


def test_an_unmapped_group_is_refused_without_a_session(provider, site, demo_store):
    user = {"sub": "s-3", "preferred_username": "ole@kommune.dk", "groups": ["grp-ukendt"]}
    c, r = sign_in(provider, site, user)
    with closing(c):
        assert r.status_code == 401
        assert oidc.UNMAPPED in r.text
        assert "Traceback" not in r.text
        assert signed_out(c, site)
    entries = access_log.entries(demo_store, "ole@kommune.dk", "log ind")
    assert entries and entries[0].outcome == "afvist"


@pytest.mark.parametrize("mode", ["nonce", "audience", "signature", "expired"])
def test_a_spoilt_id_token_is_refused(provider, site, mode):
    user = {"sub": "s-4", "preferred_username": "lene@kommune.dk", "groups": ["grp-leder-bif"]}
    c, r = sign_in(provider, site, user, mode=mode)
    with closing(c):
        assert r.status_code == 401
        assert "Svaret fra kommunens log ind kunne ikke godkendes" in r.text
        assert signed_out(c, site)


def test_the_provider_refusing_is_a_danish_page(provider, site):
    c, r = sign_in(provider, site, {"sub": "s-5"}, mode="deny")
    with closing(c):
        assert r.status_code == 401 and "Kommunens log ind afviste forsøget" in r.text
        assert signed_out(c, site)


def test_an_answer_without_our_state_is_refused(provider, site):
    with browser() as c:
        r = c.get(f"{site}/login/sso/svar", params={"code": "x", "state": "fremmed"})
        assert r.status_code == 400 and "Log ind-forsøget er udløbet" in r.text
        assert signed_out(c, site)


def test_a_replayed_answer_is_refused(provider, site):
    provider.user = {"sub": "s-6", "preferred_username": "lene@kommune.dk",
                     "groups": ["grp-leder-bif"]}
    with httpx.Client(follow_redirects=False, timeout=60) as c:
        to_provider = c.get(f"{site}/login/sso").headers["location"]
        back = c.get(to_provider).headers["location"]
        assert c.get(back).status_code == 303  # signed in
        assert c.get(back).status_code == 400  # the same state and code again


@pytest.mark.parametrize("nxt", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_next_stays_on_the_site(provider, site, nxt):
    user = {"sub": "s-7", "preferred_username": "lene@kommune.dk", "groups": ["grp-leder-bif"]}
    c, r = sign_in(provider, site, user, nxt=nxt)
    with closing(c):
        assert r.status_code == 200 and str(r.url).rstrip("/") == site


def test_sso_routes_are_absent_without_an_issuer(demo_store, monkeypatch):
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))
    monkeypatch.delenv("SAGSINDSIGT_OIDC_ISSUER", raising=False)
    app = create_app(demo_store, warm=False, auth=True, secure_cookies=False)
    assert "/login/sso" not in {getattr(r, "path", "") for r in app.routes}


# -- the mapping rule -------------------------------------------------------------------

def settings(groups=None, claim="groups"):
    return SimpleNamespace(oidc_groups=GROUPS if groups is None else groups,
                           oidc_group_claim=claim)


def test_map_claims_takes_the_name_from_the_first_claim_present():
    s = settings()
    assert oidc.map_claims({"sub": "x", "email": "e@k.dk", "groups": ["grp-analyse"]}, s)[0] \
        == "e@k.dk"
    assert oidc.map_claims({"sub": "x", "upn": "u@k.dk", "email": "e@k.dk",
                            "groups": ["grp-analyse"]}, s)[0] == "u@k.dk"
    assert oidc.map_claims({"sub": "x", "groups": ["grp-analyse"]}, s)[0] == "x"
    with pytest.raises(AccessError):
        oidc.map_claims({"groups": ["grp-analyse"]}, s)


def test_map_claims_maps_groups_to_role_and_scope():
    s = settings()
    assert oidc.map_claims({"sub": "x", "groups": ["grp-leder-bif"]}, s) == ("x", "leder", "BIF")
    assert oidc.map_claims({"sub": "x", "groups": "grp-analyse"}, s) == \
        ("x", "analytiker", "kommune")
    assert oidc.map_claims({"sub": "x", "groups": ["grp-laeser-jca", "grp-leder-bif"]}, s) == \
        ("x", "leder", "BIF")


def test_map_claims_among_equal_roles_the_first_configured_wins():
    s = settings({"b": "leder:SOF", "a": "leder:BIF"})
    assert oidc.map_claims({"sub": "x", "groups": ["a", "b"]}, s)[1:] == ("leder", "SOF")


def test_map_claims_reads_the_configured_claim():
    s = settings(claim="roles")
    assert oidc.map_claims({"sub": "x", "roles": ["grp-analyse"], "groups": []}, s)[1] == \
        "analytiker"


def test_map_claims_refuses_without_a_mapped_group():
    with pytest.raises(AccessError, match="ikke tildelt en rolle"):
        oidc.map_claims({"sub": "x", "groups": ["grp-ukendt"]}, settings())
    with pytest.raises(AccessError, match="ikke tildelt en rolle"):
        oidc.map_claims({"sub": "x"}, settings())


def test_map_claims_refuses_a_bad_mapping(demo_store):
    with pytest.raises(AccessError, match="Ukendt rolle"):
        oidc.map_claims({"sub": "x", "groups": ["g"]}, settings({"g": "chef:BIF"}))
    with pytest.raises(AccessError, match="findes ikke"):
        oidc.map_claims({"sub": "x", "groups": ["g"]}, settings({"g": "leder:XYZ"}), demo_store)
    assert oidc.map_claims({"sub": "x", "groups": ["g"]}, settings({"g": "leder:JCA"}),
                           demo_store)[2] == "JCA"
