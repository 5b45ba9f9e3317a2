# Developer entry points. CI runs `make test` through .ci/run.
#   make test   lint, type-check and run the tests (creates .venv on first use; fetches
#               Apache Kafka's jars and the other test components on first use)
#   make test-deps  the test components alone: Apache Kafka's jars, a PostgreSQL server,
#               chromium for the console's browser tests and promtool (apt-get, as root)
#   make lint   ruff check, ruff format --check, mypy
#   make demo   the end-to-end demo on the embedded broker
#   make bench  the throughput benchmark on the embedded broker
# Lint and type-check targets come from pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# pip runs again only when pyproject.toml, setup.py or the C reader's source is newer than this
# stamp.
STAMP := $(VENV)/.installed-from-pyproject

.DEFAULT_GOAL := test
.PHONY: test lint demo bench bench-report venv test-deps

venv: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "error: PYTHON=$(PYTHON) must be Python 3.11 or newer" \
			"(found: $$($(PYTHON) -V 2>&1 | head -n 1));" \
			"try: make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; \
		exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
		echo "python3 -m venv is missing: installing Debian's python3-venv" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml setup.py gateway/envelope/binary/_native.pyx gateway/_hashes.pyx | $(BIN)/python
	@$(BIN)/python -c 'import os, sysconfig; \
		os.stat(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null || { \
		echo "Python's headers are missing (the C extensions need them): installing Debian's python3-dev" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-dev; }
	@test -f /usr/include/openssl/sha.h || { \
		echo "OpenSSL's headers are missing (the C SHA-256 needs them): installing Debian's libssl-dev" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

# Components the test suite runs against, installed or fetched once (each step is idempotent).
test-deps: $(STAMP)
	$(BIN)/gateway kafka --resolve-only >/dev/null
	@sh tools/test-deps/postgres.sh
	@sh tools/test-deps/chromium.sh
	@sh tools/test-deps/promtool.sh

test: lint test-deps
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/gateway demo

bench: $(STAMP)
	$(BIN)/gateway bench

# One benchmark run, stored and rendered into the README's headline table.
bench-report: $(STAMP)
	mkdir -p docs/benchmarks
	$(BIN)/gateway bench --messages 20000 --json > docs/benchmarks/latest.json
	$(BIN)/python -m gateway.bench.report docs/benchmarks/latest.json README.md
