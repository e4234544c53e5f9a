"""Import benchmark: our import of a cases CSV against DuckDB's own read_csv, in bounded memory.

    uv run python bench/bench_import.py --rows 1000000 [--json bench/results/import.json]
    uv run python bench/bench_import.py --rows 10000000 --workdir /tmp   # a 771 MB file
    uv run python bench/bench_import.py --rows 10000000 --csv /tmp/cases-10m.csv  # kept, reused

1. generates a clean UTF-8 comma-separated cases CSV of ``--rows`` rows (bench_core's demo
   rows; above its first million, copies of those with new case ids), and a fresh store with
   the demo's organisation and case types (so that units, case types and deadlines are real);
2. imports it through the CLI, the real path: ``sagsindsigt --db NEW import cases FILE
   --covers ...``, in a process of its own;
   with ``--no-prepare``: the figures computed after an import (``sagsindsigt prepare``) are
   KPI work, not import work (``--prepare`` times them on a line of their own);
3. the reference, in a process of its own: ``duckdb.connect(NEW).execute("CREATE TABLE t AS
   SELECT * FROM read_csv('FILE')")``, with the engine settings our import gives DuckDB
   (memory limit, no insertion order), and once more with DuckDB's defaults;
4. prints wall time, CPU seconds (user + system, every thread) and peak resident memory of
   each process (``getrusage(RUSAGE_CHILDREN)``, read after each child alone), the ratios, and
   checks that the store's current cases are as many as the reference table's rows.

Aims from issue 16: peak resident memory ≤ 400 MB at 1,000,000 and at 10,000,000 rows; CPU
≤ 2 × DuckDB's read_csv into a table for the same file. The figures are printed as measured,
with the aims beside them; missing an aim does not fail the run (exit code 0). They are also
written as JSON to ``--json`` (default ``bench/results/import.json``, ignored by git).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import clean_cases, reference_files  # noqa: E402

RSS_AIM_MB = 400.0
CPU_AIM = 2.0  # our CPU seconds / DuckDB read_csv's
BASE_ROWS = 1_000_000  # demo rows generated; more are copies with new case ids
# The reference in a process of its own: DuckDB's read_csv into a table of the same kind of
# database file. "same settings" runs it with the engine settings our import gives DuckDB
# (Settings.import_memory_mb, no insertion order; the path written into the statement, as
# ours writes its statements: a bound parameter makes DuckDB's Python client load pandas);
# "defaults" as DuckDB comes (memory_limit 80 % of RAM, insertion order kept), for comparison.
REFERENCE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
if sys.argv[3] != "defaults":
    con.execute(f"SET memory_limit = '{int(sys.argv[3])}MB'")
    con.execute("SET preserve_insertion_order = false")
path = sys.argv[2].replace("'", "''")
con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
con.close()
"""


def write_cases(path: Path, rows: int, work: Path) -> tuple[str, str]:
    """The CSV of ``rows`` rows; returns the period it covers (for --covers) and its columns."""
    base = clean_cases(min(rows, BASE_ROWS), work)
    with path.open("wb") as f:
        base.write_csv(f)
        done, copy = base.height, 1
        while done < rows:
            part = base.head(rows - done).with_columns(
                pl.format("K{}-{}", pl.lit(copy), pl.col("case_id")).alias("case_id"))
            part.write_csv(f, include_header=False)
            done += part.height
            copy += 1
    lo, hi = base["received"].min(), base["received"].max()
    return f"{lo.year}-01-01..{hi.year}-12-31", ", ".join(base.columns)


