# Everything a newcomer needs. Only Python 3.11+ must be installed; `make install` does the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# The project's tools (dbt, dagster) first on PATH: `dagster dev` re-parses the dbt project with `dbt`.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# With AHW_ENGINE=spark in the environment, `make run` and `make dev` install the spark extra too.
ENGINE_EXTRA := $(if $(filter spark,$(AHW_ENGINE)),install-spark)

.PHONY: install install-spark run test test-slow test-spark lint dev check-defs bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --quiet
	touch $@

## Apache Spark as the warehouse engine (AHW_ENGINE=spark, docs/engines.md): the `spark` extra
## (dbt-spark with a local pyspark session). Spark needs Java 17 on the PATH.
install-spark: $(VENV)/.installed-spark

$(VENV)/.installed-spark: $(VENV)/.installed
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --quiet --extra spark
	touch $@

## Simulate a company (if the landing folder is empty), run the whole pipeline, print the riskiest accounts.
## The run is launched through workspace.yaml, so the UI lists it under its job (deploy/launch.py).
run: install $(ENGINE_EXTRA)
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/ahw prepare
	# a full reload and rebuild: one run over every daily partition, first to newest
	$(BIN)/python deploy/launch.py full_refresh --tags "$$($(BIN)/ahw full-refresh-tags)"
	$(BIN)/ahw report

## Unit, dbt and end-to-end tests, on two pytest-xdist workers (a test file, or the modules sharing
## one pipeline run, stay on one worker: tests/conftest.py). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
test: install
	$(BIN)/ahw prepare --manifest-only
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15

## Linters: ruff (lint and format) for Python; sqlfluff (dbt templater) for the dbt project. Zero findings.
lint: install
	$(BIN)/ruff check dagster_project tests
	$(BIN)/ruff format --check dagster_project tests
	$(BIN)/sqlfluff lint dbt_project

## Also the slow data-quality tests (10x scale, the full job run twice).
test-slow: install
	$(BIN)/ahw prepare --manifest-only
	AHW_SLOW_TESTS=1 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15

## The engine parity test: one small simulated company built on DuckDB and on Spark must give the
## same warehouse (tests/e2e/engines), and every other test marked `spark`. A few minutes.
test-spark: install-spark
	@command -v java >/dev/null || { echo "make test-spark: Spark needs Java 17 (java on the PATH)"; exit 1; }
	$(BIN)/ahw prepare --manifest-only
	$(BIN)/pytest -m spark

## The Dagster UI on http://127.0.0.1:3000 (webserver and daemon). `dagster dev` rather than `dg dev`:
## the `dg` CLI is a separate package (dagster-dg-cli) this project does not install.
dev: install $(ENGINE_EXTRA)
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/ahw prepare
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

check-defs: install
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/ahw prepare --manifest-only
	$(BIN)/dagster definitions validate -m dagster_project.definitions

## Benchmark the pipeline at a named scale (small, medium, large): docs/performance.md. ENGINE=spark
## runs the dbt models on Spark (docs/engines.md).
SCALE ?= small
ENGINE ?= duckdb
bench: install $(if $(filter spark,$(ENGINE)),install-spark)
	$(BIN)/ahw prepare --manifest-only
	$(BIN)/ahw bench --scale $(SCALE) --engine $(ENGINE)

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
