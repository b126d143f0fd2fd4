# Every target installs what it needs first: the Python packages into .venv, and (when run as
# root on Debian) the Debian packages the tests run for real.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: test unit integration lint format up bench system-deps dashboards clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

system-deps:
	@scripts/install-system-deps.sh

## test: lint, type-check, then every test (unit and integration)
test: $(STAMP) system-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(STAMP) system-deps
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

integration: $(STAMP) system-deps
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## up: the whole stack on this machine (app + traffic, Prometheus, Alertmanager; Grafana/Tempo when on PATH)
up: $(STAMP) system-deps
	$(PY) -m infra.local up $(UP_ARGS)

## bench: benchmarks that print tables (instrumentation overhead, alert latency)
bench: $(STAMP) system-deps
	$(PY) -m bench.instrumentation_overhead
	$(PY) -m bench.alert_latency

dashboards: $(STAMP)
	$(PY) -m dashboards build out/dashboards

clean:
	rm -rf $(VENV) .local-stack out .pytest_cache .mypy_cache .ruff_cache
