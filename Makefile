# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the test suite).
# Both install what they need: ffmpeg and Fashion-MNIST from apt, Python packages into .venv.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := ffmpeg dataset-fashion-mnist

export KEDRO_DISABLE_TELEMETRY := 1
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0
export RAY_AUTH_MODE := disabled
export AWS_EC2_METADATA_DISABLED := true
export KEDRO_LOGGING_CONFIG := $(CURDIR)/conf/logging.yml
export TQDM_MININTERVAL := 2
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup system-deps demo test test-slow lint benchmark clean-data

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@# fetch-data uses `apt-get download`, which needs package lists.
	@apt-cache show gem-doc >/dev/null 2>&1 || $(SUDO) apt-get update -qq

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: system-deps $(BIN)/.installed

demo: setup
	@[ -d .dvc ] || $(BIN)/dvc init -q
	$(BIN)/dvc repro
	@echo
	@echo "Done. Outputs:"
	@echo "  curated clips     data/03_primary/clip_manifest.parquet, data/03_primary/clip_shards/"
	@echo "  caption vectors   data/04_feature/caption_embeddings.safetensors"
	@echo "  quarantine        data/02_intermediate/quarantine.parquet"
	@echo "  GX Data Docs      data/08_reporting/data_curation/gx_data_docs/index.html"
	@echo "  summary           data/08_reporting/data_curation/summary.json  (dvc metrics show)"

test: setup
	$(BIN)/python -m pytest -m "not slow" -q

test-slow: setup
	$(BIN)/python -m pytest -m slow -q

lint: setup
	$(BIN)/ruff check src pipelines tests benchmarks

benchmark: setup
	$(BIN)/python benchmarks/curation.py
