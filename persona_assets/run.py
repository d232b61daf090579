"""Materialise everything that exists, offline, into the Dagster instance at ``$DAGSTER_HOME`` (what ``make run``
calls). Runs are recorded in the instance, so ``make dev`` shows them in the UI afterwards.

    python -m persona_assets.run [--areas "Ang Mo Kio" "Bedok" ...]
"""

import argparse
import os
import sys
import time

from dagster import DagsterInstance

from persona_assets.definitions import defs
from persona_assets.partitions import PLANNING_AREAS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--areas", nargs="*", help="planning areas to materialise (default: all 55)")
    args = ap.parse_args(argv)
    areas = args.areas or PLANNING_AREAS
    unknown = sorted(set(areas) - set(PLANNING_AREAS))
    if unknown:
        print(f"error: unknown planning area(s): {unknown}", file=sys.stderr)
        return 2
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = defs.get_job_def("census_tables_job").execute_in_process(instance=instance, raise_on_error=False)
    if not result.success:
        print("error: census_tables_job failed; see the run in the Dagster UI (make dev)", file=sys.stderr)
        return 1
    print(f"census_tables_job: ok ({time.perf_counter() - started:.1f} s)")
    job = defs.get_job_def("area_population_job")
    for area in areas:
        r = job.execute_in_process(instance=instance, partition_key=area, raise_on_error=False)
        if not r.success:
            print(f"error: area_population_job failed for {area!r}", file=sys.stderr)
            return 1
    print(f"area_population_job: {len(areas)} partitions ok ({time.perf_counter() - started:.1f} s total)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
