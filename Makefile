# Two commands on a fresh machine: `make run` (set up + materialise offline) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export LITELLM_LOCAL_MODEL_COST_MAP := True
export GX_ANALYTICS_ENABLED := false
# idle llama.cpp/OpenMP threads must sleep, not spin
export OMP_WAIT_POLICY := PASSIVE

.PHONY: run dev test lint format snapshot bench bench-local bench-adaptive clean install

$(STAMP): pyproject.toml scripts/build_llama_server.sh
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first (pomegranate depends on it; a plain install pulls a multi-GB CUDA build).
	$(BIN)/pip install -q torch==2.13.0
	# llama.cpp's own server, built from the source llama-cpp-python's sdist vendors (cmake + ninja from PyPI, a
	# portable GGML_NATIVE=OFF build) into $(BIN)/llama-server, skipped when the binary of the pinned version is
	# there. The build (CPU) runs in the background while pip downloads the rest (network): the tools go in first.
	scripts/build_llama_server.sh --tools $(VENV)
	scripts/build_llama_server.sh $(VENV) >$(VENV)/llama-server-build.log 2>&1 & build=$$!; \
	$(BIN)/pip install -q -e '.[dev,local-llm]' || { kill $$build; exit 1; }; \
	wait $$build || { tail -40 $(VENV)/llama-server-build.log; exit 1; }; \
	tail -1 $(VENV)/llama-server-build.log
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m persona_assets.run

# The Dagster UI and the daemon (which dequeues runs, two at a time: dagster.yaml) on http://$(DEV_HOST):$(DEV_PORT),
# local only by default (`make dev DEV_HOST=0.0.0.0 DEV_PORT=3001`, or the same as environment variables).
# `exec` hands the recipe's process to `dagster dev`, so Ctrl-C (SIGINT; SIGTERM too) reaches it and it stops the
# webserver, the daemon and the code server before it exits. A run still executing then is cut off and stays STARTED
# in the instance (holding a queue slot): the first line marks such runs, whose run worker is gone, failed.
# The notice that ./dagster.yaml is not used is expected: the instance reads the copy in $(DAGSTER_HOME).
DEV_HOST ?= 127.0.0.1
DEV_PORT ?= 3000
dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m persona_assets.orphaned_runs
	exec $(BIN)/dagster dev -w workspace.yaml --host $(DEV_HOST) --port $(DEV_PORT)

test: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_sampler.py
	$(BIN)/python benchmarks/bench_sampling_e2e.py

# The embedded model's benchmark (in-process baseline vs the local server; ~40-60 min, quiet machine only) and the
# adaptive-concurrency benchmark (~6-8 min). See benchmarks/README.md.
bench-local: $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q -e '.[inprocess-llm]'
	$(BIN)/python benchmarks/bench_local_narration.py

bench-adaptive: $(STAMP)
	$(BIN)/python benchmarks/bench_adaptive.py

snapshot: $(STAMP)
	$(BIN)/python -m census_sources.build --raw ../shared/data/raw

clean:
	rm -rf data .dagster_home
