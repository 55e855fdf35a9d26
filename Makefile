# Two commands set up and check everything on a fresh machine with Python 3.11+ and make:
#   make demo   runs the pipeline end to end on a simulated venue day
#   make test   runs lint, type checks and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PYTHONHASHSEED := 0
export GE_USAGE_STATISTICS_ENABLED := False
export GX_ANALYTICS_ENABLED := False

.PHONY: demo test lint format bench clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[web,airflow,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m surveillance.demo

lint: $(STAMP)
	$(BIN)/ruff check surveillance features models dags tests benchmarks
	$(BIN)/ruff format --check surveillance features models dags tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix surveillance features models dags tests benchmarks
	$(BIN)/ruff format surveillance features models dags tests benchmarks

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf mmsurv-data .pytest_cache .mypy_cache .ruff_cache
