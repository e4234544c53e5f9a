"""The docs keep up with the code: every KPI of the registry is documented, none extra."""

from __future__ import annotations

import re
from pathlib import Path

from sagsindsigt.kpis import all_kpis

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_kpi_is_documented_and_no_other():
    text = (DOCS / "kpis.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `([a-z0-9_]+)`", text, flags=re.M))
    assert documented == {k.id for k in all_kpis()}


def test_readme_names_the_two_commands():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
