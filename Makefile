# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
ROWS ?= 20000
DAYS ?= 7
SEED ?= 7
# Every file the platform writes is 0600, every folder 0700 (ycpipelines/foundation/files.py).
PRIVATE := umask 077 &&

.PHONY: install demo test lint dev serve bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: install  ## generate demo sources, run the whole lineage, approve as the demo reviewer, publish
	$(PRIVATE) $(BIN)/ycp demo run --rows $(ROWS) --days $(DAYS) --seed $(SEED)

test: install  ## lint, then the test suite
	$(BIN)/ruff check ycpipelines tests bench
	$(BIN)/ruff format --check ycpipelines tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest

dev: install  ## the Dagster UI and daemon on the embedded instance
	$(PRIVATE) DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.yc/dagster} $(BIN)/dagster dev -w workspace.yaml

serve: install  ## code server, webserver and daemon on PostgreSQL (deploy/dagster.yaml), registry beside it
	$(PRIVATE) $(BIN)/ycp serve

bench: install  ## every benchmark; each prints one JSON line
	@for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .yc
