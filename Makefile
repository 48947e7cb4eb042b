# wsdiag developer commands. `make setup` builds .venv; every other target sets up first if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is installed first so that nothing later pulls CUDA wheels.
# Users with a GPU: make setup TORCH_SPEC="torch" (or any pip requirement they prefer).
TORCH_SPEC ?= torch==2.13.0
# The tested versions of everything else (constraints.txt); `make setup CONSTRAINTS=` lifts them.
CONSTRAINTS ?= constraints.txt
DEMO_CONFIG ?= wsdiag/configs/demo.toml
RUNS ?= runs

.PHONY: setup test test-fast lint demo bench bench-d3rlpy clean chromium

setup: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[dev,ray,tensorboard,sb3,robotics]"
	touch $@

test: setup
	$(BIN)/python -m pytest

# Every test but those marked slow (over 2 s each): under two minutes on two cores.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

lint: setup
	$(BIN)/ruff check wsdiag tests examples benchmarks
	$(BIN)/ruff format --check wsdiag tests examples benchmarks
	$(BIN)/lint-imports

demo: setup
	$(BIN)/wsdiag train $(DEMO_CONFIG) --out $(RUNS) --report

# wsdiag against d3rlpy per update. d3rlpy 2.8.1 pins gymnasium 1.0.0, so it gets its own
# environment (torch first, as in setup), which `make bench` creates first.
D3RLPY_PYTHON ?= python3.11
# benchmarks/d3rlpy_side.py looks for the environment here
D3RLPY_VENV := .venv-d3rlpy

$(D3RLPY_VENV)/bin/.installed:
	$(D3RLPY_PYTHON) -m venv $(D3RLPY_VENV)
	$(D3RLPY_VENV)/bin/pip install --quiet "$(TORCH_SPEC)"
	$(D3RLPY_VENV)/bin/pip install --quiet d3rlpy==2.8.1
	touch $@

bench: setup $(D3RLPY_VENV)/bin/.installed
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.run_all

bench-d3rlpy: setup $(D3RLPY_VENV)/bin/.installed
	$(BIN)/python -m benchmarks.run_all --sections d3rlpy

# Headless Chromium for the HTML report's browser test (skipped without it); best effort.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium not installed: the HTML browser test will be skipped"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
