# Every target builds its own virtual environment from pyproject.toml: nothing is installed by hand.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo sheet-previews screenshots test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The Makefile too: the extras installed are named here, so adding one must reinstall an existing .venv.
$(STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

# The sample term moved to the next term that starts at least a week from today (see
# samples/make_samples.py), so no row is in the past; out/ is git-ignored. Exit 1 (rows that
# need action, on purpose) is the demo working.
DEMO_DIR := out/demo

demo: $(STAMP)
	$(BIN)/python samples/make_samples.py --demo $(DEMO_DIR)
	$(BIN)/importer run $(DEMO_DIR)/term.xlsx --simulate; \
	  status=$$?; [ $$status -le 1 ] || exit $$status

# PNGs of the demo's result sheet and of the template, one per sheet, in docs/previews/, as a
# coordinator sees them (LibreOffice's print layout). Needs soffice and pdftoppm: the script
# says which packages to install when they are missing, and installs nothing.
sheet-previews: $(STAMP)
	$(BIN)/python scripts/sheet_previews.py --check-tools
	$(MAKE) --no-print-directory demo
	$(BIN)/python scripts/sheet_previews.py --out docs/previews \
	  result=$(DEMO_DIR)/term.result.xlsx template=templates/term-schedule.xlsx

# Screenshots of the web console, one per step, in docs/console/, and its measures (printed;
# the README's "Web console" quotes them). Drives /usr/bin/chromium: apt-get install chromium.
screenshots: $(STAMP)
	$(BIN)/python scripts/console_screenshots.py --out docs/console

# pytest exits 5 when it collected no test: that is a failure, not a pass. -ra (pyproject's
# addopts) lists every skip with its reason: the browser tests say so when chromium is missing.
test: $(STAMP)
	$(BIN)/python -m pytest; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$status

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# ruff over all the Python here, mypy (strict, see pyproject.toml) over the package. Both always
# run, so one CI log shows every finding (one line each, as mypy prints them); either one failing
# fails the target.
lint: $(STAMP)
	$(BIN)/python -m ruff check --output-format concise importer tests benchmarks samples scripts; ruff=$$?; \
	  $(BIN)/python -m mypy importer; mypy=$$?; \
	  [ $$ruff -eq 0 ] && [ $$mypy -eq 0 ]

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Benchmarks, not tests: prints the table and writes benchmarks/results.md (see benchmarks/README.md).
# Pass options through BENCH_ARGS, e.g. `make bench BENCH_ARGS=--quick`.
# Byte-compiled first, as an installed tool would be (PYTHONDONTWRITEBYTECODE may be set here).
bench: $(BENCH_STAMP)
	$(BIN)/python -m compileall -q importer
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
