"""Real event logs (../shared/data/eventlogs, provenance in its README) imported as they are:
the XES running example and the WABO receipt log as CSV, then analysed on their own. The
expected figures are computed here with the standard library from the same files."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sagsindsigt.ingest import import_file
from sagsindsigt.kpis.process import END, START, ProcessQuery, dfg, service_times, variants
from sagsindsigt.store import reads

LOGS = Path(__file__).resolve().parents[3] / "shared" / "data" / "eventlogs"
XES = LOGS / "running-example.xes"
RECEIPT = LOGS / "receipt.csv"
TODAY = date(2026, 1, 1)

pytestmark = pytest.mark.skipif(not XES.exists(), reason=f"no event logs in {LOGS}")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def _xes_traces() -> dict[str, list[tuple[datetime, str]]]:
    out = {}
    for trace in ET.parse(XES).getroot().iter("trace"):
        name = next(a.get("value") for a in trace if a.get("key") == "concept:name")
        out[name] = sorted(
            (_utc(next(a.get("value") for a in ev if a.get("key") == "time:timestamp")),
             next(a.get("value") for a in ev if a.get("key") == "concept:name"))
            for ev in trace.iter("event"))
    return out


def _csv_traces() -> dict[str, list[tuple[datetime, str]]]:
    out: dict[str, list] = {}
    with RECEIPT.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out.setdefault(r["case:concept:name"], []).append(
                (_utc(r["time:timestamp"]), r["concept:name"]))
    return {c: sorted(v) for c, v in out.items()}


def _dfg(traces) -> Counter:
    c: Counter = Counter()
    for tr in traces.values():
        acts = [START] + [a for _, a in tr] + [END]
        c.update(zip(acts, acts[1:], strict=False))
    return c


def _variants(traces) -> Counter:
    return Counter(tuple(a for _, a in tr) for tr in traces.values())


def _same_from_the_events(store) -> None:
    """The figures read from the paths and steps the store keeps after the import equal those
    computed from the events (the store's stamp removed, as in a store made before them)."""
    from sagsindsigt.kpis.process import bottlenecks, case_times, summary
    from sagsindsigt.store import derive

    def figures():
        store._cache.clear()
        q = ProcessQuery.make()
        return (dfg(store, q), variants(store, q), bottlenecks(store, q), summary(store, q),
                case_times(store, q, limit=50))

    assert derive.process_stamp(store) is not None
    kept = figures()
    with store.transaction():
        store._engine.execute("DELETE FROM meta WHERE key = 'process_tables'")
    assert derive.process_stamp(store) is None
    assert figures() == kept


def test_the_xes_running_example(store):
    r = import_file(store, "events", XES, source="running", today=TODAY)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (42, 42, 0)
    traces = _xes_traces()
    assert len(traces) == 6
    q = ProcessQuery.make()
    assert {(x["from"], x["to"]): x["count"] for x in dfg(store, q)} == _dfg(traces)
    got = variants(store, q)
    assert {tuple(v["variant"]): v["cases"] for v in got} == _variants(traces)
    assert sum(v["cases"] for v in got) == 6
    # a known path: case 3 is examined casually, decided, reinitiated, ... and paid
    assert [a for _, a in traces["3"]][:3] == ["register request", "examine casually",
                                               "check ticket"]
    rows = store.run(reads.process_events(store).filter(
        lambda t: t.case_id == "3").order_by("at")).to_dicts()
    first = rows[0]
    # 2010-12-30T14:32:00.000+01:00: the same instant, in UTC
    assert (first["activity"], first["at"]) == ("register request",
                                                datetime(2010, 12, 30, 13, 32))
    assert first["actor"] == "Pete" and first["administration"] is None
    e = store.run(store.table("events").filter(lambda t: t.case_id == "3")
                  .order_by("at")).to_dicts()[0]
    assert json.loads(e["attributes"]) == {"Activity": "register request", "Costs": "50",
                                           "Resource": "Pete"}
    assert json.loads(e["case_attributes"]) == {"creator": "Fluxicon Nitro"}
    _same_from_the_events(store)


def test_the_receipt_log_as_csv(store):
    r = import_file(store, "events", RECEIPT, source="receipt", today=TODAY)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (8577, 8577, 0)
    traces = _csv_traces()
    assert len(traces) == 1434
    q = ProcessQuery.make()
    got = dfg(store, q)
    assert {(x["from"], x["to"]): x["count"] for x in got} == _dfg(traces)
    assert got[0] == {"from": START, "to": "Confirmation of receipt", "count": 1434,
                      "median_hours": None, "p90_hours": None}
    v = variants(store, q, top=3)
    want = _variants(traces).most_common(3)
    assert [(tuple(x["variant"]), x["cases"]) for x in v] == want
    assert v[0]["cases"] == 713 and v[0]["share"] == 49.72
    _same_from_the_events(store)
    # the case's attributes are kept with each of its events
    e = store.run(store.table("events").filter(lambda t: t.case_id == "case-10011")
                  .limit(1)).to_dicts()[0]
    assert json.loads(e["case_attributes"])["channel"] == "Internet"
    assert e["lifecycle"] == "complete"


def test_gzipped_xes_and_a_classifier(store, tmp_path):
    gz = tmp_path / "running.xes.gz"
    with XES.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    (tmp_path / "m.yaml").write_text("classifier: [concept:name, org:resource]\n",
                                     encoding="utf-8")
    r = import_file(store, "events", gz, source="gz", mapping=tmp_path / "m.yaml", today=TODAY)
    assert (r.rows_loaded, r.rows_rejected) == (42, 0)
    starts = {x["to"]: x["count"] for x in dfg(store, ProcessQuery.make())
              if x["from"] == START}
    resources = Counter()
    for trace in ET.parse(XES).getroot().iter("trace"):
        ev = next(trace.iter("event"))
        resources[next(a.get("value") for a in ev if a.get("key") == "org:resource")] += 1
    assert starts == {f"register request+{r}": n for r, n in resources.items()}


LIFECYCLE = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <classifier name="Activity" keys="concept:name"/>
  <trace>
    <string key="concept:name" value="k1"/>
    <string key="kanal" value="digital"/>
    <event><string key="concept:name" value="modtag"/>
      <string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2014-03-03T08:00:00.000+01:00"/></event>
    <event><string key="concept:name" value="modtag"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2014-03-03T09:30:00.000+01:00"/></event>
    <event><string key="concept:name" value="afgør"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2014-03-05T09:30:00.000+01:00"/></event>
    <event><string key="concept:name" value="afgør"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="ikke en dato"/></event>
    <event><string key="concept:name" value="ringet 010170-1234"/>
      <string key="lifecycle:transition" value="complete"/></event>
  </trace>
</log>
"""


def test_lifecycle_bad_rows_and_namespaces(store, tmp_path):
    path = tmp_path / "lifecycle.xes"
    path.write_text(LIFECYCLE, encoding="utf-8")
    r = import_file(store, "events", path, source="lc", today=TODAY)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (5, 3, 2)
    bad = {(x["row"], x["field"]) for x in reads.rejects(store)}
    assert bad == {(4, "at"), (5, "at")}
    assert "1234" not in json.dumps(reads.rejects(store), default=str)  # CPR masked
    # start and complete of one activity are two events; the analysis uses the complete ones
    assert [(x["from"], x["to"], x["count"], x["median_hours"])
            for x in dfg(store, ProcessQuery.make())] == [  # as often each: by name
        ("afgør", END, 1, None), ("modtag", "afgør", 1, 48.0), (START, "modtag", 1, None)]
    _same_from_the_events(store)
    # the instance of modtag with a start and a complete has a service time: 1,5 hours
    assert service_times(store, ProcessQuery.make()) == [
        {"activity": "modtag", "instances": 1, "median_hours": 1.5, "p90_hours": 1.5}]


def test_unreadable_xes_is_one_sentence(store, tmp_path):
    from sagsindsigt.ingest import ImportError_

    path = tmp_path / "broken.xes"
    path.write_text("<log><trace><event>", encoding="utf-8")
    with pytest.raises(ImportError_, match="kan ikke læses som XES"):
        import_file(store, "events", path, source="x", today=TODAY)
