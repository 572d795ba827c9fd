# redgrid: `make run` starts the bot on the embedded default; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := data/demo-jimo.yaml

.PHONY: run test lint format pytest bench audit clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "redgrid needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The newcomer's run: the demo district, and its people to act as in the web chat (loopback only).
run: $(STAMP)
	$(BIN)/redgrid db upgrade
	$(BIN)/redgrid org import $(DEMO) --if-empty
	REDGRID_WEBCHAT__DEMO=$${REDGRID_WEBCHAT__DEMO:-true} $(BIN)/redgrid run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint pytest

# Known vulnerabilities in the installed dependencies; skipped (not failed) when unreachable.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
