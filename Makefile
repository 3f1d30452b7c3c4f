# The few commands a person types. Each works from a clean clone with only Python and pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    := out

.PHONY: install report test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## report: ingest the bundled data into out/store and write out/report.html (prints its path)
report: $(STAMP)
	rm -rf $(OUT)/store
	$(BIN)/tradeflows ingest datasets/eu_export_sanctions --out $(OUT)/store --quiet
	$(BIN)/tradeflows summary $(OUT)/store --html $(OUT)/report.html

## test: install the test extras and run lint + the whole suite
test: $(STAMP)
	$(BIN)/ruff check tradeflows tests benchmarks scripts
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check tradeflows tests benchmarks scripts
	$(BIN)/ruff format --check tradeflows tests benchmarks scripts

format: $(STAMP)
	$(BIN)/ruff format tradeflows tests benchmarks scripts

## bench: the benchmarks (slow; appends to benchmarks/RESULTS.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py --rows 10000000 --repeat 3
	$(BIN)/python benchmarks/bench_detect.py --quality --real --rows 10000000

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
