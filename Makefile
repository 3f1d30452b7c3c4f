# The few commands a person types. Each works from a clean clone with only Python and pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    := out

.PHONY: install report test test-oldest lint format bench clean browser lab docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## report: ingest the bundled data into out/store and write out/report.html (prints its path)
report: $(STAMP)
	rm -rf $(OUT)/store
	$(BIN)/tradeflows ingest datasets/eu_electronics_exports_2020_2022.parquet datasets/eu_export_sanctions --out $(OUT)/store --quiet
	$(BIN)/tradeflows report $(OUT)/store --config report.toml --out $(OUT)/report.html

## browser: Debian's chromium for the browser tests (needs root and apt; skipped otherwise)
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "no chromium: the browser tests will be skipped (install Debian's chromium to run them)"

#: What ruff checks and formats: the code, and the notebooks (jupytext .py files).
LINTED := tradeflows tests benchmarks scripts notebooks

## test: install the test extras and run lint, the whole suite and the docs build
test: $(STAMP) browser
	$(BIN)/ruff check $(LINTED)
	$(BIN)/python -m pytest -n 2
	$(MAKE) --no-print-directory docs

## test-oldest: the pipeline's and the readers' tests again on the oldest polars of the pinned range (.ci/run runs it)
OLDEST := .venv-oldest
test-oldest: pyproject.toml
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet -e ".[test]" "polars==$$(sed -n 's/.*"polars>=\([0-9.]*\),.*/\1/p' pyproject.toml).*"
	$(OLDEST)/bin/python -c "import polars; print('polars', polars.__version__)"
	$(OLDEST)/bin/python -m pytest -q -n 2 -p no:cacheprovider tests/test_expr.py tests/test_clean.py tests/test_mirror.py \
	  tests/test_routes.py tests/test_partition.py tests/test_store.py tests/test_cli.py tests/test_bundled_flags.py \
	  tests/test_io.py tests/test_eurostat.py tests/test_comtrade_json.py

## docs: the documentation (API reference and guides) in out/docs/, warnings are errors
docs: $(STAMP)
	rm -rf docs/api/generated docs/examples
	TRADEFLOWS_QUIET=1 $(BIN)/sphinx-build -q -W --keep-going -b html docs $(OUT)/docs
	@echo $(OUT)/docs/index.html

## lab: JupyterLab with the project's kernel; the notebooks/*.py open as notebooks (jupytext)
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	$(BIN)/python -m ipykernel install --user --name tradeflows --display-name "Python (tradeflows)"
	cd notebooks && ../$(BIN)/jupyter lab

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(STAMP)
	$(BIN)/ruff format $(LINTED)

## bench: the benchmarks (slow; appends to benchmarks/RESULTS.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py --rows 10000000 --repeat 3
	$(BIN)/python benchmarks/bench_json.py --answers 4 --records 200000 --repeat 3
	$(BIN)/python benchmarks/bench_comext.py --months 2 --rows 4000000 --repeat 3
	$(BIN)/python benchmarks/bench_detect.py --quality --real --rows 10000000
	$(BIN)/python benchmarks/bench_mirror.py --store benchmarks/data/world_331/store
	$(BIN)/python benchmarks/bench_scale.py --rows 1000000 --repeat 3 --engines cpu streaming pandas polars-floor polars-floor-streaming polars-floor-all-columns
	$(BIN)/python benchmarks/bench_scale.py --rows 10000000 --engines cpu streaming pandas polars-floor polars-floor-streaming polars-floor-all-columns
	$(BIN)/python benchmarks/bench_scale.py --rows 50000000 --engines streaming-partition polars-floor-streaming polars-floor-all-columns

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
