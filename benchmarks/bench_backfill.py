"""Backfill of the 55 ``sample_job`` partitions (148,000 residents) with 1 and with 2 runs at a time.

What the run queue does with ``max_concurrent_runs: 2`` (dagster.yaml), without the daemon's launch overhead:
W worker processes (spawned interpreters) take the planning areas from one queue, in partition order, and each
runs ``defs.resolve_job_def("sample_job").execute_in_process(partition_key=area)`` for one area after another
(as ``persona_assets.run`` does), all against one persistent instance (temporary ``DAGSTER_HOME``, SQLite, the
repository's ``dagster.yaml``) and one warehouse (temporary ``SG_PERSONAS_DATA_DIR``: a Parquet file per partition
plus the DuckDB file that every run updates under its lock). Narratives are not part of it.

1. prerequisites, once, untimed for the comparison: ``census_tables_job``, ``model_job``;
2. for each concurrency (default ``1,2``, in that order, in this one invocation): the residents and
   area_population partitions are removed, then all 55 partitions are materialised; the wall time includes
   starting the workers (interpreter + imports), as each queued run pays that too;
3. checks after each: every run succeeded (no DuckDB lock error), each partition's Parquet rows = its
   ``records`` metadata = its allocation, 148,000 rows in total, and the DuckDB view ``sample.residents`` has
   them all once (unique uuids).

Other load on the machine distorts the figures, so the script records the load average during each pass and the
CPU time used by other processes (machine busy time from /proc/stat minus this benchmark's own CPU time).

    python benchmarks/bench_backfill.py [--workers 1,2] [--areas N] [--keep]   # benchmarks/results/bench_backfill.json
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, machine_info, now_iso, write_results

SCRIPT = "bench_backfill"
TOTAL_RECORDS = 148_000
BASE_SEED = 20251125
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # every event still goes to the instance


# --------------------------------------------------------------------------- worker processes
def worker(tasks: Any, results: Any, total: int, seed: int) -> None:
    """Runs sample_job for the areas it takes from ``tasks`` until it gets ``None``."""
    started = time.time()
    from dagster import DagsterEventType, DagsterInstance

    from persona_assets.definitions import defs

    instance = DagsterInstance.get()  # DAGSTER_HOME and SG_PERSONAS_DATA_DIR come from the parent's environment
    job = defs.resolve_job_def("sample_job")
    config = {**QUIET, "resources": {"dataset": {"config": {"total_records": total, "base_seed": seed}}}}
    results.put(("ready", os.getpid(), time.time() - started))
    while (area := tasks.get()) is not None:
        t0 = time.perf_counter()
        row: dict[str, Any] = {"area": area, "pid": os.getpid(), "start": time.time()}
        try:
            res = job.execute_in_process(instance=instance, partition_key=area, run_config=config, raise_on_error=False)
            row["success"] = res.success
            row["failures"] = [
                str(e.event_specific_data.error)
                for e in res.all_events
                if e.event_type in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE)
                and getattr(e.event_specific_data, "error", None) is not None
            ]
            for e in res.get_asset_materialization_events():
                if e.asset_key.path == ["residents"]:
                    row["records"] = e.step_materialization_data.materialization.metadata["records"].value
        except Exception:  # noqa: BLE001 - report it, the parent counts it as a failed run
            row["success"], row["failures"] = False, [traceback.format_exc()]
        row["seconds"] = time.perf_counter() - t0
        results.put(("run", row))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put(("done", os.getpid(), usage.ru_utime + usage.ru_stime))


# --------------------------------------------------------------------------- machine load
def _busy_cpu_seconds() -> float:
    """CPU time spent by every process on the machine so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class LoadSampler(threading.Thread):
    def __init__(self, every_s: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.every_s, self.stop, self.samples = every_s, threading.Event(), []

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self.stop.wait(self.every_s)


# --------------------------------------------------------------------------- parent
def prerequisites() -> dict[str, float]:
    from dagster import DagsterInstance

    from persona_assets.definitions import defs

    instance, times = DagsterInstance.get(), {}
    for job in ("census_tables_job", "model_job"):
        t0 = time.perf_counter()
        if (
            not defs.resolve_job_def(job)
            .execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET)
            .success
        ):
            raise RuntimeError(f"{job} failed")
        times[job] = round(time.perf_counter() - t0, 2)
    return times


