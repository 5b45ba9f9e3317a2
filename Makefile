# Developer entry points. CI runs `make test` through .ci/run.
#   make test   lint, type-check and run the tests (creates .venv on first use)
#   make lint   ruff check, ruff format --check, mypy
#   make demo   the end-to-end demo on the embedded broker
#   make bench  the throughput benchmark on the embedded broker
# Lint and type-check targets come from pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# pip runs again only when pyproject.toml is newer than this stamp.
STAMP := $(VENV)/.installed-from-pyproject

.DEFAULT_GOAL := test
.PHONY: test lint demo bench venv

venv: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "error: PYTHON=$(PYTHON) must be Python 3.11 or newer" \
			"(found: $$($(PYTHON) -V 2>&1 | head -n 1));" \
			"try: make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/gateway demo

bench: $(STAMP)
	$(BIN)/gateway bench
