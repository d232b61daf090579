"""``make run`` (``python -m persona_assets.run``) as one Dagster asset backfill: what it plans, and, end to end
against a temporary instance with the LLM test server, that it is one backfill executed by the daemon, stops in
order on Ctrl-C, leaves no process behind when killed with SIGKILL, and then finishes only what did not finish
(no asset partition that was done is materialised again, no LLM call the cache has is made again)."""

from __future__ import annotations

import inspect
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _helpers import wait_for
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.asset_backfill import AssetBackfillData
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.instance.ref import InstanceRef

from persona_assets import backfill as bf
from persona_assets.core.paths import REPO_ROOT
from persona_assets.daemon import set_backfill_tick
from persona_assets.definitions import defs
from persona_assets.partitions import PLANNING_AREAS
from persona_assets.procfs import pids_with_env
from persona_assets.testing.dagster_dev import no_proxy_for_loopback, write_instance_yaml
from persona_assets.testing.llm_server import LLMTestServer

GRAPH = defs.resolve_asset_graph()


# --------------------------------------------------------------------------- what is planned
def test_the_backfill_tick_is_the_constant_dagsters_backfill_loop_reads() -> None:
    from dagster._daemon import backfill, controller

    assert "from dagster._daemon.controller import DEFAULT_DAEMON_INTERVAL_SECONDS" in inspect.getsource(
        backfill.execute_backfill_iteration_loop
    )
    before = controller.DEFAULT_DAEMON_INTERVAL_SECONDS
    try:
        set_backfill_tick(1.5)
        assert controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 1.5
    finally:
        controller.DEFAULT_DAEMON_INTERVAL_SECONDS = before


def test_a_fresh_instance_plans_what_materialize_all_launches() -> None:
    """The UI's Materialize all: every asset, all partitions (the GraphQL mutation's own constructor)."""
    instance = DagsterInstance.ephemeral()
    ui = AssetBackfillData.from_asset_partitions(
        asset_graph=GRAPH,
        partition_names=None,
        asset_selection=list(GRAPH.materializable_asset_keys),
        dynamic_partitions_store=instance,
        all_partitions=True,
        backfill_start_timestamp=time.time(),
    )
    planned = bf.plan_backfill(instance, GRAPH, {}, None, narratives=True)
    assert planned == set(ui.target_subset.iterate_asset_partitions())
    stages = bf.count_by_stage(GRAPH, planned)
    assert stages["sample"] == 55 and stages["publish"] == 2
    assert stages["narratives"] == 55 + 2  # the 55 areas, narrative_report and narration_plan
    assert stages["census"] == 35 + 1 + 55  # the 35 tables, the planning areas and the 55 area populations


def test_areas_and_no_narratives_leave_out_what_needs_them() -> None:
    no_narratives = bf.list_candidates(GRAPH, None, narratives=False)
    assert not {c.asset_key for c in no_narratives} & set(bf.NARRATIVE_ASSETS)
    assert AssetKeyPartitionKey(AssetKey("fit_report")) in no_narratives
    assert AssetKeyPartitionKey(AssetKey("narrative_report")) not in no_narratives  # it reads every area's texts
    two = bf.list_candidates(GRAPH, ["Bedok", "Tampines"], narratives=True)
    assert {c.partition_key for c in two if c.asset_key == AssetKey("residents")} == {"Bedok", "Tampines"}
    unpartitioned = {c.asset_key for c in two if c.partition_key is None}
    assert AssetKey("persona_network") in unpartitioned  # upstream of the areas: kept
    assert not unpartitioned & {AssetKey("fit_report"), AssetKey("name_report"), AssetKey("personas_dataset")}


def test_everything_downstream_of_a_target_is_targeted() -> None:
    candidates = bf.list_candidates(GRAPH)
    bedok = bf.add_downstream(GRAPH, {AssetKeyPartitionKey(AssetKey("residents"), "Bedok")}, candidates)
    assert AssetKeyPartitionKey(AssetKey("persona_narratives"), "Bedok") in bedok
    assert AssetKeyPartitionKey(AssetKey("persona_narratives"), "Tampines") not in bedok
    assert AssetKeyPartitionKey(AssetKey("personas_dataset")) in bedok
    network = bf.add_downstream(GRAPH, {AssetKeyPartitionKey(AssetKey("persona_network"))}, candidates)
    assert {p.partition_key for p in network if p.asset_key == AssetKey("residents")} == set(PLANNING_AREAS)


