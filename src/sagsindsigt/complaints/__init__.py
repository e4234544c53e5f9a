"""Complaint registration: the one module every administration uses to register and correct
complaints by hand (the web form and ``/api/complaints``).

A registration is validated by exactly the importer's rules for the ``complaints`` kind
(:func:`sagsindsigt.ingest.validate.validate`: required fields, code lists, a unit known to a
loaded organisation, dates in order and not in the future, CPR-shaped numbers masked in free
text) and written as a versioned record through the store, as a batch of one row. Nothing is
overwritten: a correction adds version n+1, and :func:`history` shows every version with who,
when and what changed.

Writers take a lock: a process-wide lock per store (DuckDB allows one writing process, and the
web app shares one connection between threads), plus a PostgreSQL advisory lock inside the
transaction, so that several app processes on one PostgreSQL database also take turns.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from ..contract import KINDS
from ..contract.kinds import BOOL, CODES, DATE
from ..ingest import _known, _stage, secret_for
from ..ingest.mapping import Mapping
from ..ingest.privacy import mask_cpr
from ..ingest.read import ROW
from ..ingest.validate import validate
from ..settings import Settings

KIND = KINDS["complaints"]
SOURCE = "registrering"  # the source of complaints registered in the app
LOG_TABLE = "complaint_registrations"
LOG_COLUMNS = [("_source", "VARCHAR"), ("complaint_id", "VARCHAR"), ("version", "BIGINT"),
               ("batch", "BIGINT"), ("action", "VARCHAR"), ("registered_by", "VARCHAR"),
               ("registered_at", "TIMESTAMP"), ("changes", "VARCHAR")]
PG_LOCK_KEY = 5_240_001  # advisory lock id for complaint registrations
ACTIONS = {"oprettet": "Oprettet", "rettet": "Rettet", "indlæst": "Indlæst"}

_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


class RegistrationError(ValueError):
    """A registration that was refused, with one plain Danish reason per field."""

    def __init__(self, errors: list[dict[str, str]], status: int = 422):
        self.errors = errors
        self.status = status
        super().__init__("; ".join(e["reason"] for e in errors))


class NotFound(LookupError):
    pass


@dataclass
class Registered:
    complaint_id: str
    source: str
    version: int
    batch: int | None
    action: str  # oprettet | rettet | uændret
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.complaint_id, "source": self.source, "version": self.version,
                "batch": self.batch, "action": self.action, "changes": self.changes}


def lock_for(store) -> threading.RLock:
    with _locks_guard:
        lk = _locks.get(store)
        if lk is None:
            lk = _locks[store] = threading.RLock()
        return lk


# -- input ---------------------------------------------------------------------------------
def _text(name: str, value: Any) -> str | None:
    """A submitted value as the text the importer would read from a file."""
    if value is None:
        return None
    f = KIND.field(name)
    if isinstance(value, (list, tuple, set)):
        value = "|".join(str(v).strip() for v in value if str(v).strip())
    elif isinstance(value, bool):
        value = "ja" if value else "nej"
    elif isinstance(value, (date, datetime)):
        value = value.isoformat()[:10]
    value = str(value).strip()
    if f.type == BOOL and value.lower() in ("ikke oplyst", "ukendt"):
        return None
    return value or None


def _check_fields(data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - set(KIND.names))
    if unknown:
        raise RegistrationError([{"field": u, "value": "", "reason":
                                  f"feltet '{u}' findes ikke for klager"} for u in unknown])


def _check_registrant(by: str | None) -> str:
    by = (by or "").strip()
    if not by:
        raise RegistrationError([{"field": "registered_by", "value": "", "reason":
                                  "angiv, hvem der registrerer klagen (Registreret af)"}])
    return mask_cpr(by)[:200]


def check(store, record: dict[str, Any], today: date | None = None,
          settings: Settings | None = None) -> dict[str, Any]:
    """Validate one complaint with the importer's rules; returns the typed record or raises
    :class:`RegistrationError` with every problem."""
    _check_fields(record)
    row = {ROW: [1], **{f.name: [_text(f.name, record.get(f.name))] for f in KIND.fields}}
    df = pl.DataFrame(row, schema={ROW: pl.Int64, **{f.name: pl.Utf8 for f in KIND.fields}})
    pseudo = secret_for(store, settings)
    checked = validate(df, KIND, Mapping(), pseudo, today or date.today(), _known(store))
    if checked.rejects.height:
        errors = [{"field": r["field"], "value": r["value"] or "", "reason": r["reason"]}
                  for r in checked.rejects.iter_rows(named=True)]
        raise RegistrationError(errors)
    return checked.valid.drop(ROW).to_dicts()[0]


# -- reading -------------------------------------------------------------------------------
def current(store, complaint_id: str, source: str = SOURCE) -> dict[str, Any] | None:
    t = store.table("complaints")
    rows = t.filter((t._source == source) & (t._key == complaint_id)).to_pyarrow().to_pylist()
    return rows[0] if rows else None


def _exists(store, complaint_id: str, source: str) -> bool:
    return bool(store.engine.query(
        "SELECT count(*) FROM complaints_history WHERE _source = ? AND _key = ?",
        [source, complaint_id])[0][0])


def _new_id(store, record: dict[str, Any], source: str) -> str:
    """KL-<administration>-<year>-<nnnn>: readable, and unique because it is made under the
    registration lock."""
    prefix = f"KL-{record['administration']}-{record['received'].year}-"
    rows = store.engine.query(
        "SELECT _key FROM complaints_history WHERE _source = ? AND _key LIKE ?",
        [source, prefix + "%"])
    used = [int(k[len(prefix):]) for (k,) in rows if k[len(prefix):].isdigit()]
    return f"{prefix}{max(used, default=0) + 1:04d}"


# -- writing -------------------------------------------------------------------------------
def _ensure_log(store) -> None:
    body = ", ".join(f'"{c}" {t}' for c, t in LOG_COLUMNS)
    store.engine.execute(f'CREATE TABLE IF NOT EXISTS "{LOG_TABLE}" ({body})')


def _exclusive(store) -> None:
    """Serialise registrations across processes sharing a PostgreSQL database (released at
    the end of the transaction). DuckDB has one writing process; the thread lock suffices."""
    if store.engine.name == "postgres":
        store.engine.execute("SELECT pg_advisory_xact_lock(?)", [PG_LOCK_KEY])


def _write(store, record: dict[str, Any], source: str, action: str, by: str,
           changes: list[dict], channel: str) -> tuple[int, int]:
    """Inside the lock and a transaction: one batch with one record, and its log row."""
    batch_id = store.next_batch_id()
    staged = _stage(KIND, pl.DataFrame([record], schema=_schema()), source)
    w = store.write_records(KIND, batch_id, staged.to_arrow())
    version = store.engine.query(
        "SELECT max(_version) FROM complaints_history WHERE _source = ? AND _key = ?",
        [source, record["complaint_id"]])[0][0]
    now = datetime.now().replace(microsecond=0)
    digest = hashlib.sha256(json.dumps(record, default=str, sort_keys=True).encode()).hexdigest()
    store.record_batch({
        "id": batch_id, "kind": KIND.name, "source": source, "file": channel,
        "sha256": digest, "covers_start": None, "covers_end": None, "covers_declared": False,
        "rows_read": 1, "rows_loaded": w.loaded, "rows_unchanged": w.unchanged,
        "rows_rejected": 0, "status": "indlæst", "strict": False, "loaded_at": now,
        "message": f"Klage {record['complaint_id']} {action} af {by}",
    }, None)
    store.engine.execute(
        f'INSERT INTO "{LOG_TABLE}" VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [source, record["complaint_id"], version, batch_id, action, by, now,
         json.dumps(changes, ensure_ascii=False, default=str)])
    return version, batch_id


def _schema() -> dict[str, Any]:
    from ..ingest.validate import DTYPES

    return {f.name: DTYPES.get(f.type, pl.Utf8) for f in KIND.fields}


def register(store, data: dict[str, Any], registered_by: str | None, *, source: str = SOURCE,
             lock: threading.RLock | None = None, today: date | None = None,
             settings: Settings | None = None, channel: str = "webformular") -> Registered:
    """Register a new complaint. Without ``complaint_id`` one is made (KL-BIF-2014-0001)."""
    by = _check_registrant(registered_by)
    data = dict(data)
    given = _text("complaint_id", data.get("complaint_id"))
    data["complaint_id"] = given or "NY"
    lock = lock or lock_for(store)
    with lock:
        record = check(store, data, today, settings)
        _within(record)
        with store.engine.transaction():
            _exclusive(store)
            _ensure_log(store)
            if given:
                if _exists(store, record["complaint_id"], source):
                    raise RegistrationError([{
                        "field": "complaint_id", "value": record["complaint_id"],
                        "reason": f"klagen {record['complaint_id']} findes allerede; ret den "
                                  "i stedet for at oprette den igen"}], status=409)
            else:
                record["complaint_id"] = _new_id(store, record, source)
            version, batch = _write(store, record, source, "oprettet", by, [], channel)
    return Registered(record["complaint_id"], source, version, batch, "oprettet")


def edit(store, complaint_id: str, changes: dict[str, Any], registered_by: str | None, *,
         source: str = SOURCE, lock: threading.RLock | None = None, today: date | None = None,
         settings: Settings | None = None, channel: str = "webformular") -> Registered:
    """Correct a complaint: the current version merged with ``changes`` is validated whole and
    written as a new version, with who, when and what changed."""
    by = _check_registrant(registered_by)
    _check_fields(changes)
    if "complaint_id" in changes and _text("complaint_id", changes["complaint_id"]) not in (
            None, complaint_id):
        raise RegistrationError([{"field": "complaint_id", "value": "", "reason":
                                  "klage-id kan ikke ændres"}])
    lock = lock or lock_for(store)
    with lock:
        before = current(store, complaint_id, source)
        if before is None:
            raise NotFound(f"Klagen {complaint_id} findes ikke (kilde {source}).")
        merged = {f.name: before.get(f.name) for f in KIND.fields}
        merged.update({k: v for k, v in changes.items() if k != "complaint_id"})
        record = check(store, merged, today, settings)
        _within(record)  # a correction cannot move a complaint out of the own scope
        record["complaint_id"] = complaint_id
        diff = _diff(before, record)
        if not diff:
            return Registered(complaint_id, source, before["_version"], None, "uændret")
        with store.engine.transaction():
            _exclusive(store)
            _ensure_log(store)
            version, batch = _write(store, record, source, "rettet", by, diff, channel)
    return Registered(complaint_id, source, version, batch, "rettet", diff)


def _within(record: dict[str, Any]) -> None:
    """A registration must lie inside the acting principal's scope (``access.Denied``)."""
    from ..access import current

    current().require_within(record.get("administration"), record.get("unit"))


