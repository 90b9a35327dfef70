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

.PHONY: setup system-deps demo stop test test-slow lint benchmark clean-data

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@# fetch-data uses `apt-get download`, which needs package lists.
	@apt-cache show gem-doc >/dev/null 2>&1 || $(SUDO) apt-get update -qq

# uv installs the same packages as pip (the same `pip freeze`) in 107 s against pip's 149 s, cold
# caches (docs/benchmarks.md, "Set-up: pip against uv"). torch goes first, through pip: pip finds
# the CPU wheel on this machine's disk where uv would download a multi-GB CUDA build. Bytecode is
# compiled at install, as pip does: with PYTHONDONTWRITEBYTECODE set (as on our CI machines)
# every process would otherwise import from source (8.5 s against 16 s for our imports).
TORCH_REQUIREMENT := $(shell grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')
UV_REQUIREMENT := uv==0.13.9

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_REQUIREMENT) $(UV_REQUIREMENT)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	touch $@

setup: system-deps $(BIN)/.installed

demo: setup
	@[ -d .dvc ] || $(BIN)/dvc init -q
	@# dvc gets SIGTERM when make ends, however it ends ($$PPID: make), and each stage ends with
	@# its dvc: a killed `make demo` leaves nothing running (seaweed_apt/lifetime.py).
	$(BIN)/python -m seaweed_apt.lifetime --parent $$PPID -- $(BIN)/dvc repro
	@# The endpoint as the deployment stage left it (a no-op when it is already up; after a reboot
	@# it comes back), then one video through HTTP.
	$(BIN)/seaweed-apt serve
	$(BIN)/seaweed-apt generate "a sneaker bouncing left and right" --seed 7 \
	  --out data/08_reporting/deployment/demo.mp4
	@echo
	@echo "Done. Outputs:"
	@echo "  curated clips     data/03_primary/clip_manifest.parquet, data/03_primary/clip_shards/"
	@echo "  quarantine        data/02_intermediate/quarantine.parquet"
	@echo "  GX Data Docs      data/08_reporting/data_curation/gx_data_docs/index.html"
	@echo "  teacher samples   data/08_reporting/pretrain/samples/"
	@echo "  one-step samples  data/08_reporting/posttrain/samples/"
	@echo "  evaluation report data/08_reporting/evaluation/report/report.html  (dvc metrics show)"
	@echo "  model registry    data/09_registry/   (seaweed-apt versions | lineage | rollback)"
	@echo "  promotion gate    data/08_reporting/deployment/gate.json"
	@echo "  generated video   data/08_reporting/deployment/demo.mp4"
	@echo
	@$(BIN)/python -c "import json; g = json.load(open('data/08_reporting/deployment/gate.json')); print('Promotion gate on', g['candidate'] + ':', g['reason'])"
	@echo "The endpoint is up on 127.0.0.1:8000 (stop it with: make stop). Try:"
	@$(BIN)/python -c "import json; print(json.load(open('data/08_reporting/deployment/deployment.json')).get('curl', ''))"

stop:  # the endpoint's head only; `ray stop` would end every Ray of this user
	$(BIN)/seaweed-apt stop

test: setup
	@# The slowest 25 listed: the default suite must stay near 15 min on 2 cores (CI has 90).
	$(BIN)/python -m pytest -m "not slow" -q --durations=25

test-slow: setup
	$(BIN)/python -m pytest -m slow -q

lint: setup
	$(BIN)/ruff check src pipelines tests benchmarks

benchmark: setup
	$(BIN)/python benchmarks/curation.py
	$(BIN)/python benchmarks/one_step_vs_teacher.py
	$(BIN)/python benchmarks/serve_load.py --threads 2
