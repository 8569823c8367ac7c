# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit package models bench speech-report screens clean

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

# The screens as a person sees them (tooling/screens/): Amazon's APL web renderer and
# playwright-core, which drives Debian's Chromium (apt-get install chromium; never a download).
# --ignore-scripts: apl-viewhost-web's install script would fetch a build from a CDN; the
# pinned release carries its build, and the fonts come from another release's package.
SCREENS := tooling/screens
SCREENS_MODULES := $(SCREENS)/node_modules/.package-lock.json
$(SCREENS_MODULES): $(SCREENS)/package.json $(SCREENS)/package-lock.json
	npm ci --prefix $(SCREENS) --ignore-scripts --no-audit --no-fund --silent

run: $(STAMP)
	$(BIN)/cramp-coach chat $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint lambda/template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests run on every core (pytest-xdist); PYTEST_ARGS="-n 0" runs them in one process.
unit: $(STAMP) $(STANDINS)/node_modules/.installed $(SCREENS_MODULES)
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

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

# Every APL view the skill sends, rendered at the Echo viewports and checked; the screenshots
# go to docs/screens/ (ARGS="--out DIR" elsewhere, "--no-screenshots" to check only).
screens: $(STAMP) $(SCREENS_MODULES)
	$(BIN)/python -m tooling.screens.render $(ARGS)

clean:
	rm -rf $(VENV) dist build *.egg-info $(STANDINS)/node_modules $(SCREENS)/node_modules
