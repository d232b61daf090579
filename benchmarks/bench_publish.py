"""The publication stages (``narrative_report``, ``personas_candidate``, ``personas_dataset``) timed side by side
for two checkouts of the project on the same warehouse: the part of the full path that runs once over every
record, in one process.

The warehouse and instance are those ``bench_full_scale.py --keep`` leaves (residents and narratives of every
partition already materialised). Each checkout runs the publish selection in a fresh process (its own code on
``PYTHONPATH``, this checkout's virtual environment), interleaved ``--repeat`` times; figures are wall and CPU
seconds of the whole selection and each step's duration from the Dagster instance, with medians per checkout.

    git worktree add /tmp/before <commit>
    python benchmarks/bench_full_scale.py --total-records 20000 --keep --smoke   # leaves /tmp/bench_full_scale_XXXX
    python benchmarks/bench_publish.py --warehouse /tmp/bench_full_scale_XXXX --records 20000 \\
        --checkout before=/tmp/before --checkout after=. [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, machine_info, now_iso, write_results

SCRIPT = "bench_publish"

#: Run in the checkout under test: the publish selection once, then its figures as one JSON line.
CHILD = r"""
import json, os, sys, time
from pathlib import Path
tmp, total = Path(sys.argv[1]), int(sys.argv[2])
os.environ.update({"DAGSTER_HOME": str(tmp / "dagster_home"), "SG_PERSONAS_DATA_DIR": str(tmp / "data")})
from dagster import DagsterInstance
from persona_assets.testing.full_scale import PUBLISH, llm_for_test_server, pipeline_resources, run_selection
data = tmp / "data"
llm = llm_for_test_server("http://127.0.0.1:9/v1", data / "cache" / "llm_calls.sqlite")  # publication calls no model
res = pipeline_resources(data, llm, total_records=total, base_seed=20251125, records_per_partition="all")
instance = DagsterInstance.get()
wall, cpu = time.perf_counter(), time.process_time()
row = run_selection(PUBLISH, res, instance)
out = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
out["success"] = bool(row.get("success"))
run = instance.get_runs(limit=1)[0]
out["steps_s"] = {s.step_key: round(s.end_time - s.start_time, 2) for s in instance.get_run_step_stats(run.run_id)}
print("RESULT " + json.dumps(out))
"""


def git_commit(path: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def run_once(checkout: Path, warehouse: Path, records: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "GX_ANALYTICS_ENABLED": "false",
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(warehouse), str(records)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"publish run in {checkout} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    steps = sorted({k for r in rounds for k in r["steps_s"]})
    return {
        "wall_s_median": round(statistics.median(r["wall_s"] for r in rounds), 2),
        "cpu_s_median": round(statistics.median(r["cpu_s"] for r in rounds), 2),
        "steps_s_median": {k: round(statistics.median(r["steps_s"].get(k, 0.0) for r in rounds), 2) for k in steps},
        "all_succeeded": all(r["success"] for r in rounds),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, required=True, help="a folder bench_full_scale.py --keep left")
    ap.add_argument("--records", type=int, required=True, help="the total_records that warehouse was made with")
    ap.add_argument("--checkout", action="append", required=True, help="label=path, two or more")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--shared", default="", help="say the machine was shared (and with what)")
    args = ap.parse_args()
    checkouts = {}
    for item in args.checkout:
        label, _, path = item.partition("=")
        checkouts[label] = Path(path or label).resolve()
    rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in checkouts}
    for i in range(args.repeat):
        for label, path in checkouts.items():  # interleaved: drift of a shared machine hits both alike
            rounds[label].append(run_once(path, args.warehouse, args.records))
            print(f"round {i + 1} {label}: {rounds[label][-1]}", flush=True)
    out: dict[str, Any] = {"script": SCRIPT, "date": now_iso(), "machine": machine_info(), "records": args.records}
    out["machine_shared"] = args.shared or None
    out["checkouts"] = {
        label: {"commit": git_commit(path), **summarise(rounds[label]), "rounds": rounds[label]}
        for label, path in checkouts.items()
    }
    labels = list(checkouts)
    if len(labels) == 2:
        a, b = (out["checkouts"][x] for x in labels)
        out["ratio_wall"] = {f"{labels[1]}/{labels[0]}": round(b["wall_s_median"] / a["wall_s_median"], 3)}
    path = write_results(SCRIPT, out)
    print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
