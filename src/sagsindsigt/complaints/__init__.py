"""Complaint registration: the one module every administration uses to register and correct
complaints by hand (the web form and ``/api/complaints``).

A registration is validated by exactly the importer's rules for the ``complaints`` kind
(:func:`sagsindsigt.ingest.validate.validate`: required fields, code lists, a unit known to a
loaded organisation, dates in order and not in the future, CPR-shaped numbers masked in free
text) and written as a versioned record through the store, as a batch of one row. Nothing is
overwritten: a correction adds version n+1, and :func:`history` shows every version with who,
when and what changed.

Writers take turns (``Store.serialised``): a lock per store in the process (DuckDB allows one
writing process, and the web app shares one connection between threads), plus a PostgreSQL
advisory lock inside the transaction, so that several app processes on one PostgreSQL database
also take turns. Every read goes through :mod:`sagsindsigt.store.reads`, inside the caller's
scope.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from ..access import Denied
from ..access import current as acting
from ..contract import KINDS
from ..contract.kinds import BOOL, CODES, DATE
from ..ingest import _known, _stage, secret_for
from ..ingest.mapping import Mapping
from ..ingest.read import ROW
from ..ingest.validate import validate
from ..privacy import mask_cpr
from ..settings import Settings
from ..store import reads

KIND = KINDS["complaints"]
SOURCE = "registrering"  # the source of complaints registered in the app
ACTIONS = {"oprettet": "Oprettet", "rettet": "Rettet", "indlæst": "Indlæst"}


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
        errors = [{"field": r["field"], "value": r["value"] or "",
                   "reason": plain_reason(r["reason"])}
                  for r in checked.rejects.iter_rows(named=True)]
        raise RegistrationError(errors)
    return checked.valid.drop(ROW).to_dicts()[0]


def plain_reason(reason: str) -> str:
    """An importer's reason as a form says it to the person filling it in: no field ids
    ("forvaltning (administration)"), no import words ("importdagen"), a sentence."""
    for f in KIND.fields:
        reason = reason.replace(f" ({f.name})", "")
    empty = re.fullmatch(r"feltet (.+) er tomt", reason)
    if empty:
        return f"Udfyld {empty.group(1)}."
    reason = reason.replace("efter importdagen", "efter dags dato")
    reason = re.sub(r";? ?tilføj den i mapping-filen.*$", "", reason)  # for an import's clerk
    return reason[:1].upper() + reason[1:]


# -- reading -------------------------------------------------------------------------------
def current(store, complaint_id: str, source: str = SOURCE) -> dict[str, Any] | None:
    """The complaint as it is now, when it lies inside the caller's scope."""
    return reads.complaint(store, source, complaint_id)


def _new_id(store, record: dict[str, Any], source: str) -> str:
    """KL-<administration>-<year>-<nnnn>: readable, and unique because it is made while
    registrations take turns."""
    prefix = f"KL-{record['administration']}-{record['received'].year}-"
    keys = store.keys_with_prefix(KIND.name, source, prefix)
    used = [int(k[len(prefix):]) for k in keys if k[len(prefix):].isdigit()]
    return f"{prefix}{max(used, default=0) + 1:04d}"


