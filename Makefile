# The two commands a newcomer needs: `make run` (the whole local stack) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run demo test test-long lint bench chaos clean

run: $(VENV)/.installed
	$(BIN)/leadflow up

demo: $(VENV)/.installed
	$(BIN)/leadflow up --demo

test: $(VENV)/.installed
	scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/pytest

# The full-size tests CI leaves out (the 2,500-contact backfill, the worker SIGKILLed mid-backfill).
test-long: $(VENV)/.installed
	$(BIN)/pytest -m long

# Every chaos scenario at full size against the real stack (about 15 minutes); `make test` runs
# the short one (tests/chaos).
chaos: $(VENV)/.installed
	$(BIN)/python -m chaos

# The benchmarks at the sizes their figures are quoted at (25 minutes here); `make test` runs each
# but scale and stack_startup at a size of seconds (tests/bench). Run them on an idle machine.
bench: $(VENV)/.installed
	scripts/system-deps.sh
	$(BIN)/python bench/ingest_latency.py --rate 20 --seconds 60
	$(BIN)/python bench/backfill.py --n 2000
	$(BIN)/python bench/scale.py --n 20000
	$(BIN)/python bench/routing_assignments.py --leads 500 --concurrency 100
	$(BIN)/python bench/ledger_bench.py
	$(BIN)/python bench/codec_overhead.py
	$(BIN)/python bench/decide_flood.py
	$(BIN)/python bench/dedup_window.py
	$(BIN)/python bench/stack_startup.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy lifecycle config workflows activities connectors leadflow ingest ledger privacy worker.py

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "leadflow needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

clean:
	rm -rf $(VENV) .data
