# corpledger — `make help` lists the targets. `make test` is what CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install corpledger with its dev tools

lint: $(STAMP) ## ruff
	$(BIN)/ruff check ledger projections migrations tests bench

typecheck: $(STAMP) ## mypy (strict)
	$(BIN)/mypy

# Test processes at once (pytest-xdist): each has its own databases.
WORKERS ?= 2

test: lint typecheck ## lint, typecheck and the whole suite (SQLite and PostgreSQL), bounded examples
	$(BIN)/pytest -m "not slow" -q -n $(WORKERS) --durations=15

test-slow: $(STAMP) ## long hypothesis campaigns and large scenarios
	HYPOTHESIS_PROFILE=slow $(BIN)/pytest -m slow -q

demo: $(STAMP) ## record the Scale AI story in a fresh embedded ledger and show it
	$(BIN)/corpledger demo

PG_SERVER ?= postgresql://postgres@127.0.0.1:5432
CHECK_DB := corpledger_check_cli

# The CLI contract of docs/contracts.md, through the installed program. An extra check kept
# beside the repository by its maintainers runs too, where it exists.
EXTRA_CHECK_DIR ?= ../shared
EXTRA_CHECK := $(EXTRA_CHECK_DIR)/contract/check-cli

check-cli: $(STAMP) ## the CLI contract (tests/e2e/test_cli_contract.py) on SQLite and a fresh PostgreSQL database
	CI=true CORPLEDGER_TEST_PG_URL="$(PG_SERVER)/postgres" $(BIN)/pytest tests/e2e/test_cli_contract.py -q
	@if [ -f "$(EXTRA_CHECK)" ]; then \
	  echo "extra contract check: $(EXTRA_CHECK)"; \
	  $(BIN)/python "$(EXTRA_CHECK)" $(BIN)/corpledger && \
	  $(BIN)/python -c "import psycopg, sys; c = psycopg.connect(sys.argv[1], autocommit=True); \
	    c.execute('DROP DATABASE IF EXISTS $(CHECK_DB) WITH (FORCE)'); c.execute('CREATE DATABASE $(CHECK_DB)')" \
	    "$(PG_SERVER)/postgres" && \
	  $(BIN)/python "$(EXTRA_CHECK)" $(BIN)/corpledger "$(PG_SERVER)/$(CHECK_DB)"; \
	else \
	  echo "no extra contract check at $(EXTRA_CHECK): skipped"; \
	fi

bench: $(STAMP) ## benchmarks beside the raw drivers; writes bench/RESULTS.md
	# The package's bytecode, as pip writes it for an installed (not editable) package: a
	# shell with PYTHONDONTWRITEBYTECODE set would otherwise compile it at every start.
	$(BIN)/python -m compileall -q ledger projections
	$(BIN)/python -m bench

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

.PHONY: help install lint typecheck test test-slow demo check-cli bench clean
