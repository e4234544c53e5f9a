"""One-shot figures beside their reference: `sagsindsigt kpi` against a raw DuckDB script.

    uv run python bench/bench_speed.py --years 4 [--db PATH] [--runs 5] [--json PATH]

Each figure is asked the way a BI clerk or a nightly script asks it: a new process per
figure (``sagsindsigt --db D kpi K --period Y --by administration --format json``), beside a
new process running the same figure as hand-written SQL with the DuckDB driver alone (the
reference). Both are timed as wall time, CPU seconds and peak resident memory of the child
process (``os.wait4``); the median of ``--runs`` is shown with the ratio ours / reference.
Two ways for ours: the figure kept in the store (computed when the data changed: ``sagsindsigt
prepare``, run by import and demo) and computed (its kept row deleted first). The values of
ours and the reference are compared row by row; a difference fails the run (exit 1).

Aim (issue 16): a one-shot figure within 4× the reference's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AIM = 4.0
PERIOD = "2015"
SPAN = ("2015-01-01", "2015-12-31")

# the KPI, the reference SQL (administration, numerator, denominator), how to get the value
REFERENCES = {
    "cases_decided": (
        "SELECT administration, count(*), NULL FROM cases "
        "WHERE decided BETWEEN ? AND ? GROUP BY 1", "count"),
    "deadline_compliance": (
        "SELECT administration, count(*) FILTER (WHERE due IS NOT NULL AND decided <= due), "
        "count(*) FILTER (WHERE due IS NOT NULL) FROM cases "
        "WHERE decided BETWEEN ? AND ? GROUP BY 1", "pct"),
    "refusal_rate": (
        "SELECT administration, count(*) FILTER (WHERE outcome = 'afslag'), "
        "count(*) FILTER (WHERE outcome IS NOT NULL) FROM cases "
        "WHERE decided BETWEEN ? AND ? GROUP BY 1", "pct"),
    "complaints_received": (
        "SELECT administration, count(*), NULL FROM complaints "
        "WHERE received BETWEEN ? AND ? GROUP BY 1", "count"),
}

REFERENCE_SCRIPT = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
# the dates written into the statement: a parameter makes the driver import pandas (1 s)
sql = sys.argv[2].replace("?", "DATE '{}'", 1).replace("?", "DATE '{}'", 1)
rows = con.execute(sql.format(sys.argv[3], sys.argv[4])).fetchall()
print(json.dumps([[a, n, d] for a, n, d in rows]))
"""


def run(cmd: list[str], env: dict) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child process, and its stdout."""
    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode()
        p.stderr.close()
        if p.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed: {err}")
        out.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def median_of(runs: int, cmd: list[str], env: dict, before=None) -> dict:
    samples = []
    for _ in range(runs):
        if before:
            before()
        samples.append(run(cmd, env))
    return {"wall_s": statistics.median(s[0] for s in samples),
            "cpu_s": statistics.median(s[1] for s in samples),
            "peak_mb": max(s[2] for s in samples), "output": samples[-1][3]}


def reference_values(output: str, how: str) -> dict[str, float]:
    out = {}
    for admin, num, den in json.loads(output):
        out[admin] = num if how == "count" else round(100.0 * num / den, 2) if den else None
    return out


def our_values(output: str) -> dict[str, float]:
    return {r["administration"]: r["value"] for r in json.loads(output)["rows"]
            if r["value"] is not None}


def forget(db: Path, kpi: str):
    """Delete the kept rows (all of them: keys are digests) before a computed run."""
    def drop():
        import duckdb

        con = duckdb.connect(str(db))
        con.execute("DELETE FROM figures")
        con.close()
    return drop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--db", help="an existing demo store (copied; built when missing)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", default="bench/results/speed.json")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sagsindsigt-speed-"))
    db = work / "bench.duckdb"
    env = {**os.environ, "SAGSINDSIGT_SECRET_FILE": str(db.with_suffix(".secret"))}
    ours = [sys.executable, "-m", "sagsindsigt.cli", "--db", str(db)]
    if a.db:
        shutil.copy(a.db, db)
        shutil.copy(Path(a.db).with_suffix(".secret"), db.with_suffix(".secret"))
        subprocess.run([*ours, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    else:
        t = time.perf_counter()
        subprocess.run([*ours, "demo", "--years", str(a.years)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"demo store built (and its figures prepared) in {time.perf_counter() - t:.0f} s")
    prep = run([*ours, "prepare"], env)  # computes what a copied store lacks
    print(f"Sagsindsigt one-shot figures — {a.years} demo years, period {PERIOD}, by "
          f"administration, median of {a.runs} runs, {os.cpu_count()} cores, "
          f"{platform.platform()}")
    print(f"'sagsindsigt prepare': {prep[0]:.1f} s wall, {prep[1]:.1f} CPU s, "
          f"{prep[2]:.0f} MB peak")
    print(f"{'figure':22} {'way':9} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} "
          f"{'ref wall':>8} {'ref MB':>7} {'ratio':>6}  aim ≤ {AIM:g}×")
    results, failed = [], False
    for kpi, (sql, how) in REFERENCES.items():
        ref = median_of(a.runs, [sys.executable, "-c", REFERENCE_SCRIPT, str(db), sql, *SPAN],
                        env)
        expected = reference_values(ref.pop("output"), how)
        cmd = [*ours, "kpi", kpi, "--period", PERIOD, "--by", "administration",
               "--format", "json"]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)  # kept now
        for way, before in (("kept", None), ("computed", forget(db, kpi))):
            m = median_of(a.runs, cmd, env, before)
            got = our_values(m.pop("output"))
            same = {k: v for k, v in expected.items() if k in got} == got and got
            failed |= not same
            ratio = m["wall_s"] / ref["wall_s"]
            print(f"{kpi:22} {way:9} {m['wall_s']:7.2f} {m['cpu_s']:6.2f} {m['peak_mb']:8.0f} "
                  f"{ref['wall_s']:8.2f} {ref['peak_mb']:7.0f} {ratio:5.1f}×"
                  f"{'' if same else '  VALUES DIFFER'}")
            results.append({"kpi": kpi, "way": way, **m, "reference": ref, "ratio": ratio,
                            "values_equal": bool(same)})
    kept = [r["ratio"] for r in results if r["way"] == "kept"]
    print(f"kept figures: worst ratio {max(kept):.1f}× (aim ≤ {AIM:g}×); values "
          f"{'equal' if not failed else 'DIFFER'}")
    out = Path(a.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"years": a.years, "period": PERIOD, "runs": a.runs,
                               "aim_ratio": AIM, "prepare_s": prep[0], "figures": results},
                              indent=2), encoding="utf-8")
    print(f"written to {out}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
