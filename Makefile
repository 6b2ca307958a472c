# Carewire: `make run` starts the local stack, `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

# The console's strings (Babel): the template catalogue translators start from.
.PHONY: messages
messages: setup
	$(VENV)/bin/pybabel extract -F chalicelib/console/babel.cfg -o chalicelib/console/locale/messages.pot chalicelib/console

.PHONY: run test test-unit test-integration test-e2e test-infra lint format bench package clean setup chart-example openapi

setup: $(STAMP) $(NPM_STAMP)

$(STAMP): requirements.txt requirements-dev.txt infra/requirements.txt
	@# System packages: Cairo (tests render the trend chart to PNG), jq (the README's first session),
	@# Debian's chromium (the console's browser tests drive it through Playwright; no browser download).
	@missing=""; ldconfig -p | grep -q libcairo.so.2 || missing="libcairo2"; \
	  command -v jq >/dev/null || missing="$$missing jq"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then echo "installing$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get install -y -q $$missing >/dev/null \
	    || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q $$missing >/dev/null; }; fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# pip stays in the venv for chalice (1.34 requires pip < 26.3); uv installs the rest in seconds, not minutes.
	$(PY) -m pip install --quiet "pip>=23,<26.3" "uv==0.13.8"
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt \
	  || $(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

run: setup
	$(PY) -m devstack

# Every tier: unit, integration (emulators as child processes), e2e (a local stack on free ports),
# infra (CDK synth, cdk-nag, cfn-lint), then lint.  Test files are shared out to TEST_WORKERS
# processes (pytest-xdist, one file per worker at a time, each worker with its own emulators).
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadfile; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=1; fi; exit $$rc
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
	@# Security lint of what ships: fails on HIGH severity only (medium/low are reviewed, see README "Tests").
	$(VENV)/bin/bandit -q -r chalicelib app.py -lll

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

# openapi.json (committed; a unit test diff-checks it) from the routes' @endpoint declarations.
openapi: setup
	$(PY) -m chalicelib.openapi > openapi.json

clean:
	rm -rf $(VENV) node_modules .data .pytest_cache .mypy_cache .ruff_cache chalice.out infra/cdk.out
