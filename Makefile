# Lifeboat — `make run` starts the platform natively, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXPORTER_VENV := .venv-exporter
STAMP := $(VENV)/.installed
# where `make train` writes the model: the platform's own setting, as make run reads it
MODELS_DIR := $(or $(LIFEBOAT_MODELS_DIR),models)

.PHONY: install run train register test lint format bench clean exporter

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) exporter

# celery-exporter pins prometheus-client<0.22 and redis<6, so it lives in its own venv
$(EXPORTER_VENV)/.installed: requirements-exporter.txt
	$(PYTHON) -m venv $(EXPORTER_VENV)
	$(EXPORTER_VENV)/bin/python -m pip install --quiet -r requirements-exporter.txt
	touch $@

exporter: $(EXPORTER_VENV)/.installed

run: install
	$(PY) -m scripts.run

train: $(STAMP)
	$(PY) -m ml.train --models-dir "$(MODELS_DIR)"

# check a model version folder built elsewhere (FOLDER=build/v2) and publish it to the store
register: $(STAMP)
	$(PY) -m core.model_store register "$(FOLDER)"

# then the batch and report tests again, their files in S3-compatible storage (moto's server)
test: install
	$(PY) -m ruff check .
	$(PY) -m pytest
	$(PY) -m pytest --storage=s3 tests/batches tests/monitoring/test_reports.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: install
	$(PY) -m bench

clean:
	rm -rf var .pytest_cache .ruff_cache
