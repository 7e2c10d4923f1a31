# leadstream — the two commands a newcomer runs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Start (or reuse) the local Kafka broker and PostgreSQL, exporting their addresses; variables
# already set in the environment win and nothing is started for them.
WITH_INFRA = set -a && eval "$$($(BIN)/python -m localinfra up)" && set +a &&

.PHONY: help install browser test lint demo infra infra-down bench up down feed chaos clean

help:
	@echo "make demo        sample permits → tier files + summary (no Kafka, no PostgreSQL)"
	@echo "make test        install, lint, start Kafka + PostgreSQL, run the whole suite"
	@echo "make infra       start local Kafka + PostgreSQL and print their addresses"
	@echo "make infra-down  stop them"
	@echo "make lint        ruff + mypy"
	@echo "make bench       benchmarks (results in docs/benchmarks.md)"
	@echo "make up / down   the whole pipeline as local processes on real Kafka + PostgreSQL"
	@echo "make feed        publish generated permits (or FILE=... FORMAT=...)"
	@echo "make chaos       fault injection on the whole pipeline (CHAOS_ARGS=\"--scenario kill\")"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# The portal's browser tests drive Debian's Chromium and its driver (never a downloaded browser).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver || \
			{ $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }; \
	fi

# Lint first, so CI (which runs only `make test`) fails on lint too; PYTEST_ARGS="tests/x -k y"
# narrows the tests, never the lint.
test: $(STAMP) lint browser
	$(WITH_INFRA) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy schemas services localinfra bench tests

demo: $(STAMP)
	$(BIN)/leadstream demo $(DEMO_ARGS)

infra: $(STAMP)
	@$(BIN)/python -m localinfra up

infra-down: $(STAMP)
	$(BIN)/python -m localinfra down

bench: $(STAMP)
	$(WITH_INFRA) $(BIN)/python -m bench $(BENCH_ARGS)

up: $(STAMP)
	$(WITH_INFRA) $(BIN)/python -m localinfra.stack up

down: $(STAMP)
	$(BIN)/python -m localinfra.stack down

# Generated permits by default; a real export with FILE=... FORMAT=austin|fortworth|nashville|cary|jsonl
feed: $(STAMP)
	$(WITH_INFRA) $(if $(FILE),$(BIN)/leadstream publish $(FILE) --format $(FORMAT) $(FEED_ARGS),$(BIN)/leadstream demo-feed $(FEED_ARGS))

# The pipeline under faults, 20,000 permits per scenario; e.g.
# CHAOS_ARGS="--scenario kill --permits 2000" or "--report docs/reliability.md".
chaos: $(STAMP)
	$(WITH_INFRA) $(BIN)/python -m localinfra.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache exports
