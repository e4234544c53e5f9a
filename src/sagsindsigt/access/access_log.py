"""The access log (adgangslog): who saw or downloaded which case-level data or report, when,
with which filters, and who changed what. Append-only: this module only inserts and reads; on
PostgreSQL a trigger refuses UPDATE and DELETE of its rows (see the migrations). Not to be
confused with the quality audits (``sagsindsigt.audits``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..privacy import mask_cpr
from . import Principal, current


@dataclass
class Entry:
    id: str
    logged_at: datetime
    actor: str
    role: str
    scope: str
    via: str
    action: str
    object: str
    filters: str
    outcome: str
    address: str | None


_COLS = "id, logged_at, actor, role, scope, via, action, object, filters, outcome, address"


def append(store, action: str, object: str = "", filters: dict[str, Any] | None = None,
           outcome: str = "ok", who: Principal | None = None,
           address: str | None = None) -> None:
    """One entry. CPR-shaped numbers in the actor (a failed sign-in's typed name), the object
    or the filters are masked like everywhere: the log keeps them forever."""
    p = who or current()
    text = json.dumps({k: v for k, v in (filters or {}).items() if v not in (None, "", [])},
                      ensure_ascii=False, sort_keys=True, default=str)
    store._engine.execute(
        f"INSERT INTO access_log ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [uuid.uuid4().hex, datetime.now(), mask_cpr(p.name), p.role, p.scope.code, p.via,
         action, mask_cpr(object), mask_cpr(text), outcome, address])


def entries(store, actor: str | None = None, action: str | None = None,
            since: datetime | None = None, limit: int = 200) -> list[Entry]:
    sql, params = f"SELECT {_COLS} FROM access_log WHERE 1=1", []
    if actor:
        sql += " AND actor = ?"
        params.append(actor)
    if action:
        sql += " AND action LIKE ?"
        params.append(action + "%")
    if since:
        sql += " AND logged_at >= ?"
        params.append(since)
    sql += f" ORDER BY logged_at DESC, id LIMIT {int(limit)}"
    return [Entry(*r) for r in store._engine.query(sql, params)]
