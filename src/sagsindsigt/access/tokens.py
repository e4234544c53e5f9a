"""API tokens for machines (the nightly import job, BI tools): ``Authorization: Bearer …``.

A token is ``ssi_<id>_<secret>``; only a SHA-256 of the secret is stored (a 256-bit random
secret needs no slow hash), it is shown once, can be revoked, and records when it was last
used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import KOMMUNE, AccessError, Principal, check_role, resolve
from . import now as _now

PREFIX = "ssi_"
_TOUCH = timedelta(minutes=1)  # last_used is written at most once a minute per token


@dataclass
class Token:
    id: str
    name: str
    role: str
    scope: str
    created_at: datetime | None
    created_by: str | None
    last_used: datetime | None
    revoked_at: datetime | None


_COLS = "id, name, role, scope, created_at, created_by, last_used, revoked_at"


def create(store, name: str, role: str, scope: str | None, created_by: str = "system") -> str:
    """A new token; returns it in clear (the only time it is shown)."""
    name = (name or "").strip()
    if not name:
        raise AccessError("Nøglen skal have et navn, fx 'natligt-import'.")
    check_role(role)
    scope = scope or KOMMUNE
    resolve(store, scope)
    if store._engine.query("SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL",
                          [name]):
        raise AccessError(f"Der findes allerede en gyldig nøgle med navnet '{name}'.")
    tid, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    store._engine.execute(
        "INSERT INTO api_tokens (id, name, role, scope, token_hash, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", [tid, name, role, scope, _hash(secret), _now(),
                                         created_by])
    return f"{PREFIX}{tid}_{secret}"


def all_tokens(store) -> list[Token]:
    return [Token(*r) for r in store._engine.query(
        f"SELECT {_COLS} FROM api_tokens ORDER BY created_at, name")]


def revoke(store, name: str) -> int:
    rows = store._engine.query("SELECT count(*) FROM api_tokens WHERE (name = ? OR id = ?) "
                              "AND revoked_at IS NULL", [name, name])
    if not rows[0][0]:
        raise AccessError(f"Der er ingen gyldig nøgle ved navn '{name}'.")
    store._engine.execute("UPDATE api_tokens SET revoked_at = ? WHERE (name = ? OR id = ?) "
                         "AND revoked_at IS NULL", [_now(), name, name])
    return rows[0][0]


def authenticate(store, token: str, now: datetime | None = None) -> Principal | None:
    """The principal of a valid token, or None (unknown, malformed or revoked)."""
    if not token.startswith(PREFIX) or token.count("_") < 2:
        return None
    tid, secret = token[len(PREFIX):].split("_", 1)
    rows = store._engine.query("SELECT token_hash, name, role, scope, last_used FROM api_tokens "
                              "WHERE id = ? AND revoked_at IS NULL", [tid])
    if not rows or not hmac.compare_digest(rows[0][0], _hash(secret)):
        return None
    h, name, role, scope, last_used = rows[0]
    now = now or _now()
    if last_used is None or now - last_used >= _TOUCH:
        store._engine.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", [now, tid])
    return Principal(f"token:{name}", role, resolve(store, scope), "token")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
