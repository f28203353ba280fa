# FieldVault developer commands. Everything runs inside .venv, which these targets create.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COMPAT_VENV := .venv-crypto43
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit test-compat bench bench-quick clean interop-tools

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

## The device path (storage and sync) on the cryptography release Android builds ship.
test-compat:
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/pip install --quiet --upgrade pip
	$(COMPAT_VENV)/bin/pip install --quiet -e '.[server,dev]' 'cryptography==43.0.1'
	$(COMPAT_VENV)/bin/python -c "import cryptography; assert cryptography.__version__ == '43.0.1', cryptography.__version__"
	$(COMPAT_VENV)/bin/pytest tests/core tests/storage tests/sync

## Benchmarks against DESIGN.md's budgets, as JSON: a quick look (under two minutes) ...
bench-quick: $(STAMP)
	$(BIN)/fieldvault bench --quick

## ... or the full sizes, also rewriting the summary table in docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/fieldvault bench --write-docs

clean:
	rm -rf $(VENV) $(COMPAT_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
