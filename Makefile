# Every target builds its own virtual environment from pyproject.toml: nothing is installed by hand.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/importer run samples/fall-2026.xlsx --simulate -o samples/fall-2026.result.xlsx; \
	  status=$$?; [ $$status -le 1 ] || exit $$status

# pytest exits 5 when it collected no test: that is a failure, not a pass.
test: $(STAMP)
	$(BIN)/python -m pytest; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$status

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
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
