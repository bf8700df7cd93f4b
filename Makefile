# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
ROWS ?= 20000
DAYS ?= 7
SEED ?= 7
PORT ?= 3000
CONSOLE_PORT ?= 8080
# Every file the platform writes is 0600, every folder 0700 (ycpipelines/foundation/files.py).
PRIVATE := umask 077 &&

.PHONY: install demo test lint dev console serve bench clean

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

dev: install  ## the Dagster UI and daemon on the demo's instance ($$YC_HOME/dagster); PORT=3000
	$(PRIVATE) $(BIN)/ycp dev --port $(PORT)

console: install  ## the web console (运营平台控制台) on the demo's registry; CONSOLE_PORT=8080
	$(PRIVATE) $(BIN)/ycp console --port $(CONSOLE_PORT)

serve: install  ## code server, webserver, daemon and console on PostgreSQL (deploy/dagster.yaml), registry beside it
	$(PRIVATE) $(BIN)/ycp serve

bench: install  ## every benchmark; each prints one JSON line
	@for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .yc
