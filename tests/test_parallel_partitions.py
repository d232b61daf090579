"""Residents partitions materialised at the same time by separate processes, as the run queue does with
``max_concurrent_runs: 2`` (dagster.yaml): one warehouse (Parquet files + one DuckDB file) and one persistent
Dagster instance (SQLite under a temporary DAGSTER_HOME that uses the project's dagster.yaml), while a reader
opens the DuckDB file read-only now and then. No run may fail on DuckDB's lock, each partition holds exactly its
allocation, the DuckDB view has every row once; re-running a partition (multiprocess executor, the way a launched
run executes) replaces its rows."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import threading
import time
import traceback
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from _helpers import warehouse_resources
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, materialize
from dagster._core.instance.ref import InstanceRef

from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.core import storage
from persona_assets.core.model.allocation import allocate_areas
from persona_assets.model.assets import persona_network
from persona_assets.names.assets import name_tokens
from persona_assets.sample.assets import residents

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOTAL = 148_000
SEED = 7
#: Four areas written at once (two large, two small), then a re-run of one of them next to a fifth area.
AREAS = ["Bedok", "Yishun", "Bukit Timah", "Novena"]
RERUN_AREA, NEW_AREA, RERUN_SEED = "Bedok", "Serangoon", 11
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _resources(data: Path) -> dict[str, object]:
    return warehouse_resources(data, total_records=TOTAL, base_seed=SEED)


def _instance(home: Path) -> DagsterInstance:
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def _residents_metadata(events) -> dict[str, object]:
    mats = [e for e in events if e.is_step_materialization and e.asset_key == AssetKey("residents")]
    assert len(mats) == 1
    return {k: v.value for k, v in mats[0].step_materialization_data.materialization.metadata.items()}


def _failures(events) -> list[str]:
    return [str(e.event_specific_data.error) for e in events if e.event_type == DagsterEventType.STEP_FAILURE]


def _in_process_worker(barrier, queue, data: str, home: str, area: str) -> None:
    """One ``materialize`` of (area_population, residents) for one area, in a spawned process."""
    try:
        instance = _instance(Path(home))
        barrier.wait(timeout=600)  # every worker has imported and opened the instance: start together
        started = time.time()
        result = materialize(
            [area_population, residents, *census_assets, planning_areas, persona_network, name_tokens],
            selection=[area_population, residents],
            partition_key=area,
            resources=_resources(Path(data)),
            instance=instance,
            raise_on_error=False,
            run_config=QUIET,
        )
        events = result.all_events
        queue.put(
            {
                "area": area,
                "success": result.success,
                "run_id": result.run_id,
                "metadata": _residents_metadata(events) if result.success else {},
                "failures": _failures(events),
                "started": started,
                "ended": time.time(),
            }
        )
    except BaseException:  # report, never hang the parent
        queue.put({"area": area, "success": False, "failures": [traceback.format_exc()]})


def _launched_run_worker(barrier, queue, data: str, home: str, area: str, seed: int) -> None:
    """One run of the project's ``sample_job`` as the daemon launches it: the code location's own resources
    (the dataset resource configured at launch, its data root from SG_PERSONAS_DATA_DIR), the multiprocess executor
    (each step in its own process)."""
    try:
        os.environ["SG_PERSONAS_DATA_DIR"] = data  # the dataset resource's default root, in the step processes
        from dagster import execute_job
        from dagster._core.definitions.reconstruct import ReconstructableRepository

        repo = ReconstructableRepository.for_module("persona_assets.definitions", "defs", working_directory=str(ROOT))
        job = repo.get_reconstructable_job("sample_job")
        instance = _instance(Path(home))
        barrier.wait(timeout=600)
        started = time.time()
        config = {**QUIET, "resources": {"dataset": {"config": {"total_records": TOTAL, "base_seed": seed}}}}
        with execute_job(job, instance, run_config=config, tags={"dagster/partition": area}) as result:
            events = result.all_events
            queue.put(
                {
                    "area": area,
                    "success": result.success,
                    "run_id": result.run_id,
                    "metadata": _residents_metadata(events) if result.success else {},
                    "failures": _failures(events),
                    "engine": [e.message or "" for e in events if e.event_type == DagsterEventType.ENGINE_EVENT],
                    "started": started,
                    "ended": time.time(),
                }
            )
    except BaseException:
        queue.put({"area": area, "success": False, "failures": [traceback.format_exc()]})


class _Reader(threading.Thread):
    """Opens the DuckDB file read-only (a notebook, the DuckDB CLI) every ~0.5 s and holds it ~0.5 s."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db, self.stop, self.held, self.busy, self.errors = db, threading.Event(), 0, 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                con = duckdb.connect(str(self.db), read_only=True)
            except duckdb.IOException:  # a writer has it at this instant: a reader's problem, not a run's
                self.busy += 1
            except Exception as exc:  # noqa: BLE001
                self.errors.append(repr(exc))
            else:
                try:
                    con.execute("SELECT count(*) FROM information_schema.tables").fetchone()
                    self.held += 1
                    self.stop.wait(0.5)
                finally:
                    con.close()
            self.stop.wait(0.5)


def _run_in_processes(target, jobs: list[tuple], reader_db: Path | None = None) -> tuple[list[dict], _Reader | None]:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(len(jobs)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(barrier, queue, *job)) for job in jobs]
    reader = _Reader(reader_db) if reader_db is not None else None
    for p in procs:
        p.start()
    if reader is not None:
        reader.start()
    try:
        results = [queue.get(timeout=900) for _ in procs]
    finally:
        if reader is not None:
            reader.stop.set()
            reader.join(timeout=10)
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    return sorted(results, key=lambda r: r["area"]), reader


