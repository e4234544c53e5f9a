"""'sagsindsigt report' as a nightly job runs it: a fresh process, exit codes, Danish errors."""

from __future__ import annotations

import subprocess
import sys

from openpyxl import load_workbook


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "sagsindsigt.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_fresh_process_on_an_empty_store(tmp_path, _secret):
    import os

    env = {**os.environ, "SAGSINDSIGT_SECRET_FILE": str(_secret)}
    db = str(tmp_path / "tom.duckdb")
    assert run("--db", db, "init", env=env).returncode == 0
    out = tmp_path / "kvartal.xlsx"
    r = run("--db", db, "report", "kvartal", "--period", "2014-Q2", "--format", "xlsx",
            "-o", str(out), env=env)
    assert r.returncode == 0, r.stderr
    assert "2. kvartal 2014" in r.stdout and str(out) in r.stdout
    wb = load_workbook(out)
    ws = wb["sagstyper"]
    # no data is never 0: a table without any figure says why, in place of its rows
    assert ws["A5"].value == ("Der er ingen tal for 2. kvartal 2014 for hele kommunen med de "
                              "valgte filtre, så tabellen er tom.")
    assert not any(isinstance(c.value, int | float) for r in ws.iter_rows() for c in r)
    r = run("--db", db, "report", "kvartal", "--period", "2014-Q2", "-o",
            str(tmp_path / "mangler" / "x.pdf"), env=env)
    assert r.returncode == 1 and r.stderr.startswith("Fejl: Rapporten kunne ikke skrives")
    assert "Traceback" not in r.stderr


def test_usage_errors_exit_2_in_danish(tmp_path, _secret):
    import os

    env = {**os.environ, "SAGSINDSIGT_SECRET_FILE": str(_secret)}
    db = str(tmp_path / "tom.duckdb")
    assert run("--db", db, "init", env=env).returncode == 0
    out = str(tmp_path / "x.pdf")
    r = run("--db", db, "report", "aarsrapport", "-o", out, env=env)
    assert r.returncode == 2 and "oekonomiudvalg" in r.stderr
    r = run("--db", db, "report", "kvalitet", "--period", "2014-Q9", "-o", out, env=env)
    assert r.returncode == 2 and "Fejl: Ukendt periode '2014-Q9'" in r.stderr
    r = run("--db", db, "report", "kvalitet", "--where", "administration", "-o", out, env=env)
    assert r.returncode == 2 and "DIMENSION=VÆRDI" in r.stderr
    r = run("--db", db, "report", "kvalitet", "--threshold", "0", "-o", out, env=env)
    assert r.returncode == 2 and "mindst 1" in r.stderr