def backfill(workers: int, areas: list[str], total: int, seed: int, data: Path) -> dict[str, Any]:
    for folder in ("sample/residents", "census/area_population"):  # every pass writes every partition afresh
        shutil.rmtree(data / "warehouse" / folder, ignore_errors=True)
    ctx = mp.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    for area in areas:
        tasks.put(area)
    for _ in range(workers):
        tasks.put(None)
    sampler = LoadSampler()
    busy0, own0 = _busy_cpu_seconds(), _own_cpu_seconds()
    sampler.start()
    t0 = time.perf_counter()
    procs = [ctx.Process(target=worker, args=(tasks, results, total, seed)) for _ in range(workers)]
    for p in procs:
        p.start()
    runs: list[dict[str, Any]] = []
    ready: dict[int, float] = {}
    worker_cpu: dict[int, float] = {}
    while len(worker_cpu) < workers:
        kind, *rest = results.get(timeout=1800)
        if kind == "ready":
            ready[rest[0]] = rest[1]
        elif kind == "run":
            runs.append(rest[0])
            print(f"  [{workers}] {len(runs):2d}/{len(areas)} {rest[0]['area']} {rest[0]['seconds']:.1f} s", flush=True)
        else:
            worker_cpu[rest[0]] = rest[1]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(timeout=60)
    sampler.stop.set()
    sampler.join()
    busy, own = _busy_cpu_seconds() - busy0, _own_cpu_seconds() - own0
    secs = [r["seconds"] for r in runs]
    failures = [f for r in runs for f in r.get("failures", [])]
    loads = sampler.samples or [os.getloadavg()[0]]
    return {
        "workers": workers,
        "wall_seconds": round(wall, 2),
        "runs_wall_seconds": round(max(r["start"] + r["seconds"] for r in runs) - min(r["start"] for r in runs), 2),
        "runs": len(runs),
        "runs_succeeded": sum(bool(r.get("success")) for r in runs),
        "failures": failures[:5],
        "lock_errors": sum("lock" in f.lower() for f in failures),
        "per_run_seconds": {
            "min": round(min(secs), 2),
            "median": round(statistics.median(secs), 2),
            "max": round(max(secs), 2),
            "sum": round(sum(secs), 2),
        },
        "worker_start_seconds": sorted(round(v, 2) for v in ready.values()),
        "partitions_per_worker": sorted((sum(r["pid"] == pid for r in runs) for pid in ready), reverse=True),
        "cpu_seconds_this_benchmark": round(own, 1),
        "cpu_seconds_other_processes": round(max(busy - own, 0.0), 1),
        "other_processes_mean_cores": round(max(busy - own, 0.0) / wall, 2),
        "loadavg_1min": {"min": min(loads), "mean": round(statistics.mean(loads), 2), "max": max(loads)},
        "records_by_area": {r["area"]: r.get("records") for r in runs},
    }


