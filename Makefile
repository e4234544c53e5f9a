# One task runner for people and CI: the README's commands and .ci/run call these targets.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
DB ?= sagsindsigt.duckdb

.PHONY: setup demo test lint bench migration

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --locked --quiet --compile-bytecode
	@$(UV) run --no-sync python -m compileall -q src >/dev/null

demo: setup
	$(UV) run sagsindsigt --db $(DB) demo
	$(UV) run sagsindsigt --db $(DB) overview
	$(UV) run sagsindsigt --db $(DB) serve

test: setup
	$(UV) run pytest -n 2 --dist loadgroup

lint: setup
	$(UV) run ruff check src tests bench

# each figure beside its reference in the same run (ratios, values checked), JSON in bench/results/
bench: setup
	$(UV) run python bench/bench_speed.py --years 4
	$(UV) run python bench/bench_import.py --rows 1000000
	$(UV) run python bench/bench_reports.py --years 4
	$(UV) run python bench/bench_web.py --years 4
	$(UV) run python bench/bench_core.py --years 4
	$(UV) run python bench/bench_citizen.py --years 4

# a new schema revision for PostgreSQL, generated from store/schema.py (read it before committing)
migration: setup
	$(UV) run python -m sagsindsigt.store.migrations "$(m)"
