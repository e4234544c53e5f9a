"""Report benchmark: each committee report built from an N-year Copenhagen demo store and
rendered as XLSX, PDF and HTML, timed per phase.

    uv run python bench/bench_reports.py --years 4 [--db PATH] [--repeat 3]

Prints, per report, the time to gather the figures (cold cache), each renderer's time (best
of --repeat), the file sizes and the PDF's page count.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {"oekonomiudvalg": ("2014", []), "kvartal": ("2014-Q2", ["administration=SOF"]),
         "borgerraadgiver": ("2014", []), "kvalitet": ("2014", ["administration=BIF"])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--db", help="an existing demo store to reuse (built when missing)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sagsindsigt-bench-"))
    db = Path(a.db) if a.db else work / "bench.duckdb"
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(db.with_suffix(".secret"))
    if not db.exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sagsindsigt.cli", "--db", str(db), "demo",
                        "--years", str(a.years)], check=True, stdout=subprocess.DEVNULL)
        print(f"demo store built in {time.perf_counter() - t:.0f} s")
    from sagsindsigt.reports import build_report, render
    from sagsindsigt.store import Store

    store = Store(str(db))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, store {db}")
    print(f"{'report':16} {'figures':>8} {'xlsx':>7} {'pdf':>7} {'html':>7} "
          f"{'xlsx kB':>8} {'pdf kB':>7} {'pages':>5}")
    for kind, (period, where) in CASES.items():
        t = time.perf_counter()
        rep = build_report(store, kind, period, where)
        figures = time.perf_counter() - t
        times, sizes = {}, {}
        for fmt in ("xlsx", "pdf", "html"):
            best = float("inf")
            for _ in range(a.repeat):
                t = time.perf_counter()
                data = render(rep, fmt)
                best = min(best, time.perf_counter() - t)
            times[fmt], sizes[fmt] = best, len(data)
            if fmt == "pdf":
                (work / f"{kind}.pdf").write_bytes(data)
        pages = "-"
        if shutil.which("pdfinfo"):
            info = subprocess.run(["pdfinfo", str(work / f"{kind}.pdf")], capture_output=True,
                                  text=True).stdout
            pages = next((ln.split()[-1] for ln in info.splitlines()
                          if ln.startswith("Pages:")), "-")
        print(f"{kind:16} {figures:7.2f}s {times['xlsx']:6.2f}s {times['pdf']:6.2f}s "
              f"{times['html']:6.2f}s {sizes['xlsx'] / 1024:8.0f} {sizes['pdf'] / 1024:7.0f} "
              f"{pages:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
