"""Sign-in sessions on the server. The session cookie is signed and names one session; the
session ends at sign-out, when the user gets a new password, or when the user is removed, so
a copied cookie stops working too (within the web layer's one-minute principal cache on
other workers)."""

from __future__ import annotations

import secrets

from . import now as _now


def start(store, name: str, via: str) -> str:
    sid = secrets.token_urlsafe(24)
    store._engine.execute("INSERT INTO sessions (id, name, via, created_at) VALUES (?, ?, ?, ?)",
                         [sid, name, via, _now()])
    return sid


def active(store, sid: str | None, name: str) -> bool:
    if not sid:
        return False
    return bool(store._engine.query("SELECT 1 FROM sessions WHERE id = ? AND name = ? AND "
                                   "ended_at IS NULL", [sid, name]))


def end(store, sid: str) -> None:
    store._engine.execute("UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                         [_now(), sid])


def end_all(store, name: str) -> int:
    n = store._engine.query("SELECT count(*) FROM sessions WHERE name = ? AND ended_at IS NULL",
                           [name])[0][0]
    store._engine.execute("UPDATE sessions SET ended_at = ? WHERE name = ? AND ended_at IS NULL",
                         [_now(), name])
    return n
