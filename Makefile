# The README's commands. Each installs what it needs into .venv (from uv.lock) first.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: install demo run test lint ui bench docs mutate clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Reinstall only when the lock file changes. Bytecode is compiled once here: where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile Dagster, GX and pandas.
$(VENV)/.installed: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m pipeline demo

run: install
	$(PY) -m pipeline run

# Two workers, a test file each at a time (module fixtures stay in one process), the longest
# files first in the order of tests/conftest.py (SLOW_FILES), not xdist's by number of tests.
# The fast loop without the end-to-end tests: .venv/bin/python -m pytest -m "not e2e" (docs/testing.md).
test: install
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

# ruff over the Python, sqlfluff over the SQL models (.sqlfluff: dialect duckdb, the house style).
lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint sql

ui: install
	$(PY) -m pipeline ui --host $(HOST) --port $(PORT)

bench: install
	$(PY) bench/run.py $(if $(ENGINE),--engine $(ENGINE))

# Mutation testing (docs/testing.md): ARGS="--kind sql" or ARGS="--kind python --target sentiment".
mutate: install
	$(UV) sync --frozen --group mutate --python $(PYTHON)
	$(PY) tests/mutation/run.py $(ARGS)
	$(UV) sync --frozen --python $(PYTHON)

docs: install
	$(PY) -m pipeline docs

clean:
	rm -rf $(VENV) $(TOOLS) data