def _diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for f in KIND.fields:
        a, b = (old or {}).get(f.name), new.get(f.name)
        if _norm(a) != _norm(b):
            out.append({"field": f.name, "label": f.label, "old": _show(f.name, a),
                        "new": _show(f.name, b)})
    return out


def _norm(v):
    if isinstance(v, datetime):
        return v.date()
    return None if v == "" else v


def _show(name: str, v: Any) -> str | None:
    if v is None or v == "":
        return None
    f = KIND.field(name)
    if f.type == BOOL:
        return "Ja" if v else "Nej"
    if f.type == DATE and isinstance(v, (date, datetime)):
        return v.strftime("%d-%m-%Y")
    if f.codes:
        from ..contract.codes import label

        if f.type == CODES:
            return ", ".join(label(f.codes, x) for x in str(v).split("|"))
        return label(f.codes, v)
    return str(v)


def history(store, complaint_id: str, source: str = SOURCE,
            lock: threading.RLock | None = None) -> list[dict[str, Any]]:
    """Every version of a complaint, oldest first: when, who, how and what changed."""
    lock = lock or lock_for(store)
    with lock:
        h = store.table("complaints_history")
        versions = (h.filter((h._source == source) & (h._key == complaint_id))
                    .order_by("_version").to_pyarrow().to_pylist())
        if not versions:
            raise NotFound(f"Klagen {complaint_id} findes ikke (kilde {source}).")
        batches = {r[0]: r for r in store.engine.query(
            "SELECT id, file, loaded_at, source FROM batches WHERE id IN "
            f"({', '.join(str(int(v['_batch'])) for v in versions)})")}
        log = {}
        if LOG_TABLE in store.engine.table_names():
            for r in store.engine.query(
                    f'SELECT batch, action, registered_by, registered_at FROM "{LOG_TABLE}" '
                    "WHERE _source = ? AND complaint_id = ?", [source, complaint_id]):
                b = batches.get(r[0])
                if b and b[2] == r[3]:  # a row left from an earlier store has another time
                    log[r[0]] = r
    out, previous = [], None
    for v in versions:
        b, entry = batches.get(v["_batch"]), log.get(v["_batch"])
        record = {f.name: v.get(f.name) for f in KIND.fields}
        out.append({
            "version": v["_version"], "batch": v["_batch"],
            "action": entry[1] if entry else "indlæst",
            "by": entry[2] if entry else f"import af {b[1]}" if b else "import",
            "at": (entry[3] if entry else b[2] if b else None),
            "changes": _diff(previous, record) if previous is not None else [],
            "record": {k: _show(k, x) for k, x in record.items()},
        })
        previous = record
    return out


