"""Event logs: IEEE 1849 XES files (``.xes``, ``.xes.gz``) read as a stream, and the XES
naming of columns (also in CSV exports, as PM4Py writes them) mapped onto the ``events`` kind.

:func:`read_xes` walks the file with lxml's ``iterparse`` and clears each trace once its rows
are made, so memory holds one trace at a time besides the rows themselves. A row is an event:
its attributes by their keys (``concept:name``, ``time:timestamp``, ``lifecycle:transition``,
``org:resource``, any other), and its trace's attributes prefixed ``case:`` (the convention of
PM4Py's flattened logs), all as text. The log's classifiers (``<classifier name= keys=>``) come
along, so a mapping file can name one.

:func:`as_events` turns such a table into the contract's columns: the standard keys become
``case_id``, ``activity``, ``at``, ``lifecycle`` and ``actor`` (unless the mapping file maps
those fields itself), the activity is made from the mapping's ``classifier`` (its keys' values
joined by ``+``, as PM4Py joins them), and every other column is kept: the trace's as JSON in
``case_attributes``, the event's in ``attributes``.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import polars as pl

from ..danish import number
from ..settings import Settings
from .read import ROW, ReadError, shown_name

# XES standard keys → the events kind's fields
STANDARD = {"case:concept:name": "case_id", "concept:name": "activity",
            "time:timestamp": "at", "lifecycle:transition": "lifecycle",
            "org:resource": "actor"}
ATTRIBUTES = {"string", "date", "int", "float", "boolean", "id"}
CASE = "case:"


def is_xes(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".xes") or name.endswith(".xes.gz")


def read_xes(path: Path, settings: Settings | None = None
             ) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The events of an XES file as a table of strings (row = the event's position from 1),
    and the log's classifiers (name → attribute keys)."""
    from lxml import etree

    settings = settings or Settings()
    name = shown_name(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    rows: list[dict[str, str | None]] = []
    classifiers: dict[str, list[str]] = {}
    trace: dict[str, str] = {}
    events: list[dict[str, str]] = []
    event: dict[str, str] | None = None
    depth_in_event = 0  # nested attributes (lists, containers) inside an attribute: skipped
    try:
        with opener(path, "rb") as fh:
            for action, el in etree.iterparse(fh, events=("start", "end"),
                                              resolve_entities=False, no_network=True,
                                              huge_tree=False):
                tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
                if action == "start":
                    if tag == "trace":
                        trace, events = {}, []
                    elif tag == "event":
                        event = {}
                    elif tag in ATTRIBUTES or tag in ("list", "container"):
                        depth_in_event += 1
                    continue
                if tag in ATTRIBUTES or tag in ("list", "container"):
                    depth_in_event -= 1
                    if depth_in_event == 0 and tag in ATTRIBUTES:  # a top-level attribute
                        parent = el.getparent()
                        ptag = parent.tag.rsplit("}", 1)[-1] if parent is not None else ""
                        key, value = el.get("key"), el.get("value")
                        if key is not None:
                            if ptag == "event" and event is not None:
                                event[key] = value
                            elif ptag == "trace":
                                trace[key] = value
                elif tag == "event":
                    if event is not None:
                        events.append(event)
                    event = None
                    el.clear()
                elif tag == "trace":
                    case = {CASE + k: v for k, v in trace.items()}
                    for ev in events:
                        rows.append({**case, **ev})
                    if len(rows) > settings.import_max_rows:
                        raise ReadError(
                            f"Filen {name} har flere end {number(settings.import_max_rows)} "
                            "hændelser, det højeste antal i én fil "
                            "(SAGSINDSIGT_IMPORT_MAX_ROWS); del den op i flere filer.")
                    el.clear()
                    while el.getprevious() is not None:
                        del el.getparent()[0]
                elif tag == "classifier":
                    keys = el.get("keys") or ""
                    classifiers[el.get("name") or ""] = [
                        a or b for a, b in re.findall(r"'([^']*)'|(\S+)", keys)]
    except (etree.XMLSyntaxError, OSError, EOFError) as exc:
        raise ReadError(f"Filen {name} kan ikke læses som XES (IEEE 1849): "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}."
                        ) from None
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    data = {c: pl.Series(c, [r.get(c) for r in rows], dtype=pl.Utf8) for c in cols}
    df = pl.DataFrame(data) if data else pl.DataFrame()
    df = df.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return df, classifiers


def classifier_keys(classifier, classifiers: dict[str, list[str]]) -> list[str] | None:
    """The attribute keys of a mapping file's ``classifier``: the name of a classifier the log
    declares, a list of keys, or one key."""
    if classifier is None:
        return None
    if isinstance(classifier, str):
        return classifiers.get(classifier, [classifier])
    return [str(k) for k in classifier]


def as_events(df: pl.DataFrame, mapping, classifiers: dict[str, list[str]],
              fname: str) -> pl.DataFrame:
    """An event log's table with the contract's columns added (see the module's text)."""
    mapped_fields = set(mapping.columns.values()) | set(mapping.constants)
    mapped_sources = set(mapping.columns)
    out = df
    used: set[str] = set(mapped_sources) | {ROW}
    keys = classifier_keys(mapping.classifier, classifiers)
    if keys is not None:
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise ReadError(f"Filen {fname} har ikke attributten {missing[0]}, som "
                            "klassifikatoren i mapping-filen nævner.")
        out = out.with_columns(pl.concat_str([pl.col(k) for k in keys], separator="+")
                               .alias("activity"))
        mapped_fields.add("activity")
        used |= set(keys)
    for src, field in STANDARD.items():
        if src in df.columns and field not in mapped_fields and field not in df.columns:
            out = out.with_columns(pl.col(src).alias(field))
            used.add(src)
            mapped_fields.add(field)
    own = {"case_id", "activity", "at", "unit", "actor", "lifecycle", "attributes",
           "case_attributes"}
    # kept as columns: the contract's own names (in any case) for a field nothing else gives;
    # the rest is kept as attributes (the running example has both concept:name and Activity)
    rest = [c for c in df.columns if c not in used
            and not (c.lower() in own and c.lower() not in mapped_fields)]
    case_cols = [c for c in rest if c.startswith(CASE)]
    event_cols = [c for c in rest if not c.startswith(CASE)]
    if case_cols and "case_attributes" not in mapped_fields:
        out = out.with_columns(_json(case_cols, strip=CASE).alias("case_attributes"))
    if event_cols and "attributes" not in mapped_fields:
        out = out.with_columns(_json(event_cols).alias("attributes"))
    return out.drop([c for c in rest if c not in ("attributes", "case_attributes")])


def _json(cols: list[str], strip: str = "") -> pl.Expr:
    """The non-empty values of ``cols`` as one JSON object per row (keys sorted)."""
    names = {c: c[len(strip):] if strip and c.startswith(strip) else c for c in cols}
    order = sorted(cols, key=lambda c: names[c])

    def dump(row: dict) -> str | None:
        d = {names[c]: row[c] for c in order if row.get(c) not in (None, "")}
        return json.dumps(d, ensure_ascii=False, sort_keys=True) if d else None

    return pl.struct(order).map_elements(dump, return_dtype=pl.Utf8)


__all__ = ["STANDARD", "as_events", "classifier_keys", "is_xes", "read_xes"]
