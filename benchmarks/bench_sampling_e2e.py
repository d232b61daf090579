"""End to end: 148,000 residents across the 55 planning-area partitions, with Dagster, vs the bare core.

In a temporary ``DAGSTER_HOME`` (SQLite instance from the repository's ``dagster.yaml``) and a temporary
``SG_PERSONAS_DATA_DIR``, each step runs in its own subprocess so that its wall time and peak RSS are its own
(``os.wait4`` returns the child's ``ru_maxrss``, KiB on Linux):

1. prerequisites, untimed for the targets: ``census_tables_job`` then ``model_job``;
2. timed, with Dagster: the 55 ``sample_job`` partition runs, as ``persona_assets.run`` executes them
   (``execute_in_process`` against the instance; each run materialises ``area_population`` and ``residents``,
   including the blocking fidelity check and the Parquet + DuckDB writes);
3. timed, without Dagster (the baseline): the same 148,000 records from the core functions
   (``allocate_areas`` + ``area_adult_population`` + ``sample_residents`` per area, the network the model job
   saved); then, separately, the same loop plus what the asset does besides sampling (fidelity check, Parquet
   write), to tell the framework's own overhead from the asset's extra work.

The records from both paths must be identical (same seeds): the script compares a content hash per area.

    python benchmarks/bench_sampling_e2e.py [--keep]    # writes benchmarks/results/bench_sampling_e2e.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, machine_info, now_iso, peak_rss_mib, write_results

SCRIPT = "bench_sampling_e2e"
TOTAL_RECORDS = 148_000
BASE_SEED = 20251125
TARGET_WALL_S = 60.0
TARGET_PEAK_MIB = 2048.0
HASH_COLUMNS = (
    "uuid",
    "full_name",
    "preferred_english_name",
    "subzone",
    "age",
    "sex",
    "ethnicity",
    "religion",
    "occupation",
    "industry",
    "dwelling_type",
)


def content_hash(df: Any) -> str:
    """Order-independent hash of a partition's records (string form of the compared columns)."""
    import pandas as pd

    part = df.loc[:, list(HASH_COLUMNS)].astype(str).sort_values("uuid")
    return format(int(pd.util.hash_pandas_object(part, index=False).sum()) & (2**64 - 1), "016x")


# --------------------------------------------------------------------------- child steps (run in subprocesses)
def child_prereq(out: Path) -> dict[str, Any]:
    from dagster import DagsterInstance

    from persona_assets.definitions import defs

    instance = DagsterInstance.get()
    times: dict[str, float] = {}
    for job in ("census_tables_job", "model_job"):
        start = time.perf_counter()
        result = defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False)
        if not result.success:
            raise RuntimeError(f"{job} failed")
        times[job] = time.perf_counter() - start
    return {"job_seconds": times}


