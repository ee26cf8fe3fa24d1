# One entry point for everything. `make test` works on a fresh machine: it builds
# the virtualenv (the same .venv that `pulumi up` uses, see Pulumi.yaml), installs
# Debian's Chromium for the browser tests, and runs the whole suite.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# checkov pins many packages of its own: it gets a virtualenv of its own.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The browser the UI tests and benchmarks drive (tests/ui/harness.py reads the
# exported variable): Debian's Chromium unless you say otherwise, e.g.
# `make test CHROMIUM=/usr/bin/google-chrome`. Playwright's own browser download
# cannot work offline, so it is never used.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help preview up destroy test check lint format typecheck bench chromium checkov clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_STAMP)  ## build the checkov virtualenv the stack scan test runs

chromium:  ## install Debian's Chromium for the browser tests (needs root or sudo); checks any other CHROMIUM
	@test -x "$(CHROMIUM)" || { test "$(CHROMIUM)" = /usr/bin/chromium \
	  || { echo "CHROMIUM=$(CHROMIUM) is not an executable file: point it at a Chromium or Chrome binary" >&2; exit 1; }; \
	  $(SUDO) apt-get install -y --no-install-recommends chromium \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium); }

preview: $(STAMP)  ## offline: label sample images in your browser, no AWS account needed
	$(PY) -m scripts.preview $(ARGS)

up: $(STAMP)  ## deploy the stack (needs the Pulumi CLI and AWS credentials)
	pulumi up $(ARGS)

destroy:  ## remove the stack (with forceDestroy off the buckets are protected: docs/teardown.md)
	pulumi destroy $(ARGS)

test: $(STAMP) $(CHECKOV_STAMP) chromium  ## install everything and run the whole test suite
	$(PY) -m pytest -n auto $(ARGS)

lint: $(STAMP)  ## ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck: $(STAMP)  ## mypy on the packages that ship
	$(PY) -m mypy

check: lint typecheck test  ## the one gate: lint, types, tests

bench: $(STAMP) chromium  ## run every benchmark and print the figures for benchmarks/README.md
	$(PY) -m benchmarks $(ARGS)

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis test-artifacts