def recent(store, limit: int = 25, lock: threading.RLock | None = None) -> list[dict[str, Any]]:
    """The latest registrations and corrections made in the app, newest first."""
    with lock or lock_for(store):
        if LOG_TABLE not in store.engine.table_names():
            return []
        from ..access import current

        # only complaints inside the acting scope (Scope.contains, the rule Store.table
        # applies); a scoped reader filters the log's rows here, so the limit comes after
        scope = current().data_scope
        limit_sql = f" LIMIT {int(limit)}" if scope.everything else ""
        rows = store.engine.query(
            f'SELECT r._source, r.complaint_id, r.version, r.action, r.registered_by, '
            f'r.registered_at, h.administration, h.unit FROM "{LOG_TABLE}" r '
            f'JOIN batches b ON b.id = r.batch AND b.loaded_at = r.registered_at '
            f'JOIN complaints_history h ON h._source = r._source '
            f'AND h._key = r.complaint_id AND h._version = r.version '
            f'ORDER BY r.registered_at DESC, r.batch DESC{limit_sql}')
        rows = [r[:6] for r in rows if scope.contains(r[6], r[7])][:limit]
    return [dict(zip(["source", "complaint_id", "version", "action", "by", "at"], r,
                     strict=True)) for r in rows]


__all__ = ["KIND", "NotFound", "Registered", "RegistrationError", "SOURCE", "check", "current",
           "edit", "history", "lock_for", "recent", "register"]
