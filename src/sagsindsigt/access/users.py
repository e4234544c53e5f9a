"""Users: name, role, scope, an argon2 password hash, and a lock-out after repeated failures.

Passwords are hashed with argon2id (argon2-cffi, the OWASP recommendation); the hash carries
its own parameters, so stronger settings later re-hash at the next sign-in.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..privacy import mask_cpr
from . import KOMMUNE, AccessError, Principal, check_role, resolve, sessions
from . import now as _now

MAX_FAILURES = 5  # failed sign-ins in a row before the account locks
LOCK_MINUTES = 15
REFUSED = (f"Forkert brugernavn eller adgangskode. Efter {MAX_FAILURES} forkerte forsøg i træk "
           f"låses kontoen i {LOCK_MINUTES} minutter; bed en administrator om en ny "
           "adgangskode, hvis du har glemt den.")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# verified against when the user does not exist, so timing does not tell names apart
_DUMMY = _hasher.hash("ingen-bruger-har-denne-adgangskode")


@dataclass
class User:
    name: str
    role: str
    scope: str
    origin: str  # lokal | demo | sso
    failures: int
    locked_until: datetime | None
    created_at: datetime | None
    last_login: datetime | None


class SignInError(AccessError):
    """Wrong name or password, or a locked account (Danish message for the sign-in page)."""


_COLS = "name, role, scope, origin, failures, locked_until, created_at, last_login"


def get(store, name: str) -> User | None:
    rows = store._engine.query(f"SELECT {_COLS} FROM users WHERE name = ?", [name])
    return User(*rows[0]) if rows else None


def all_users(store) -> list[User]:
    return [User(*r) for r in store._engine.query(f"SELECT {_COLS} FROM users ORDER BY name")]


def scoped_codes(store) -> set[str]:
    """The scopes users and API tokens of the roles that read a scope of their own have."""
    return {r[0] for t in ("users", "api_tokens") for r in store._engine.query(
        f"SELECT DISTINCT scope FROM {t} WHERE role NOT IN ('admin', 'analytiker')") if r[0]}


def add(store, name: str, role: str, scope: str | None, password: str | None,
        origin: str = "lokal") -> User:
    """A new user. ``password`` None: the user can only sign in through SSO."""
    name = (name or "").strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise AccessError("Brugernavnet skal være ét ord uden mellemrum (højst 100 tegn).")
    if mask_cpr(name) != name:
        raise AccessError("Et brugernavn må ikke ligne et cpr-nummer.")
    check_role(role)
    scope = scope or KOMMUNE
    resolve(store, scope)  # an unknown scope is refused now, not at the first sign-in
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccessError(f"Adgangskoden skal have mindst {MIN_PASSWORD} tegn.")
    if get(store, name) is not None:
        raise AccessError(f"Brugeren '{name}' findes allerede.")
    h = _hasher.hash(password) if password is not None else None
    store._engine.execute(
        "INSERT INTO users (name, role, scope, password_hash, origin, failures, created_at) "
        "VALUES (?, ?, ?, ?, ?, 0, ?)", [name, role, scope, h, origin, _now()])
    return get(store, name)


def remove(store, name: str) -> None:
    if get(store, name) is None:
        raise AccessError(f"Brugeren '{name}' findes ikke.")
    store._engine.execute("DELETE FROM users WHERE name = ?", [name])
    sessions.end_all(store, name)


def set_password(store, name: str, password: str) -> None:
    if get(store, name) is None:
        raise AccessError(f"Brugeren '{name}' findes ikke.")
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"Adgangskoden skal have mindst {MIN_PASSWORD} tegn.")
    store._engine.execute("UPDATE users SET password_hash = ?, failures = 0, locked_until = NULL "
                         "WHERE name = ?", [_hasher.hash(password), name])
    sessions.end_all(store, name)  # signed in elsewhere with the old password: not any more


def authenticate(store, name: str, password: str, now: datetime | None = None) -> Principal:
    """The principal for a name and password, or :class:`SignInError`. Every failure counts;
    after ``MAX_FAILURES`` in a row the account is locked for ``LOCK_MINUTES`` minutes (also
    against the right password), so guessing is slow. Every refusal says the same (:data:`
    REFUSED`) and takes as long, for a name that exists or not, locked or not: the answer
    never tells whether an account exists."""
    now = now or _now()
    rows = store._engine.query("SELECT password_hash, failures, locked_until, role, scope "
                              "FROM users WHERE name = ?", [name])
    if not rows:
        _verify(_DUMMY, password)  # as slow as for a real account
        raise SignInError(REFUSED)
    h, failures, locked_until, role, scope = rows[0]
    if locked_until is not None and locked_until > now:
        _verify(_DUMMY, password)
        raise SignInError(REFUSED)
    if h is None or not _verify(h, password):
        failures = (failures or 0) + 1
        until = now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
        store._engine.execute("UPDATE users SET failures = ?, locked_until = ? WHERE name = ?",
                             [0 if until else failures, until, name])
        raise SignInError(REFUSED)
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(h) else h
    store._engine.execute("UPDATE users SET failures = 0, locked_until = NULL, last_login = ?, "
                         "password_hash = ? WHERE name = ?", [now, new_hash, name])
    return principal(store, name, role, scope, "adgangskode")


def principal(store, name: str, role: str, scope: str, via: str) -> Principal:
    return Principal(name, role, resolve(store, scope), via)


def demo_password(secret: bytes, name: str) -> str:
    """The demo users' passwords: derived from the store's key, so the demo prints them at
    every start without keeping them in clear."""
    return "demo-" + hmac.new(secret, b"demo-user:" + name.encode(), "sha256").hexdigest()[:12]


def _verify(h: str, password: str) -> bool:
    try:
        return _hasher.verify(h, password)
    except (VerificationError, InvalidHashError):
        return False
