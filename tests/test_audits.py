"""The quality-audit workflow (audits/) on DuckDB and PostgreSQL: reproducible samples,
sample sizes, review entry, closing and reopening rounds, calibration, and the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sagsindsigt import audits
from sagsindsigt.cli import main
from sagsindsigt.demo import CONCEPTS_DIR
from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import Query, compute
from sagsindsigt.present.exports import sample_workbook
from sagsindsigt.present.labels import Labels
from sagsindsigt.stats import traffic_light

UNITS = {"JCA": 90, "JCN": 60, "JCV": 30, "JCNV": 20}  # kontanthjælp cases decided in 2014-Q1


def fill(store, tmp: Path) -> None:
    """Case types, 200 BIF kontanthjælp cases decided in 2014-Q1 over four jobcentres (plus
    some outside the round or of another benefit), and the shipped concepts."""
    (tmp / "types.csv").write_text(
        "code;name;administration;benefit_area;deadline\n"
        "KH;Kontanthjælp;BIF;Kontanthjælp;4 uger\nSDP;Sygedagpenge;BIF;Sygedagpenge;4 uger\n",
        encoding="utf-8")
    lines = ["case_id;administration;unit;case_type;received;decided"]
    i = 0
    for unit, n in UNITS.items():
        for k in range(n):
            i += 1
            day = date(2014, 1, 1) + timedelta(days=k % 89)
            lines.append(f"K{i:04d};BIF;{unit};KH;{day - timedelta(days=10)};{day}")
    lines += [f"L{k};BIF;JCA;KH;2014-03-20;2014-04-0{k + 1}" for k in range(5)]  # Q2
    lines += [f"S{k};BIF;JCA;SDP;2014-01-05;2014-02-01" for k in range(5)]  # other benefit
    lines += ["O1;BIF;JCA;KH;2014-03-01;"]  # open: not decided
    (tmp / "cases.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert import_file(store, "case_types", tmp / "types.csv").status == "indlæst"
    assert import_file(store, "cases", tmp / "cases.csv").rows_rejected == 0
    assert import_file(store, "concepts", CONCEPTS_DIR, source="kvalitet").rows_rejected == 0


@pytest.fixture
def town(store, tmp_path):
    fill(store, tmp_path)
    return store


@pytest.fixture
def duck_town(duck, tmp_path):
    fill(duck, tmp_path)
    return duck


# -- concepts ------------------------------------------------------------------------------
def test_the_ten_concepts_of_seed_002_with_their_frequencies():
    import yaml

    found = {}
    for p in sorted(CONCEPTS_DIR.glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        c = yaml.safe_load(text)
        assert "EKSEMPEL" in text  # marked as examples to adapt
        assert {k["category"] for k in c["checks"]} == {"noeglekontrol", "kvalitetsmaal",
                                                         "formalia"}
        found[c["name"]] = c["frequency"]
    assert found == {
        "Kontanthjælp": "kvartal", "Revalidering": "kvartal", "Sygedagpenge": "kvartal",
        "Forsikrede ledige": "kvartal", "Løntilskud": "kvartal",
        "Integrations- og repatrieringsloven": "halvaar",
        "Fleksjob og ledighedsydelse": "halvaar", "Førtidspension": "halvaar",
        "Fleksydelse": "halvaar", "Delpension": "aar"}


# -- sampling ------------------------------------------------------------------------------
def test_same_seed_same_sample_on_every_engine(town):
    pop = audits.population(town, audits.concept(town, "kontanthjaelp"), "2014-Q1")
    assert len(pop) == 200  # decided in the round, this benefit area only, no open case
    s = audits.draw(town, "kontanthjaelp", "2014-Q1", size=30, seed=4242)
    ids = [x.case_id for x in s.cases]
    # the draw is Python's random.Random over the population sorted by case id: the same
    # list on DuckDB and PostgreSQL, whatever order the engine returns rows in
    import random

    expected = [f"K{i + 1:04d}" for i in random.Random(4242).sample(range(200), 30)]
    assert ids == expected
    again = audits.load_sample(town, "kontanthjaelp", "2014-Q1")
    assert [x.case_id for x in again.cases] == ids and again.seed == 4242
    assert audits.draw(town, "kontanthjaelp", "2014-Q1", size=30, seed=4243).cases != s.cases


def test_duckdb_and_postgresql_draw_the_very_same_sample(tmp_path):
    from .conftest import make_store

    samples = []
    for engine in ("duckdb", "postgres"):
        (tmp_path / engine).mkdir()
        store, close = make_store(engine, tmp_path / engine)
        try:
            fill(store, tmp_path / engine)
            for strat in (None, "unit"):
                s = audits.draw(store, "kontanthjaelp", "2014-Q1", size=25, seed=2013,
                                stratify=strat)
                samples.append((engine, strat, [(x.position, x.case_id, x.unit)
                                                for x in s.cases]))
        finally:
            close()
    duck, pg = samples[:2], samples[2:]
    assert [x[2] for x in duck] == [x[2] for x in pg]
    assert duck[0][2] != duck[1][2]  # simple and stratified differ


def test_stratified_sample_allocates_proportionally(town):
    s = audits.draw(town, "kontanthjaelp", "2014-Q1", size=40, stratify="unit", seed=7)
    # 40 × (90, 60, 30, 20) / 200 = 18, 12, 6, 4
    assert s.allocation() == {"JCA": 18, "JCN": 12, "JCNV": 4, "JCV": 6}
    assert len({x.case_id for x in s.cases}) == 40


def test_allocation_by_largest_remainder():
    assert audits.allocate({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    assert audits.allocate({"a": 50, "b": 30, "c": 20}, 7) == {"a": 4, "b": 2, "c": 1}
    assert sum(audits.allocate({"a": 5, "b": 3}, 100).values()) == 8  # never more than there is


def test_default_size_is_the_concepts_and_capped_by_the_population(town):
    assert audits.draw(town, "kontanthjaelp", "2014-Q1", seed=1).size == 30
    with pytest.raises(audits.AuditError, match="ingen afgjorte sager"):
        audits.draw(town, "kontanthjaelp", "2014-Q3", seed=1)
    assert audits.draw(town, "kontanthjaelp", "2014-Q2", size=50, seed=1).size == 5


@pytest.mark.parametrize("args, message", [
    (("nope", "2014-Q1"), "Ukendt kvalitetskoncept 'nope'"),
    (("kontanthjaelp", "2014-H1"), "kvartalsvis: skriv runden som fx 2014-Q1"),
    (("delpension", "2014-Q1"), "årligt: skriv runden som fx 2014"),
    (("kontanthjaelp", "2014-Q9"), "Ukendt periode"),
])
def test_bad_concept_or_round_is_a_usage_error(duck_town, args, message):
    with pytest.raises(audits.AuditUsageError, match=message):
        audits.draw(duck_town, *args)


def test_sample_exports_to_xlsx(duck_town):
    s = audits.draw(duck_town, "kontanthjaelp", "2014-Q1", size=10, seed=3)
    wb = load_workbook(BytesIO(sample_workbook(s, Labels.of(duck_town))))
    rows = list(wb["Stikprøve"].iter_rows(values_only=True))
    assert "seed 3" in rows[0][0] and rows[1][0] == "Område: Hele kommunen"
    assert rows[3][:2] == ("Nr.", "Sags-id")
    assert [r[1] for r in rows[4:]] == [x.case_id for x in s.cases]
    assert wb["Kontrolpunkter"].max_row == 3 + len(s.concept.checks)  # title, blank, header


# -- sample sizes (AICPA table, 95 % confidence, 5 % tolerable) -------------------------------
@pytest.mark.parametrize("expected, n", [(0, 59), (1, 93), (2, 181)])
def test_attribute_sample_sizes(expected, n):
    assert audits.sample_size(95, 5, expected) == n


def test_small_populations_need_fewer_cases():
    # exact hypergeometric (tests/test_stats.py checks it against sums of binomial
    # coefficients): 45 of 100, and all 10 of 10 (one error among ten hides in nine of them)
    assert audits.sample_size(95, 5, 0, population=100) == 45
    assert audits.sample_size(95, 5, 0, population=10) == 10
    with pytest.raises(audits.AuditUsageError, match="mindre end den tolerable"):
        audits.sample_size(95, 5, 6)


@pytest.mark.parametrize("pct, light", [(94.5, "green"), (74.5, "yellow"), (74.0, "red"),
                                        (94.4, "yellow"), (100, "green")])
def test_light_boundaries(pct, light):
    assert traffic_light(pct) == light


# -- review entry, closing, reopening -----------------------------------------------------------
def _answer_all(store, s, reviewer="Anna", role="intern", errors=()):
    for x in s.cases:
        for k in s.concept.checks:
            res = "fejl" if (x.case_id, k.id) in errors else "ok"
            audits.save_answer(store, s.concept.id, s.round, x.case_id, k.id, res, reviewer,
                               role)


def test_answers_are_kept_with_history_and_published_on_close(town):
    s = audits.draw(town, "kontanthjaelp", "2014-Q1", size=5, seed=11)
    first = s.cases[0].case_id
    k1, k2 = s.concept.checks[0].id, s.concept.checks[1].id
    audits.save_answer(town, "kontanthjaelp", "2014-Q1", first, k1, "fejl", "Anna",
                       note="Forkert sats")
    audits.save_answer(town, "kontanthjaelp", "2014-Q1", first, k1, "ok", "Bo")
    cur = {(a.case_id, a.check): a for a in audits.answers(town, "kontanthjaelp", "2014-Q1")}
    assert cur[(first, k1)].result == "ok" and cur[(first, k1)].reviewer == "Bo"
    assert len(audits.answers(town, "kontanthjaelp", "2014-Q1", history=True)) == 2
    with pytest.raises(audits.AuditError, match="mangler svar"):
        audits.close_round(town, "kontanthjaelp", "2014-Q1")
    with pytest.raises(audits.AuditError, match="allerede svar"):
        audits.draw(town, "kontanthjaelp", "2014-Q1", size=5, seed=12)
    _answer_all(town, s, errors={(first, k2)})
    audits.close_round(town, "kontanthjaelp", "2014-Q1", actor="Koordinator")
    r = compute(town, Query.make("audit_correct_rate", "2014-Q1", [], ["concept=kontanthjaelp"]))
    assert (r.rows[0].numerator, r.rows[0].denominator) == (4, 5)
    with pytest.raises(audits.AuditError, match="afsluttet"):
        audits.save_answer(town, "kontanthjaelp", "2014-Q1", first, k2, "ok", "Anna")
    with pytest.raises(audits.AuditUsageError, match="begrundelse"):
        audits.reopen_round(town, "kontanthjaelp", "2014-Q1", " ")
    audits.reopen_round(town, "kontanthjaelp", "2014-Q1", "Fejl i sag rettet efter partshøring",
                        actor="Koordinator")
    audits.save_answer(town, "kontanthjaelp", "2014-Q1", first, k2, "ok", "Anna")
    audits.close_round(town, "kontanthjaelp", "2014-Q1")
    r = compute(town, Query.make("audit_correct_rate", "2014-Q1", [], ["concept=kontanthjaelp"]))
    assert (r.rows[0].numerator, r.rows[0].denominator) == (5, 5)  # replaced, not added
    log = audits.history(town, "kontanthjaelp", "2014-Q1")
    assert [e.action for e in log] == ["stikprøve trukket", "afsluttet", "genåbnet",
                                       "afsluttet"]
    assert log[2].reason == "Fejl i sag rettet efter partshøring"
    states = {x.round: x for x in audits.round_states(town, 2014, today=date(2014, 4, 10),
                                                       concept_id="kontanthjaelp")}
    assert states["2014-Q1"].status == "afsluttet" and states["2014-Q2"].status == "planlagt"


def test_bad_answers_are_refused_in_danish(duck_town):
    s = audits.draw(duck_town, "kontanthjaelp", "2014-Q1", size=3, seed=5)
    cid = s.cases[0].case_id
    for args, msg in [(("X1", "n1", "ok", "Anna"), "ikke med i stikprøven"),
                      ((cid, "zz", "ok", "Anna"), "Kontrolpunktet 'zz' findes ikke"),
                      ((cid, "n1", "måske", "Anna"), "Ukendt resultat"),
                      ((cid, "n1", "ok", " "), "bedømmerens navn")]:
        with pytest.raises(audits.AuditUsageError, match=msg):
            audits.save_answer(duck_town, "kontanthjaelp", "2014-Q1", *args)


def test_year_plan_states(duck_town):
    c = "kontanthjaelp"
    audits.draw(duck_town, c, "2014-Q1", size=3, seed=5)

    def states(today):
        return {x.round: x.status for x in audits.round_states(duck_town, 2014, today, c)}

    assert states(date(2014, 2, 1))["2014-Q1"] == "skal_gennemfoeres"  # drawn, none answered
    assert states(date(2014, 5, 1))["2014-Q1"] == "forsinket"  # deadline 30 April
    assert states(date(2014, 7, 2))["2014-Q2"] == "skal_gennemfoeres"
    s = audits.load_sample(duck_town, c, "2014-Q1")
    audits.save_answer(duck_town, c, "2014-Q1", s.cases[0].case_id, "n1", "ok", "Anna")
    assert states(date(2014, 4, 2))["2014-Q1"] == "i_gang"
    assert audits.deadline(audits.round_period(s.concept, "2014-Q4")) == date(2015, 1, 31)


def test_csv_import_for_offline_reviewers(duck_town, tmp_path):
    s = audits.draw(duck_town, "kontanthjaelp", "2014-Q1", size=2, seed=9)
    a, b = s.cases[0].case_id, s.cases[1].case_id
    f = tmp_path / "svar.csv"
    f.write_bytes(("case_id;check;result;note\n"
                   f"{a};n1;OK;\n{a};n2;Fejl;Formue ikke vurderet\n{a};k1;Ikke relevant;\n"
                   f"{b};n1;jo;\nZZZ;n1;ok;\n").encode("cp1252"))
    rep = audits.import_csv(duck_town, "kontanthjaelp", "2014-Q1", f, reviewer="Offline Olsen")
    assert rep.loaded == 3 and [r["row"] for r in rep.rejects] == [5, 6]
    cur = {(x.case_id, x.check): x for x in audits.answers(duck_town, "kontanthjaelp", "2014-Q1")}
    assert cur[(a, "n2")].result == "fejl" and cur[(a, "n2")].note == "Formue ikke vurderet"
    assert cur[(a, "k1")].result == "ikke_relevant" and cur[(a, "n1")].via == "csv"
    assert cur[(a, "n1")].reviewer == "Offline Olsen"


def test_csv_import_rejects_a_value_over_the_field_limit(duck_town, tmp_path):
    s = audits.draw(duck_town, "kontanthjaelp", "2014-Q1", size=2, seed=9)
    a = s.cases[0].case_id
    f = tmp_path / "svar.csv"
    f.write_text(f"case_id;check;result;note\n{a};n1;ok;{'N' * 40_000}\n{a};n2;ok;\n",
                 encoding="utf-8")
    rep = audits.import_csv(duck_town, "kontanthjaelp", "2014-Q1", f, reviewer="Olsen")
    assert rep.loaded == 1 and rep.rejects == [{"row": 2, "reason": (
        "feltet note har 40.000 tegn, mere end de højst 32.767 "
        "(SAGSINDSIGT_IMPORT_MAX_FIELD_CHARS); værdien er ikke gemt")}]
    assert [x.check for x in audits.answers(duck_town, "kontanthjaelp", "2014-Q1")] == ["n2"]


def test_calibration_agreement_and_disagreements(town):
    s = audits.draw(town, "kontanthjaelp", "2014-Q1", size=10, seed=21)
    chosen = audits.choose_calibration(town, "kontanthjaelp", "2014-Q1", n=4)
    assert len(chosen) == 4 and chosen == audits.choose_calibration(
        town, "kontanthjaelp", "2014-Q1", n=4)  # reproducible from the round's seed
    _answer_all(town, s, errors={(chosen[0], "n1")})
    for cid in chosen:
        for k in s.concept.checks:
            res = "fejl" if (cid, k.id) in {(chosen[0], "n1"), (chosen[1], "f1")} else "ok"
            audits.save_answer(town, "kontanthjaelp", "2014-Q1", cid, k.id, res, "Revisor",
                               "ekstern")
    audits.close_round(town, "kontanthjaelp", "2014-Q1")
    dis = audits.disagreements(town, "kontanthjaelp", "2014-Q1")
    assert [(d.case_id, d.check, d.intern, d.ekstern) for d in dis] == [
        (chosen[1], "f1", "ok", "fejl")]
    r = compute(town, Query.make("audit_agreement", "2014-Q1", [], ["concept=kontanthjaelp"]))
    n = 4 * len(s.concept.checks)
    assert r.rows[0].n == n and r.rows[0].value == round(100 * (n - 1) / n, 2)


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_exit_codes(duck_town, tmp_path, capsys):
    db = duck_town.url
    duck_town.close()

    def run(*args):
        code = main(["--db", db, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("audit", "size", "--confidence", "95", "--tolerable", "5", "--expected", "0")[:2] \
        == (0, "59\n")
    assert run("audit", "size", "--expected", "1")[1] == "93\n"
    assert run("audit", "size", "--expected", "2")[1] == "181\n"
    code, _, err = run("audit", "size", "--expected", "7")
    assert code == 2 and "Fejl:" in err and "Traceback" not in err
    code, out, err = run("audit", "sample", "kontanthjaelp", "2014-Q1", "--size", "6",
                         "--stratify", "unit", "--seed", "99", "--format", "json",
                         "--xlsx", str(tmp_path / "s.xlsx"))
    assert code == 0, err
    data = json.loads(out)
    assert data["seed"] == 99 and len(data["cases"]) == 6 and (tmp_path / "s.xlsx").exists()
    code, out, err = run("audit", "sample", "kontanthjaelp", "2014-Q1", "--size", "6",
                         "--stratify", "unit", "--seed", "99", "--format", "csv")
    assert code == 0 and [r.split(",")[1] for r in out.splitlines()[1:]] == [
        c["case_id"] for c in data["cases"]]
    assert run("audit", "sample", "nope", "2014-Q1")[0] == 2
    assert run("audit", "sample", "kontanthjaelp", "2014")[0] == 2
    assert run("audit", "sample", "kontanthjaelp", "2014-Q3")[0] == 1  # no cases
    assert run("audit", "close", "kontanthjaelp", "2014-Q1")[0] == 1  # not answered
    code, out, _ = run("audit", "plan", "2014", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 5 * 4 + 4 * 2 + 1
    f = tmp_path / "svar.csv"
    first = data["cases"][0]["case_id"]
    f.write_text(f"case_id,check,result\n{first},n1,ok\n{first},n9,ok\n", encoding="utf-8")
    code, out, err = run("audit", "import", "kontanthjaelp", "2014-Q1", str(f), "--reviewer",
                         "Anna")
    assert code == 3 and "1 svar indlæst, 1 afvist" in out and "række 3" in err
    assert run("audit", "reopen", "kontanthjaelp", "2014-Q1", "--reason", "x")[0] == 1
    code, out, _ = run("audit", "calibrate", "kontanthjaelp", "2014-Q1", "--cases", "2")
    assert code == 0 and "2 sager valgt" in out




@pytest.mark.xdist_group("demo")
def test_demo_has_a_planned_year_with_drawn_samples(demo_store):
    states = audits.round_states(demo_store, 2014, today=date(2014, 12, 31))
    by = {(s.concept.id, s.round): s for s in states}
    assert by[("kontanthjaelp", "2014-Q1")].status == "afsluttet"  # reviews imported
    assert by[("kontanthjaelp", "2014-Q4")].status == "i_gang"  # a few answers given
    assert by[("delpension", "2014")].status == "skal_gennemfoeres"
    last = [s for s in states if s.round in ("2014-Q4", "2014-H2", "2014")]
    assert len(last) == 10 and all(s.drawn > 0 for s in last)
    assert all(s.status != "afsluttet" for s in last)
    with pytest.raises(audits.AuditError, match="allerede gennemgange indlæst"):
        audits.draw(demo_store, "kontanthjaelp", "2014-Q1", seed=1)
