# Two commands: `make run` brings the whole stack up, `make test` runs the whole suite.
# Both bootstrap .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What CI tested: every dependency pinned (dev + embedded extras here; runtime.lock for the image).
DEV_LOCK := requirements/dev.lock
RUNTIME_LOCK := requirements/runtime.lock
PIP := $(BIN)/pip --disable-pip-version-check
LOCK_FLAGS := --quiet --universal --python-version 3.11 --custom-compile-command 'make lock'

.PHONY: run test lint typecheck imports unit integration fmt lock openapi clean

# The lock first, then the project itself without resolving anything again.
$(STAMP): pyproject.toml $(DEV_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r $(DEV_LOCK)
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/carrierlink-dev

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy .

# DESIGN.md's "may import" table as contracts ([tool.importlinter] in pyproject.toml).
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

test: lint typecheck imports
	$(BIN)/pytest -q -n 2 --dist loadfile

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# After changing a dependency in pyproject.toml: re-pin both locks (PyPI), then commit them.
# The runtime lock is constrained by the dev lock, so the image gets the versions CI tested.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) --extra dev --extra embedded \
		-o $(DEV_LOCK)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) --constraint $(DEV_LOCK) \
		-o $(RUNTIME_LOCK)

# After changing an operation or a model: rewrite openapi.json (tests/unit/test_openapi.py
# fails while the committed document differs from the app's).
openapi: $(STAMP)
	$(BIN)/python -m tools.openapi

clean:
	rm -rf $(VENV) build *.egg-info
