"""Scale-out on a real distributed engine, on one machine: Dagster's Celery executor (``dagster-celery``) against
a real Redis broker (Debian's ``redis-server``, started here on 127.0.0.1) and Celery worker processes started
here, sharing the instance and the storage root.

- A backfill of 8 partitions of ``census/area_population``, ``residents`` and ``persona_narratives`` (the LLM test
  server), submitted to the instance and run by the daemon with ``SG_PERSONAS_EXECUTOR=celery``, has its steps
  executed by two workers and writes, per partition, the bytes an in-process run writes.
- The call cache under several machines: two workers, each running a partition's narratives and then the other's
  (routed by queue). With a cache per machine (a SQLite file per worker) the swapped runs make their calls again;
  with the shared Redis cache (``SG_PERSONAS_CALL_CACHE=redis://…``) they make none.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _helpers import copy_warehouse, materialize_upstream, warehouse_resources
from dagster import AssetKey, DagsterEventType, DagsterInstance, materialize
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from persona_assets import backfill as bf
from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.core import storage
from persona_assets.core.paths import REPO_ROOT
from persona_assets.daemon import start_daemon
from persona_assets.definitions import defs
from persona_assets.model.assets import persona_network
from persona_assets.names.assets import name_tokens
from persona_assets.narratives.assets import persona_narratives
from persona_assets.narratives.resources import NarrativeLLM
from persona_assets.partitions import PLANNING_AREAS
from persona_assets.sample.assets import residents
from persona_assets.testing.celery_cluster import celery_worker, redis_binary, redis_server, write_celery_config
from persona_assets.testing.dagster_dev import no_proxy_for_loopback, write_instance_yaml
from persona_assets.testing.llm_server import LLMTestServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(redis_binary() is None, reason="redis-server not installed (.ci/run installs it)"),
]

AREAS = PLANNING_AREAS[:8]  # Ang Mo Kio … Bukit Timah: a range, one of them (Boon Lay) without residents
UPSTREAM = [*census_assets, planning_areas, persona_network, name_tokens]
ALL = [area_population, residents, persona_narratives, *UPSTREAM]
SETTINGS = {"total_records": 6000, "base_seed": 3, "records_per_partition": "2"}
OUTPUTS = [("census", "area_population"), ("sample", "residents"), ("narratives", "persona_narratives")]


@pytest.fixture(scope="module")
def redis():
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def llm():
    server = LLMTestServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return materialize_upstream(tmp_path_factory.mktemp("upstream"))


def _celery_env(home: Path, data: Path, redis, llm: LLMTestServer, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SG_PERSONAS_DATA_DIR": str(data),
        "SG_PERSONAS_EXECUTOR": "celery",
        "SG_PERSONAS_CELERY_BROKER": redis.url(0),
        "SG_PERSONAS_CELERY_BACKEND": redis.url(1),
        "SG_PERSONAS_LLM_MODEL": "openai/test-model",
        "SG_PERSONAS_LLM_API_BASE": llm.base_url,
        "SG_PERSONAS_LLM_API_KEY": "sk-test-not-a-secret",
        "PYTHONPATH": str(REPO_ROOT),
        **extra,
    }
    env.update(no_proxy_for_loopback(env))
    return env


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _local_llm(server: LLMTestServer, data: Path) -> NarrativeLLM:
    return NarrativeLLM(
        model="openai/test-model", api_base=server.base_url, api_key="sk-test", cache_path=str(data / "cache.sqlite")
    )


def test_a_celery_backfill_of_eight_partitions_writes_the_bytes_of_a_local_run(
    redis, llm: LLMTestServer, upstream: Path, tmp_path: Path, record_property
) -> None:
    local, shared = copy_warehouse(upstream, tmp_path / "local"), copy_warehouse(upstream, tmp_path / "shared")
    span = {ASSET_PARTITION_RANGE_START_TAG: AREAS[0], ASSET_PARTITION_RANGE_END_TAG: AREAS[-1]}
    before = llm.requests
    assert materialize(
        ALL,
        selection=[area_population, residents, persona_narratives],
        tags=span,
        resources={**warehouse_resources(local, **SETTINGS), "llm": _local_llm(llm, local)},
        instance=DagsterInstance.ephemeral(),
    ).success
    local_calls = llm.requests - before

    home = tmp_path / "dagster_home"
    write_instance_yaml(home)
    env = _celery_env(
        home,
        shared,
        redis,
        llm,
        SG_PERSONAS_CALL_CACHE=redis.url(2),
        SG_PERSONAS_PARTITIONS_PER_RUN="2",  # four runs of two areas: steps for both workers
    )
    config = write_celery_config(tmp_path / "celery.yaml", redis.url(0), redis.url(1))
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    graph = defs.resolve_asset_graph()
    targets = {
        AssetKeyPartitionKey(AssetKey.from_user_string(k), a)
        for k in ("census/area_population", "residents", "persona_narratives")
        for a in AREAS
    }
    run_config = {"resources": {"dataset": {"config": SETTINGS}}}
    before = llm.requests
    try:
        with (
            celery_worker("w1", ["dagster"], env, config, tmp_path / "w1.log", redis.url(0)),
            celery_worker("w2", ["dagster"], env, config, tmp_path / "w2.log", redis.url(0)),
            start_daemon(tmp_path / "daemon.log", env=env) as daemon,
        ):
            backfill_id = bf.submit_backfill(instance, bf.to_subset(graph, targets), run_config)
            with open(tmp_path / "progress.log", "w") as out:
                outcome = bf.follow_backfill(instance, graph, backfill_id, out, alive=daemon.alive)
        assert outcome.status == BulkActionStatus.COMPLETED_SUCCESS, (
            f"{bf.describe_failures(instance, backfill_id)}\n{(tmp_path / 'progress.log').read_text()[-3000:]}"
        )
        assert outcome.progress.done == outcome.progress.targeted == {"census": 8, "sample": 8, "narratives": 8}
        record_property("celery_backfill_seconds", round(outcome.seconds, 2))  # benchmarks/bench_scale_out.py
        record_property("celery_backfill_runs", len(bf.runs_of(instance, backfill_id)))

        workers: dict[str, set[str]] = {}
        for run in bf.runs_of(instance, backfill_id):
            for record in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
                if record.message and "in celery worker" in record.message:
                    host = record.dagster_event.engine_event_data.metadata["Celery worker"].value
                    workers.setdefault(host.split("@")[0], set()).add(record.step_key)
        assert set(workers) == {"w1", "w2"}, workers  # both workers executed steps of the backfill
        assert set().union(*workers.values()) == {"census__area_population", "residents", "persona_narratives"}

        for schema, table in OUTPUTS:
            for area in AREAS:
                name = storage.partition_file_name(area)
                a, b = (storage.asset_dir(root, schema, table) / name for root in (local, shared))
                assert _sha(a) == _sha(b), f"{schema}.{table} {area}: the Celery backfill wrote other bytes"
        assert llm.requests - before == local_calls  # the same calls (the shared cache started empty)
    finally:
        instance.dispose()


def _narrate_on(env: dict[str, str], queue: str, area: str, tmp_path: Path) -> None:
    """``dagster asset materialize`` of one narratives partition with its steps on ``queue``."""
    config = tmp_path / f"run-{queue}.yaml"
    config.write_text(
        yaml.safe_dump({"execution": {"config": {"queue": queue}}, "resources": {"dataset": {"config": SETTINGS}}})
    )
    cmd = [
        str(Path(sys.executable).with_name("dagster")),
        "asset",
        "materialize",
        "-m",
        "persona_assets.definitions",
        "--select",
        "persona_narratives",
        "--partition",
        area,
        "-c",
        str(config),
    ]
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.parametrize("shared_cache", [False, True], ids=["cache-per-machine", "shared-redis-cache"])
def test_a_partition_rerun_on_another_worker_makes_no_calls_with_the_shared_cache(
    redis, llm: LLMTestServer, upstream: Path, tmp_path: Path, shared_cache: bool
) -> None:
    first, second = "Bedok", "Tampines"
    data = copy_warehouse(upstream, tmp_path / "data")
    for area in (first, second):
        assert materialize(
            [area_population, residents, *UPSTREAM],
            selection=[area_population, residents],
            partition_key=area,
            resources=warehouse_resources(data, **SETTINGS),
            instance=DagsterInstance.ephemeral(),
        ).success
    home = tmp_path / "dagster_home"
    write_instance_yaml(home)
    db = 3 if shared_cache else 4
    redis_cache = redis.url(db)
    cache = {name: redis_cache if shared_cache else str(tmp_path / f"{name}-calls.sqlite") for name in ("wa", "wb")}
    envs = {name: _celery_env(home, data, redis, llm, SG_PERSONAS_CALL_CACHE=cache[name]) for name in cache}
    config = write_celery_config(tmp_path / "celery.yaml", redis.url(0), redis.url(1))
    calls: list[int] = []
    with (
        celery_worker("wa", ["wa"], envs["wa"], config, tmp_path / "wa.log", redis.url(0)),
        celery_worker("wb", ["wb"], envs["wb"], config, tmp_path / "wb.log", redis.url(0)),
    ):
        for queue, area in (("wa", first), ("wb", second), ("wb", first), ("wa", second)):  # then swapped
            before = llm.requests
            _narrate_on(envs[queue], queue, area, tmp_path)
            calls.append(llm.requests - before)
    assert calls[0] >= 2 and calls[1] >= 2  # two records each, on their first worker
    if shared_cache:
        assert calls[2:] == [0, 0], calls  # the other worker found every call in the shared cache
    else:
        assert calls[2] == calls[0] and calls[3] == calls[1], calls  # each machine's cache knew nothing of them
