# Carewire: `make run` starts the local stack, `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test test-unit test-integration test-e2e test-infra lint format bench package clean setup chart-example

setup: $(STAMP) $(NPM_STAMP)

$(STAMP): requirements.txt requirements-dev.txt infra/requirements.txt
	@# cairosvg (tests render the trend chart to PNG) needs the system Cairo library.
	@ldconfig -p | grep -q libcairo.so.2 || { echo "installing libcairo2"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q libcairo2 >/dev/null \
	  || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -q >/dev/null && \
	       $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q libcairo2 >/dev/null; }; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip>=23,<26.3"  # chalice 1.34 requires pip < 26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

run: setup
	$(PY) -m devstack

# Every tier: unit, integration (moto), e2e (a local stack on free ports), infra (CDK synth,
# cdk-nag, cfn-lint), then lint.
test: setup
	$(PY) -m pytest tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=1; fi; exit $$rc
	$(MAKE) --no-print-directory lint

test-unit: setup
	$(PY) -m pytest tests/unit

test-integration: setup
	$(PY) -m pytest tests/integration

test-e2e: setup
	$(PY) -m pytest tests/e2e

test-infra: setup
	$(PY) -m pytest tests/infra

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy chalicelib

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench

# The deployable artifact: CDK synth of both stacks (runs `chalice package` and cdk-nag),
# templates and the zipped Lambda package under infra/cdk.out; prints the package size.
package: setup
	$(PY) -m infra.synth --stage $(or $(STAGE),dev) --outdir infra/cdk.out

# The example trend chart under docs/ (a unit test renders the same chart to PNG).
chart-example: setup
	$(PY) -m tests.unit.test_record_domain

clean:
	rm -rf $(VENV) node_modules .data .pytest_cache .mypy_cache .ruff_cache chalice.out infra/cdk.out
