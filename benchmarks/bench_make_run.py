"""``make run`` without narratives: today's hand-written loop (commit 7200cd0) against the Dagster backfill of this
commit, side by side, back to back, on the same machine.

- **baseline**: ``python -m persona_assets.run --narratives 0`` of ``7200cd0``, checked out with
  ``git worktree add --detach`` into a temporary folder: ``census_tables_job`` and ``model_job``, one
  ``sample_job`` run per planning area, ``report_job``, then ``publish_job`` (which, with no narratives ever made,
  fails at loading them: the figure covers census, model, 55 sample runs and the reports, plus that attempt);
- **backfill**: ``python -m persona_assets.run --narratives 0`` of this checkout: it starts a Dagster daemon,
  submits one asset backfill of everything but the narratives and the publication (which needs them), follows it
  to its end and stops the daemon; the same census, model, 55 areas and reports.

Each run gets a fresh ``DAGSTER_HOME`` (its checkout's ``dagster.yaml``) and data root, and the same interpreter
(the venv that runs this script, which must hold both commits' dependencies: the project's ``.venv``). The wall
time is the command's, from start to exit (imports, daemon start and stop included). With ``--repeats R`` the
pair runs R times, alternating which goes first. Other load on the machine distorts both: the script records the
load average and the CPU time other processes used during each run. Budget: the backfill within 1.5x the
baseline (median wall times).

    python benchmarks/bench_make_run.py [--total-records N] [--repeats R] [--keep]
    # benchmarks/results/bench_make_run.json; a small --total-records marks the figures as a smoke test
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, LoadSampler, busy_cpu_seconds, machine_info, now_iso, own_cpu_seconds, write_results

SCRIPT = "bench_make_run"
BASELINE_COMMIT = "7200cd0"
FULL_TOTAL = 148_000
BUDGET = 1.5
STAGE_LINE = re.compile(r"^(\w+_job): .*?\(([\d.]+) s\)")


def run_side(name: str, checkout: Path, workdir: Path, total: int) -> dict[str, Any]:
    """One ``python -m persona_assets.run --narratives 0`` of ``checkout`` on a fresh instance and data root."""
    home, data = workdir / f"{name}_home", workdir / f"{name}_data"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(checkout / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SG_PERSONAS_DATA_DIR": str(data),
        "PYTHONPATH": str(checkout),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "GX_ANALYTICS_ENABLED": "false",
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, "-m", "persona_assets.run", "--narratives", "0", "--total-records", str(total)]
    sampler = LoadSampler()
    busy0, own0 = busy_cpu_seconds(), own_cpu_seconds()
    sampler.start()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    busy, own = busy_cpu_seconds() - busy0, own_cpu_seconds() - own0
    out = done.stdout + done.stderr
    stages = {m.group(1): float(m.group(2)) for line in out.splitlines() if (m := STAGE_LINE.match(line))}
    loads = sampler.samples or [os.getloadavg()[0]]
    result: dict[str, Any] = {
        "side": name,
        "command": " ".join(cmd[1:]),
        "exit_code": done.returncode,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(own, 1),
        "cpu_seconds_other_processes": round(max(busy - own, 0.0), 1),
        "loadavg_1min": {"min": min(loads), "mean": round(statistics.mean(loads), 2), "max": max(loads)},
        "stage_lines": stages,
        "output_tail": out.splitlines()[-6:],
    }
    residents = data / "warehouse" / "sample" / "residents"
    result["residents_partitions_written"] = len(list(residents.glob("*.parquet"))) if residents.exists() else 0
    result["fit_report_written"] = (data / "reports" / "fit_report" / "index.html").exists()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--total-records", type=int, default=FULL_TOTAL)
    ap.add_argument("--repeats", type=int, default=1, help="pairs of runs (the order alternates)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary checkout, instances and data")
    args = ap.parse_args(argv)
    smoke = args.total_records < FULL_TOTAL
    workdir = Path(tempfile.mkdtemp(prefix="sg_personas_bench_make_run_"))
    baseline = workdir / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(baseline), BASELINE_COMMIT], cwd=REPO_ROOT, check=True)
    runs: list[dict[str, Any]] = []
    try:
        for i in range(args.repeats):
            order = [("baseline", baseline), ("backfill", REPO_ROOT)]
            for name, checkout in order if i % 2 == 0 else order[::-1]:
                print(f"[{i + 1}/{args.repeats}] {name} ({checkout}) ...", flush=True)
                r = run_side(name, checkout, workdir, args.total_records)
                r["repeat"] = i + 1
                runs.append(r)
                load = r["loadavg_1min"]["mean"]
                print(f"  {r['wall_seconds']:.1f} s, exit {r['exit_code']}, load {load}", flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=REPO_ROOT, check=False)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    def median(side: str) -> float:
        return statistics.median(r["wall_seconds"] for r in runs if r["side"] == side)

    ratio = median("backfill") / median("baseline")
    backfill_ok = all(r["exit_code"] == 0 for r in runs if r["side"] == "backfill")
    payload: dict[str, Any] = {
        "script": SCRIPT,
        "date": now_iso(),
        "smoke": smoke,
        "machine": machine_info(),
        "total_records": args.total_records,
        "repeats": args.repeats,
        "baseline_commit": BASELINE_COMMIT,
        "runs": runs,
        "median_wall_seconds": {"baseline": median("baseline"), "backfill": median("backfill")},
        "ratio_backfill_to_baseline": round(ratio, 3),
        "budget": BUDGET,
        "within_budget": ratio <= BUDGET and backfill_ok,
        "notes": [
            "baseline: python -m persona_assets.run --narratives 0 of 7200cd0 (census, model, 55 sample_job runs, "
            "report_job; publish_job then fails loading narratives that were never made: exit 1 on a fresh root)",
            "backfill: python -m persona_assets.run --narratives 0 of this checkout: one asset backfill of the same "
            "census, model, 55 areas and reports (narratives and publication left out), daemon started and stopped",
            "wall_seconds: the whole command; cpu_seconds: of the command and its children; other processes: busy "
            "CPU on the machine minus this command's",
            *(["SMOKE: a small --total-records; only the full 148,000 figure is the comparison"] if smoke else []),
        ],
    }
    path = write_results(SCRIPT, payload)
    label = "SMOKE " if smoke else ""
    cpus = payload["machine"]["cpus_usable"]
    print(f"\n== {label}make run --narratives 0, {args.total_records:,} records, {cpus} CPUs ==")
    for r in runs:
        load = r["loadavg_1min"]["mean"]
        print(f"{r['side']:9s} #{r['repeat']}: {r['wall_seconds']:7.1f} s  exit {r['exit_code']}  load {load}")
    verdict = "ok" if payload["within_budget"] else "NOT met"
    print(f"backfill / baseline (median): {ratio:.2f}x (budget {BUDGET}x): {verdict}")
    print(f"results: {path}")
    return 0 if payload["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
