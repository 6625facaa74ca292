# Two commands matter: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run SEED=1` seeds the demo into a configured (DATABASE_URL) database too, if it is
# empty; `SEED=0` leaves even the embedded default empty.
SEED ?=

.PHONY: run test install migrate seed lint format typecheck bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --no-input

## Production is the default everywhere else; these local helpers run with DEBUG on
## (and so the development secret key) unless DJANGO_DEBUG says otherwise.
run seed migrate lint typecheck: export DJANGO_DEBUG ?= 1

## Seed the demo (and its admin/routing-demo superuser) into the database, if it is empty.
seed: migrate
	$(PY) manage.py seed_demo --if-empty

## The whole portal: web + worker + beat on the embedded default (or DATABASE_URL/REDIS_URL).
## The demo is seeded on the embedded default only, or with SEED=1.
run: migrate
	$(PY) manage.py runportal --host $(HOST) --port $(PORT) $(if $(filter 1 yes true,$(SEED)),--seed,$(if $(filter 0 no false,$(SEED)),--no-seed))

## The test suite (uses DATABASE_URL/REDIS_URL when set).
test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy apps/engine

bench: install
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis
