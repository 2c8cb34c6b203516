# Two commands on a fresh machine:  `make run` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install run test quick-test style lint clean bench bench-quick

$(BIN)/hf-compress: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch pinned first: the CPU wheel (an unpinned torch pulls a multi-GB CUDA build)
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/hf-compress

install: $(BIN)/hf-compress

run: install
	$(BIN)/hf-compress run recipes/quickstart.yaml

test: install
	$(BIN)/python -m pytest tests

bench: install
	$(BIN)/python benchmarks/run_suite.py

bench-quick: install
	$(BIN)/python benchmarks/run_suite.py --quick

style: install
	$(BIN)/ruff format hf_compress tests examples benchmarks
	$(BIN)/ruff check --fix hf_compress tests examples benchmarks

lint: install
	$(BIN)/ruff format --check hf_compress tests examples benchmarks
	$(BIN)/ruff check hf_compress tests examples benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
