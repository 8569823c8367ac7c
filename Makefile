# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit package models bench speech-report clean

# The virtual environment is rebuilt whenever the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Local stand-ins the tests start (a DynamoDB-compatible server), installed from npm.
STANDINS := tests/standins
$(STANDINS)/node_modules/.installed: $(wildcard $(STANDINS)/package*.json)
	if [ -f $(STANDINS)/package.json ]; then npm ci --prefix $(STANDINS) --no-audit --no-fund --silent; fi
	mkdir -p $(STANDINS)/node_modules && touch $@

run: $(STAMP)
	$(BIN)/cramp-coach chat $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint lambda/template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(STANDINS)/node_modules/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck unit

package: $(STAMP)
	$(BIN)/cramp-coach package

# The en-GB, en-CA, en-AU and en-IN models (and their skill.json entries) are generated from
# interaction_models/en-US.json and tooling/build/locale_overrides.json: run after editing either.
models: $(STAMP)
	$(BIN)/python -m tooling.build.locales

# Issues 8 and 14's figures in one table, beside a bare ask-sdk-core hello world, the usual ASK
# skill with DynamoDB memory and a bare flask-ask-sdk hello world: cold starts (CPU, embedded
# store and DynamoDB on dynalite), warm turns, store calls, connections, memory, web, zip.
# BENCH_ARGS passes options (e.g. BENCH_ARGS="--runs 21"; see --help).
bench: $(STAMP) $(STANDINS)/node_modules/.installed
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# Words and seconds of every response of a full routine, per situation and English locale.
speech-report: $(STAMP)
	$(BIN)/python benchmarks/speech_report.py

clean:
	rm -rf $(VENV) dist build *.egg-info $(STANDINS)/node_modules
