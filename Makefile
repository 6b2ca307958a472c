# Carewire: `make run` starts the local stack, `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test test-unit test-integration test-e2e lint format bench package clean setup

setup: $(STAMP) $(NPM_STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip>=23,<26.3"  # chalice 1.34 requires pip < 26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

run: setup
	$(PY) -m devstack

# Every tier: unit, integration (moto), e2e (a local stack on free ports), then lint.
test: setup
	$(PY) -m pytest tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=1; fi; exit $$rc
	$(MAKE) --no-print-directory lint

test-unit: setup
	$(PY) -m pytest tests/unit

test-integration: setup
	$(PY) -m pytest tests/integration

test-e2e: setup
	$(PY) -m pytest tests/e2e

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy chalicelib

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .data .pytest_cache .mypy_cache .ruff_cache