def child(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` alone and measure it: wall, CPU (user + sys) and peak RSS of that child
    (RUSAGE_CHILDREN's maximum is the largest child so far: the children run one at a time,
    and the largest earlier one is reported first so a smaller one is not hidden by it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 3):  # 3: some rows rejected (printed below)
        sys.exit(f"{cmd[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
            "stdout": p.stdout.strip(), "stderr": p.stderr.strip()[-2000:]}


def peak_alone(cmd: list[str], env: dict | None = None) -> dict:
    """``child`` in a fresh interpreter, so that RUSAGE_CHILDREN's maximum is this child's
    (the command and environment go in on stdin, not on a command line)."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from bench_import import child; "
            "a = json.load(sys.stdin); print(json.dumps(child(a['cmd'], a['env'])))")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                         input=json.dumps({"cmd": cmd, "env": env}), capture_output=True,
                         text=True)
    if out.returncode:
        sys.exit(f"{cmd[0]} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the cases CSV")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the CSV and the stores go (default: a temporary directory; "
                         "10,000,000 rows need about 2 GB free)")
    ap.add_argument("--csv", type=Path, default=None,
                    help="the cases CSV: reused if it exists (with its .json beside it), else "
                         "generated there and kept (a 10,000,000-row file takes minutes)")
    ap.add_argument("--prepare", action="store_true",
                    help="also time 'sagsindsigt prepare' after the import (KPI work)")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" /
                    "import.json", help="where the figures are written")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sagsindsigt-bench-import-", dir=a.workdir))
    exe = Path(sys.executable).with_name("sagsindsigt")
    try:
        print("Sagsindsigt import benchmark")
        print(f"  machine: {os.cpu_count()} CPUs, {platform.platform()}, Python "
              f"{platform.python_version()}")
        print(f"  engines: DuckDB {duckdb.__version__}, Polars {pl.__version__}; "
              f"run {datetime.now():%Y-%m-%d %H:%M}")
        t = time.perf_counter()
        csv = a.csv or work / "cases.csv"
        about = csv.with_name(csv.name + ".json")
        if a.csv and csv.exists() and about.exists() and \
                json.loads(about.read_text())["rows"] == a.rows:
            covers, columns = (json.loads(about.read_text())[k] for k in ("covers", "columns"))
            made = "reused"
        else:
            covers, columns = write_cases(csv, a.rows, work)
            about.write_text(json.dumps({"rows": a.rows, "covers": covers, "columns": columns}))
            made = f"generated in {time.perf_counter() - t:.1f} s (not measured)"
        mb = csv.stat().st_size / 1e6
        print(f"  file:    {a.rows:,} rows, {mb:,.0f} MB UTF-8, comma-separated ({columns}); "
              f"{made}")

        db = work / "store.duckdb"
        env = {**os.environ, "SAGSINDSIGT_SECRET_FILE": str(work / "store.secret")}
        env.pop("SAGSINDSIGT_DB", None)
        org, types = reference_files(work)
        for args in (["init"], ["import", "organisation", str(org), "--source", "bench"],
                     ["import", "case_types", str(types), "--source", "bench"]):
            subprocess.run([str(exe), "--db", str(db), *args], env=env, check=True,
                           capture_output=True)

        ours = peak_alone([str(exe), "--db", str(db), "import", "cases", str(csv),
                           "--source", "bench", "--covers", covers, "--no-prepare"], env)
        prep = peak_alone([str(exe), "--db", str(db), "prepare"], env) if a.prepare else None
        from sagsindsigt.settings import Settings

        mem = Settings().import_memory_mb
        ref = peak_alone([sys.executable, "-c", REFERENCE, str(work / "ref.duckdb"), str(csv),
                          str(mem)])
        ref_default = peak_alone([sys.executable, "-c", REFERENCE,
                                  str(work / "ref-default.duckdb"), str(csv), "defaults"])

        con = duckdb.connect(str(db), read_only=True)
        loaded = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        con.close()
        ref_rows = int(ref["stdout"].splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cpu_ratio = ours["cpu_s"] / max(ref["cpu_s"], 1e-9)
    rss_ratio = ours["peak_rss_mb"] / max(ref["peak_rss_mb"], 1e-9)
    print(f"\n  {'':34} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}")
    print(f"  {'ours: sagsindsigt import cases':34} {ours['wall_s']:8.2f} {ours['cpu_s']:8.2f} "
          f"{ours['peak_rss_mb']:12.0f}")
    print(f"  {'reference: DuckDB read_csv':34} {ref['wall_s']:8.2f} {ref['cpu_s']:8.2f} "
          f"{ref['peak_rss_mb']:12.0f}   (same settings: memory_limit {mem} MB, "
          "no insertion order)")
    print(f"  {'ratio ours / reference':34} {ours['wall_s'] / ref['wall_s']:7.2f}× "
          f"{cpu_ratio:7.2f}× {rss_ratio:11.2f}×")
    print(f"  {'DuckDB read_csv, its defaults':34} {ref_default['wall_s']:8.2f} "
          f"{ref_default['cpu_s']:8.2f} {ref_default['peak_rss_mb']:12.0f}   (ratio "
          f"{ours['cpu_s'] / max(ref_default['cpu_s'], 1e-9):.2f}× CPU)")
    if prep:
        print(f"  {'then: sagsindsigt prepare':34} {prep['wall_s']:8.2f} {prep['cpu_s']:8.2f} "
              f"{prep['peak_rss_mb']:12.0f}   (figures kept for pages; not import work)")
    print(f"  ours: {ours['stdout'].splitlines()[-1] if ours['stdout'] else ours['stderr']}")

    rss_ok, cpu_ok, rows_ok = (ours["peak_rss_mb"] <= RSS_AIM_MB, cpu_ratio <= CPU_AIM,
                               loaded == ref_rows)
    print("\nSummary against the aims")
    print(f"   peak RSS       {ours['peak_rss_mb']:8.0f} MB  (aim ≤ {RSS_AIM_MB:.0f} MB) "
          f"{'met' if rss_ok else 'NOT met'}")
    print(f"   CPU / DuckDB   {cpu_ratio:8.2f} ×   (aim ≤ {CPU_AIM:.0f}×) "
          f"{'met' if cpu_ok else 'NOT met'}")
    print(f"   rows           {loaded:>11,} current cases, reference table {ref_rows:,}: "
          f"{'same' if rows_ok else 'DIFFERENT'}")

    a.json.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "run": datetime.now().isoformat(timespec="seconds"), "rows": a.rows,
        "file_mb": round(mb, 1), "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__, "polars": pl.__version__,
        "ours": {k: v for k, v in ours.items() if k.endswith(("_s", "_mb"))},
        "reference": {k: v for k, v in ref.items() if k.endswith(("_s", "_mb"))},
        "reference_settings": {"memory_limit_mb": mem, "preserve_insertion_order": False},
        "reference_defaults": {k: v for k, v in ref_default.items()
                               if k.endswith(("_s", "_mb"))},
        "prepare": {k: v for k, v in prep.items() if k.endswith(("_s", "_mb"))} if prep
        else None,
        "ratios": {"wall": round(ours["wall_s"] / ref["wall_s"], 2),
                   "cpu": round(cpu_ratio, 2), "peak_rss": round(rss_ratio, 2)},
        "aims": {"peak_rss_mb": RSS_AIM_MB, "cpu_ratio": CPU_AIM},
        "met": {"peak_rss": rss_ok, "cpu": cpu_ok, "rows": rows_ok},
        "rows_loaded": loaded, "reference_rows": ref_rows,
    }
    a.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\n  figures written to {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