# -- writing -------------------------------------------------------------------------------
def _write(store, record: dict[str, Any], source: str, action: str, by: str,
           changes: list[dict], channel: str) -> tuple[int, int]:
    """While registrations take turns, in a transaction: one batch with one record, and its
    log row."""
    batch_id = store.next_batch_id()
    staged = _stage(KIND, pl.DataFrame([record], schema=_schema()), source)
    w = store.write_records(KIND, batch_id, staged.to_arrow())
    version = store.latest_version(KIND.name, source, record["complaint_id"])
    now = datetime.now().replace(microsecond=0)
    digest = hashlib.sha256(json.dumps(record, default=str, sort_keys=True).encode()).hexdigest()
    store.record_batch({
        "id": batch_id, "kind": KIND.name, "source": source, "file": channel,
        "sha256": digest, "covers_start": None, "covers_end": None, "covers_declared": False,
        "rows_read": 1, "rows_loaded": w.loaded, "rows_unchanged": w.unchanged,
        "rows_rejected": 0, "status": "indlæst", "strict": False, "loaded_at": now,
        "message": f"Klage {record['complaint_id']} {action} af {by}",
    }, None)
    store.append("complaint_registrations", [{
        "_source": source, "complaint_id": record["complaint_id"], "version": version,
        "batch": batch_id, "action": action, "registered_by": by, "registered_at": now,
        "changes": json.dumps(changes, ensure_ascii=False, default=str)}])
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
    with lock or store.lock:
        record = check(store, data, today, settings)
        _within(record)
        with store.serialised("complaints"):
            if given:
                if store.key_exists(KIND.name, source, record["complaint_id"]):
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
    with lock or store.lock:
        before = found(store, complaint_id, source)
        merged = {f.name: before.get(f.name) for f in KIND.fields}
        merged.update({k: v for k, v in changes.items() if k != "complaint_id"})
        record = check(store, merged, today, settings)
        _within(record)  # a correction cannot move a complaint out of the own scope
        record["complaint_id"] = complaint_id
        diff = _diff(before, record)
        if not diff:
            return Registered(complaint_id, source, before["_version"], None, "uændret")
        with store.serialised("complaints"):
            version, batch = _write(store, record, source, "rettet", by, diff, channel)
    return Registered(complaint_id, source, version, batch, "rettet", diff)


def found(store, complaint_id: str, source: str = SOURCE) -> dict[str, Any]:
    """The current complaint; :class:`NotFound` when there is none, ``access.Denied`` when it
    lies outside the caller's scope."""
    record = current(store, complaint_id, source)
    if record is None:
        if reads.outside_scope(store, "complaints", _source=source, _key=complaint_id):
            raise Denied(f"Klagen {complaint_id} hører ikke til dit område.")
        raise NotFound(f"Klagen {complaint_id} findes ikke (kilde {source}).")
    return record


def _within(record: dict[str, Any]) -> None:
    """A registration must lie inside the acting principal's scope: the one write rule
    (``Principal.require_within``), told as an error of the field that leaves the scope, so
    the form keeps what was typed."""
    try:
        acting().require_within(record.get("administration"), record.get("unit"))
    except Denied as exc:
        raise RegistrationError([{"field": exc.field, "value": record.get(exc.field) or "",
                                  "reason": str(exc)}], status=403) from exc


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
    with lock or store.lock:
        versions = reads.complaint_versions(store, source, complaint_id)
        if not versions:
            found(store, complaint_id, source)  # Denied outside the scope, else NotFound
        batches = {b["id"]: b for b in reads.batches(
            store, ids=[int(v["_batch"]) for v in versions])}
        log = {}
        for r in reads.registrations(store, source, complaint_id):
            b = batches.get(r["batch"])
            if b and b["loaded_at"] == r["registered_at"]:  # a row left from an earlier store
                log[r["batch"]] = r
    out, previous = [], None
    for v in versions:
        b, entry = batches.get(v["_batch"]), log.get(v["_batch"])
        record = {f.name: v.get(f.name) for f in KIND.fields}
        out.append({
            "version": v["_version"], "batch": v["_batch"],
            "action": entry["action"] if entry else "indlæst",
            "by": entry["registered_by"] if entry else f"import af {b['file']}" if b
            else "import",
            "at": (entry["registered_at"] if entry else b["loaded_at"] if b else None),
            "changes": _diff(previous, record) if previous is not None else [],
            "record": {k: _show(k, x) for k, x in record.items()},
        })
        previous = record
    return out


def recent(store, limit: int = 25, lock: threading.RLock | None = None) -> list[dict[str, Any]]:
    """The latest registrations and corrections made in the app, newest first (complaints
    inside the caller's scope)."""
    with lock or store.lock:
        return reads.recent_registrations(store, limit)


__all__ = ["KIND", "NotFound", "Registered", "RegistrationError", "SOURCE", "check", "current",
           "edit", "found", "history", "recent", "register"]