def child_dagster(out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    from dagster import DagsterInstance

    from persona_assets.definitions import defs
    from persona_assets.partitions import PLANNING_AREAS

    imported = time.perf_counter()
    instance = DagsterInstance.get()
    config = {"resources": {"dataset": {"config": {"total_records": TOTAL_RECORDS, "base_seed": BASE_SEED}}}}
    per_area: dict[str, float] = {}
    loop_start = time.perf_counter()
    for area in PLANNING_AREAS:
        t = time.perf_counter()
        result = defs.resolve_job_def("sample_job").execute_in_process(
            instance=instance, partition_key=area, run_config=config, raise_on_error=False
        )
        if not result.success:
            raise RuntimeError(f"sample_job failed for {area!r}")
        per_area[area] = time.perf_counter() - t
    loop_end = time.perf_counter()
    slowest = sorted(per_area.items(), key=lambda kv: -kv[1])[:3]
    return {
        "import_seconds": imported - started,
        "runs": len(per_area),
        "runs_seconds": loop_end - loop_start,
        "per_run_seconds": {"min": min(per_area.values()), "max": max(per_area.values())},
        "slowest_runs": [{"area": a, "seconds": s} for a, s in slowest],
    }


def child_core(out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    from census_sources import load_table
    from persona_assets.core.census import area_adult_population, summarise_planning_areas
    from persona_assets.core.model.allocation import allocate_areas
    from persona_assets.core.model.network import PersonaNetwork
    from persona_assets.core.model.residents import sample_residents
    from persona_assets.core.paths import default_data_root

    imported = time.perf_counter()
    respop, ura = load_table("respop_2025"), load_table("ura_planning_areas")
    net = PersonaNetwork.load_current(default_data_root() / "models" / "persona_network")
    areas = summarise_planning_areas(respop, ura)
    import pandas as pd

    from persona_assets.sample.assets import load_name_model

    tokens = pd.read_parquet(default_data_root() / "warehouse" / "names" / "name_tokens.parquet")
    names = (load_name_model(tokens), load_table("cea_name_hashes"))
    setup_done = time.perf_counter()

    def sample_all() -> dict[str, Any]:
        alloc = allocate_areas(areas.set_index("planning_area")["residents_15plus"], TOTAL_RECORDS)
        frames = {}
        for area in areas["planning_area"]:
            pop = area_adult_population(respop, ura, area)
            frames[area] = sample_residents(net, area, pop, int(alloc[area]), BASE_SEED, names=names)
        return frames

    loop_start = time.perf_counter()
    frames = sample_all()
    loop_end = time.perf_counter()
    rss_after_sampling = peak_rss_mib()
    hashes = {area: content_hash(df) for area, df in frames.items() if len(df)}
    records = sum(len(df) for df in frames.values())
    del frames

    # The asset's work besides sampling, still without Dagster: fidelity check and Parquet write per area.
    from persona_assets.core import storage
    from persona_assets.core.model.fidelity import area_marginals, compare
    from persona_assets.sample.assets import count_age_sex

    scratch = out.parent / "core_parquet"
    alloc = allocate_areas(areas.set_index("planning_area")["residents_15plus"], TOTAL_RECORDS)
    full_start = time.perf_counter()
    for area in areas["planning_area"]:
        pop = area_adult_population(respop, ura, area)
        n = int(alloc[area])
        df = sample_residents(net, area, pop, n, BASE_SEED, names=names)
        if n:
            compare(df, area_marginals(net, area, count_age_sex(pop)), net)
        storage.write_parquet_atomic(df, scratch / storage.partition_file_name(area))
    full_end = time.perf_counter()
    return {
        "import_seconds": imported - started,
        "setup_seconds": setup_done - imported,
        "areas": len(areas),
        "records": records,
        "sampling_seconds": loop_end - loop_start,
        "sampling_peak_rss_mib": rss_after_sampling,
        "with_check_and_write_seconds": full_end - full_start,
        "hashes": hashes,
    }


CHILDREN = {"prereq": child_prereq, "dagster": child_dagster, "core": child_core}


def child_main(step: str, out: Path) -> int:
    result = CHILDREN[step](out)
    result["self_peak_rss_mib"] = peak_rss_mib()
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------- parent
def run_child(step: str, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """Run one step in a fresh interpreter; wall time and peak RSS of that child alone (``os.wait4``)."""
    out = workdir / f"{step}.json"
    log = workdir / f"{step}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--child-out", str(out)]
    print(f"[{step}] running ...", flush=True)
    with open(log, "wb") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise RuntimeError(f"step {step!r} failed (exit {proc.returncode}); log tail:\n{tail}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["wall_seconds"] = wall
    result["peak_rss_mib"] = usage.ru_maxrss / 1024
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    print(f"[{step}] {wall:.1f} s wall, peak RSS {result['peak_rss_mib']:.0f} MiB", flush=True)
    return result


def dagster_partitions(data: Path) -> tuple[int, dict[str, str]]:
    """Records written by the Dagster runs and their per-area content hashes."""
    import pandas as pd

    files = sorted((data / "warehouse" / "sample" / "residents").glob("*.parquet"))
    total, hashes = 0, {}
    for f in files:
        df = pd.read_parquet(f)
        total += len(df)
        if len(df):
            hashes[str(df["planning_area"].iloc[0])] = content_hash(df)
    return total, hashes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the temporary DAGSTER_HOME and data folder")
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child, args.child_out)

    workdir = Path(tempfile.mkdtemp(prefix="sg_personas_bench_"))
    home, data = workdir / "dagster_home", workdir / "data"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = dict(os.environ, DAGSTER_HOME=str(home), SG_PERSONAS_DATA_DIR=str(data))
    env.setdefault("GX_ANALYTICS_ENABLED", "false")
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    print(f"temporary DAGSTER_HOME and SG_PERSONAS_DATA_DIR under {workdir}", flush=True)
    try:
        prereq = run_child("prereq", env, workdir)
        dag = run_child("dagster", env, workdir)
        core = run_child("core", env, workdir)
        dagster_records, dagster_hashes = dagster_partitions(data)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    core_hashes = core.pop("hashes")
    identical = core_hashes == dagster_hashes
    payload: dict[str, Any] = {
        "script": SCRIPT,
        "date": now_iso(),
        "machine": machine_info(),
        "total_records": TOTAL_RECORDS,
        "partitions": dag["runs"],
        "prerequisites_untimed": prereq,
        "dagster": dag,
        "core_baseline": core,
        "records_written_by_dagster": dagster_records,
        "records_sampled_by_core": core["records"],
        "dagster_and_core_records_identical": identical,
        "ratios": {
            "dagster_runs_vs_core_sampling": dag["runs_seconds"] / core["sampling_seconds"],
            "dagster_runs_vs_core_with_check_and_write": dag["runs_seconds"] / core["with_check_and_write_seconds"],
        },
        "framework_overhead_per_run_seconds": (dag["runs_seconds"] - core["with_check_and_write_seconds"])
        / dag["runs"],
        "targets": {
            "wall_seconds": TARGET_WALL_S,
            "peak_rss_mib": TARGET_PEAK_MIB,
            "met_wall": dag["wall_seconds"] < TARGET_WALL_S,
            "met_memory": dag["peak_rss_mib"] < TARGET_PEAK_MIB,
        },
        "notes": [
            "dagster.wall_seconds: the whole subprocess (interpreter start, imports, 55 sample_job runs); "
            "dagster.runs_seconds: the 55 execute_in_process calls only",
            "peak_rss_mib: ru_maxrss of that subprocess alone (os.wait4), MiB",
            "core_baseline.sampling_seconds: allocate_areas + area_adult_population + sample_residents for the 55 "
            "areas, no Dagster; with_check_and_write_seconds adds the fidelity check and a Parquet write per area",
            "framework_overhead_per_run_seconds: (runs_seconds - with_check_and_write_seconds) / runs: run "
            "creation, SQLite event log, type checks, IO manager loads and the DuckDB update",
        ],
    }
    path = write_results(SCRIPT, payload)
    print_summary(payload)
    print(f"\nresults: {path}")
    ok = identical and dagster_records == TOTAL_RECORDS == core["records"]
    return 0 if ok else 1


def print_summary(r: dict[str, Any]) -> None:
    m, d, c, q, t = r["machine"], r["dagster"], r["core_baseline"], r["ratios"], r["targets"]
    p = r["prerequisites_untimed"]
    print(f"\n== end-to-end sampling benchmark ({m['cpus_usable']} CPUs usable, Python {m['python']}, {r['date']}) ==")
    print(
        f"prerequisites (untimed): census_tables_job {p['job_seconds']['census_tables_job']:.1f} s, "
        f"model_job {p['job_seconds']['model_job']:.1f} s ({p['wall_seconds']:.1f} s wall)"
    )
    print(
        f"with Dagster: {r['records_written_by_dagster']:,} records in {d['runs']} sample_job runs: "
        f"{d['wall_seconds']:.1f} s wall (imports {d['import_seconds']:.1f} s, runs {d['runs_seconds']:.1f} s, "
        f"{d['per_run_seconds']['min']:.2f}-{d['per_run_seconds']['max']:.2f} s per run), "
        f"peak RSS {d['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"core only:    {c['records']:,} records: sampling {c['sampling_seconds']:.2f} s "
        f"(+ check & Parquet write: {c['with_check_and_write_seconds']:.2f} s), "
        f"{c['wall_seconds']:.1f} s wall, peak RSS {c['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"Dagster overhead: runs / core sampling {q['dagster_runs_vs_core_sampling']:.1f}x, "
        f"runs / core with check & write {q['dagster_runs_vs_core_with_check_and_write']:.1f}x "
        f"(~{r['framework_overhead_per_run_seconds']:.2f} s of framework per partition run)"
    )
    print(
        f"targets: wall < {t['wall_seconds']:.0f} s {'met' if t['met_wall'] else 'MISSED'}, "
        f"peak < {t['peak_rss_mib']:.0f} MiB {'met' if t['met_memory'] else 'MISSED'}; "
        f"records identical across paths: {r['dagster_and_core_records_identical']}"
    )


if __name__ == "__main__":
    sys.exit(main())
