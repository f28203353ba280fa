# FieldVault developer commands. Everything runs inside .venv, which these targets create.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOWEST_VENV := .venv-lowest
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit test-lowest test-compat bench bench-quick clean interop-tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,coordinator,dev]'
	touch $(STAMP)

install: $(STAMP)

## See it work: a local server on SQLite and both apps on 127.0.0.1 (Ctrl-C stops and cleans up).
demo: $(STAMP)
	$(BIN)/fieldvault demo

## Every test: style, types, then the whole pytest suite.
test: $(STAMP) interop-tools lint typecheck
	$(BIN)/pytest

## Reference implementations the interop tests run against (npm's age-encryption, pinned).
interop-tools:
	npm ci --prefix tests/interop

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## The device path (crypto, storage, sync and its HTTP client) on the lowest versions
## pyproject.toml allows: a floor nobody tests is a promise nobody keeps (requests below 2.32.3
## never checks the TLS pin). cryptography 43.0.1 is also what Android builds ship.
## tests/test_dependency_floors.py keeps these pins equal to pyproject.toml's floors.
LOWEST_PINS := requests==2.32.3 urllib3==2.0.2 PySocks==1.7.1 cryptography==43.0.1
test-lowest:
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/pip install --quiet --upgrade pip
	$(LOWEST_VENV)/bin/pip install --quiet -e '.[server,dev]' $(LOWEST_PINS)
	$(LOWEST_VENV)/bin/python -m tests.support.installed_versions $(LOWEST_PINS)
	$(LOWEST_VENV)/bin/pytest tests/core tests/storage tests/sync

## The former name of test-lowest.
test-compat: test-lowest

## Benchmarks against DESIGN.md's budgets, as JSON: a quick look (under two minutes) ...
bench-quick: $(STAMP)
	$(BIN)/fieldvault bench --quick

## ... or the full sizes, also rewriting the summary table in docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/fieldvault bench --write-docs

clean:
	rm -rf $(VENV) $(LOWEST_VENV) .venv-crypto43 .pytest_cache .mypy_cache .ruff_cache .hypothesis