def _view(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT planning_area, count(*) AS n, count(DISTINCT uuid) AS uuids FROM sample.residents GROUP BY 1"
        ).df()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Upstream assets once, in this process, into a persistent instance configured by the project's dagster.yaml."""
    data = tmp_path_factory.mktemp("warehouse")
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    instance = _instance(home)
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2  # the project's config
    result = materialize(
        [*census_assets, planning_areas, persona_network, name_tokens],
        resources=_resources(data),
        instance=instance,
        run_config=QUIET,
    )
    assert result.success
    areas = storage.load_table(data, "census", "planning_areas").set_index("planning_area")
    alloc = allocate_areas(areas["residents_15plus"], TOTAL)
    return {"data": data, "home": home, "db": data / "sg_personas.duckdb", "alloc": alloc, "instance": instance}


@pytest.fixture(scope="module")
def parallel(warehouse) -> dict[str, object]:
    data, home, db = warehouse["data"], warehouse["home"], warehouse["db"]
    started = time.perf_counter()
    results, reader = _run_in_processes(_in_process_worker, [(str(data), str(home), a) for a in AREAS], db)
    return {"results": results, "reader": reader, "wall_s": time.perf_counter() - started}


def test_concurrent_partition_runs_share_one_warehouse_and_one_instance(warehouse, parallel) -> None:
    data, db, alloc = warehouse["data"], warehouse["db"], warehouse["alloc"]
    results = parallel["results"]
    for r in results:
        assert r["success"], f"{r['area']}: {r['failures']}"
        assert not r["failures"]
    assert [r["area"] for r in results] == sorted(AREAS)
    # the runs really overlapped in time (a barrier released them together)
    assert max(r["started"] for r in results) < min(r["ended"] for r in results)

    folder = storage.asset_dir(data, "sample", "residents")
    counts = {}
    for r in results:
        area = r["area"]
        df = pd.read_parquet(folder / storage.partition_file_name(area))
        assert set(df["planning_area"]) == {area}
        assert len(df) == r["metadata"]["records"] == r["metadata"]["dagster/row_count"] == int(alloc[area]) > 0
        counts[area] = len(df)
    assert not list(folder.glob(".*.tmp")), "a temporary Parquet file was left behind"

    view = _view(db).set_index("planning_area")
    assert view["n"].to_dict() == counts
    assert (view["n"] == view["uuids"]).all()
    with duckdb.connect(str(db), read_only=True) as con:
        total, unique = con.execute("SELECT count(*), count(DISTINCT uuid) FROM sample.residents").fetchone()
    assert total == unique == sum(counts.values())

    # every run and materialisation landed in the one shared instance
    instance: DagsterInstance = warehouse["instance"]
    assert set(instance.get_materialized_partitions(AssetKey("residents"))) == set(AREAS)
    for r in results:
        assert instance.get_run_by_id(r["run_id"]).is_success

    reader: _Reader = parallel["reader"]
    assert not reader.errors
    assert reader.held > 0  # the reader did get in between the writers


def test_rerun_replaces_a_partition_next_to_a_new_one_with_the_multiprocess_executor(warehouse, parallel) -> None:
    data, home, db, alloc = warehouse["data"], warehouse["home"], warehouse["db"], warehouse["alloc"]
    assert all(r["success"] for r in parallel["results"])
    folder = storage.asset_dir(data, "sample", "residents")
    before = set(pd.read_parquet(folder / storage.partition_file_name(RERUN_AREA))["uuid"])

    jobs = [(str(data), str(home), RERUN_AREA, RERUN_SEED), (str(data), str(home), NEW_AREA, SEED)]
    results, _ = _run_in_processes(_launched_run_worker, jobs)
    for r in results:
        assert r["success"], f"{r['area']}: {r['failures']}"
        assert any("multiprocess executor" in m for m in r["engine"])  # steps ran in their own processes
        assert r["metadata"]["records"] == int(alloc[r["area"]])

    rerun = pd.read_parquet(folder / storage.partition_file_name(RERUN_AREA))
    assert len(rerun) == int(alloc[RERUN_AREA])
    assert not before & set(rerun["uuid"])  # another seed: all-new records, none of the old ones kept

    expected = {a: int(alloc[a]) for a in [*AREAS, NEW_AREA]}
    view = _view(db).set_index("planning_area")
    assert view["n"].to_dict() == expected  # the re-run replaced its rows: no duplicates, nothing stale
    assert (view["n"] == view["uuids"]).all()
    with duckdb.connect(str(db), read_only=True) as con:
        total, unique = con.execute("SELECT count(*), count(DISTINCT uuid) FROM sample.residents").fetchone()
        stale = con.execute(
            "SELECT count(*) FROM sample.residents WHERE uuid IN (SELECT unnest(?))", [sorted(before)]
        ).fetchone()[0]
    assert total == unique == sum(expected.values())
    assert stale == 0

    instance: DagsterInstance = warehouse["instance"]
    assert set(instance.get_materialized_partitions(AssetKey("residents"))) == {*AREAS, NEW_AREA}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("residents"), asset_partitions=[RERUN_AREA]), limit=1
    ).records
    assert records[0].asset_materialization.metadata["base_seed"].value == RERUN_SEED  # the UI shows the re-run
