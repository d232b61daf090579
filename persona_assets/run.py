"""Materialise everything that exists, offline, into the Dagster instance at ``$DAGSTER_HOME`` (what ``make run``
calls). Runs are recorded in the instance, so ``make dev`` shows them in the UI afterwards.

    python -m persona_assets.run [--areas "Ang Mo Kio" "Bedok" ...] [--total-records N] [--seed S]
"""

import argparse
import os
import sys
import time

from dagster import DagsterInstance

from persona_assets.definitions import defs
from persona_assets.partitions import PLANNING_AREAS
from persona_assets.sample.assets import DEFAULT_SEED, DEFAULT_TOTAL


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--areas", nargs="*", help="planning areas to sample (default: all 55)")
    ap.add_argument("--total-records", type=int, default=DEFAULT_TOTAL, help="records across all 55 areas")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="base seed")
    args = ap.parse_args(argv)
    areas = args.areas or PLANNING_AREAS
    unknown = sorted(set(areas) - set(PLANNING_AREAS))
    if unknown:
        print(f"error: unknown planning area(s): {unknown}", file=sys.stderr)
        return 2
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    started = time.perf_counter()

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # every event still goes to the instance

    def run(job_name: str, run_config: dict | None = None, **kwargs: object) -> bool:
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, raise_on_error=False, run_config={**quiet, **(run_config or {})}, **kwargs
        )
        if not result.success:
            where = f" for {kwargs['partition_key']!r}" if "partition_key" in kwargs else ""
            print(f"error: {job_name} failed{where}; see the run in the Dagster UI (make dev)", file=sys.stderr)
        return result.success

    for job in ("census_tables_job", "model_job"):
        if not run(job):
            return 1
        print(f"{job}: ok ({time.perf_counter() - started:.1f} s)")
    config = {"ops": {"residents": {"config": {"total_records": args.total_records, "base_seed": args.seed}}}}
    sample_started = time.perf_counter()
    for area in areas:
        if not run("sample_job", partition_key=area, run_config=config):
            return 1
    print(f"sample_job: {len(areas)} partitions ok ({time.perf_counter() - sample_started:.1f} s)")
    if set(areas) == set(PLANNING_AREAS):
        if not run("report_job"):
            return 1
        print("report_job: ok (data/reports/fit_report/index.html)")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
