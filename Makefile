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

# One Dagster asset backfill of the whole graph (persona_assets/run.py): starts a daemon in its own process group,
# submits the backfill, follows it, stops the daemon. `make run RUN_ARGS="--total-records 20000"` passes options.
RUN_ARGS ?=
run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m persona_assets.run $(RUN_ARGS)

# The Dagster UI and the daemon (which dequeues runs, two at a time: dagster.yaml) on http://$(DEV_HOST):$(DEV_PORT),
# local only by default (`make dev DEV_HOST=0.0.0.0 DEV_PORT=3001`, or the same as environment variables), and the
# report server (data/reports/ and the published card, linked from the asset pages) on http://$(DEV_HOST):$(REPORTS_PORT).
# persona_assets/dev.py runs `dagster dev` in its own process group and stops everything on Ctrl-C, SIGTERM or
# SIGHUP however it was started (also `setsid make dev &`, whose inherited ignored SIGINT would make `dagster dev`
# ignore SIGTERM too). A run still executing then is cut off and stays STARTED in the instance (holding a queue
# slot): the first line marks such runs, whose run worker is gone, failed.
# The notice that ./dagster.yaml is not used is expected: the instance reads the copy in $(DAGSTER_HOME).
DEV_HOST ?= 127.0.0.1
DEV_PORT ?= 3000
REPORTS_PORT ?= 3080
dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m persona_assets.orphaned_runs
	exec $(BIN)/python -m persona_assets.dev --host $(DEV_HOST) --port $(DEV_PORT) --reports-port $(REPORTS_PORT)

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
