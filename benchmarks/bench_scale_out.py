"""The Celery backfill's wall time: ``tests/test_scale_out.py``'s backfill of 8 planning areas (``area_population``,
``residents``, ``persona_narratives`` against the LLM test server; 6,000 records, 2 narratives per area) submitted
to a temporary instance and run by the daemon with Dagster's Celery executor, a real Redis broker and two Celery
workers, as the test runs it (the test checks the bytes against an in-process run; this script only times it).

The figure is the backfill's own, from submission to its end (``follow_backfill``), which the test records with
pytest's ``record_property``; the test's wall time (Redis, workers, daemon start and stop, the in-process reference
run, the upstream assets once) is recorded beside it. Other load on the machine distorts both: the load average
and the CPU other processes used are recorded too.

    python benchmarks/bench_scale_out.py [--repeats R]     # benchmarks/results/bench_scale_out.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, LoadSampler, busy_cpu_seconds, machine_info, now_iso, own_cpu_seconds, write_results

SCRIPT = "bench_scale_out"
TEST = "tests/test_scale_out.py::test_a_celery_backfill_of_eight_partitions_writes_the_bytes_of_a_local_run"


def run_once(workdir: Path, i: int) -> dict[str, Any]:
    """One pytest run of the Celery backfill test; its properties from the JUnit XML."""
    junit = workdir / f"junit-{i}.xml"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "GX_ANALYTICS_ENABLED": "false",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", TEST]
    sampler = LoadSampler()
    busy0, own0 = busy_cpu_seconds(), own_cpu_seconds()
    sampler.start()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    busy, own = busy_cpu_seconds() - busy0, own_cpu_seconds() - own0
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")} if junit.exists() else {}
    loads = sampler.samples or [os.getloadavg()[0]]
    return {
        "exit_code": done.returncode,
        "backfill_seconds": float(props["celery_backfill_seconds"]) if "celery_backfill_seconds" in props else None,
        "backfill_runs": int(props["celery_backfill_runs"]) if "celery_backfill_runs" in props else None,
        "test_wall_seconds": round(wall, 2),
        "cpu_seconds": round(own, 1),
        "cpu_seconds_other_processes": round(max(busy - own, 0.0), 1),
        "loadavg_1min": {"min": min(loads), "mean": round(statistics.mean(loads), 2), "max": max(loads)},
        "output_tail": (done.stdout + done.stderr).splitlines()[-4:],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sg_personas_bench_scale_out_") as tmp:
        runs = [run_once(Path(tmp), i) for i in range(args.repeats)]
    times = [r["backfill_seconds"] for r in runs if r["backfill_seconds"] is not None]
    payload = {
        "script": SCRIPT,
        "date": now_iso(),
        "machine": machine_info(),
        "test": TEST,
        "workload": "8 planning areas x (area_population, residents, persona_narratives); 6,000 records, 2 "
        "narratives per area (LLM test server); SG_PERSONAS_PARTITIONS_PER_RUN=2: 4 runs; 2 Celery workers "
        "(--pool solo), Redis broker, backend and call cache",
        "repeats": args.repeats,
        "runs": runs,
        "median_backfill_seconds": statistics.median(times) if times else None,
        "all_passed": all(r["exit_code"] == 0 for r in runs),
    }
    path = write_results(SCRIPT, payload)
    for r in runs:
        print(f"celery backfill: {r['backfill_seconds']} s (test {r['test_wall_seconds']} s, exit {r['exit_code']})")
    print(f"results: {path}")
    return 0 if payload["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
