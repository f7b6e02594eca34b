# Two commands do all the set-up on a fresh clone:
#   make demo   install supadeploy, start the local Supabase-shaped Postgres, push supabase/migrations/
#   make test   install supadeploy with its test tools and the Supabase CLI, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Versions are pinned exactly in .tools/package.json (supabase 2.117.0) and .tools/cli3/package.json (3.1.0:
# both majors install a bin called `supabase`, so each has its own folder).
SUPABASE_CLI := .tools/node_modules/.bin/supabase
SUPABASE_CLI3 := .tools/cli3/node_modules/.bin/supabase

.PHONY: install tools demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

$(SUPABASE_CLI): .tools/package.json
	cd .tools && npm install --no-audit --no-fund

$(SUPABASE_CLI3): .tools/cli3/package.json
	cd .tools/cli3 && npm install --no-audit --no-fund

tools: $(SUPABASE_CLI) $(SUPABASE_CLI3)

demo: install
	$(BIN)/supadeploy local start
	$(BIN)/supadeploy push --yes
	$(BIN)/supadeploy migration list
	$(BIN)/supadeploy verify

test: install tools
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: install tools
	$(BIN)/python benchmarks/push_benchmark.py
	$(BIN)/python benchmarks/verify_benchmark.py
	$(BIN)/python benchmarks/types_benchmark.py
	$(BIN)/python benchmarks/e2e_benchmark.py
	$(BIN)/python benchmarks/big_migration_benchmark.py
	$(BIN)/python benchmarks/fleet_benchmark.py

clean:
	rm -rf $(VENV) .tools/node_modules .tools/cli3/node_modules
