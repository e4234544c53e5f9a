"""The four committee reports made from the demo by the CLI, once per test session: the
tests read the files a user gets."""

from __future__ import annotations

import os

import pytest

from sagsindsigt.cli import main

pytestmark = pytest.mark.xdist_group("demo")

# kind → (period, filters) as a committee would ask for them
CASES = {
    "oekonomiudvalg": ("2014", []),
    "kvartal": ("2014-Q2", ["administration=SOF"]),
    "borgerraadgiver": ("2014", []),
    "kvalitet": ("2014", ["administration=BIF"]),
}


@pytest.fixture(scope="session")
def report_files(demo_store, tmp_path_factory):
    """(kind, format, mode) → path of the file ``sagsindsigt report`` wrote."""
    out = tmp_path_factory.mktemp("reports")
    old = os.environ.get("SAGSINDSIGT_SECRET_FILE")
    os.environ["SAGSINDSIGT_SECRET_FILE"] = str(demo_store.secret_file)
    files = {}
    try:
        for kind, (period, where) in CASES.items():
            for fmt in ("xlsx", "pdf"):
                for mode in ("publication", "internal"):
                    if fmt == "pdf" and mode == "internal":
                        continue
                    path = out / f"{kind}-{mode}.{fmt}"
                    args = ["--db", demo_store.url, "report", kind, "--period", period,
                            "--format", fmt, "-o", str(path)]
                    args += [a for w in where for a in ("--where", w)]
                    if mode == "internal":
                        args.append("--internal")
                    assert main(args) == 0, (kind, fmt, mode)
                    files[(kind, fmt, mode)] = path
    finally:
        if old is None:
            os.environ.pop("SAGSINDSIGT_SECRET_FILE", None)
        else:
            os.environ["SAGSINDSIGT_SECRET_FILE"] = old
    return files


@pytest.fixture(scope="session")
def reports(demo_store):
    """The same reports as objects (publication and internal), for the expected figures."""
    from sagsindsigt.reports import Source, build_report

    out = {}
    for kind, (p, w) in CASES.items():
        src = Source(demo_store)  # one cache per kind: the second mode costs no queries
        for internal in (False, True):
            out[(kind, internal)] = build_report(demo_store, kind, p, w, internal=internal,
                                                 source=src)
    return out
