"""Doc drift: the docs must keep up with the code.

These tests fail when a KPI, a CLI command or option, a record kind, a field or a code-list
value exists in the code but not in docs/, or when the docs describe a KPI the registry does
not have. Fix the docs (docs/kpis.md, docs/cli.md, docs/data.md), not the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from sagsindsigt.cli import cli
from sagsindsigt.contract import CODE_LISTS, IMPORT_KINDS, KINDS
from sagsindsigt.kpis import REGISTRY, load_definitions

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
KPI_HEADING = re.compile(r"^### `([a-z0-9_]+)` — (.+?)\s*$", flags=re.M)
HEADING = re.compile(r"^#{1,3} ", flags=re.M)


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def registry() -> dict:
    load_definitions()  # the definitions register themselves on first import
    assert REGISTRY, "the KPI registry is empty"
    return dict(REGISTRY)


def section(text: str, heading: str) -> str:
    """The text under a heading line, up to the next heading of level 1 to 3."""
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        pytest.fail(f"heading {heading!r} is missing")
    body = []
    for line in lines[start + 1:]:
        if HEADING.match(line):
            break
        body.append(line)
    return "\n".join(body)


def backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


def walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    """Every command of a click group, subcommands included, as ('import', cmd), ..."""
    for name, cmd in sorted(group.commands.items()):
        full = (*path, name)
        yield " ".join(full), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, full)


COMMANDS = dict(walk(cli))


# -- docs/kpis.md --------------------------------------------------------------------------
def test_every_registry_kpi_has_a_heading():
    documented = set(KPI_HEADING.findall(read("kpis.md")))
    missing = sorted(set(registry()) - {kpi_id for kpi_id, _ in documented})
    assert not missing, f"KPIs without a '### `id` — label' heading in docs/kpis.md: {missing}"


def test_no_kpi_documented_that_is_not_in_the_registry():
    ids = set(registry())
    headings = [kpi_id for kpi_id, _ in KPI_HEADING.findall(read("kpis.md"))]
    extra = sorted(set(headings) - ids)
    assert not extra, f"docs/kpis.md documents KPIs the registry does not have: {extra}"
    twice = sorted({k for k in headings if headings.count(k) > 1})
    assert not twice, f"docs/kpis.md documents these KPIs twice: {twice}"
    # examples such as `sagsindsigt kpi complaint_rate` or /api/kpi/x must name real KPIs
    for doc in sorted(DOCS.glob("*.md")):
        named = re.findall(r"\bkpi[ /]([a-z][a-z0-9_]+)", doc.read_text(encoding="utf-8"))
        unknown = sorted(set(named) - ids)
        assert not unknown, f"{doc.name} uses KPI ids not in the registry: {unknown}"


@pytest.mark.parametrize("kpi_id", sorted(registry()))
def test_kpi_entry_matches_the_registry(kpi_id):
    kpi = registry()[kpi_id]
    text = read("kpis.md")
    labels = dict(KPI_HEADING.findall(text))
    assert labels.get(kpi_id) == kpi.label, (
        f"heading of {kpi_id}: label {labels.get(kpi_id)!r}, registry says {kpi.label!r}")
    body = section(text, f"### `{kpi_id}` — {kpi.label}")
    unit = re.search(r"^- \*\*Unit:\*\* `([^`]+)`", body, flags=re.M)
    assert unit and unit.group(1) == kpi.unit, f"{kpi_id}: unit should be `{kpi.unit}`"
    dims = re.search(r"^- \*\*Dimensions:\*\* (.+)$", body, flags=re.M)
    assert dims, f"{kpi_id}: no '- **Dimensions:**' line"
    assert re.findall(r"`([^`]+)`", dims.group(1)) == list(kpi.dims), (
        f"{kpi_id}: dimensions should be {list(kpi.dims)}")


# -- docs/cli.md ---------------------------------------------------------------------------
def test_every_command_has_a_heading():
    text = read("cli.md")
    missing = [name for name in COMMANDS
               if f"### `sagsindsigt {name}`" not in text.splitlines()]
    assert not missing, f"commands without a '### `sagsindsigt NAME`' heading: {missing}"


def test_no_command_documented_that_does_not_exist():
    headings = re.findall(r"^### `sagsindsigt ([^`]+)`$", read("cli.md"), flags=re.M)
    extra = sorted(set(headings) - set(COMMANDS))
    assert not extra, f"docs/cli.md documents commands the CLI does not have: {extra}"


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_every_option_and_argument_is_documented(name):
    cmd = COMMANDS[name] if name else cli
    heading = f"### `sagsindsigt {name}`" if name else "### `sagsindsigt`"
    body = section(read("cli.md"), heading)
    for param in cmd.params:
        if isinstance(param, click.Argument):
            word = param.human_readable_name
            assert word in body, f"argument {word} of '{heading}' is not documented"
            continue
        if getattr(param, "hidden", False):
            continue
        for opt in [*param.opts, *param.secondary_opts]:
            row = re.compile(r"^\| (?:`[^`]+`, )*`" + re.escape(opt) + r"\b", flags=re.M)
            assert row.search(body), f"option {opt} of '{heading}' has no row in its table"
        if isinstance(param.type, click.Choice):
            for choice in param.type.choices:
                assert str(choice) in body, f"{param.opts[0]}: choice {choice} not documented"


def test_import_kinds_are_listed_under_import():
    body = section(read("cli.md"), "### `sagsindsigt import`")
    missing = [k for k in IMPORT_KINDS if f"`{k}`" not in body]
    assert not missing, f"import kinds missing from docs/cli.md: {missing}"


# -- docs/data.md --------------------------------------------------------------------------
def test_every_record_kind_is_mentioned():
    names = backticked(read("data.md"))
    missing = [k for k in KINDS if k not in names]
    assert not missing, f"record kinds not mentioned (in backticks) in docs/data.md: {missing}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_of_a_kind_is_mentioned(kind):
    names = backticked(read("data.md"))
    missing = [f.name for f in KINDS[kind].fields if f.name not in names]
    assert not missing, f"fields of {kind} not mentioned in docs/data.md: {missing}"


def test_every_code_value_is_listed():
    names = backticked(read("data.md"))
    missing = sorted({f"{lst}:{code}" for lst, codes in CODE_LISTS.items()
                      for code in codes if code not in names})
    assert not missing, f"code-list values missing from docs/data.md: {missing}"


# -- README ----------------------------------------------------------------------------------
def test_readme_names_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
