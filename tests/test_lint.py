"""One read path, enforced by the tools: `make lint` fails when a module outside store/ and
access/ reaches for the engine (an import of the engine module or a driver: TID251; the
store's private engine attribute: SLF001), and passes for the same code inside store/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW_READ = '''from ..store.engines import run_expr


def leak(store):
    run_expr(store)
    return store._engine.query("SELECT * FROM cases")
'''


def ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert found, "ruff is a dev dependency (uv sync installs it)"
    return found


def tree(tmp_path: Path, room: str) -> Path:
    """The project's lint configuration over a package with one probe module in ``room``."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    pkg = tmp_path / "src" / "sagsindsigt"
    (pkg / room).mkdir(parents=True)
    for d in (pkg, pkg / room):
        (d / "__init__.py").write_text("", encoding="utf-8")
    probe = pkg / room / "probe.py"
    probe.write_text(RAW_READ, encoding="utf-8")
    return probe


def check(probe: Path, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ruff(), "check", "--no-cache", "--output-format", "concise",
                           str(probe.relative_to(root))], cwd=root, capture_output=True,
                          text=True)


def test_a_raw_engine_call_in_a_surface_fails_lint(tmp_path):
    for room in ("web", "reports", "kpis", "audits"):
        root = tmp_path / room
        root.mkdir()
        r = check(tree(root, room), root)
        assert r.returncode == 1, (room, r.stdout)
        assert "TID251" in r.stdout and "sagsindsigt.store.engines" in r.stdout, r.stdout
        assert "SLF001" in r.stdout and "_engine" in r.stdout, r.stdout


def test_the_same_code_inside_the_store_passes(tmp_path):
    r = check(tree(tmp_path, "store"), tmp_path)
    assert r.returncode == 0, r.stdout


def test_the_project_itself_passes_lint():
    r = subprocess.run([ruff(), "check", "--no-cache", "src", "tests", "bench"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def test_pm4py_is_never_a_dependency_nor_imported():
    """PM4Py is AGPL: only bench/bench_process.py runs it, in a virtual environment of its own
    and as a subprocess; the package and its tests never import it or depend on it."""
    import re

    pattern = re.compile(r"^\s*(import|from)\s+pm4py", flags=re.M)
    for room in ("src", "tests"):
        for path in (ROOT / room).rglob("*.py"):
            assert not pattern.search(path.read_text(encoding="utf-8")), path
    assert "pm4py" not in (ROOT / "pyproject.toml").read_text(encoding="utf-8").lower()
    assert "pm4py" not in (ROOT / "uv.lock").read_text(encoding="utf-8").lower()