def verify(areas: list[str], total: int, data: Path, records_by_area: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import pandas as pd

    from persona_assets.core import storage
    from persona_assets.core.model.allocation import allocate_areas

    planning = storage.load_table(data, "census", "planning_areas").set_index("planning_area")
    alloc = allocate_areas(planning["residents_15plus"], total)
    folder = storage.asset_dir(data, "sample", "residents")
    mismatches = []
    parquet_rows = 0
    for area in areas:
        n = len(pd.read_parquet(folder / storage.partition_file_name(area)))
        parquet_rows += n
        if not n == records_by_area.get(area) == int(alloc[area]):
            mismatches.append(
                {"area": area, "parquet": n, "records": records_by_area.get(area), "alloc": int(alloc[area])}
            )
    with duckdb.connect(str(data / "sg_personas.duckdb"), read_only=True) as con:
        view_rows, unique_uuids = con.execute("SELECT count(*), count(DISTINCT uuid) FROM sample.residents").fetchone()
    expected = int(sum(int(alloc[a]) for a in areas))
    ok = not mismatches and parquet_rows == view_rows == unique_uuids == expected
    return {
        "expected_rows": expected,
        "parquet_rows": parquet_rows,
        "duckdb_view_rows": view_rows,
        "duckdb_unique_uuids": unique_uuids,
        "partition_mismatches": mismatches,
        "temporary_files_left": len(list(folder.glob(".*.tmp"))),
        "ok": ok,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="concurrency levels to compare, in order (default 1,2)")
    ap.add_argument("--areas", type=int, default=0, help="only the first N planning areas (smoke test)")
    ap.add_argument("--total-records", type=int, default=TOTAL_RECORDS)
    ap.add_argument("--seed", type=int, default=BASE_SEED)
    ap.add_argument("--keep", action="store_true", help="keep the temporary DAGSTER_HOME and data folder")
    args = ap.parse_args(argv)
    levels = [int(w) for w in args.workers.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="sg_personas_backfill_"))
    home, data = workdir / "dagster_home", workdir / "data"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    # set before anything reads them: this process and the spawned workers (which inherit the environment)
    os.environ.update(DAGSTER_HOME=str(home), SG_PERSONAS_DATA_DIR=str(data))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    print(f"temporary DAGSTER_HOME and SG_PERSONAS_DATA_DIR under {workdir}; load {os.getloadavg()}", flush=True)
    from persona_assets.partitions import PLANNING_AREAS

    areas = PLANNING_AREAS[: args.areas] if args.areas else list(PLANNING_AREAS)
    passes: list[dict[str, Any]] = []
    try:
        t0 = time.perf_counter()
        prereq = prerequisites()
        print(f"prerequisites: {prereq} ({time.perf_counter() - t0:.1f} s)", flush=True)
        for w in levels:
            print(f"backfill of {len(areas)} partitions with {w} worker(s) ...", flush=True)
            result = backfill(w, areas, args.total_records, args.seed, data)
            result["checks"] = verify(areas, args.total_records, data, result.pop("records_by_area"))
            passes.append(result)
            print(
                f"  {w} worker(s): {result['wall_seconds']:.1f} s wall, checks ok: {result['checks']['ok']}, "
                f"load {result['loadavg_1min']}, other processes {result['other_processes_mean_cores']} cores",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    by_w = {p["workers"]: p for p in passes}
    speedup = by_w[1]["wall_seconds"] / by_w[2]["wall_seconds"] if {1, 2} <= set(by_w) else None
    ok = all(p["runs_succeeded"] == len(areas) and p["lock_errors"] == 0 and p["checks"]["ok"] for p in passes)
    payload: dict[str, Any] = {
        "script": SCRIPT,
        "date": now_iso(),
        "machine": machine_info(),
        "total_records": args.total_records,
        "partitions": len(areas),
        "order": levels,
        "prerequisites_seconds_untimed": prereq,
        "passes": passes,
        "speedup_1_to_2_workers": round(speedup, 2) if speedup else None,
        "all_checks_ok": ok,
        "notes": [
            "wall_seconds: from starting the worker processes to the last run's end (spawn, imports, 55 runs); "
            "runs_wall_seconds: first run start to last run end",
            "each worker runs execute_in_process for one partition after another against the shared SQLite "
            "instance; a daemon-launched run also starts a run worker and step processes (not measured here)",
            "other_processes_mean_cores: CPU time of everything else on the machine during the pass / wall time; "
            "loadavg_1min includes this benchmark's own workers",
            "lock_errors: failures whose text mentions a lock (DuckDB's single-writer lock); must be 0",
        ],
    }
    path = write_results(SCRIPT, payload)
    print(f"\n== backfill of {len(areas)} sample_job partitions ({payload['machine']['cpus_usable']} CPUs usable) ==")
    for p in passes:
        print(
            f"{p['workers']} worker(s): {p['wall_seconds']:.1f} s wall ({p['runs_succeeded']}/{p['runs']} runs ok, "
            f"{p['lock_errors']} lock errors, {p['checks']['duckdb_view_rows']:,} rows, "
            f"{p['checks']['duckdb_unique_uuids']:,} unique uuids), per run median {p['per_run_seconds']['median']} s, "
            f"load {p['loadavg_1min']['mean']} (other processes {p['other_processes_mean_cores']} cores)"
        )
    if speedup:
        print(f"speed-up with 2 workers: {speedup:.2f}x (1 worker / 2 workers wall time)")
    print(f"all checks ok: {ok}\nresults: {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