@pytest.mark.parametrize(
    ("env", "pool"),
    [
        ({}, "llm/local"),
        (
            {"SG_PERSONAS_LLM_MODEL": "openai/m", "SG_PERSONAS_LLM_API_BASE": "http://u:secret@10.0.0.5:8000/v1"},
            "llm/10.0.0.5:8000",
        ),
        ({"SG_PERSONAS_LLM_MODEL": "nvidia_nim/meta/llama-3.1-8b-instruct"}, "llm/nvidia_nim"),
    ],
    ids=["embedded", "endpoint-without-credentials", "provider"],
)
def test_narratives_take_the_pool_of_their_endpoint(monkeypatch: pytest.MonkeyPatch, env: dict, pool: str) -> None:
    from persona_assets.narratives.resources import configured_llm_pool

    for var in ("SG_PERSONAS_LLM_MODEL", "SG_PERSONAS_LLM_API_BASE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert configured_llm_pool() == pool


def test_the_area_assets_share_one_backfill_policy() -> None:
    """So that a backfill runs an area's population, residents and narratives in one run (a child joins its
    parent's run only when their policies are equal)."""
    policies = {
        GRAPH.get(AssetKey.from_user_string(k)).backfill_policy
        for k in ("census/area_population", "residents", "persona_narratives")
    }
    assert len(policies) == 1 and next(iter(policies)).max_partitions_per_run == 28
    env = {**os.environ, "SG_PERSONAS_PARTITIONS_PER_RUN": "0"}
    done = subprocess.run(
        [sys.executable, "-c", "import persona_assets.partitions"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "SG_PERSONAS_PARTITIONS_PER_RUN must be at least 1" in done.stderr


# --------------------------------------------------------------------------- end to end
ARGS = ["--total-records", "1500", "--narratives", "1", "--seed", "5"]


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``python -m persona_assets.run`` as a terminal starts a job: a session (process group) of its own."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "persona_assets.run", *ARGS],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _materialised(instance: DagsterInstance, key: str) -> int:
    return len(instance.fetch_materializations(AssetKey.from_user_string(key), limit=10_000).records)


def _drained(server: LLMTestServer) -> bool:
    """No request in service for a second (what a killed client had sent is answered into the void)."""
    before = server.requests
    time.sleep(1.0)
    return server.active == 0 and server.requests == before


def _cached_calls(data: Path) -> int:
    with sqlite3.connect(data / "cache" / "llm_calls.sqlite") as con:
        return int(con.execute("SELECT count(*) FROM calls").fetchone()[0])


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one time."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _step_spans(instance: DagsterInstance, step_key: str) -> list[tuple[float, float]]:
    """(start, end) of every execution of the step that ended, over all runs of the instance."""
    spans = []
    for run in instance.get_runs():
        starts = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
        ends = instance.all_logs(run.run_id, of_type={DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE})
        start = [e.timestamp for e in starts if e.step_key == step_key]
        end = [e.timestamp for e in ends if e.step_key == step_key]
        if start and end:
            spans.append((start[0], end[0]))
    return spans


def _assert_nothing_done_was_redone(instance: DagsterInstance) -> None:
    """Every asset partition materialised more than once was, each earlier time, left unfinished: its run did not
    record all the asset's blocking checks as passed."""
    blocking = {
        key: {ck for ck in GRAPH.get_check_keys_for_assets({key}) if GRAPH.get(ck).blocking}
        for key in GRAPH.materializable_asset_keys
    }
    passed: dict[str, set] = {}
    by_partition: dict[tuple, list] = {}
    for key in GRAPH.materializable_asset_keys:
        for record in instance.fetch_materializations(key, limit=10_000, ascending=True).records:
            by_partition.setdefault((key, record.partition_key), []).append(record.run_id)
    for (key, partition), run_ids in by_partition.items():
        for run_id in run_ids[:-1]:
            if run_id not in passed:
                passed[run_id] = set(bf._passed_blocking_checks(instance, {run_id})[run_id])
            assert not blocking[key] <= passed[run_id], f"{key.to_user_string()} {partition}: done in {run_id}, redone"


@pytest.mark.slow
def test_make_run_is_one_backfill_that_resumes_after_ctrl_c_and_sigkill(tmp_path: Path) -> None:
    home, data, logs = tmp_path / "dagster_home", tmp_path / "data", tmp_path / "logs"
    logs.mkdir()
    write_instance_yaml(home)
    server = LLMTestServer(latency_s=0.3, max_concurrency=2).start()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SG_PERSONAS_DATA_DIR": str(data),
        "SG_PERSONAS_LLM_MODEL": "openai/test-model",
        "SG_PERSONAS_LLM_API_BASE": server.base_url,
        "SG_PERSONAS_LLM_API_KEY": "sk-test-not-a-secret",
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(no_proxy_for_loopback(env))
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    try:
        # 1. Ctrl-C (SIGINT to its process group, as the terminal sends it) once the first tables are in
        first = _start(env, logs / "1.log")
        wait_for(lambda: _materialised(instance, "census/respop_2025"), 600, "the census run materialises tables")
        os.killpg(first.pid, signal.SIGINT)
        assert first.wait(timeout=180) == 130, (logs / "1.log").read_text()
        (backfill,) = instance.get_backfills()
        assert backfill.status == BulkActionStatus.CANCELED and backfill.title == "make run"
        assert not pids_with_env("DAGSTER_HOME", str(home)), "a process of the first make run outlived it"
        assert not [r for r in instance.get_runs() if r.status in (DagsterRunStatus.STARTED, DagsterRunStatus.QUEUED)]

        # 2. SIGKILL of its whole process group while the narratives are being written
        second = _start(env, logs / "2.log")
        wait_for(lambda: server.requests >= 4, 900, "narrative calls reach the LLM server")
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(timeout=30)
        wait_for(lambda: not pids_with_env("DAGSTER_HOME", str(home)), 30, "the daemon group dies with make run")
        wait_for(lambda: _drained(server), 60, "the server answers what the killed runs had sent")
        calls_before, cached_before = server.requests, _cached_calls(data)

        # 3. the next make run closes what the killed one left and finishes the rest
        third = _start(env, logs / "3.log")
        assert third.wait(timeout=1200) == 0, (logs / "3.log").read_text()[-6000:]
        out3 = (logs / "3.log").read_text()
        assert "left open by an interrupted make run, canceled" in out3
        assert f"of {len(bf.list_candidates(GRAPH))} asset partitions" in out3
        assert not pids_with_env("DAGSTER_HOME", str(home))
        assert (data / "published" / "README.md").exists()

        # every asset partition is materialised, and nothing that was done was done again
        latest = max(instance.get_backfills(), key=lambda b: b.backfill_timestamp)
        assert latest.status == BulkActionStatus.COMPLETED_SUCCESS
        for key in ("census/respop_2025", "persona_network", "personas_dataset"):
            assert _materialised(instance, key) >= 1
        residents = instance.fetch_materializations(AssetKey("residents"), limit=10_000).records
        assert {r.partition_key for r in residents} == set(PLANNING_AREAS)
        _assert_nothing_done_was_redone(instance)
        planned = out3.splitlines()[
            [i for i, line in enumerate(out3.splitlines()) if "make run: a backfill" in line][0]
        ]
        assert "census" not in planned and "sample" not in planned, planned  # done by the second make run

        # no finished call was made again: every call of the third make run was new to the cache (a call the
        # cache had would have been answered from it; a call made twice adds one row, not two)
        made = server.requests - calls_before
        assert made > 0 and _cached_calls(data) - cached_before == made, (made, cached_before, _cached_calls(data))

        # the narratives steps ran inside the sample runs, at most two at a time (the llm/<host:port> pool of
        # dagster.yaml)
        spans = sorted(_step_spans(instance, "persona_narratives"))
        assert len(spans) >= 2
        assert _most_at_once(spans) <= 2, spans

        # 4. nothing left to do
        fourth = subprocess.run(
            [sys.executable, "-m", "persona_assets.run", *ARGS], cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        assert fourth.returncode == 0 and "everything is up to date" in fourth.stdout, fourth.stdout + fourth.stderr
        assert len(instance.get_backfills()) == 3
    finally:
        for proc in [p for p in locals().values() if isinstance(p, subprocess.Popen)]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        server.stop()
        instance.dispose()


def test_make_run_finds_a_daemon_already_serving_its_instance(tmp_path: Path) -> None:
    """E.g. make dev's (``python -m dagster._daemon run``): the backfill then goes to it, not to a second daemon."""
    from persona_assets.daemon import find_running_daemon

    home = tmp_path / "home"
    assert find_running_daemon(home) is None
    sleeper = "import time; time.sleep(60)"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    other = subprocess.Popen([sys.executable, "-c", sleeper, "-m", "dagster._daemon", "run"], env=env)
    unrelated = subprocess.Popen([sys.executable, "-c", sleeper, "dagster", "dev"], env={**env, "DAGSTER_HOME": "/x"})
    try:
        wait_for(lambda: find_running_daemon(home) == other.pid, 10, "the daemon process is found")
    finally:
        for proc in (other, unrelated):
            proc.kill()
            proc.wait()
    assert find_running_daemon(home) is None
