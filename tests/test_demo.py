"""The demo municipality: built through the real importer at Copenhagen scale, with the seeds'
shape (SOF's last year as a first half-year, KFF without cases, ØKF without data)."""

from __future__ import annotations

import re

import polars as pl
import pytest

from sagsindsigt.demo import CASE_TYPES, Demo
from sagsindsigt.kpis import REGISTRY, Query, compute
from sagsindsigt.present.seed import overview as overview_table

from .conftest import DEMO_YEARS as YEARS  # 2012-2014; 2014 for SOF only as a half-year

CPR = re.compile(r"(?<![0-9])[0-3][0-9][01][0-9][0-9]{2}[- ]?[0-9]{4}(?![0-9])")

pytestmark = pytest.mark.xdist_group("demo")  # build the demo store once, on one worker


def test_seed_000_shape(demo_store):
    t = overview_table(demo_store, "2014")
    rows = {r[0].rstrip("*"): r for r in t["rows"]}
    bif = rows["Beskæftigelses- og Integrationsforvaltningen"]
    assert bif[4] == "154.440" and bif[5] in ("2,5 %", "2,6 %", "2,7 %")
    sof = rows["Socialforvaltningen"]
    assert t["rows"][1][0] == "Socialforvaltningen*"
    assert any("2 × tal for 1. halvår 2014" in f for f in t["footnotes"])
    assert sof[5] in ("5,1 %", "5,2 %", "5,3 %", "5,4 %")
    tmf = rows["Teknik- og Miljøforvaltningen"]
    assert int(tmf[4].replace(".", "")) == 96473  # case rows plus monthly volumes
    assert tmf[5] == "0,6 %"
    kff = rows["Kultur- og Fritidsforvaltningen"]
    assert kff[3] == "220" and kff[4] == "-" and kff[5] == "-"
    assert rows["Økonomiforvaltningen"][1:] == ["-"] * 5


def test_about_7700_complaints_a_year(demo_store):
    res = compute(demo_store, Query.make("complaints_received", "2013", [], [], False))
    # 2013: SOF in full; the volume falls where work is done, so 2013 lies a little above 2014
    assert 7_700 <= res.rows[0].n <= 8_400


def test_every_kpi_computes_on_demo_data(demo_store):
    for kpi_id in REGISTRY:
        res = compute(demo_store, Query.make(kpi_id, "2013", ["administration"], [], True))
        values = {r.dims["administration"]: r.value for r in res.rows}
        assert values.get("BIF") is not None, kpi_id  # BIF has every kind of data


def test_audits_and_timeliness_are_believable(demo_store):
    def value(kpi_id, period, where=("administration=BIF",)):
        return compute(demo_store, Query.make(kpi_id, period, [], list(where), False)) \
            .rows[0].value

    assert 60 < value("audit_correct_rate", "2012") < value("audit_correct_rate", "2014") < 100
    assert 75 < value("timeliness", "2013") < 95
    agreement = compute(demo_store, Query.make("audit_agreement", "2013", [], [], False))
    assert agreement.rows[0].value > 85


def test_quarantine_holds_only_the_planted_errors(demo_store):
    rows = demo_store._engine.query("SELECT file, field FROM rejects")
    assert len(rows) == 6 * YEARS
    assert {f for _, f in rows} == {"decided", "outcome", "case_type"}
    assert all(f.startswith("sof-sager-") for f, _ in rows)


def test_no_cpr_in_the_demo_store(demo_store):
    # the generated files carry CPR-shaped citizen numbers and a few pasted into summaries
    for table in ("cases", "cases_history", "complaints", "rejects"):
        cols = [c for (c,) in demo_store._engine.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND data_type = 'VARCHAR'", [table])]
        # hex digests (content hash, pseudonym) may hold ten digits in a row by chance
        for col in set(cols) - {"_hash", "citizen"}:
            hits = demo_store._engine.query(
                f"SELECT count(*) FROM \"{table}\" WHERE regexp_matches(\"{col}\", "
                r"'(^|[^0-9])[0-3][0-9][01][0-9][0-9]{2}[- ]?[0-9]{4}([^0-9]|$)')")
            assert hits[0][0] == 0, (table, col)
    assert demo_store._engine.query(
        "SELECT count(*) FROM cases WHERE citizen NOT LIKE 'p\\_%' ESCAPE '\\'")[0][0] == 0
    masked = demo_store._engine.query(
        "SELECT count(*) FROM complaints WHERE summary LIKE '%XXXXXX-XXXX%'")[0][0]
    assert masked > 0


def test_generator_is_reproducible(tmp_path):
    a = Demo(1, 7, tmp_path).complaints_for("KFF", 2012)
    b = Demo(1, 7, tmp_path).complaints_for("KFF", 2012)
    assert a.equals(b)
    c = Demo(1, 8, tmp_path).complaints_for("KFF", 2012)
    assert not a.equals(c)


def test_volumes_sum_to_the_yearly_figures(tmp_path):
    v = Demo(1, 1, tmp_path).volumes_for("TMF", 2014)
    per_type = dict(v.group_by("case_type").agg(pl.col("cases_received").sum()).iter_rows())
    expected = {ct.code: ct.per_year for ct in CASE_TYPES if ct.volumes_only}
    assert per_type == expected


def test_data_quality_warnings(demo_store):
    from sagsindsigt.data_quality import warnings

    kinds = {}
    for w in warnings(demo_store):
        kinds.setdefault(w.kind, []).append(w.message)
    assert len(kinds["overlapping_volumes"]) == 1
    assert "sagstype ENK" in kinds["overlapping_volumes"][0]
    assert any("sof-sager" in m and "30.06.2014" in m for m in kinds["partial_period"])
    assert len(kinds["rejected_rows"]) == YEARS
