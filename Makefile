# geomstats-dln developer commands.
#
#   make demo   create .venv, install the package, write the numerical report
#   make test   create .venv, install with test extras, lint, run the suite
#               under the numpy and the autograd geomstats backends
#   make bench  run the benchmarks (autograd backend)
#   make lint   ruff check
#
# The virtual environment is (re)installed only when pyproject.toml changes:
# stamp files in .venv record the last install.

SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
PYTHON_BOOTSTRAP ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
STAMP := $(VENV)/.installed
STAMP_TEST := $(VENV)/.installed-test
LINT_PATHS := geomstats_dln tests $(wildcard benchmarks) $(wildcard examples)
PYTEST_ARGS ?= -n 2 -q
REPORT_ARGS ?=

.PHONY: demo test lint bench clean venv

$(BIN)/python:
	@test -n "$(PYTHON_BOOTSTRAP)" || { echo "error: neither python3.11 nor python3 found" >&2; exit 1; }
	$(PYTHON_BOOTSTRAP) -m venv $(VENV)

venv: $(BIN)/python

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/geomstats-dln report $(REPORT_ARGS)

lint: $(STAMP_TEST)
	$(BIN)/ruff check $(LINT_PATHS)

test: lint
	GEOMSTATS_BACKEND=numpy $(BIN)/python -m pytest $(PYTEST_ARGS)
	GEOMSTATS_BACKEND=autograd $(BIN)/python -m pytest $(PYTEST_ARGS)

# Every benchmark script runs (each prints its table and PASS/FAIL lines); the
# target fails if any of them reports a failed requirement.
BENCH_SCRIPTS := $(filter-out benchmarks/run.py benchmarks/generic_metric.py benchmarks/dynamics_bench.py benchmarks/report_seeds.py,$(wildcard benchmarks/*.py))

bench: $(STAMP_TEST)
	status=0; \
	GEOMSTATS_BACKEND=autograd $(BIN)/python benchmarks/run.py || status=1; \
	for script in $(BENCH_SCRIPTS); do \
		echo "== $$script"; $(BIN)/python $$script || status=1; \
	done; exit $$status

clean:
	rm -rf dln-report .pytest_cache .ruff_cache build *.egg-info
