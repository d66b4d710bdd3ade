# Caredesk — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CAREDESK := $(BIN)/caredesk
HOST ?= 127.0.0.1
PORT ?= 8000
HL7_PORT ?= 2575
DEMO_ORG ?= RSH
PYTEST_ARGS ?=
TEST_WORKERS ?= auto

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: install
install: $(VENV)/.installed node_modules/.installed ## Create .venv and install Python and npm packages

.PHONY: run
run: install ## Migrate SQLite under var/, load the demo once, serve http://127.0.0.1:8000 + HL7 on :2575 + task worker
	$(CAREDESK) migrate --no-input -v0
	$(CAREDESK) seed_demo --if-empty
	$(CAREDESK) demo_logins
	@echo "HL7 v2 ADT listener (MLLP) on $(HOST):$(HL7_PORT) for organization $(DEMO_ORG); task worker and periodic runner started."
	@trap 'kill 0' EXIT INT TERM; \
	$(CAREDESK) hl7_listen --organization $(DEMO_ORG) --host $(HOST) --port $(HL7_PORT) & \
	$(CAREDESK) db_worker --interval 2 & \
	$(CAREDESK) periodic --interval 300 >/dev/null & \
	$(CAREDESK) runserver $(HOST):$(PORT)

WEB_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: serve
serve: install ## Production-style web server: migrate, then gunicorn (WEB_WORKERS processes x 8 threads) on DATABASE_URL
	$(CAREDESK) migrate --no-input -v0
	$(CAREDESK) serve --bind $(HOST):$(PORT) --workers $(WEB_WORKERS)

.PHONY: lint
lint: install ## ruff, mypy and import-linter
	$(BIN)/ruff check .
	$(BIN)/mypy src bench
	$(BIN)/lint-imports

.PHONY: test
test: lint pytest ## Lint, then the whole test suite (browser tests included). DATABASE_URL=postgres://… for PostgreSQL

.PHONY: pytest
pytest: install ## The test suite alone, without the linters (CI's second database pass)
	$(CAREDESK) makemigrations --check --dry-run -v0
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

.PHONY: bench
bench: install ## Benchmarks (print their figures; not part of the test suite)
	$(BIN)/python -m bench.run_all

.PHONY: fmt
fmt: install ## Format and auto-fix
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

.PHONY: clean
clean: ## Remove the local database, media and caches (keeps .venv)
	rm -rf var/caredesk.sqlite3* var/media .pytest_cache .mypy_cache .ruff_cache
